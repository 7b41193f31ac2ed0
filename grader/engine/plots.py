"""Server-side pictures as SVG, drawn with matplotlib (issue 13).

Two families: the pictures of a student's report (``render_figure`` of the figure data in
``grader.engine.figures``: heatmaps of signed errors, XOR decision regions, a bump against its
target, a confusion matrix) and the instructors' charts (score histogram, horizontal bars).
Everything is drawn with matplotlib's object API (``matplotlib.figure.Figure``, no pyplot state,
safe in threads) to an SVG string whose root carries ``role="img"``, a ``<title>`` and a
``<desc>`` that states the numbers in words for screen readers. Text is kept as SVG text
(``svg.fonttype = none``) and element ids are fixed (``svg.hashsalt``), so the same data gives the
same bytes.
"""
from __future__ import annotations

import io
import re
from html import escape
from typing import Any

BAR = "#2f6fb0"
GRID = "#d0d7de"
TEXT = "#1f2328"

_RC = {"svg.fonttype": "none", "svg.hashsalt": "gradelab", "font.size": 9,
       "axes.edgecolor": "#57606a", "axes.labelcolor": TEXT, "xtick.color": TEXT,
       "ytick.color": TEXT, "text.color": TEXT, "font.family": "DejaVu Sans"}


def _figure(width_in: float, height_in: float):
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams.update(_RC)
    return Figure(figsize=(width_in, height_in), dpi=72, layout="constrained")


def _svg(fig, title: str, desc: str, extra: str = "") -> str:
    """Serialise ``fig`` as an inline SVG element with accessible title and description."""
    buf = io.StringIO()
    # bbox_inches="tight": a title wider than its narrow axes (a 2-column heatmap) reached past
    # the figure's left edge and lost its first letters ("our error").
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                bbox_inches="tight", pad_inches=0.04)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # drop the XML declaration and DOCTYPE (inline use)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = _presentation_attributes(text)
    head_end = text.index(">") + 1
    head = text[:head_end].replace("<svg ", '<svg role="img" class="chart" ', 1)
    return (head + f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>" + extra
            + text[head_end:])


_STYLE_ATTR = re.compile(r'style="([^"]*)"')


def _presentation_attributes(svg: str) -> str:
    """Turn matplotlib's ``style="..."`` attributes into SVG presentation attributes.

    The pages' Content-Security-Policy (``style-src 'self'``) blocks inline styles, which would
    leave every shape black when the SVG is inlined; ``fill="..."`` attributes are not styles.
    The ``font`` shorthand becomes ``font-size`` and ``font-family``; the ``<style>`` element of
    ``<defs>`` (default line joins) is dropped.
    """
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.S)

    def convert(match: re.Match) -> str:
        attrs = []
        for item in match.group(1).split(";"):
            if ":" not in item:
                continue
            name, value = (part.strip() for part in item.split(":", 1))
            if name == "font":
                size, _, family = value.partition(" ")
                attrs.append(f'font-size="{size}"')
                if family:
                    attrs.append(f'font-family="{family.strip()}"')
            elif re.fullmatch(r"[a-z-]+", name):
                attrs.append(f'{name}="{value}"')
        return " ".join(attrs)

    return _STYLE_ATTR.sub(convert, svg)


# --------------------------------------------------------------------------- report pictures
def render_figure(fig: dict[str, Any]) -> str:
    """Return the SVG of one figure dict (see ``grader.engine.figures``).

    Raises:
        ValueError: an unknown ``kind`` or malformed data (figure data comes from the trusted
            grader, so this is a grader bug, never the student's).
    """
    import numpy as np

    kind = fig.get("kind")
    draw = {"heatmap": heatmap_svg, "decision": decision_svg, "curve": curve_svg,
            "confusion": confusion_svg}.get(kind)  # type: ignore[arg-type]
    if draw is None:
        raise ValueError(f"unknown figure kind {kind!r}")
    # Data a renderer cannot scale (stored before figures.DRAW_LIMIT) ends in matplotlib's
    # ValueError, not in numpy floating-point warnings (thread-local state, safe in the web app).
    with np.errstate(all="ignore"):
        return draw(fig)


def figure_caption(fig: dict[str, Any]) -> str:
    """One line saying what the picture shows (also the file's description in the CLI)."""
    kind = fig.get("kind")
    if kind == "heatmap":
        shape = "x".join(str(n) for n in fig.get("shape", []))
        small = " (downsampled: each cell is a block mean)" if fig.get("downsampled") else ""
        return (f"{fig.get('function')}: {fig.get('block')} ({shape}): your error (yours - expected) "
                f"beside the expected values{small}; largest |error| {fig.get('max_abs_error')}")
    if kind == "decision":
        return f"{fig.get('title')}: output over the input square, XOR targets marked"
    if kind in ("curve", "confusion"):
        return str(fig.get("title"))
    return str(kind)


