"""Spec rendering (Markdown + MathML) and the server-side SVG charts."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from grader.web.charts import histogram_svg, pass_rate_svg
from grader.web.spec_render import latex_to_mathml, render_markdown, render_spec

REPO = Path(__file__).resolve().parents[2]


def test_inline_and_display_math_become_mathml():
    html = render_markdown("Loss $L = \\sum_i x_i^2$ and\n\n$$\\frac{\\partial L}{\\partial w}$$\n")
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in html
    assert 'display="block"' in html and "<mfrac>" in html
    assert "$" not in html


def test_headings_sit_below_the_page_title_with_anchors():
    html = render_markdown("# Title\n\n## Part 1\n")
    assert '<h2 id="title">Title</h2>' in html and '<h3 id="part-1">Part 1</h3>' in html
    assert "<h1" not in html


def test_code_and_escaped_dollars_stay_literal():
    html = render_markdown("Use `cost = $5` and a price of \\$3.\n\n```\nx = '$a$'\n```\n")
    assert "<math" not in html
    assert "cost = $5" in html and "x = '$a$'" in html


def test_unknown_latex_falls_back_to_escaped_source():
    assert latex_to_mathml("\\frac{1}{", display=False).startswith('<code class="math-source">')


def test_every_course_spec_renders_without_raw_math():
    specs = sorted((REPO / "assignments").glob("*/spec.md"))
    assert specs, "the course has spec.md files"
    for spec in specs:
        html = render_spec(spec)
        assert "<math" in html, spec
        assert "math-source" not in html, f"{spec}: a formula latex2mathml cannot convert"
    assert render_spec(REPO / "nowhere" / "spec.md") is None


def test_histogram_counts_scores_per_bin():
    svg = histogram_svg([0.0, 5.0, 55.0, 100.0, 100.0], title="t <&>")
    root = ET.fromstring(svg)  # well-formed XML, title escaped
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "t <&>"
    desc = root.find(f"{ns}desc").text
    assert "0-10%: 2" in desc and "50-60%: 1" in desc and "90-100%: 2" in desc


def test_pass_rate_chart_has_one_bar_per_test():
    svg = pass_rate_svg([("forward", 0.5, 4), ("a very long test name " * 4, 1.0, 4)])
    root = ET.fromstring(svg)
    assert "forward: 50% of 4" in root.find("{http://www.w3.org/2000/svg}desc").text
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) == 4
