"""Server-rendered SVG charts for the instructor pages (no JavaScript, no CDN).

Drawn with matplotlib like the pictures of students' reports (``grader.engine.plots``); each function
returns a complete ``<svg>`` element as a string with a ``<title>`` and a ``<desc>`` for screen
readers; every text is escaped.
"""
from __future__ import annotations

from grader.engine.plots import histogram_svg, pass_rate_svg

__all__ = ["histogram_svg", "pass_rate_svg"]
