"""Server-rendered SVG charts for the instructor pages (no JavaScript, no CDN).

Each function returns a complete ``<svg>`` element as a string with a ``<title>`` and a
``<desc>`` for screen readers; every text is escaped.
"""
from __future__ import annotations

from html import escape

BAR = "#2f6fb0"
GRID = "#d0d7de"
TEXT = "#1f2328"


def histogram_svg(percents: list[float], *, bins: int = 10, title: str = "Score distribution") -> str:
    """Return a bar chart of how many scores fall in each ``100/bins`` % wide bin.

    ``percents`` are scores as a percentage of the maximum (0 to 100); 100 % falls in the last bin.
    """
    counts = [0] * bins
    for p in percents:
        counts[min(int(max(p, 0.0) / (100.0 / bins)), bins - 1)] += 1
    width, height, left, bottom, top = 560, 240, 40, 40, 20
    plot_right = 20
    plot_w, plot_h = width - left - plot_right, height - bottom - top
    peak = max(counts) or 1
    bar_w = plot_w / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" class="chart">',
             f"<title>{escape(title)}</title>",
             "<desc>" + escape("; ".join(
                 f"{i * 100 // bins}-{(i + 1) * 100 // bins}%: {c}" for i, c in enumerate(counts)))
             + "</desc>"]
    for tick in range(0, peak + 1, max(1, -(-peak // 4))):
        y = top + plot_h - tick / peak * plot_h
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="{TEXT}">{tick}</text>')
    for i, count in enumerate(counts):
        h = count / peak * plot_h
        x = left + i * bar_w
        parts.append(f'<rect x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 4:.1f}" '
                     f'height="{h:.1f}" fill="{BAR}"><title>{i * 100 // bins}-{(i + 1) * 100 // bins}%: '
                     f'{count} student(s)</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 4:.1f}" '
                         f'text-anchor="middle" font-size="12" fill="{TEXT}">{count}</text>')
    for i in range(bins + 1):  # ticks on the bin edges: a bar sits between its two limits
        x = left + i * bar_w
        parts.append(f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 4}" '
                     f'stroke="{TEXT}"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16:.1f}" text-anchor="middle" '
                     f'font-size="11" fill="{TEXT}">{i * 100 // bins}%</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" '
                 f'font-size="12" fill="{TEXT}">score (% of maximum, after late penalty)</text>')
    parts.append("</svg>")
    return "".join(parts)


def pass_rate_svg(rates: list[tuple[str, float, int]], *, title: str = "Pass rate per test") -> str:
    """Return horizontal bars, one per test: ``(test name, fraction passed 0..1, students)``."""
    row_h, label_w, bar_max, width = 26, 470, 220, 780
    height = row_h * max(len(rates), 1) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" class="chart">',
             f"<title>{escape(title)}</title>",
             "<desc>" + escape("; ".join(f"{n}: {r:.0%} of {k}" for n, r, k in rates)) + "</desc>"]
    for i, (name, rate, n) in enumerate(rates):
        y = 5 + i * row_h
        short = name if len(name) <= 72 else name[:70] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" '
                     f'fill="{TEXT}"><title>{escape(name)}</title>{escape(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_max}" height="{row_h - 8}" fill="{GRID}"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{rate * bar_max:.1f}" height="{row_h - 8}" '
                     f'fill="{BAR}"/>')
        parts.append(f'<text x="{label_w + bar_max + 8}" y="{y + 16}" font-size="12" fill="{TEXT}">'
                     f'{rate:.0%} of {n}</text>')
    parts.append("</svg>")
    return "".join(parts)
