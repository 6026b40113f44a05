"""Ruled tables: row and column boundaries from ruling lines. Two grid cells are one (a span) where the rule
between them is missing; a band between two rules that holds several lines of data is split into rows."""

from __future__ import annotations

from dataclasses import dataclass

from ocr_resources.tables.alignment import LineCells, group_rows, is_numeric
from ocr_resources.tables.grid import Lane
from ocr_resources.tables.lines import Line, text_lines
from ocr_resources.tables.rules import Rule
from ocr_resources.types import Box, Word


def lanes(rules: list[Rule], tol: float, gap: float) -> list[Lane]:
    """Rules (all of one orientation) clustered by position (chains closer than `tol`); collinear pieces
    joined across gaps < `gap`."""
    out: list[Lane] = []
    members: list[list[Rule]] = []
    for r in sorted(rules, key=lambda r: r.pos):
        if members and r.pos - members[-1][-1].pos <= tol:
            members[-1].append(r)
        else:
            members.append([r])
    for group in members:
        total = sum(max(r.length, 1e-6) for r in group)
        pos = sum(r.pos * max(r.length, 1e-6) for r in group) / total
        spans: list[list[float]] = []
        for a, b in sorted((r.start, r.end) for r in group):
            if spans and a <= spans[-1][1] + gap:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
        out.append(Lane(pos, [(a, b) for a, b in spans]))
    return out


def _touches(pos: float, end: float, others: list[Lane], tol: float) -> bool:
    """Does a rule at `pos` ending at `end` meet one of the crossing lanes there?"""
    return any(abs(o.pos - end) <= tol and any(a - tol <= pos <= b + tol for a, b in o.spans) for o in others)


def _clean(own: list[Lane], cross: list[Lane], tol: float, min_free: float) -> list[Lane]:
    """Drop rule pieces that are neither long nor attached to the grid at an end: underlines, strokes of a
    logo, a separator under a footnote."""
    out = []
    for lane in own:
        spans = [(a, b) for a, b in lane.spans
                 if b - a >= min_free or _touches(lane.pos, a, cross, tol) or _touches(lane.pos, b, cross, tol)]
        if spans:
            out.append(Lane(lane.pos, spans))
    return out


@dataclass
class RuleLanes:
    rows: list[Lane]  # horizontal rules near the table, top to bottom
    cols: list[Lane]  # vertical rules, left to right
    crossing: int  # words a vertical rule runs through (a rule that is not a cell border)


def rule_lanes(words: list[Word], rules: list[Rule], region: Box, h: float) -> RuleLanes:
    """The ruling lines of a table region as row and column lanes, cleaned of strays."""
    tol = max(1.5, 0.3 * h)
    margin = 0.8 * h
    area = Box(region.x0 - margin, region.y0 - margin, region.x1 + margin, region.y1 + margin)
    near = [Rule(max(r.x0, area.x0), max(r.y0, area.y0), min(r.x1, area.x1), min(r.y1, area.y1))
            for r in rules
            if r.kind == "line" and r.x1 >= area.x0 and r.x0 <= area.x1 and r.y1 >= area.y0 and r.y0 <= area.y1]
    # rules closer than a text line cannot have text between them: double rules, a cell's inner frame
    hs = lanes([r for r in near if r.horizontal and r.length > 0], 0.6 * h, tol)
    vs = lanes([r for r in near if not r.horizontal and r.length > 0], 0.6 * h, tol)
    # short horizontal rules stay: they rule off group headings (and sums); short vertical ones are strays
    hs, vs = (_clean(hs, vs, 2 * tol, min(2 * h, 0.3 * region.width)),
              _clean(vs, hs, 2 * tol, max(2.5 * h, 0.3 * region.height)))
    crossing = sum(1 for w in words if any(
        w.box.x0 + tol < v.pos < w.box.x1 - tol and v.coverage(w.box.y0, w.box.y1) > 0.5 for v in vs))
    return RuleLanes(hs, vs, crossing)


def ruled(lanes_: list[Lane], inside: tuple[float, float], along: tuple[float, float],
          min_share: float = 0.5) -> list[Lane]:
    """Lanes strictly `inside` the text's extent across them whose rules cover at least `min_share` of its
    extent `along` them."""
    return [ln for ln in lanes_ if inside[0] < ln.pos < inside[1] and ln.coverage(*along) >= min_share]


