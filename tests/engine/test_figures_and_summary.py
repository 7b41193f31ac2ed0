"""Pictures' data, the lead line and the top-down text outputs (issue 13)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from grader.engine import figures, summary
from grader.engine.cli import format_report, write_plots
from grader.engine.results import CheckRecord, Report, TestResult


def test_heatmap_is_signed_error_beside_expected_and_downsampled():
    expected = np.arange(60.0).reshape(30, 2)
    fig = figures.heatmap("f", "W1", expected * 2.0, expected)
    assert fig["shape"] == [30, 2] and fig["downsampled"]
    err = np.asarray(fig["error"])
    assert err.shape == (figures.MAX_SIDE, 2)                 # rows averaged in blocks
    assert np.allclose(err, np.asarray(fig["expected"]), rtol=1e-3)  # factor 2: error = expected
    assert fig["max_abs_error"] == 59.0


def test_transposed_block_is_drawn_against_the_transposed_expected():
    expected = np.arange(6.0).reshape(2, 3)
    fig = figures.heatmap("f", "W", expected.T, expected)
    assert fig["error"] == [[0.0, 0.0]] * 3 and "transposed" in fig["note"]
    assert figures.heatmap("f", "W", np.ones(5), expected) is None            # other shape
    assert figures.heatmap("f", "W", np.array([np.nan] * 6).reshape(2, 3), expected) is None


def test_decision_grid_marks_the_points():
    fig = figures.decision("t", lambda X: (X.sum(axis=1) > 0.5).astype(float),
                           np.array([0.0, 1, 1, 0]), np.array([[0, 0], [0, 1], [1, 0], [1, 1.0]]))
    assert np.asarray(fig["values"]).shape == (figures.GRID, figures.GRID)
    assert [p[3] for p in fig["points"]] == [0.0, 1.0, 1.0, 1.0]


def test_confusion_counts_pairs():
    fig = figures.confusion("t", np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2]), 3)
    assert fig["matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def _failed(feedback, **kw):
    return TestResult("g: reference", "mlp_backward", 0.0, 3.0, "failed", feedback, **kw)


FEEDBACK = ("mlp_backward: 45 of 45 entries of the gradient W1 are off (tolerance rtol=1e-06, "
            "atol=1e-08). Worst: the gradient W1[4, 2]: expected 0.28, got 2.27.\n"
            "mlp_backward: 5 of 5 entries of the gradient b1 are off (tolerance rtol=1e-06). Worst: ...\n"
            "Relative error against central differences = ...")
DIAG = [{"key": "times_batch_size", "kind": "mistake", "title": "Sum instead of mean over the batch (factor N)",
         "message": "Probably: your dW1, db1 equal the correct gradient times N."}]


def test_lead_line_says_what_is_wrong_and_the_likely_mistake():
    t = _failed(FEEDBACK, diagnosis=DIAG)
    assert summary.what_is_wrong(t) == ("mlp_backward: 45 of 45 entries of the gradient W1 are "
                                        "off (and 1 more like it).")
    assert summary.lead_line(t).endswith("Likely mistake: sum instead of mean over the batch (factor N).")
    assert summary.has_details(t)
    assert summary.lead_line(TestResult("p", "f", 1, 1, "passed", "Passed.")) == "Passed."


def test_gradescope_output_and_cli_read_top_down():
    fig = figures.heatmap("mlp_backward", "W1", np.ones((2, 3)), np.zeros((2, 3)))
    t = _failed(FEEDBACK, diagnosis=DIAG, figures=[fig])
    out = t.to_gradescope()["output"].splitlines()
    assert out[0].startswith("mlp_backward: 45 of 45 entries")
    assert out[1] == "Probably: your dW1, db1 equal the correct gradient times N."
    assert out[2] == "(1 picture of this test on the submission page.)"
    assert out[3] == "Details:" and out[4] == FEEDBACK.splitlines()[0]
    hidden = _failed(FEEDBACK, diagnosis=DIAG, figures=[fig], visibility="hidden")
    assert hidden.to_gradescope()["output"] == FEEDBACK           # no details, no pictures
    text = format_report(Report("mlp_backprop", 0.0, 3.0, [t])).splitlines()
    assert text[1] == "          mlp_backward: 45 of 45 entries of the gradient W1 are off (and 1 more like it)."
    assert text[2] == "          Probably: your dW1, db1 equal the correct gradient times N."
    assert text[3].startswith("          Picture: heatmap of mlp_backward W1 (--plots DIR")
    assert text[4] == "          Details:"


def test_plots_option_writes_svg_files(tmp_path):
    fig = figures.heatmap("mlp_backward", "W1", np.ones((2, 3)), np.zeros((2, 3)))
    report = Report("mlp_backprop", 0.0, 3.0, [_failed(FEEDBACK, figures=[fig]),
                                              _failed(FEEDBACK, figures=[fig], visibility="hidden")])
    files = write_plots(report, str(tmp_path / "plots"))
    assert list(files) == [(0, 0)]                                 # the hidden test gets none
    svg = (tmp_path / "plots" / "01-mlp_backward-1.svg").read_text()
    root = ET.fromstring(svg)
    assert root.find("{http://www.w3.org/2000/svg}title").text == "mlp_backward: W1"
    assert "style=" not in svg                                      # CSP-safe attributes
    assert f"-> {files[(0, 0)]}" in format_report(report, files)


@pytest.mark.parametrize("kind", ["heatmap", "decision", "curve", "confusion"])
def test_every_figure_kind_renders_to_svg(kind):
    from grader.engine.plots import render_figure

    data = {
        "heatmap": figures.heatmap("f", "W", np.ones((3, 4)), np.zeros((3, 4))),
        "decision": figures.decision("d", lambda X: X[:, 0], np.array([0.0, 1, 1, 0]),
                                     np.array([[0, 0], [0, 1], [1, 0], [1, 1.0]])),
        "curve": figures.curve("c", np.linspace(0, 3, 5), np.zeros(5), np.ones(5)),
        "confusion": figures.confusion("m", np.arange(3), np.arange(3), 3),
    }[kind]
    root = ET.fromstring(render_figure(data))
    assert root.get("role") == "img" and root.find("{http://www.w3.org/2000/svg}desc").text


# ----------------------------------------------------------------------- hostile values (issue 10)
HUGE = [np.full((30, 30), 1.7e308), np.full((3, 4), -1.7e308), np.full((2, 2), 5e307),
        np.array([[1.7e308, -1.7e308]])]


@pytest.mark.parametrize("got", HUGE, ids=["30x30 max", "3x4 -max", "5e307", "+-max"])
def test_heatmap_of_finite_extreme_values_is_strict_json_and_drawable(got):
    """Entries near 1.8e308 overflowed block means and differences to inf (Infinity in the
    stored report) and made matplotlib refuse the colour scale: ``grade --plots`` crashed."""
    from grader.engine.plots import render_figure

    fig = figures.heatmap("f", "W", got, np.full(got.shape, -1.0))
    assert fig is not None
    json.dumps(fig, allow_nan=False)
    assert "drawn at" in fig["note"]
    assert ET.fromstring(render_figure(fig)).get("role") == "img"


def test_complex_returns_are_not_drawn_as_their_real_part():
    assert figures.heatmap("f", "W", np.ones((2, 2)) * 1j, np.zeros((2, 2))) is None


def test_curve_of_extreme_values_is_strict_json_and_drawable():
    from grader.engine.plots import render_figure

    x = np.linspace(0, 3, 301)
    fig = figures.curve("c", x, np.where(x > 1, np.inf, -1.7e308), np.zeros(301))
    json.dumps(fig, allow_nan=False)
    assert ET.fromstring(render_figure(fig)).get("role") == "img"


def test_report_pictures_are_strict_json_and_capped():
    from grader.engine import results

    bad = {"kind": "heatmap", "error": [[float("inf"), float("nan")]], "expected": [[1.0, 2.0]],
           "max_abs_error": float("inf"), "function": "f", "block": "W", "shape": [1, 2]}
    big = {"kind": "curve", "title": "t", "x": [0.5] * 20_000, "f": [0.5] * 20_000,
           "target": [0.0] * 20_000}
    report = Report("xor", 0.0, 1.0, [_failed(FEEDBACK, figures=[bad] * 9 + [big])]).bound()
    figs = report.tests[0].figures
    assert len(figs) == results.FIGURES_PER_TEST
    assert figs[0]["error"] == [[None, None]] and figs[0]["max_abs_error"] is None
    json.dumps(report.to_dict(), allow_nan=False)
    many = Report("xor", 0.0, 1.0, [_failed(FEEDBACK, figures=[{**big, "x": [0.5] * 3000}] * 6)
                                    for _ in range(20)]).bound()
    assert len(json.dumps(many.to_dict())) <= results.REPORT_BYTES


def test_plots_option_skips_a_picture_it_cannot_draw(tmp_path):
    """A stored picture the renderer refuses is skipped with a warning (the web page gives 404);
    the report is still printed."""
    good = figures.heatmap("mlp_backward", "W1", np.ones((2, 3)), np.zeros((2, 3)))
    broken = {"kind": "heatmap", "error": [[1.7e308, -1.7e308]], "expected": [[0.0, 0.0]]}
    report = Report("mlp_backprop", 0.0, 3.0, [_failed(FEEDBACK, figures=[broken, good])])
    files = write_plots(report, str(tmp_path / "plots"))
    assert list(files) == [(0, 1)]


@pytest.mark.parametrize("shape", [(1, 2), (1, 4), (4, 5), (2, 1), (1, 1), (3, 40)])
def test_every_heatmap_title_lies_inside_the_picture(shape):
    """A 2-column block's title ("your error (yours − expected)") is wider than its axes: it
    reached past the figure's left edge and students read "our error"."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    from grader.engine.plots import render_figure

    err = np.linspace(-1.0, 1.0, shape[0] * shape[1]).reshape(shape)
    svg = render_figure({"kind": "heatmap", "function": "f", "block": "b", "shape": list(shape),
                         "error": err.tolist(), "expected": (err * 2).tolist()})
    root = ET.fromstring(svg)
    width = float(root.get("viewBox").split()[2])
    texts = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("text-anchor")]
    titles = [t for t in texts if (t.text or "").startswith(("your error", "expected values"))]
    assert len(titles) == 2
    font = FontProperties(family="DejaVu Sans", size=9)
    for text in titles:
        half = TextPath((0, 0), text.text, prop=font).get_extents().width / 2
        x = float(text.get("x"))
        assert text.get("text-anchor") == "middle"
        assert x - half >= -0.5 and x + half <= width + 0.5, (text.text, x, half, width)


def test_the_emphasised_lead_of_a_diagnosis_stops_at_its_own_colon_not_a_quoted_one():
    from grader.engine.results import diagnosis_parts

    assert diagnosis_parts({"message": "Probably: your dW1 equals the correct one times N."}) == (
        "Probably:", "your dW1 equals the correct one times N.")
    repeat = ("Probably the same mistake as in \u201cmlp_backward: matches the reference "
              "gradient\u201d above, sum instead of mean (factor N).")
    assert diagnosis_parts({"message": repeat}) == ("", repeat)  # bold stopped mid-name


def test_a_repeated_diagnosis_keeps_the_capitals_of_its_title():
    from grader.diagnosis.hook import _lower_first

    assert _lower_first("Sum instead of mean (factor N)") == "sum instead of mean (factor N)"
    assert _lower_first("") == ""
