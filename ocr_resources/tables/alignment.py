"""Unruled tables: the grid from how words line up.

Columns are the vertical channels of white space that the table's lines agree on; a phrase that crosses a
channel spans the columns on both sides. Rows are text lines, except that a line continuing the cells of
the line above (a wrapped label, a wrapped text cell) joins its row, and the heading lines above the body
become header rows."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from ocr_resources.tables.grid import Lane
from ocr_resources.tables.lines import Line, split_phrases
from ocr_resources.types import Box, Word

PHRASE_GAP = 0.6  # x text height (~0.7 em, twice a wide space): words closer than this are one phrase
_YEAR = re.compile(r"^\s*(1[89]|20)\d\d\s*$")  # a year: in a heading, a column's name, not a value
_NUMERIC = re.compile(r"^[\s\-+–−(△▲]*[$€£¥₹%]?\s?[\d.,]+[%)*]?\s*$")


@dataclass
class LineCells:
    line: Line
    cells: dict[int, tuple[int, list[Word]]] = field(default_factory=dict)  # first column -> (last column, words)

    @property
    def columns(self) -> set[int]:
        return {c for first, (last, _) in self.cells.items() for c in range(first, last + 1)}

    def spans(self) -> bool:
        return any(last > first for first, (last, _) in self.cells.items())

    def text(self, col: int) -> str:
        return " ".join(w.text for w in self.cells[col][1]) if col in self.cells else ""


def channels(lines: list[Line], h: float, x0: float, x1: float,
             forced: list[float] = ()) -> list[tuple[float, float]]:
    """Vertical strips of white space between columns: where (nearly) no phrase of the lines with several
    phrases lies. A few crossings are allowed, so a spanning heading or one overflowing label does not
    hide a column boundary. `forced` x positions (vertical rules) are boundaries whatever the text does."""
    rows = [split_phrases(ln.words, PHRASE_GAP * h) for ln in lines]
    multi = [r for r in rows if len(r) >= 2]
    # channels come from the lines with the usual number of cells or more: a heading over several columns
    # (fewer, longer phrases) then crosses them as a span instead of hiding them
    typical = sorted(len(r) for r in multi)[len(multi) // 2] if multi else 0
    base = [r for r in multi if len(r) >= typical]
    allow = len(base) // 8
    # the text's own extent: channels must have text on both sides
    lo = min((p[0].box.x0 for r in rows for p in r), default=x0)
    hi = max((p[-1].box.x1 for r in rows for p in r), default=x1)
    # sweep over the phrases' edges: how many cover each stretch of x
    events = sorted([(p[0].box.x0, 1) for r in base for p in r] + [(p[-1].box.x1, -1) for r in base for p in r])
    free: list[tuple[float, float]] = []
    depth, prev = 0, lo
    for x, step in events + [(hi, 0)]:
        a, b = max(prev, lo), min(x, hi)
        if depth <= allow and b > a and a > lo and b < hi:
            if free and free[-1][1] >= a:  # stretches of one free run
                free[-1] = (free[-1][0], b)
            else:
                free.append((a, b))
        depth += step
        prev = max(prev, x)
    out = [(a, b) for a, b in free if b - a >= 0.15 * h] if multi else []
    for x in forced:
        if lo < x < hi and not any(a - h <= x <= b + h for a, b in out):
            out.append((x - 0.5, x + 0.5))
    out.sort()
    if not multi:
        return out
    # a channel only separates columns if lines use both sides of it
    return [c for c in out if _supported(c, multi)]


def _supported(channel: tuple[float, float], rows: list[list[list[Word]]]) -> bool:
    a, b = channel
    both = sum(1 for phrases in rows
               if any(p[-1].box.x1 <= b for p in phrases) and any(p[0].box.x0 >= a for p in phrases))
    return both >= min(2, len(rows))


def _columns_of(phrase: list[Word], seps: list[tuple[float, float]]) -> tuple[int, int]:
    """The columns a phrase lies in: those whose interior (between channels) it overlaps; a phrase inside a
    channel goes to the column nearer its centre."""
    x0, x1 = phrase[0].box.x0, phrase[-1].box.x1
    bounds = [float("-inf")] + [v for s in seps for v in s] + [float("inf")]
    interiors = [(bounds[2 * k], bounds[2 * k + 1]) for k in range(len(seps) + 1)]
    hit = [k for k, (a, b) in enumerate(interiors) if min(b, x1) - max(a, x0) > 0]
    if hit:
        return hit[0], hit[-1]
    cx = (x0 + x1) / 2
    k = sum(1 for a, b in seps if (a + b) / 2 < cx)
    return k, k


def line_cells(line: Line, seps: list[tuple[float, float]], h: float) -> LineCells:
    out = LineCells(line)
    for phrase in split_phrases(line.words, PHRASE_GAP * h, seps):
        first, last = _columns_of(phrase, seps)
        taken = {c for f, (la, _) in out.cells.items() for c in range(f, la + 1)}
        if taken & set(range(first, last + 1)):
            # a column already has a phrase on this line: join it there
            prev = max(c for c in out.cells if c <= first) if any(c <= first for c in out.cells) else min(out.cells)
            la, words = out.cells[prev]
            out.cells[prev] = (max(la, last if prev == first else la), words + phrase)
            continue
        out.cells[first] = (last, list(phrase))
    return out


def is_numeric(text: str) -> bool:
    return bool(_NUMERIC.match(text)) and any(ch.isdigit() for ch in text)


def column_lanes(lines: list[Line], h: float, region: Box,
                 forced: list[float] = ()) -> tuple[list[Lane], list[tuple[float, float]]]:
    """Column boundaries from the white-space channels (virtual lanes at their middles), plus the text's outer
    edges; and the channels. A lane is cut where a phrase crosses its whole channel: that phrase spans the
    columns."""
    seps = channels(lines, h, region.x0, region.x1, forced)
    lo = min(w.box.x0 for ln in lines for w in ln.words)
    hi = max(w.box.x1 for ln in lines for w in ln.words)
    out = [Lane(lo - 1, virtual=True)]
    phrases = [(ln, split_phrases(ln.words, PHRASE_GAP * h, seps)) for ln in lines]
    # columns' extents from the lines that fill them (a heading line over groups of columns has fewer cells)
    counts = sorted(len(ps) for _, ps in phrases if len(ps) >= 2)
    full = counts[len(counts) // 2] if counts else 1
    spans = _column_spans([p for _, ps in phrases if len(ps) >= full for p in ps], seps)
    for j, (a, b) in enumerate(seps):
        # a phrase crossing the channel spans it; so does a group heading centred over the two columns and
        # over the white space between them (the stub, column 0, has none over it)
        cuts = [(ln.box.y0, ln.box.y1) for ln, ps in phrases
                if any(p[0].box.x0 < a and p[-1].box.x1 > b
                       or (j >= 1 and a < (p[0].box.x0 + p[-1].box.x1) / 2 < b
                           and _centred_over(p, spans[j], spans[j + 1], h)) for p in ps)]
        out.append(Lane((a + b) / 2, virtual=True, cuts=cuts))
    out.append(Lane(hi + 1, virtual=True))
    return out, seps


def _column_spans(phrases: list[list[Word]],
                  seps: list[tuple[float, float]]) -> list[tuple[float, float, float, float]]:
    """Each column's extent from the phrases that lie in it alone: the median left and right edges (its
    typical extent), and the outermost ones."""
    edges: list[tuple[list[float], list[float]]] = [([], []) for _ in range(len(seps) + 1)]
    for p in phrases:
        first, last = _columns_of(p, seps)
        if first == last:
            edges[first][0].append(p[0].box.x0)
            edges[first][1].append(p[-1].box.x1)
    nan = float("nan")
    return [(statistics.median(x0s), statistics.median(x1s), min(x0s), max(x1s)) if x0s else (nan, nan, nan, nan)
            for x0s, x1s in edges]


def _centred_over(phrase: list[Word], left: tuple[float, ...], right: tuple[float, ...], h: float) -> bool:
    """Is the phrase centred over two neighbouring columns (`_column_spans` of `left` and `right`) rather
    than over either of them: a group heading (a year over its number and percent columns)?"""
    x0, x1 = phrase[0].box.x0, phrase[-1].box.x1
    cx, mid = (x0 + x1) / 2, (left[0] + right[1]) / 2
    if not (left[0] - h <= x0 and x1 <= right[1] + h) or x1 - x0 > right[1] - left[0] + 2 * h:
        return False
    if x0 > right[2] - 0.5 * h or x1 < left[3] + 0.5 * h:
        return False  # it reaches past neither column's outermost text: a heading of one of them
    for a, b in (left[:2], right[:2]):  # short and over the gap: a heading of its own column covers that column
        if min(b, x1) - max(a, x0) > 0.5 * (b - a):
            return False
    gaps = (x0 - left[1], right[0] - x1)  # as far from the one column as from the other
    if abs(gaps[0] - gaps[1]) > max(h, 0.3 * (abs(gaps[0]) + abs(gaps[1]))):
        return False
    off = abs(cx - mid)
    return (off <= 0.1 * (right[1] - left[0]) + 0.5 * h and abs(cx - sum(left[:2]) / 2) > off + h
            and abs(cx - sum(right[:2]) / 2) > off + h)


def row_lanes(lines: list[Line], seps: list[tuple[float, float]], h: float, rules: list[float],
              partial: list[float] = ()) -> tuple[list[Lane], int]:
    """Row boundaries between the groups of lines that make rows, and how many rows at the top are
    headings. `seps`: the column boundaries (x-ranges); `rules`: y of horizontal rules across the table,
    always boundaries; `partial`: y of rules across part of it, boundaries between heading rows."""
    groups = group_rows([line_cells(ln, seps, h) for ln in lines], len(seps) + 1, h, sorted(rules),
                        partial=sorted(partial))
    top = min(w.box.y0 for ln in lines for w in ln.words)
    bottom = max(w.box.y1 for ln in lines for w in ln.words)
    out = [Lane(top - 1, virtual=True)]
    for prev, nxt in zip(groups, groups[1:], strict=False):
        out.append(Lane((prev[0][-1].line.box.y1 + nxt[0][0].line.box.y0) / 2, virtual=True))
    out.append(Lane(bottom + 1, virtual=True))
    header = 0
    while header < len(groups) and groups[header][1]:
        header += 1
    return out, header


def _between(rules: list[float], a: Line, b: Line) -> bool:
    return any(a.box.y1 - 1 <= y <= b.box.y0 + 1 for y in rules)


_JOINERS = {"and", "or", "of", "the", "for", "in", "to", "with", "on", "by", "from", "at", "a", "an", "as", "per"}


def _continues(prev: LineCells, lc: LineCells, limit: float | None, h: float) -> bool:
    """Does the label on `lc` continue the label of the line above (a wrapped label), rather than start a
    row of its own (a group title, a row without numbers)? Yes when it starts in lower case, when the line
    above ends mid-phrase, or when its first word would not have fitted after the label above; never after
    a label that ends with a colon."""
    above, first = prev.cells[0][1], lc.cells[0][1][0]
    last = above[-1].text
    if last.endswith(":"):
        return False  # a heading over the rows below
    if first.text[:1].islower() or last.endswith(("-", ",", "/", "&")) or last.lower() in _JOINERS:
        return True
    return limit is not None and above[-1].box.x1 + 0.3 * h + first.box.width > limit


def group_rows(lines: list[LineCells], n_cols: int, h: float, rules: list[float], detect_header: bool = True,
               partial: list[float] = (), label_limit: float | None = None) -> list[tuple[list[LineCells], bool]]:
    """Lines into rows: (lines of the row, is it a header row). `rules`: y of rules across the table, always
    row boundaries; `partial`: y of rules under part of it (under group headings), boundaries in the header;
    `label_limit`: x where the label column ends, when a rule says so."""
    if not lines:
        return []
    gaps = [b.line.box.y0 - a.line.box.y1 for a, b in zip(lines, lines[1:], strict=False)]
    small = sorted(gaps)[len(gaps) // 4] if gaps else 0.0
    typical = sorted(gaps)[len(gaps) // 2] if gaps else 0.0
    full = max(len(lc.columns) for lc in lines)
    # rows set apart by white space (a blank line between most rows): lines closer than that are one row
    spaced = sum(1 for g in gaps if g > small + 0.5 * h) >= max(1, 0.2 * len(gaps))
    body_start = _body_start(lines, rules) if detect_header else 0
    groups: list[tuple[list[LineCells], bool]] = []
    for i, lc in enumerate(lines):
        header = i < body_start
        if i == 0 or header != groups[-1][1]:
            groups.append(([lc], header))
            continue
        prev = groups[-1][0][-1]
        gap = gaps[i - 1]
        if _between(rules, prev.line, lc.line) or gap > small + 0.5 * h:
            groups.append(([lc], header))
            continue
        if header:
            # heading lines stack into one row (wrapped headings), except where the upper line is a group
            # heading: ruled off below, or not aligned with the heading under it in the same column
            if _between(partial, prev.line, lc.line) or prev.spans() or _group_heading(prev, lc, h):
                groups.append(([lc], header))
            else:
                groups[-1][0].append(lc)
            continue
        cols = lc.columns
        members = groups[-1][0]
        row_cols = set().union(*(m.columns for m in members))
        label = next((m for m in reversed(members) if 0 in m.cells), None)
        if gap < min(0.0, typical - 0.5 * h):
            groups[-1][0].append(lc)  # lines closer than lines ever are: a cell centred on two lines of another
        elif 0 in cols:
            if (label is not None and (cols == {0} or row_cols == {0})
                    and _continues(label, lc, label_limit, h)):
                groups[-1][0].append(lc)  # the label of the row above, wrapped
            elif label is not None and _all_continue(lc):
                groups[-1][0].append(lc)  # every cell of the row above wraps onto this line
            else:
                groups.append(([lc], header))
        elif spaced or (len(cols) * 2 < full and row_cols != {0}):
            groups[-1][0].append(lc)  # wrapped cells of the row above
        else:
            groups.append(([lc], header))
    return groups


def _all_continue(lc: LineCells) -> bool:
    """A line whose every cell starts in lower case and holds no number continues the cells above it."""
    texts = [lc.text(c) for c in lc.cells]
    return all(t[:1].islower() and not is_numeric(t) for t in texts)


def _group_heading(upper: LineCells, lower: LineCells, h: float) -> bool:
    """Is some phrase of the upper heading line not the start of the heading below it in its column (its
    left edge, centre and right edge all elsewhere)? Then it heads a group of columns."""
    for first, (_, words) in upper.cells.items():
        if first not in lower.cells:
            continue
        below = lower.cells[first][1]
        a0, a1 = words[0].box.x0, words[-1].box.x1
        b0, b1 = below[0].box.x0, below[-1].box.x1
        if abs(a0 - b0) > 0.5 * h and abs(a1 - b1) > 0.5 * h and abs((a0 + a1) - (b0 + b1)) > h:
            return True
    return False


def _body_start(lines: list[LineCells], rules: list[float]) -> int:
    """Index of the first body line: below the first rule under the heading, else the first line with
    numbers in its data columns (when the table has numbers at all), else 1."""
    n = len(lines)
    for y in rules:
        above = sum(1 for lc in lines if lc.line.box.y1 <= y + 1)
        if 1 <= above <= max(1, n // 3) and above < n:
            return above
    counts = [sum(is_numeric(lc.text(c)) and not _YEAR.match(lc.text(c)) for c in lc.cells if c > 0) for lc in lines]
    # a data row has numbers in most of its columns; a line with fewer (years over groups of columns, a
    # heading with a number in it) is still heading
    typical = sorted(k for k in counts if k)[len([k for k in counts if k]) // 2] if any(counts) else 0
    numeric = [k >= max(1, 0.5 * typical) for k in counts]
    if sum(numeric) >= max(2, n // 3):
        first = numeric.index(True)
        return first if first <= max(1, n // 3) else 1
    return 1
