"""Reading order of boxes on a page (regions, or the lines of one region).

An "above" graph, as in the rule-based order docling and others use: box i is directly above box j when they
overlap horizontally, i ends before j starts, and no third box sits between them. A box is read only after
every box directly above it, a column is followed down to its end before the next one starts (left to
right; right to left on right-to-left pages), so a full-width title, figure or table between columns waits
for both columns above it, and the columns below it come after it. Page headers come first and footers
last, whatever their position."""

from __future__ import annotations

import functools

from ocr_resources.geometry.boxes import x_overlap
from ocr_resources.types import Box

# How far a box may run into the one below it and still be above it, as a share of the smaller one's height, and
# at most: the loose glyph boxes of adjacent lines overlap (a font whose ascent and descent span 1.4 times its
# line pitch: lines 17 pt tall, 12 pt apart, overlap by 5 pt)
OVERLAP_SHARE, OVERLAP_MAX = 0.35, 8.0


def _above(a: Box, b: Box) -> bool:
    """a ends before b starts (a little overlap allowed: loose glyph boxes of adjacent lines overlap)."""
    slack = min(OVERLAP_SHARE * min(a.height, b.height), OVERLAP_MAX)
    return a.y1 <= b.y0 + slack and a.center[1] < b.center[1]


# Boxes one above the other in `_before` and `_beside_before` may overlap this much (a share of the smaller height, and
# at most this many points): glyph boxes that touch, not a row's boxes set a little off each other's line
TOUCH_SHARE, TOUCH_MAX = 0.15, 2.0


def _stacked(a: Box, b: Box, touch: bool) -> bool:
    """a ends before b starts, their glyph boxes touching at most (a point or two, as loose boxes of adjacent lines;
    without `touch`, not at all)."""
    return a.y1 <= b.y0 + (min(TOUCH_SHARE * min(a.height, b.height), TOUCH_MAX) if touch else 0.0)


def _overlaps_x(a: Box, b: Box) -> bool:
    """Sharing a column: a sliver of overlap (a box that strays a few points over the gutter) does not count."""
    return x_overlap(a, b) > max(1.0, 0.1 * min(a.width, b.width))


def _graph(boxes: list[Box]) -> tuple[list[list[int]], list[list[int]]]:
    """Edges of the above-graph: i is directly above j when i is above j in a shared column (a candidate) and
    no other candidate w of j sits below i in i's column (i a candidate above w): a blocker beside i, however low,
    does not cut i's link (a short column beside a long one was read after the text under both). The pairwise
    tests as numpy matrices, with the same float operations as `_overlaps_x` and `_above` (a page's lines are
    hundreds of boxes: the loops were cubic in Python)."""
    import numpy as np

    n = len(boxes)
    up: list[list[int]] = [[] for _ in range(n)]
    down: list[list[int]] = [[] for _ in range(n)]
    if n < 2:
        return up, down
    x0, y0, x1, y1 = (np.array(v, dtype=np.float64) for v in zip(*((b.x0, b.y0, b.x1, b.y1) for b in boxes),
                                                                   strict=True))
    width, height, cy = np.maximum(0.0, x1 - x0), np.maximum(0.0, y1 - y0), (y0 + y1) / 2
    overlap = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    shares = overlap > np.maximum(1.0, 0.1 * np.minimum(width[:, None], width[None, :]))
    slack = np.minimum(OVERLAP_SHARE * np.minimum(height[:, None], height[None, :]), OVERLAP_MAX)
    above = (y1[:, None] <= y0[None, :] + slack) & (cy[:, None] < cy[None, :])  # [i, j]: _above(i, j)
    np.fill_diagonal(above, False)
    cands = shares & above  # [i, j]: i is a candidate above j
    for j in range(n):
        idx = np.flatnonzero(cands[:, j])
        if not idx.size:
            continue
        # a candidate i is blocked by another candidate w below it in its column: only the candidates' rows and
        # columns are looked at (a few of the page's boxes), not the whole matrix for every j
        for i in idx[~cands[np.ix_(idx, idx)].any(axis=1)].tolist():
            up[j].append(i)
            down[i].append(j)
    return up, down


def _before(boxes: list[Box], rtl: bool, touch: bool):
    """Order of siblings: the upper one first where they share a column or one ends before the other
    starts (a running head over one column; with `touch`, their glyph boxes may touch: `_stacked`), else the one
    nearer the reading start (left, or right)."""

    def cmp(i: int, j: int) -> int:
        a, b = boxes[i], boxes[j]
        # (one above the other also where their glyph boxes touch: a listing's closing brace a point into the
        # indented line above it was read before that line)
        if _overlaps_x(a, b) or _stacked(a, b, touch) or _stacked(b, a, touch):
            return -1 if a.y0 < b.y0 else (1 if a.y0 > b.y0 else 0)
        if rtl:
            return -1 if a.x1 > b.x1 else 1
        return -1 if a.x0 < b.x0 else 1

    return functools.cmp_to_key(cmp)


