"""Render an assignment's ``spec.md`` to HTML with its ``$...$`` math as MathML, offline.

Markdown (Python-Markdown, with tables and fenced code) does the text; an inline processor turns
``$$...$$`` (display) and ``$...$`` (inline) into MathML with ``latex2mathml`` on the server, so
pages need no JavaScript or CDN. Math inside code spans and fenced blocks stays literal.
"""
from __future__ import annotations

import html
import logging
from functools import lru_cache
from pathlib import Path

import markdown
from latex2mathml import exceptions as latex_errors
from latex2mathml.converter import convert
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

log = logging.getLogger(__name__)

#: Every error latex2mathml raises for a formula it cannot parse, plus parser slips.
LATEX_ERRORS = tuple(
    obj for obj in vars(latex_errors).values()
    if isinstance(obj, type) and issubclass(obj, Exception)
) + (ValueError, KeyError, IndexError, TypeError, NotImplementedError, RecursionError)

DISPLAY_MATH = r"\$\$(.+?)\$\$"
INLINE_MATH = r"(?<![\\$])\$(?!\s)([^$]+?)(?<![\s\\])\$(?!\d)"


def latex_to_mathml(latex: str, *, display: bool) -> str:
    """Convert one LaTeX formula to MathML; on a conversion error return the escaped source.

    The fallback keeps a page readable when the spec uses a macro latex2mathml does not know;
    the failure is logged with the formula so the author can fix it.
    """
    try:
        return convert(latex.strip(), display="block" if display else "inline")
    except LATEX_ERRORS as exc:
        log.warning("cannot convert LaTeX %r to MathML: %s", latex, exc)
        return f'<code class="math-source">{html.escape(latex)}</code>'


class _MathProcessor(InlineProcessor):
    def __init__(self, pattern: str, md: markdown.Markdown, *, display: bool) -> None:
        super().__init__(pattern, md)
        self.display = display

    def handleMatch(self, m, data):  # noqa: N802 (Markdown's API name)
        mathml = latex_to_mathml(m.group(1), display=self.display)
        return self.md.htmlStash.store(mathml), m.start(0), m.end(0)


class MathExtension(Extension):
    """Python-Markdown extension: ``$$...$$`` and ``$...$`` become MathML."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802
        md.inlinePatterns.register(_MathProcessor(DISPLAY_MATH, md, display=True), "math_display", 186)
        md.inlinePatterns.register(_MathProcessor(INLINE_MATH, md, display=False), "math_inline", 185)


def render_markdown(text: str) -> str:
    """Return HTML for trusted Markdown ``text`` (an instructor's spec), math as MathML.

    Headings move one level down (``#`` becomes ``<h2>``) and get ``id`` anchors.
    """
    return markdown.markdown(
        text, extensions=["fenced_code", "tables", "sane_lists", "toc", MathExtension()],
        extension_configs={"toc": {"baselevel": 2}},  # the page has the <h1>; ids for links
        output_format="html",
    )


@lru_cache(maxsize=64)
def _render_file(path: str, mtime_ns: int) -> str:
    return render_markdown(Path(path).read_text(encoding="utf-8"))


def render_spec(path: Path) -> str | None:
    """Return the rendered HTML of the spec at ``path`` (cached by modification time), or None
    when the file does not exist."""
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    return _render_file(str(path), mtime)


__all__ = ["MathExtension", "latex_to_mathml", "render_markdown", "render_spec"]
