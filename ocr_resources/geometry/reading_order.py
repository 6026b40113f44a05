"""Reading order of boxes on a page (regions, or the lines of one region).

An "above" graph, the rule-based approach docling and others use: box i is directly above box j when they
overlap horizontally, i ends before j starts, and no third box sits between them. Reading walks the graph
depth first from the boxes with nothing above them (left to right; right to left on right-to-left pages),
and visits a box only after everything directly above it. So a column is read to its end before the next
one; a full-width title, figure or table between columns waits for both columns above it; and the columns
below it come after it. Page headers come first and footers last, whatever their position."""

from __future__ import annotations

import functools

from ocr_resources.geometry.boxes import x_overlap
from ocr_resources.types import Box


def _above(a: Box, b: Box) -> bool:
    """a ends before b starts (a little overlap allowed: loose glyph boxes of adjacent lines overlap)."""
    slack = min(0.3 * min(a.height, b.height), 4.0)
    return a.y1 <= b.y0 + slack and a.center[1] < b.center[1]


def _overlaps_x(a: Box, b: Box) -> bool:
    """Sharing a column: a sliver of overlap (a box that strays a few points over the gutter) does not count."""
    return x_overlap(a, b) > max(1.0, 0.1 * min(a.width, b.width))


def _graph(boxes: list[Box]) -> tuple[list[list[int]], list[list[int]]]:
    n = len(boxes)
    up: list[list[int]] = [[] for _ in range(n)]
    down: list[list[int]] = [[] for _ in range(n)]
    for j in range(n):
        cands = [i for i in range(n) if i != j and _overlaps_x(boxes[i], boxes[j]) and _above(boxes[i], boxes[j])]
        for i in cands:
            blocked = any(
                w != i and w != j and (_overlaps_x(boxes[w], boxes[i]) or _overlaps_x(boxes[w], boxes[j]))
                and _above(boxes[i], boxes[w]) and _above(boxes[w], boxes[j])
                for w in cands)
            if not blocked:
                up[j].append(i)
                down[i].append(j)
    return up, down


def _before(boxes: list[Box], rtl: bool):
    """Order of siblings: above first where they share columns, else the one nearer the reading start."""

    def cmp(i: int, j: int) -> int:
        a, b = boxes[i], boxes[j]
        if _overlaps_x(a, b):
            return -1 if a.y0 < b.y0 else (1 if a.y0 > b.y0 else 0)
        if rtl:
            return -1 if a.x1 > b.x1 else 1
        return -1 if a.x0 < b.x0 else 1

    return functools.cmp_to_key(cmp)


def _order_group(boxes: list[Box], idx: list[int], rtl: bool) -> list[int]:
    if len(idx) <= 1:
        return list(idx)
    sub = [boxes[i] for i in idx]
    up, down = _graph(sub)
    key = _before(sub, rtl)
    for children in down:
        children.sort(key=key)
    heads = sorted((k for k in range(len(sub)) if not up[k]), key=key)
    visited = [False] * len(sub)
    order: list[int] = []

    def first_unvisited_above(k: int) -> int:
        seen = set()
        while k not in seen:
            seen.add(k)
            nxt = next((u for u in sorted(up[k], key=key) if not visited[u]), None)
            if nxt is None:
                return k
            k = nxt
        return k

    def visit(k: int) -> None:
        stack = [k]
        visited[k] = True
        order.append(k)
        while stack:
            cur = stack[-1]
            nxt = None
            for child in down[cur]:
                top = first_unvisited_above(child)
                if not visited[top]:
                    nxt = top
                    break
            if nxt is None:
                stack.pop()
                continue
            visited[nxt] = True
            order.append(nxt)
            stack.append(nxt)

    for h in heads:
        if not visited[h]:
            visit(h)
    for k in sorted(range(len(sub)), key=lambda k: (sub[k].y0, sub[k].x0)):  # cycles: cannot happen, but never lose one
        if not visited[k]:
            visit(k)
    return [idx[k] for k in order]


def reading_order(boxes: list[Box], labels: list[str] | None = None, rtl: bool = False) -> list[int]:
    """Indices of `boxes` in reading order; with `labels`, page headers first and footers last."""
    labels = labels or [""] * len(boxes)
    head = [i for i, lab in enumerate(labels) if lab == "header"]
    foot = [i for i, lab in enumerate(labels) if lab == "footer"]
    body = [i for i, lab in enumerate(labels) if lab not in ("header", "footer")]
    return _order_group(boxes, head, rtl) + _order_group(boxes, body, rtl) + _order_group(boxes, foot, rtl)