def close_sides(lanes_: list[Lane], lo: float, hi: float, tol: float) -> list[Lane]:
    """Open sides (no rule beyond the text) get a virtual boundary where the text ends."""
    lanes_ = [ln for ln in lanes_ if lo - 4 * tol <= ln.pos <= hi + 4 * tol]
    if not lanes_ or lanes_[0].pos > lo + tol:
        lanes_.insert(0, Lane(lo - 1, virtual=True))
    if lanes_[-1].pos < hi - tol:
        lanes_.append(Lane(hi + 1, virtual=True))
    return lanes_


def line_cells_at(line: Line, xs: list[float]) -> LineCells:
    """A line's words by the column (between boundaries at `xs`) their centre falls in."""
    out = LineCells(line)
    for w in line.words:
        cx = w.box.center[0]
        col = max(0, min(len(xs) - 2, sum(1 for x in xs[1:-1] if x <= cx)))
        if col in out.cells:
            out.cells[col][1].append(w)
        else:
            out.cells[col] = (col, [w])
    return out


def split_bands(rows: list[Lane], xs: list[float], words: list[Word], h: float, all_bands: bool,
                label_limit: float | None = None, body: float = float("-inf")) -> list[Lane]:
    """Partly ruled tables: a band between two horizontal rules that holds several rows of text gets
    boundaries between them (virtual lanes). Where rules are dense, only bands with several lines of
    numbers are split (wrapped text in a ruled cell stays one row); with `all_bands` every band below the
    first is split where the lines do not continue each other. Bands above `body` (the first row of
    numbers) are headings: their lines stay one row."""
    out = [rows[0]]
    for k, (top, bottom) in enumerate(zip(rows, rows[1:], strict=False)):
        if bottom.pos <= body:
            out.append(bottom)
            continue
        band = [w for w in words if top.pos < w.box.center[1] < bottom.pos]
        lines = text_lines(band)
        if len(lines) >= 2:
            cells = [line_cells_at(ln, xs) for ln in lines]
            numeric = sum(1 for lc in cells if any(is_numeric(lc.text(c)) for c in lc.cells if c > 0))
            if numeric >= 2 or (all_bands and k > 0):
                groups = group_rows(cells, len(xs) - 1, h, [], detect_header=False, label_limit=label_limit)
                for prev, nxt in zip(groups, groups[1:], strict=False):
                    out.append(Lane((prev[0][-1].line.box.y1 + nxt[0][0].line.box.y0) / 2, virtual=True))
        out.append(bottom)
    return out


def open_partial_rules(rows: list[Lane], xs: list[float], words: list[Word], h: float,
                       body: float = float("-inf")) -> list[Lane]:
    """A rule under some columns of the body only (a sum line over a column of numbers) between two rows
    that the other columns have too: a label right above it and one right below it (within 1.5 line
    heights: a sum line sits in the white space between rows) in a column it leaves open, and no word
    there across it. It ends a row across the whole table; else the label beside it would span both rows.
    A cell that spans rows (centred between the rules, across them) keeps its span."""
    out = []
    for k, lane in enumerate(rows):
        if 0 < k < len(rows) - 1 and not lane.virtual and lane.pos > body:
            for a, b in zip(xs, xs[1:], strict=False):
                if lane.separates(a, b):
                    continue
                column = [w for w in words if a <= w.box.center[0] < b]
                tol = 0.2 * h
                if any(w.box.y0 < lane.pos - tol and w.box.y1 > lane.pos + tol for w in column):
                    continue  # a word across the rule: a cell spanning both rows
                # labels (words, not numbers: a chart's axis under its last bar is no row) on both sides
                labels = [w.box for w in column if any(ch.isalpha() for ch in w.text)]
                if (any(lane.pos - 1.5 * h < box.y1 <= lane.pos + tol for box in labels)
                        and any(lane.pos - tol <= box.y0 < lane.pos + 1.5 * h for box in labels)):
                    lane = Lane(lane.pos, lane.spans, virtual=True)
                    break
        out.append(lane)
    return out
