"""Rows by name in the report: the table's labels (R's row names, an id column) or the row number from 1.

:func:`place_labels` writes row names next to points without letting them overlap (a greedy search over
four offsets in display space; a label that finds no free place is left out and counted in the legend).
"""

from __future__ import annotations

import numpy as np


def label_rows(labels, rows) -> list[str]:
    """Names of rows ``rows`` (0-based): ``labels[i]`` when the table has labels, else the number from 1."""
    return [str(labels[int(i)]) if labels is not None else str(int(i) + 1) for i in rows]


def row_name(d, i: int) -> str:
    """The name of row ``i`` (0-based) of a diagnosis: its label, or its number from 1."""
    return label_rows(getattr(d, "row_labels", None), [i])[0]


def row_names(d, rows) -> list[str]:
    return label_rows(getattr(d, "row_labels", None), rows)


#: offsets in points tried in turn for each label: right-up, right-down, left-up, left-down
_OFFSETS = ((4, 3), (4, -11), (-4, 3), (-4, -11))


def place_labels(ax, xs, ys, names, *, color: str = "#d62728", fontsize: int = 8, limit: int = 25) -> int:
    """Annotate points with ``names`` without overlap; return how many labels were left out."""
    fig = ax.figure
    fig.canvas.draw_idle() if hasattr(fig.canvas, "draw_idle") else None
    placed: list[tuple[float, float, float, float]] = []
    trans = ax.transData
    skipped = 0
    pts = trans.transform(np.column_stack([np.asarray(xs, float), np.asarray(ys, float)])) if len(xs) else []
    dpi = fig.dpi / 72.0
    frame = ax.bbox
    for k, ((px, py), name) in enumerate(zip(pts, names)):
        if k >= limit:
            skipped += 1
            continue
        w, h = (len(name) * 0.6 * fontsize + 2) * dpi, (fontsize + 2) * dpi
        boxes = []
        for dx, dy in _OFFSETS:
            x0 = px + dx * dpi - (w if dx < 0 else 0)
            y0 = py + dy * dpi
            boxes.append(((x0, y0, x0 + w, y0 + h), dx, dy))
        # offsets whose label stays inside the axes first (a point at the right edge is named on its left)
        boxes.sort(key=lambda t: not (frame.x0 <= t[0][0] and t[0][2] <= frame.x1 and frame.y0 <= t[0][1]
                                      and t[0][3] <= frame.y1))
        for box, dx, dy in boxes:
            if all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed):
                placed.append(box)
                ax.annotate(name, (xs[k], ys[k]), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                            color=color, ha="right" if dx < 0 else "left")
                break
        else:
            skipped += 1
    return skipped