def heatmap_svg(fig: dict[str, Any]) -> str:
    """Two panels: signed error (diverging, centred on 0) and the expected values."""
    import numpy as np

    err = np.asarray(fig["error"], dtype=float)
    exp = np.asarray(fig["expected"], dtype=float)
    rows, cols = err.shape
    width = min(7.5, max(4.2, 1.6 + 0.22 * cols * 2))
    height = min(4.2, max(1.5, 0.9 + 0.22 * rows))
    f = _figure(width, height)
    axes = f.subplots(1, 2)
    limit = float(np.abs(err).max()) or 1.0
    for ax, data, cmap, label, kw in (
            (axes[0], err, "RdBu_r", "your error (yours − expected)", {"vmin": -limit, "vmax": limit}),
            (axes[1], exp, "viridis", "expected values", {})):
        image = ax.imshow(data, cmap=cmap, aspect="auto", interpolation="nearest", **kw)
        ax.set_title(label, fontsize=9)
        ax.set_xticks([] if cols > 12 else range(cols))
        ax.set_yticks([] if rows > 12 else range(rows))
        f.colorbar(image, ax=ax, shrink=0.9)
    shape = "x".join(str(n) for n in fig.get("shape", []))
    title = f"{fig.get('function')}: {fig.get('block')}"
    desc = (f"Heatmap of {fig.get('block')} ({shape}): error from {err.min():.3g} to "
            f"{err.max():.3g}, expected values from {exp.min():.3g} to {exp.max():.3g}.")
    return _svg(f, title, desc)


def decision_svg(fig: dict[str, Any]) -> str:
    """The student's network output over the square, with the XOR points, beside the targets."""
    import numpy as np

    values = np.asarray(fig["values"], dtype=float)
    x0, x1, y0, y1 = fig["extent"]
    points = fig["points"]
    f = _figure(6.4, 3.1)
    axes = f.subplots(1, 2)
    image = axes[0].imshow(values, origin="lower", extent=(x0, x1, y0, y1), cmap="PuOr_r",
                           vmin=0.0, vmax=1.0, interpolation="nearest")
    if 0.0 < values.min() < 0.5 < values.max() < 1.0 or (values.min() < 0.5 < values.max()):
        axes[0].contour(np.linspace(x0, x1, values.shape[1]), np.linspace(y0, y1, values.shape[0]),
                        values, levels=[0.5], colors="black", linewidths=1)
    f.colorbar(image, ax=axes[0], shrink=0.85, label="your output y")
    wrong = []
    for x, y, t, p in points:
        ok = p is not None and (p > 0.5) == (t > 0.5)
        axes[0].scatter([x], [y], s=90, marker="o", facecolors="white" if t < 0.5 else "black",
                        edgecolors="black" if ok else "red", linewidths=2.5 if not ok else 1)
        axes[1].scatter([x], [y], s=90, marker="o", facecolors="white" if t < 0.5 else "black",
                        edgecolors="black")
        axes[1].annotate(f"t = {t:g}", (x, y), textcoords="offset points", xytext=(0, 9),
                         ha="center", fontsize=8)
        if not ok:
            wrong.append(f"({x:g}, {y:g})")
    axes[0].set_title("your network (red ring: wrong side)", fontsize=9)
    axes[1].set_title("XOR targets (filled: 1)", fontsize=9)
    for ax in axes:
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_aspect("equal")
    desc = (f"Decision regions of your network over [{x0:g}, {x1:g}] squared. "
            + (f"Wrong side at {', '.join(wrong)}." if wrong else "All four points on the right side."))
    return _svg(f, str(fig.get("title")), desc)


def curve_svg(fig: dict[str, Any]) -> str:
    """The student's f(x) against the target on the same x."""
    import numpy as np

    x = np.asarray(fig["x"], dtype=float)
    fx = np.asarray([np.nan if v is None else v for v in fig["f"]], dtype=float)
    target = np.asarray(fig["target"], dtype=float)
    f = _figure(6.0, 2.8)
    ax = f.subplots()
    ax.plot(x, target, color="#8c959f", linewidth=4, label="target")
    ax.plot(x, fx, color=BAR, linewidth=1.8, label="your f(x)")
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.grid(True, color=GRID, linewidth=0.6)
    ax.legend(loc="upper right", fontsize=8)
    finite = fx[np.isfinite(fx)]
    lo = min(-0.2, float(finite.min()) if finite.size else 0.0)
    hi = max(1.3, float(finite.max()) if finite.size else 1.0)
    ax.set_ylim(max(lo, -3.0), min(hi, 4.0))
    desc = (f"Your f(x) on [{x.min():g}, {x.max():g}] against the target; largest difference "
            f"{np.nanmax(np.abs(fx - target)):.3g}.") if finite.size else "Your f(x) is not finite."
    return _svg(f, str(fig.get("title")), desc)