def _order_group(boxes: list[Box], idx: list[int], rtl: bool, touch: bool) -> list[int]:
    """Walk the above-graph: from the box just read, go on to the first box below it whose boxes above are
    all read (down the column), unless a ready box beside it comes first (the left column before the right
    one); with nothing ready below, a ready box further down the same column, else the first ready box (the
    next column, or what waited for it)."""
    if len(idx) <= 1:
        return list(idx)
    sub = [boxes[i] for i in idx]
    up, down = _graph(sub)
    key = _before(sub, rtl, touch)
    for children in down:
        children.sort(key=key)
    waiting = [len(u) for u in up]
    ready = {k for k in range(len(sub)) if not waiting[k]}
    order: list[int] = []
    current: int | None = None
    run = sub[0]  # the horizontal extent of the column being read (set at the first box)
    while ready:
        nxt = None
        jumped = False  # to another column: the run's extent starts again there
        if current is not None:
            below = [c for c in down[current] if c in ready]
            if below:
                nxt = below[0]
                # a ready box far wider than this one, lying wholly between it and the next down its "column" (ending
                # before the next starts: a box beside the next one, overlapping its first line, is not between),
                # comes first: the column is labels, each over its own text set further in (a note's "Tip" over
                # its text, box after box), not a column read to its end (a sparse table column's cells, with
                # cells of the next column between them, are as narrow as those: read down the column)
                between = [r for r in ready if r != nxt and not _overlaps_x(sub[r], sub[nxt])
                           and sub[r].width >= 3 * sub[current].width
                           and _above(sub[current], sub[r]) and sub[r].y1 <= sub[nxt].y0 + 1.0]
                beside = [r for r in ready if r != nxt and _beside_before(sub[r], sub[nxt], rtl, touch)]
                if between:
                    nxt, jumped = min(between, key=key), True
                elif beside:
                    nxt, jumped = min(beside, key=key), True
        if nxt is None and current is not None:
            # nothing ready right below: a ready box of the column being read (its extent so far; the pieces
            # of a sidebar's table overlap and are not linked above one another) before the top of another
            column = [r for r in ready if _overlaps_x(sub[r], run)]
            if column:
                nxt = min(column, key=key)
            elif row := [r for r in ready if not up[r] and _on_row_after(sub[current], sub[r], rtl)]:
                # the column ends in a row of boxes with nothing above them (a table's heading row under a letter's
                # title, beside a sidebar): the row is read across before the next column's top
                nxt = min(row, key=lambda r: -sub[r].x1 if rtl else sub[r].x0)
        if nxt is None:
            nxt, jumped = min(ready, key=key), True
        run = sub[nxt] if jumped else Box(min(run.x0, sub[nxt].x0), run.y0, max(run.x1, sub[nxt].x1), run.y1)
        ready.discard(nxt)
        order.append(nxt)
        for c in down[nxt]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.add(c)
        current = nxt
    if len(order) < len(sub):  # cannot happen (the graph has no cycles), but never lose a box
        order += [k for k in range(len(sub)) if k not in set(order)]
    return [idx[k] for k in order]


def _on_row_after(a: Box, b: Box, rtl: bool) -> bool:
    """b stands on a's row (half the smaller height in common), after it (right of it; left on right-to-left
    pages)."""
    if min(a.y1, b.y1) - max(a.y0, b.y0) < 0.5 * min(a.height, b.height):
        return False
    return b.x0 >= a.x1 - 1 if not rtl else b.x1 <= a.x0 + 1


def _beside_before(a: Box, b: Box, rtl: bool, touch: bool) -> bool:
    """a sits in an earlier column than b (left of it; right of it on right-to-left pages) and starts above
    b's end: it is read first, even when b is next down the column being read."""
    if _overlaps_x(a, b) or _stacked(b, a, touch):  # (b ends before a starts; their glyph boxes may touch)
        return False
    return a.x1 <= b.x0 + 1 if not rtl else a.x0 >= b.x1 - 1


def reading_order(boxes: list[Box], labels: list[str] | None = None, rtl: bool = False, touch: bool = False
                  ) -> list[int]:
    """Indices of `boxes` in reading order; with `labels`, page headers first and footers last. `touch`: boxes whose
    glyph boxes touch (a point or two) are one above the other, not side by side (a page's blocks: a listing's
    closing brace touching its indented body; not a block's lines, where a figure's label touches a listing's)."""
    labels = labels or [""] * len(boxes)
    head = [i for i, lab in enumerate(labels) if lab == "header"]
    foot = [i for i, lab in enumerate(labels) if lab == "footer"]
    body = [i for i, lab in enumerate(labels) if lab not in ("header", "footer")]
    return (_order_group(boxes, head, rtl, touch) + _order_group(boxes, body, rtl, touch)
            + _order_group(boxes, foot, rtl, touch))
