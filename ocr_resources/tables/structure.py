"""A table's structure from every signal its page has, chosen per table: ruling lines where they rule its
columns or rows, word alignment for the rest; the choice is recorded as the structure's `method`."""

from __future__ import annotations

import dataclasses

from ocr_resources.geometry.lines import is_rtl
from ocr_resources.tables.alignment import PHRASE_GAP, column_lanes, is_numeric, row_lanes
from ocr_resources.tables.cells import trim_fill_words
from ocr_resources.tables.grid import Lane, build_grid, drop_empty, prune, to_structure
from ocr_resources.tables.lattice import close_sides, open_partial_rules, rule_lanes, ruled, split_bands
from ocr_resources.tables.lines import Line, median_height, split_phrases, text_lines
from ocr_resources.tables.rules import Rule
from ocr_resources.tables.turned import sideways, turned_back, upright
from ocr_resources.types import Box, TableStructure, Word

DENSE_ROW_RULES = 3  # this many inner horizontal rules: every row is ruled, a band is one row unless numbers say not


def build_structure(words: list[Word], rules: list[Rule], region: Box) -> TableStructure:
    """Cells of the table in `region` from its words and the page's ruling lines (all in PDF points, or any
    one unit). Columns come from vertical rules when they run down the table, else from white-space
    channels; rows from horizontal rules when they run across it (bands holding several rows of data are
    split), else from the lines of text."""
    words = [w for w in words if w.text.strip() and region.contains_point(*w.box.center)]
    if not words:
        return TableStructure(0, 0, [], method="alignment")
    if way := sideways(words):  # a table printed sideways: read it in its own orientation
        words, rules, region, back = upright(words, rules, region, way)
        return turned_back(build_structure(words, rules, region), back)
    words, filled = _without_fill(words)
    if not words:
        return TableStructure(0, 0, [], method="alignment")
    h = median_height(words)
    tol = max(1.5, 0.3 * h)
    lines = text_lines(words)
    x0, x1 = min(w.box.x0 for w in words), max(w.box.x1 for w in words)
    y0, y1 = min(w.box.y0 for w in words), max(w.box.y1 for w in words)
    found = rule_lanes(words, rules, region, h)
    col_ruled = bool(ruled(found.cols, (x0, x1), (y0, y1))) and found.crossing <= 0.05 * len(words)
    row_rules = ruled(found.rows, (y0, y1), (x0, x1))
    if col_ruled:
        cols = close_sides(found.cols, x0, x1, tol)
        cols = sorted(cols + _unruled_columns(lines, h, region, cols), key=lambda c: c.pos)
        cols = _open_below_short_rules(cols, lines, h, region, (y0, y1))
        seps = [(c.pos - 0.5, c.pos + 0.5) for c in cols[1:-1]]
    else:
        cols, seps = column_lanes(lines, h, region, [v.pos for v in ruled(found.cols, (x0, x1), (y0, y1), 0.3)])
    body = _body_top(lines, len(cols) - 1, h)
    if row_rules:
        rows = close_sides(found.rows, y0, y1, tol)
        limit = cols[1].pos if len(cols) > 2 and not cols[1].virtual else None  # a rule ends the label column
        heading_end = body if body < float("inf") else float("-inf")  # no numbers: no heading bands to keep
        rows = split_bands(rows, [c.pos for c in cols], words, h, len(row_rules) < DENSE_ROW_RULES, limit,
                           heading_end)
        rows = open_partial_rules(rows, [c.pos for c in cols], words, h, heading_end)
        if col_ruled and cols[0].virtual and len(cols) > 2:
            rows = _over_label_column(rows, cols[0].pos, cols[1].pos, tol, lines, heading_end)
        # the bands above the first row of numbers are headings (several where group headings are ruled off)
        header = max(1, sum(1 for r in rows[1:] if r.pos <= body + tol)) if body < float("inf") else 1
    else:
        full = [r.pos for r in found.rows if r.coverage(x0, x1) >= 0.5]
        rows, header = row_lanes(lines, seps, h, full, [r.pos for r in found.rows if r.pos not in full])
    rows, cols = prune(rows, cols, words)
    _group_heading_spans(found.rows, cols, lines, h, x0, x1, body)
    walls = [c.pos for c in cols if c.spans]  # ruled boundaries, those opened below a ruled heading too
    cuts = [(c.pos - 0.5, c.pos + 0.5) for c in cols[1:-1]] + seps
    phrases = [p for ln in lines for p in split_phrases(ln.words, PHRASE_GAP * h, cuts, walls)]
    method = "rules" if col_ruled and row_rules else "rules+alignment" if col_ruled or row_rules else "alignment"
    grid = drop_empty(build_grid(phrases, rows, cols, method))
    grid.header_rows = min(header, grid.n_rows - 1) if grid.n_rows > 1 else 0
    return to_structure(grid, filled)


def _over_label_column(rows: list[Lane], open_side: float, first_rule: float, tol: float, lines: list[Line],
                       body: float = float("-inf")) -> list[Lane]:
    """Row labels set outside a ruled grid (left of its first column rule, no rule round them), one on
    every row: the grid's row rules that start at that first rule divide the labels too. Not where the
    labels are fewer than the rows (a group's label centred beside its rows spans them), nor above the body
    (a stub heading beside stacked heading rows spans them)."""
    ruled = [lane for lane in rows if not lane.virtual and lane.pos > body - 4 * tol
             and any(abs(a - first_rule) <= 2 * tol for a, _ in lane.spans)]
    labels = [ln for ln in lines if ln.box.y0 > body - 4 * tol
              and any(open_side <= w.box.center[0] < first_rule for w in ln.words)]
    if not ruled or len(labels) < 0.8 * (len(ruled) + 1):
        return rows
    return [Lane(lane.pos, sorted([(open_side, first_rule)] + lane.spans), cuts=lane.cuts)
            if any(lane is r for r in ruled) else lane for lane in rows]