def confusion_svg(fig: dict[str, Any]) -> str:
    """A confusion matrix with the counts written in the cells."""
    import numpy as np

    m = np.asarray(fig["matrix"], dtype=float)
    labels = fig.get("labels") or [str(i) for i in range(m.shape[0])]
    f = _figure(4.6, 4.0)
    ax = f.subplots()
    image = ax.imshow(m, cmap="Blues", interpolation="nearest")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > m.max() / 2 else TEXT)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    f.colorbar(image, ax=ax, shrink=0.8)
    total = m.sum()
    correct = float(np.trace(m))
    worst = ""
    off = m - np.diag(np.diag(m))
    if off.max() > 0:
        i, j = np.unravel_index(int(np.argmax(off)), off.shape)
        worst = f" Most frequent confusion: true {labels[i]} predicted as {labels[j]} ({int(off[i, j])} times)."
    desc = f"Confusion matrix: {int(correct)} of {int(total)} correct.{worst}"
    return _svg(f, str(fig.get("title")), desc)


# --------------------------------------------------------------------------- instructor charts
def histogram_svg(percents: list[float], *, bins: int = 10, title: str = "Score distribution") -> str:
    """Return a bar chart of how many scores fall in each ``100/bins`` % wide bin.

    ``percents`` are scores as a percentage of the maximum (0 to 100); 100 % falls in the last bin.
    """
    counts = [0] * bins
    for p in percents:
        counts[min(int(max(p, 0.0) / (100.0 / bins)), bins - 1)] += 1
    width = 100.0 / bins
    f = _figure(7.8, 3.3)
    ax = f.subplots()
    bars = ax.bar([i * width for i in range(bins)], counts, width=width * 0.9, align="edge",
                  color=BAR)
    ax.bar_label(bars, labels=[str(c) if c else "" for c in counts], fontsize=9)
    ax.set_xticks([i * width for i in range(bins + 1)], [f"{i * 100 // bins}%" for i in range(bins + 1)])
    ax.set_xlim(0, 100)
    ax.set_ylim(0, max(counts + [1]) * 1.15)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("score (% of maximum, after late penalty)")
    ax.set_ylabel("students")
    desc = "; ".join(f"{i * 100 // bins}-{(i + 1) * 100 // bins}%: {c}" for i, c in enumerate(counts))
    return _svg(f, title, desc)


def pass_rate_svg(rates: list[tuple[str, float, int]], *, title: str = "Pass rate per test") -> str:
    """Return horizontal bars, one per test: ``(test name, fraction passed 0..1, students)``.

    Each bar and its 0-100 % track also get a transparent ``<rect>`` with a ``<title>`` tooltip
    (the full test name and the figure), since long names are shortened on the axis.
    """
    n = max(len(rates), 1)
    height_in = 0.45 + 0.36 * n
    f = _figure(10.8, height_in)
    ax = f.subplots()
    names = [name if len(name) <= 72 else name[:70] + "…" for name, _, _ in rates]
    ys = list(range(len(rates)))[::-1]
    ax.barh(ys, [1.0] * len(rates), color=GRID, height=0.7)
    ax.barh(ys, [r for _, r, _ in rates], color=BAR, height=0.7)
    for y, (_, rate, k) in zip(ys, rates):
        ax.text(1.02, y, f"{rate:.0%} of {k}", va="center", fontsize=9)
    ax.set_yticks(ys, names)
    ax.set_xlim(0, 1.25)
    ax.set_ylim(-0.6, len(rates) - 0.4)
    ax.set_xticks([0, 0.5, 1.0], ["0%", "50%", "100%"])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    f.draw_without_rendering()  # lay the figure out, so the transforms below are final
    tips = []
    height_pt = height_in * 72
    for y, (name, rate, k) in zip(ys, rates):
        for frac in (1.0, rate):
            (xa, ya), (xb, yb) = ax.transData.transform([(0, y - 0.35), (frac, y + 0.35)])
            tips.append(f'<rect x="{xa:.1f}" y="{height_pt - yb:.1f}" width="{max(xb - xa, 0):.1f}" '
                        f'height="{yb - ya:.1f}" fill="transparent"><title>{escape(name)}: '
                        f'{rate:.0%} of {k}</title></rect>')
    desc = "; ".join(f"{name}: {r:.0%} of {k}" for name, r, k in rates)
    svg = _svg(f, title, desc)
    return svg.replace("</svg>", "".join(tips) + "</svg>") if tips else svg