def _without_fill(words: list[Word]) -> tuple[list[Word], set[int]]:
    """The words with dot leaders and fill characters taken out, line by line (see `trim_fill_words`), and
    the ids of the words that had some."""
    out: list[Word] = []
    filled: set[int] = set()
    for ln in text_lines(words):
        kept, marks = trim_fill_words(ln.words)
        out += kept
        filled |= marks
    return out, filled


def _body_top(lines: list[Line], n_cols: int, h: float) -> float:
    """y where the body starts: the first line with numbers in half the columns (a data row, not a row of
    years in the heading; a number inside a phrase of text does not count); infinity for a table without
    numbers."""
    need = max(2, n_cols // 2)
    for ln in lines:
        phrases = split_phrases(ln.words, PHRASE_GAP * h)
        if sum(is_numeric(" ".join(w.text for w in p)) for p in phrases) >= need:
            return ln.box.y0
    return float("inf")


def _group_heading_spans(rules: list[Lane], cols: list[Lane], lines: list[Line], h: float, x0: float, x1: float,
                         body: float) -> None:
    """A heading with a rule under it that runs across only some columns (a group heading over its
    columns) spans those columns: the column boundaries under the rule are cut along the heading's line,
    except a boundary in the gap between two headings on that line (one rule under "Revenue" and "Capital",
    each over its own pair of columns). Only above the body."""
    for rule in rules:
        if rule.pos >= body:
            continue
        for a, b in rule.spans:
            if b - a >= 0.9 * (x1 - x0):
                continue
            above = [ln for ln in lines if ln.box.y1 <= rule.pos + 0.3 * h and ln.box.y0 >= rule.pos - 2 * h
                     and any(a - h <= w.box.x0 and w.box.x1 <= b + h for w in ln.words)]
            if not above:
                continue
            line = max(above, key=lambda ln: ln.box.y1)
            spans = [(p[0].box.x0, p[-1].box.x1) for p in split_phrases(line.words, PHRASE_GAP * h)
                     if a - h <= p[0].box.x0 and p[-1].box.x1 <= b + h]
            for c in cols[1:-1]:
                between = (not any(p0 < c.pos < p1 for p0, p1 in spans) and any(p1 <= c.pos for _, p1 in spans)
                           and any(p0 >= c.pos for p0, _ in spans))
                if c.virtual and a + h < c.pos < b - h and not between:
                    c.cuts.append((line.box.y0, line.box.y1))


def _open_below_short_rules(cols: list[Lane], lines: list[Line], h: float, region: Box,
                            extent: tuple[float, float]) -> list[Lane]:
    """A column rule that runs down only a small part of the table (the heading's cells ruled, the body
    not) still divides the body where the body's white space does: such a rule on a white-space channel
    becomes a boundary everywhere, except across the phrases that cross the channel (a spanning heading)."""
    lanes, seps = column_lanes(lines, h, region)
    top, bottom = extent
    out = []
    for c in cols:
        inner = c is not cols[0] and c is not cols[-1]
        if inner and not c.virtual and c.coverage(top, bottom) < 0.5:
            match = [lane for lane, (a, b) in zip(lanes[1:-1], seps, strict=True) if a - h / 2 <= c.pos <= b + h / 2]
            if match:  # crossed only where no rule runs; its rules still cut phrases (walls)
                cuts = [(a, b) for a, b in match[0].cuts if c.coverage(a, b) < 0.5]
                c = Lane(c.pos, c.spans, virtual=True, cuts=cuts)
        out.append(c)
    return out


def _unruled_columns(lines: list[Line], h: float, region: Box, ruled_cols: list[Lane]) -> list[Lane]:
    """Columns a ruled table leaves without a rule (one rule after the label column, white space between the
    numbers): white-space channels far from every rule with numbers on both sides, inside one ruled
    column, on at least three lines (justified text in a ruled cell has channels too, but not numbers). A
    label before a number counts too ("Under 1 year   3,533,692"): the number after the channel is what
    text does not have, on most of the lines that use both sides."""
    lanes, seps = column_lanes(lines, h, region)
    xs = [c.pos for c in ruled_cols]
    out = []
    for lane, (a, b) in zip(lanes[1:-1], seps, strict=True):
        if any(a - h < x < b + h for x in xs):
            continue  # the channel of a ruled boundary
        left = max((x for x in xs if x < a), default=float("-inf"))
        right = min((x for x in xs if x > b), default=float("inf"))
        both = numbers = used = 0
        for ln in lines:
            before = [w for w in ln.words if left < w.box.x0 and w.box.x1 <= b]
            after = [w for w in ln.words if a <= w.box.x0 and w.box.x1 < right]
            if not (before and after):
                continue
            used += 1
            numbers += is_numeric(after[0].text)
            both += is_numeric(before[-1].text) and is_numeric(after[0].text)
        if both >= 3 or (numbers >= 3 and numbers >= 0.6 * used):
            out.append(lane)
    return out


def in_reading_order(structure: TableStructure, words: list[Word]) -> TableStructure:
    """Columns numbered in reading order: on a right-to-left table (Arabic, Hebrew, Persian) the first column
    is the rightmost, as in an HTML table with dir="rtl". Engines number columns left to right on the page."""
    if not structure.cells or not is_rtl(words):
        return structure
    mirrored = [dataclasses.replace(c, col=structure.n_cols - c.col - c.col_span) for c in structure.cells]
    return dataclasses.replace(structure, cells=sorted(mirrored, key=lambda c: (c.row, c.col)), rtl=True)
