"""A page's words and layout regions composed into blocks of text lines, in reading order.

- Each word goes to the innermost region holding most of it, so nested boxes (a big text box around its
  paragraphs) never split a line between them: the outer box keeps only the words no inner box holds.
- Words outside every region are not appended at the end: a line that continues a region's line (a box that
  clips the end of its line), or sits right under or over a text region's column, joins that region; the rest
  become blocks of their own, placed in the flow by their position like any region.
- Lines are built per block, so they never run across a column gutter, and a block's lines are read in the
  same above-graph order as the page's blocks (a box that spans two columns is still read column by column);
  a box drawn across boxes set side by side (cards, a two-up page) is cut into its part in each, so each of
  them is read whole.
- Captions are moved next to the figure or table they describe (before it, as docling's Markdown has it)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from ocr_resources.geometry.boxes import TEXT_LABELS, UPRIGHT, inside, intersection_areas, union, x_overlap, y_overlap
from ocr_resources.geometry.labels import LISTING, OUTSIDE, check_labels
from ocr_resources.geometry.lines import (
    BULLET_MARKS,
    DASH_BULLETS,
    GAP_FACTOR,
    LINE_NUMBER,
    PAGE_NUMBER,
    Line,
    is_rtl,
    leader_dots,
    lines,
    order_words,
    rows,
    word_count,
)
from ocr_resources.geometry.paragraphs import (
    code_lines,
    continues_row,
    form_rows,
    group_lines,
    heading_lines,
    is_prose,
    is_row,
    is_tick,
    label_like,
    side_by_side,
    split_paragraphs,
)
from ocr_resources.geometry.reading_order import reading_order
from ocr_resources.tables.detect import numbered_boxes, table_edges
from ocr_resources.text.page_formulas import EQUATION_NUMBER
from ocr_resources.text.pdf_chars import oblique
from ocr_resources.types import Box, DetectedRegion, Word

_BODY = frozenset({"text", "title", "list", "reference", "caption", "formula", "other"})
TABLE_EDGE = "running text at the edge of a table region, not the table's"
LINE_NUMBERS = "line numbers in the margin (a manuscript's lineno), not the text's"
WATERMARK = "furniture: a watermark (type set at a slant, far larger than the page's text)"
WATERMARK_SIZE = 2.5  # times the page's usual type size: a slanted word this large is a stamp across the page
PAGE_FIGURE = 0.4  # share of the page a "figure" must cover to be taken for a page of text


@dataclass
class Block:
    region: int | None  # index of its layout region; None for words outside every region
    label: str
    box: Box  # what reading order used: a text region's words' box, else the region's box
    lines: list[Line] = field(default_factory=list)
    form_row: bool = False  # a form's label with its value beside it (never a heading)
    reason: str | None = None  # why a block outside the layout's regions is text (recorded as its label reason)
    figure_labels: bool = False  # a chart's or drawing's labels read out of a figure read as text (never a heading)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def assign(words: list[Word], regions: list[Box], min_inside: float = 0.5) -> list[int | None]:
    """For each word, the smallest region holding at least `min_inside` of it (None when none does; the
    first of equal ones). `boxes.inside` for every pair at once: the same float operations in numpy, so the
    same answer as the pairwise loop at a fraction of its cost (words x regions on every page, twice)."""
    if not words or not regions:
        return [None] * len(words)
    a = np.array([(w.box.x0, w.box.y0, w.box.x1, w.box.y1) for w in words], dtype=np.float64)
    r = np.array([(b.x0, b.y0, b.x1, b.y1) for b in regions], dtype=np.float64)
    r_area = np.array([b.area for b in regions], dtype=np.float64)
    a_area = np.maximum(0.0, a[:, 2] - a[:, 0]) * np.maximum(0.0, a[:, 3] - a[:, 1])
    inter = intersection_areas(a, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = inter / a_area[:, None]
    flat = a_area <= 0  # a word without area: whether the region holds its centre (as `inside`)
    if flat.any():
        cx, cy = (a[flat, 0] + a[flat, 2]) / 2, (a[flat, 1] + a[flat, 3]) / 2
        share[flat] = ((r[None, :, 0] <= cx[:, None]) & (cx[:, None] <= r[None, :, 2])
                       & (r[None, :, 1] <= cy[:, None]) & (cy[:, None] <= r[None, :, 3]))
    held = share >= min_inside
    pick = np.where(held, r_area[None, :], np.inf).argmin(axis=1)  # argmin: the first of equal areas
    found = held[np.arange(len(words)), pick]
    return [int(k) if ok else None for k, ok in zip(pick.tolist(), found.tolist(), strict=True)]


def _join_cut_lines(words: list[Word], owner: list[int | None], regions: list[Box],
                    labels: list[str]) -> list[int | None]:
    """Text boxes that cut a line in two (an inner box narrower than the lines around it, two boxes that
    meet mid-line) are one box: where two words on one baseline, a word space apart, went to different
    text regions, the larger region takes all the words of both."""
    parent = list(range(len(regions)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    index = {id(w): k for k, w in enumerate(words)}
    joined = False
    for row in rows(words):
        row.sort(key=lambda w: w.box.x0)
        # OCR's word boxes hug the ink ("can" is x-height tall), so a word space can be wider than 0.6 of the
        # smaller box: a row of several words gives its own word space as well
        gaps = sorted(b.box.x0 - a.box.x1 for a, b in zip(row, row[1:], strict=False))
        space = 1.5 * gaps[len(gaps) // 2] if len(gaps) >= 4 else 0.0
        tall = sorted(w.box.height for w in row)[len(row) // 2]
        for a, b in zip(row, row[1:], strict=False):
            ra, rb = owner[index[id(a)]], owner[index[id(b)]]
            if ra is None or rb is None or find(ra) == find(rb):
                continue
            if labels[ra] not in _BODY or labels[rb] not in _BODY:
                continue
            h = min(a.box.height, b.box.height)
            reach = max(0.6 * h, min(space, 0.8 * tall))
            if b.box.x0 - a.box.x1 <= reach and y_overlap(a.box, b.box) >= 0.7 * h:
                big, small = (ra, rb) if regions[ra].area >= regions[rb].area else (rb, ra)
                parent[find(small)] = find(big)
                joined = True
    if not joined:
        return owner
    return [None if o is None else find(o) for o in owner]


def _bullet(line: Line) -> bool:
    text = line.words[0].text.strip() if len(line.words) == 1 else ""
    return len(text) == 1 and text in BULLET_MARKS + DASH_BULLETS


# text heights from a dot leader's last dot to the page number it leads to, from a listing's line number to its code
LEADER_REACH = 6.0


def _adopt(line: Line, regions: list[Box], labels: list[str], members: list[list[Word]],
           placed: np.ndarray | None = None) -> int | None:
    """The region an orphan line belongs to: one whose words continue it on the same baseline (further off: a page
    number after a dot leader, a line number before its code), or a text region whose column it extends by one
    line (a box drawn a line too short). `placed`: the members' words as `_placed` gives them (built here when not
    given); every orphan line is looked at against every word placed, so that is done in numpy (the same float
    operations: the same region)."""
    h = line.height
    best, best_gap = None, None
    if placed is None:
        placed = _placed(enumerate(members))
    if len(placed):
        y0, y1, x0, x1, region, leader, code = placed.T
        height = np.maximum(0.0, y1 - y0)
        overlap = np.minimum(y1, line.box.y1) - np.maximum(y0, line.box.y0)  # boxes.y_overlap
        g = np.maximum(line.box.x0 - x1, x0 - line.box.x1)
        # a list's bullet: its gap to its item's first word measured in that word's height (the bullet's own
        # would make any word space a gutter)
        reach = GAP_FACTOR * (np.maximum(height, h) if _bullet(line) else h)
        near = (overlap > 0.5 * np.minimum(height, h)) & (g <= reach)
        if not near.any() and len(line.words) == 1 and PAGE_NUMBER.match(line.text):
            # a contents page's number whose region stops at the leader (the dots carry the eye across a wider gap),
            # a listing's line number set apart from its line of code
            before = (leader > 0) & (x1 <= line.box.x0)
            after = (code > 0) & (x0 >= line.box.x1) & bool(LINE_NUMBER.fullmatch(line.text))
            near = (overlap > 0.5 * np.minimum(height, h)) & (before | after) & (g <= LEADER_REACH * h)
        if near.any():
            # the nearest; of equal gaps the first region (the loop over regions this replaces kept the first)
            g = g[near]
            best = int(region[near][g == g.min()].min())
    if best is not None:
        return best
    for idx, region in enumerate(regions):
        if labels[idx] not in TEXT_LABELS or not members[idx]:
            continue
        g = max(region.y0 - line.box.y1, line.box.y0 - region.y1)
        if -0.5 * h <= g <= 0.8 * h and x_overlap(line.box, region) >= 0.6 * line.box.width:
            if best_gap is None or g < best_gap:
                best, best_gap = idx, g
    return best


def _placed(groups: Iterable[tuple[int, list[Word]]]) -> np.ndarray:
    """(n, 7) array of the words of (region index, words) pairs: y0, y1, x0, x1, the region's index, and whether
    the word is a dot leader's and whether it is code's (1.0 or 0.0: what `_adopt` reaches further for)."""
    return np.array([(w.box.y0, w.box.y1, w.box.x0, w.box.x1, idx, leader_dots(w.text), w.mono)
                     for idx, ws in groups for w in ws], dtype=np.float64).reshape(-1, 7)


def _figure_of(line: Line, regions: list[Box], labels: list[str]) -> int | None:
    """The figure a loose line of labels belongs to: a chart's tick numbers or category names that stick
    out of the figure's box (within three text heights for numbers, one for words), level with it. Words of
    a chart are the chart's, never paragraphs (or headings) of their own."""
    if not label_like([line]):
        return None
    h = line.height
    reach = (3.0 if all(is_tick(w.text) for w in line.words) else 1.0) * h
    best, best_gap = None, None
    for idx, region in enumerate(regions):
        if labels[idx] != "figure":
            continue
        dx = max(region.x0 - line.box.x1, line.box.x0 - region.x1, 0.0)
        dy = max(region.y0 - line.box.y1, line.box.y0 - region.y1, 0.0)
        level = (dx == 0 and x_overlap(line.box, region) > 0) or (dy == 0 and y_overlap(line.box, region) > 0)
        g = max(dx, dy)
        if level and g <= reach and (best_gap is None or g < best_gap):
            best, best_gap = idx, g
    return best


def _numbers(group: list[Line]) -> bool:
    words = [w for ln in group for w in ln.words]
    return sum(1 for w in words if is_tick(w.text)) * 2 > len(words)


PROSE_LINE_WORDS = 8  # a paragraph's first line, across a column, has this many words at least


def order_lines(block_lines: list[Line], rtl: bool = False) -> list[Line]:
    ordered = [block_lines[i] for i in reading_order([ln.box for ln in block_lines], rtl=rtl)]
    return ordered if rtl else _listing_rows(ordered)


def _listing_rows(ordered: list[Line]) -> list[Line]:
    """A listing's comments set in a column of their own beside its code ("? #P" ... "\\\\ 2 primes above 5"), or its
    line numbers set apart from it: the reading order takes that column apart from the code's, as a column; each
    piece is read right before or after the line of code on its row, where both are code's (`code_lines`)."""
    code = code_lines(ordered)
    if sum(code) < 2:
        return ordered
    out: list[Line] = []
    moved: set[int] = set()
    for i, ln in enumerate(ordered):
        if i in moved:
            continue
        out.append(ln)
        if not code[i]:
            continue
        for j in range(i + 1, len(ordered)):
            other = ordered[j]
            if j not in moved and code[j] and continues_row(ln.box, other.box, min(ln.height, other.height)):
                out.append(other)  # (its row's piece right of this line: read next)
                moved.add(j)
                break
    return out


def rows_in_prose(ordered: list[Line]) -> list[Line]:
    """A region's lines (in `order_lines`' order) with a few rows of short labels, each beside its value, or of short
    cells set in a column of prose ("WinZip:  Click on ..." / "gzip:  gzip -dc ..."; a list of file names four to a
    row) read row by row: the reading order takes such labels for a narrow column and reads them all before their
    values, which also left the region's paragraphs unsplit (its lines no longer went down one column). Only where
    a line of prose in the region runs across the gap between the labels and the values (two real columns in one
    box never have one), and where every label is short (LABEL_WORDS). Left-to-right lines only (`order_lines`
    leaves right-to-left ones alone)."""
    if len(ordered) < 4:
        return ordered
    rows: list[list[int]] = []
    for i in sorted(range(len(ordered)), key=lambda k: (ordered[k].box.y0, ordered[k].box.x0)):
        ln = ordered[i]
        if rows and y_overlap(ordered[rows[-1][0]].box, ln.box) >= 0.5 * min(ordered[rows[-1][0]].height, ln.height):
            rows[-1].append(i)
        else:
            rows.append([i])
    for row in rows:
        row.sort(key=lambda k: ordered[k].box.x0)
    moved: list[list[int]] = []  # runs to read row by row: indices into `ordered`, in reading order
    r = 0
    while r < len(rows):
        if len(rows[r]) < 2:
            r += 1
            continue
        # the run: rows split in pieces, and lines between them that stay on one side of the gap
        gap = (ordered[rows[r][0]].box.x1, ordered[rows[r][1]].box.x0)
        end = r + 1
        while end < len(rows):
            row = rows[end]
            if len(row) >= 2:
                cut = (max(gap[0], ordered[row[0]].box.x1), min(gap[1], ordered[row[1]].box.x0))
                if cut[0] >= cut[1]:
                    break
                gap = cut
            elif ordered[row[0]].box.x0 < gap[0] and ordered[row[0]].box.x1 > gap[1]:
                break
            end += 1
        run = rows[r:end]
        split = [row for row in run if len(row) >= 2]
        members = [k for row in run for k in row]
        across = any(ordered[k].box.x0 < gap[0] and ordered[k].box.x1 > gap[1]
                     and len(ordered[k].words) >= PROSE_LINE_WORDS for row in rows[:r] + rows[end:] for k in row)
        short = all(len(ordered[row[0]].words) <= LABEL_WORDS for row in split)
        if len(split) >= 2 and across and short:
            moved.append(members)
        r = end
    if not moved:
        return ordered
    # each run's lines read where its first one was (every line of its band of rows is in it)
    first = {min(members): members for members in moved}
    skip = {k for members in moved for k in members}
    out: list[Line] = []
    for k, line in enumerate(ordered):
        if k in first:
            out.extend(ordered[m] for m in first[k])
        elif k not in skip:
            out.append(line)
    return out


LABEL_WORDS = 4  # a label beside its value (a CV's "Hobbies", a form's "Date of birth") is a short line
LABEL_GAP = 4.0  # ... at most this many of its line heights left of its value's first line


def label_pairs(blocks: list[Block], rtl: bool = False) -> dict[int, int]:
    """Blocks that are a column of labels, each beside the block it labels (a CV's or a form's "years" beside the entry
    it dates): label index -> value index. A label is one short line; its value is the nearest block starting on
    the label's row just right of it, a few line heights off at most, and no other label's; and two labels or more
    share an edge (left or right aligned: a column of them), which a short heading that happens to stand on the
    row of the next column's text, a column's width off, does not. Left-to-right pages only."""
    if rtl:
        return {}
    text = ("text", "title", "list", "reference")
    found: dict[int, int] = {}
    for i, lab in enumerate(blocks):
        if lab.label not in text or len(lab.lines) != 1 or not 0 < len(lab.lines[0].words) <= LABEL_WORDS:
            continue
        h = lab.lines[0].height
        best = None
        for j, val in enumerate(blocks):
            if j == i or val.label not in text or not val.lines:
                continue
            gap, first = val.box.x0 - lab.box.x1, val.lines[0].box
            # (the whole value right of the label, not only its first line: a paragraph wrapped around a badge
            # starts beside it and goes on under it)
            if -1.0 <= gap <= LABEL_GAP * h and continues_row(lab.box, first, min(first.height, h)) \
                    and abs(first.y0 - lab.box.y0) <= 0.5 * h and (best is None or gap < best[0]):
                best = (gap, j)
        if best is not None:
            found[i] = best[1]
    column = {i for i in found if sum(1 for k in found if k != i and (
        abs(blocks[k].box.x0 - blocks[i].box.x0) <= 3.0 or abs(blocks[k].box.x1 - blocks[i].box.x1) <= 3.0)) >= 1}
    values = [found[i] for i in column]
    return {i: found[i] for i in column if values.count(found[i]) == 1 and found[i] not in column}


# A two-column list of terms (a manual's options, a glossary): each term a short line in a column of its own, its
# description starting on its row at a shared left edge further right, a tab stop away.
TERM_WORDS = 6  # a term is a short line ("SET CPU MEMORY=<nnn>K", "-v, --verbose")
MIN_TERMS = 3  # terms on the rows where descriptions start, at least
TERM_SHARE = 0.6  # ... and this share of the lines in the terms' column (a sidebar beside paragraphs has lines between)
EDGE = 3.0  # points: lines starting this close start at one edge
DESCRIPTION_WORDS = 3  # a description's first line holds a phrase (its median over the list)
_SENTENCE_END = (".", ":", ";", "!", "?", ")")


def term_list(blocks: list[Block], inner: dict[int, list[Block]], rtl: bool = False
              ) -> tuple[list[Block], dict[int, list[Block]], dict[int, int]]:
    """Blocks (and their parts) with a two-column list of terms cut into items: each term a block, its description
    (the lines of the description column from its row to the next term's) the block after it, and the pairs (term
    index -> description index) that the reading order keeps together. Read as the layout model boxed them, the
    column of terms came before all the descriptions. Unchanged (and no pairs) where the page has no such list:
    fewer than three terms beside a description's start, a column of lines beside paragraphs (a sidebar, whose
    lines mostly stand beside no start), or lines across both columns between the terms (a page's text columns)."""
    if rtl:
        return blocks, inner, {}
    found = _term_items(_pieces(blocks, inner))
    if found is None:
        # the layout model boxed the terms and their descriptions as one block (a manual's "MS DOS:", "AMIGA:"
        # beside their requirements): its two columns, cut at their gutter, are looked at as two pieces
        cut = [_term_columns(b) if not inner.get(i) else None for i, b in enumerate(blocks)]
        if not any(cut):
            return blocks, inner, {}
        split: list[Block] = []
        moved: dict[int, list[Block]] = {}
        for i, b in enumerate(blocks):
            if inner.get(i):
                moved[len(split)] = inner[i]
            split.extend(cut[i] or [b])
        found = _term_items(_pieces(split, moved))
        if found is None:
            return blocks, inner, {}
        blocks, inner = split, moved
    items, involved, kept = found
    out: list[Block] = []
    parts: dict[int, list[Block]] = {}
    for i, b in enumerate(blocks):  # the blocks the list does not touch keep their parts
        if id(b) not in involved:
            parts_of = [p for p in inner.get(i, []) if id(p) not in involved]
            out.append(b)
            if parts_of:
                parts[len(out) - 1] = parts_of
        else:
            out += [p for p in inner.get(i, []) if id(p) not in involved]
    out += kept
    pairs: dict[int, int] = {}
    for group, (region, label), desc in items:
        # (a term read with its description, as a form's label with its value: never a heading, nor the body's type)
        out.append(Block(region, label, union(ln.box for ln in group), group, form_row=True))
        if desc:
            source, lines_ = desc
            out.append(Block(source.region, source.label, union(ln.box for ln in lines_), lines_))
            pairs[len(out) - 2] = len(out) - 1
    return out, parts, pairs


def _pieces(blocks: list[Block], inner: dict[int, list[Block]]) -> list[Block]:
    """The blocks, each followed by its parts, in order."""
    return [b for i, b0 in enumerate(blocks) for b in [b0, *inner.get(i, [])]]


def _term_columns(block: Block) -> list[Block] | None:
    """A text block's lines as two blocks, its column of terms at its left edge and the lines right of their gutter,
    or None: MIN_TERMS short lines or more at its left edge, every other line starting right of all of them (a
    description wrapping back under its term, or a paragraph's lines, cross the gutter)."""
    if block.label not in ("text", "list", "reference") or len(block.lines) < 2 * MIN_TERMS:
        return None
    left_edge = min(ln.box.x0 for ln in block.lines)
    rest = [ln for ln in block.lines if ln.box.x0 > left_edge + EDGE]
    if not rest:
        return None
    h = float(np.median([ln.height for ln in block.lines]))
    gutter = min(ln.box.x0 for ln in rest)
    terms = [ln for ln in block.lines if ln.box.x0 <= left_edge + EDGE and ln.box.x1 <= gutter - h]
    # a term running past the gutter with its description under it ("-o option-name") is read in the descriptions'
    # column; a line across the gutter beside another is a paragraph's, and the block no list
    across = [ln for ln in block.lines if ln.box.x0 <= left_edge + EDGE and ln.box.x1 > gutter - h]
    if any(y_overlap(a.box, r.box) > 0.3 * h for a in across for r in rest):
        return None
    if len(terms) < MIN_TERMS or any(len(ln.words) > TERM_WORDS for ln in terms):
        return None
    rest = sorted(rest + across, key=lambda ln: ln.box.y0)
    return [Block(block.region, block.label, union(ln.box for ln in part), part, block.form_row, block.reason)
            for part in (terms, rest)]


def _term_items(pieces: list[Block]):
    """The items of a two-column list of terms among `pieces` (see `term_list`): [(term lines, (region, label),
    (description's block, its lines) or None)], the ids of the pieces cut up, and what is left of those pieces
    (description lines above the first term). None where there is no such list."""
    text = ("text", "list", "reference")
    entries = [(ln, p, k == 0 or b.lines[k - 1].text.rstrip().endswith(_SENTENCE_END))
               for p, b in enumerate(pieces) if b.label in text for k, ln in enumerate(b.lines)]
    if len(entries) < 2 * MIN_TERMS:
        return None
    h = float(np.median([ln.height for ln, _, _ in entries]))
    starts = sorted(ln.box.x0 for ln, _, start in entries if start)
    edges = sorted({x for x in starts if sum(abs(y - x) <= EDGE for y in starts) >= MIN_TERMS},
                   key=lambda x: -sum(abs(y - x) <= EDGE for y in starts))
    for edge in edges:
        if (found := _terms_at(entries, pieces, edge, h)) is not None:
            return found
    return None


def _terms_at(entries, pieces: list[Block], edge: float, h: float):
    column = [(ln, p) for ln, p, _ in entries if ln.box.x1 <= edge - h]
    heads = [ln for ln, _, start in entries if start and abs(ln.box.x0 - edge) <= EDGE]
    described: dict[int, Line] = {}  # a term's line (id) -> the description starting on its row
    for ln, _ in column:
        if len(ln.words) <= TERM_WORDS:
            head = next((d for d in heads if abs(d.box.y0 - ln.box.y0) <= 0.5 * h), None)
            if head is not None:
                described[id(ln)] = head
    paired = [ln for ln, _ in column if id(ln) in described]
    used = list({id(d): d for d in described.values()}.values())
    if len(used) < MIN_TERMS:  # (each description beside a term of its own)
        return None
    if np.median([len(d.words) for d in used]) < DESCRIPTION_WORDS or all(w.mono for d in used for w in d.words):
        return None  # descriptions are phrases of prose: not a listing's lines beside a column of glyphs
    left = float(np.median([ln.box.x0 for ln in paired]))  # the terms' column: one left edge
    top, bottom = min(ln.box.y0 for ln in paired) - 0.5 * h, max(ln.box.y1 for ln in paired)
    beside = [(ln, p) for ln, p in column if top <= ln.box.y0 <= bottom]
    if len(paired) < TERM_SHARE * len(beside) or any(len(ln.words) > TERM_WORDS or abs(ln.box.x0 - left) > EDGE
                                                      for ln, _ in beside):
        return None
    if any(ln.box.x0 < edge - h and ln.box.x1 > edge + h and top <= ln.box.y0 <= bottom for ln, _, _ in entries):
        return None  # a line across both columns: the page's text columns, not a list
    term_pieces = {p for _, p in beside}
    if any(len(pieces[p].lines) != sum(1 for _, q in beside if q == p) for p in term_pieces):
        return None  # a block holding a term and lines besides (a paragraph's last line): not only terms
    head_ids = {id(d) for d in heads}
    value_pieces = {p for ln, p, _ in entries if id(ln) in head_ids and top <= ln.box.y0 <= bottom}
    if term_pieces & value_pieces:
        return None
    terms = sorted((ln for ln, _ in beside), key=lambda ln: ln.box.y0)
    owned: dict[int, list[tuple[Line, int]]] = {k: [] for k in range(len(terms))}
    kept: list[Block] = []
    for p in sorted(value_pieces):
        above = []
        for ln in pieces[p].lines:
            k = max((k for k, t in enumerate(terms) if t.box.y0 - 0.5 * h <= ln.box.y0), default=None)
            if k is None:
                above.append(ln)
            else:
                owned[k].append((ln, p))
        if above:
            kept.append(Block(pieces[p].region, pieces[p].label, union(ln.box for ln in above), above))
    by_term = {id(ln): p for ln, p in beside}
    items = []
    waiting: list[Line] = []  # terms of one block with no description of their own ("SET CPU 4K" ... "16K")
    for k, term in enumerate(terms):
        source = pieces[by_term[id(term)]]
        lines_ = sorted(owned[k], key=lambda e: e[0].box.y0)
        group = [*waiting, term]
        if not lines_ and k + 1 < len(terms) and by_term[id(terms[k + 1])] == by_term[id(term)]:
            waiting = group  # read with the next term of its block, over the description they share
            continue
        waiting = []
        desc = (pieces[lines_[0][1]], [ln for ln, _ in lines_]) if lines_ else None
        items.append((group, (source.region, source.label), desc))
    involved = {id(pieces[p]) for p in term_pieces | value_pieces}
    return items, involved, kept


def _read_with_labels(blocks: list[Block], labels: list[str], rtl: bool, terms: dict[int, int] | None = None,
                      apart: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """The blocks' reading order, each label (`label_pairs`; a term of a list of terms, `term_list`) read with its
    value, right before it: the pair is ordered as one box, so a column of labels is not read down to its end before
    the values beside it. `apart`: blocks left out of the others' order (a figure whose text was read out), each read
    right before the first block that starts at or under its top."""
    if apart:
        rest = [i for i in range(len(blocks)) if i not in apart]
        at = {i: k for k, i in enumerate(rest)}
        kept = {at[a]: at[b] for a, b in (terms or {}).items() if a in at and b in at}
        order = [rest[k] for k in _read_with_labels([blocks[i] for i in rest], [labels[i] for i in rest], rtl, kept)]
        for i in sorted(apart, key=lambda i: -blocks[i].box.y0):  # each before the first block read at or under its top
            order.insert(next((k for k, j in enumerate(order) if blocks[j].box.y0 >= blocks[i].box.y0), len(order)), i)
        return order
    pairs = label_pairs(blocks, rtl)
    if terms:
        taken = set(terms) | set(terms.values())
        pairs = {k: v for k, v in pairs.items() if k not in taken and v not in taken} | terms
    if not pairs:
        return reading_order([b.box for b in blocks], labels, rtl, touch=True)
    valued = set(pairs.values())
    units = [i for i in range(len(blocks)) if i not in valued]
    boxes = [union([blocks[i].box, blocks[pairs[i]].box]) if i in pairs else blocks[i].box for i in units]
    order = reading_order(boxes, [labels[i] for i in units], rtl, touch=True)
    return [k for u in order for k in ([units[u], pairs[units[u]]] if units[u] in pairs else [units[u]])]


def attach_captions(order: list[int], boxes: list[Box], labels: list[str]) -> list[int]:
    """`order` with each caption moved right before the figure or table it is nearest to (vertically
    adjacent, sharing its column). Captions with no such neighbour stay where they are."""
    targets = [i for i in order if labels[i] in ("figure", "table")]
    moved: dict[int, list[int]] = {}
    for c in order:
        if labels[c] != "caption":
            continue
        cap = boxes[c]
        best, best_gap = None, None
        for t in targets:
            box = boxes[t]
            if x_overlap(cap, box) < 0.3 * min(cap.width, box.width):
                continue
            g = max(box.y0 - cap.y1, cap.y0 - box.y1)
            if g <= max(3 * cap.height, 24.0) and (best_gap is None or g < best_gap):
                best, best_gap = t, g
        if best is not None:
            moved.setdefault(best, []).append(c)
    attached = {c for cs in moved.values() for c in cs}
    out: list[int] = []
    for i in order:
        if i in attached:
            continue
        out.extend(moved.get(i, []))
        out.append(i)
    return out


def attach_equation_numbers(order: list[int], blocks: list[Block]) -> list[int]:
    """`order` with each block of equation numbers alone ("(49)" a line) moved right after the displayed
    formula it stands beside: a narrow column at the page's edge is otherwise read after the whole page."""
    moved: dict[int, list[int]] = {}
    for n in order:
        b = blocks[n]
        if not b.lines or not all(EQUATION_NUMBER.match(ln.text) for ln in b.lines):
            continue
        beside = [i for i in order if i != n and y_overlap(blocks[i].box, b.box) >= 0.5 * b.box.height
                  and x_overlap(blocks[i].box, b.box) <= 0 and any(
                      w.text.startswith("$$") for ln in blocks[i].lines for w in ln.words)]
        if beside:
            moved.setdefault(min(beside, key=lambda i: abs(blocks[i].box.x1 - b.box.x0)), []).append(n)
    attached = {n for ns in moved.values() for n in ns}
    out: list[int] = []
    for i in order:
        if i not in attached:
            out.append(i)
            out.extend(moved.get(i, []))
    return out


def _split_around(block_lines: list[Line], nested: list[Box]) -> list[list[Line]]:
    """Lines of an outer box (in reading order) cut into runs wherever a box nested in it lies between two
    consecutive lines: the outer box's own text around its inner boxes is several blocks, not one block
    that the inner ones would then be read after."""
    runs = [[block_lines[0]]]
    for prev, line in zip(block_lines, block_lines[1:], strict=False):
        lo, hi = sorted((prev.box.center[1], line.box.center[1]))
        span = union((prev.box, line.box))
        if any(lo < b.center[1] < hi and x_overlap(b, span) > 0.5 * min(b.width, span.width) for b in nested):
            runs.append([line])
        else:
            runs[-1].append(line)
    return runs


def _container(idx: int, regions: list[Box]) -> bool:
    return any(j != idx and inside(r, regions[idx]) >= 0.8 for j, r in enumerate(regions))


def region_words(words: list[Word], regions: list[Box], labels: list[str]) -> tuple[list[list[Word]], list[Line]]:
    """Each region's words (the innermost region holding most of a word; a line two boxes cut in two goes to
    the larger; a line outside every region to the region it continues), and the lines no region takes."""
    owner = _join_cut_lines(words, assign(words, regions), regions, labels)
    members: list[list[Word]] = [[] for _ in regions]
    orphans: list[Word] = []
    for word, idx in zip(words, owner, strict=True):
        (orphans if idx is None else members[idx]).append(word)
    loose: list[Line] = []
    placed = _placed(enumerate(members))
    for line in lines(orphans):
        idx = _adopt(line, regions, labels, members, placed)
        if idx is None:
            idx = _figure_of(line, regions, labels)
        if idx is None:
            loose.append(line)
        else:
            members[idx].extend(line.words)
            placed = np.concatenate([placed, _placed([(idx, line.words)])])
    return members, loose


def loose_groups(loose: list[Line], rtl: bool = False) -> list[list[Line]]:
    """Lines outside every region as paragraphs (or a form's rows): a region the model missed but the
    words fill is a region."""
    return form_rows(group_lines(loose), rtl)


def checked_regions(found: list[DetectedRegion], words: list[Word]) -> list[tuple[DetectedRegion, str | None]]:
    """A page's regions with their labels checked against its words (`geometry.labels`), and a text region
    for each paragraph of words outside every region; each with the reason its label is not the model's
    (None where the model's stands)."""
    if not words:
        return [(r, None) for r in found]
    boxes, labels = [r.box for r in found], [r.label for r in found]
    members, loose = region_words(words, boxes, labels)
    out = [(r if d.reason is None else replace(r, label=d.label), d.reason)
           for r, d in zip(found, check_labels(boxes, labels, members), strict=True)]
    for group in loose_groups(loose, is_rtl(words)):
        out.append((DetectedRegion(union(ln.box for ln in group), "text", None, 0.0), OUTSIDE))
    return out




def watermark_words(words: list[Word]) -> dict[int, Word]:
    """Words set at a slant (`pdf_chars.oblique`) in type far larger than the page's usual: "DRAFT",
    "SCANNED COPY" across the page. A chart's slanted tick labels are small and stay its words."""
    usual = _usual_size(words)
    if usual is None:
        return {}
    return {k: w for k, w in enumerate(words) if oblique(w.angle) and w.size and w.size >= WATERMARK_SIZE * usual}


def _usual_size(words: list[Word]) -> float | None:
    """The median type size of the page's text-layer words (OCR words have none)."""
    sizes = sorted(w.size for w in words if w.size)
    return sizes[len(sizes) // 2] if sizes else None


def margin_line_numbers(words: list[Word]) -> dict[int, Word]:
    """The words (by index) that number a manuscript's lines (LaTeX's lineno, a review copy): whole numbers in type
    well smaller than the body's, three or more one above another in a column (aligned at one edge), counting up
    down the page by one step (1, 2, 5 or 10; a line without its number skipped), each on the row of a line of text.
    Text-layer words only (they have a size); a table's column of small numbers counts by no steady step or stands
    among cells as small, a chart's labels stand alone."""
    usual = _usual_size(words)
    if usual is None:
        return {}
    small = 0.7 * usual
    candidates = [(k, w) for k, w in enumerate(words)
                  if w.size and w.size <= small and not w.angle and not w.hidden and LINE_NUMBER.fullmatch(w.text)
                  and _beside_text(w, words, small)]
    found: dict[int, Word] = {}
    for edge in (lambda w: w.box.x1, lambda w: w.box.x0):  # right-aligned numbers, then left-aligned
        rest = [(k, w) for k, w in candidates if k not in found]
        for _, column in itertools.groupby(sorted(rest, key=lambda kw: edge(kw[1])),
                                           key=lambda kw, e=edge: round(e(kw[1]) / 3.0)):
            column = sorted(column, key=lambda kw: kw[1].box.y0)
            values = [int(w.text) for _, w in column]
            steps = [b - a for a, b in zip(values, values[1:], strict=False)]
            step = min(steps, default=0)
            if len(column) >= 3 and step in (1, 2, 5, 10) and all(d % step == 0 and d <= 6 * step for d in steps):
                found.update(column)
    return found


def _beside_text(number: Word, words: list[Word], small: float) -> bool:
    """Whether a number stands on the row of a line of text in larger type, as a line's number does; not alone (a
    chart's or a drawing's labels) nor among words as small as itself (a table set small, its row numbers)."""
    row = [w for w in words if w is not number and w.size and y_overlap(w.box, number.box) > 0.5 * number.box.height
           and not LINE_NUMBER.fullmatch(w.text)]
    return sum(w.size > small for w in row) * 2 > len(row) > 0


def _columns_of(numbers: dict[int, Word]) -> list[list[Word]]:
    """Line numbers as the columns they stand in (by their left edge), each top to bottom."""
    columns: list[list[Word]] = []
    for w in sorted(numbers.values(), key=lambda w: (w.box.x0, w.box.y0)):
        if columns and abs(columns[-1][0].box.x0 - w.box.x0) <= 6.0:
            columns[-1].append(w)
        else:
            columns.append([w])
    return [sorted(c, key=lambda w: w.box.y0) for c in columns]


def compose(words: list[Word], regions: list[Box], labels: list[str], rtl: bool | None = None,
            page: Box | None = None, keep_whole: frozenset[int] = frozenset(),
            text_figures: dict[int, str] | None = None) -> list[Block]:
    """Blocks for the regions (empty ones included, except outer boxes emptied by the boxes inside them) and
    for the words outside every region, in reading order. A figure covering much of the `page` whose words
    are prose is followed by its paragraphs as blocks of their own (unless its index is in `keep_whole`).
    `text_figures`: regions the model called figures that are text (`geometry.labels`), by index, with the
    reason: their lines are read as loose lines are (paragraphs, a form's rows: a receipt's item beside its
    price), not column by column."""
    text_figures = text_figures or {}
    page_rtl = is_rtl(words) if rtl is None else rtl
    numbering = margin_line_numbers(words)
    marks = watermark_words(words)
    if numbering or marks:  # read apart: they would join the lines beside them ("two-400 dimensional")
        words = [w for k, w in enumerate(words) if k not in numbering and k not in marks]
    members, loose = region_words(words, regions, labels)
    blocks: list[Block] = []
    # kept after the flow, never ordered: the line numbers' columns (furniture), then text boxes left without words
    apart = [Block(None, "footer", union(w.box for w in column), [Line([w], w.box) for w in column],
                   reason=LINE_NUMBERS) for column in _columns_of(numbering)]
    if marks:
        apart.append(Block(None, "footer", union(w.box for w in marks.values()),
                           [Line([w], w.box) for w in marks.values()], reason=WATERMARK))
    empty: list[Block] = []
    for idx, (region, label) in enumerate(zip(regions, labels, strict=True)):
        if label in TEXT_LABELS and (boxes := numbered_boxes(members[idx])):
            # numbered lines (a transcript, a pleading): each row read whole, its number first, never split at
            # the gap after the number; boxes of them side by side (an n-up sheet) read box by box
            for box_words in boxes:
                part = row_lines(box_words, page_rtl)
                blocks.append(Block(idx, label, union(ln.box for ln in part), part))
            continue
        region_lines = order_lines(lines(members[idx]), page_rtl)
        if label in TEXT_LABELS and not page_rtl:
            region_lines = rows_in_prose(region_lines)
        if not region_lines and label in TEXT_LABELS:
            if not _container(idx, regions):  # (an outer box whose words all went inside has nothing of its own)
                empty.append(Block(idx, label, region, []))
            continue
        if label in TEXT_LABELS and len(region_lines) > 1:
            nested = [regions[j] for j in range(len(regions)) if j != idx and members[j]
                      and inside(regions[j], region) >= 0.8]
            runs = _split_around(region_lines, nested)
            if len(runs) > 1:  # an outer box's own lines, between the boxes nested in it: each run in its place
                blocks.extend(Block(idx, label, union(ln.box for ln in run), run) for run in runs)
                continue
            parts = side_by_side(region_lines, words)
            if len(parts) > 1:  # a box across boxes set side by side (cards, two-up): each one's part in its place
                blocks.extend(Block(idx, label, union(ln.box for ln in part), part) for part in parts)
                continue
        frame = region  # the region's box, less running text read apart at a table's edge
        if label == "table" and region_lines:
            above, region_lines, below = table_edges(region_lines)
            # running text at the box's edge (a disclaimer above the table, a note below it) is read as text,
            # and the table's box, from which the tables stage takes its words, ends where it starts
            blocks.extend(Block(None, "text", union(ln.box for ln in run), run, reason=TABLE_EDGE)
                          for run in (above, below) if run)
            frame = Box(region.x0, max(region.y0, max((ln.box.y1 for ln in above), default=region.y0)),
                        region.x1, min(region.y1, min((ln.box.y0 for ln in below), default=region.y1)))
        box = frame
        if region_lines and label in TEXT_LABELS:
            box = union(ln.box for ln in region_lines)
        elif region_lines:
            box = union([frame, *(ln.box for ln in region_lines)])
        blocks.append(Block(idx, label, box, region_lines))
    for group in loose_groups(loose, page_rtl):
        row = is_row(group)
        blocks.append(Block(None, "text", union(ln.box for ln in group), group if row else order_lines(group, page_rtl),
                            row, OUTSIDE))
    inner: dict[int, list[Block]] = {}  # blocks that follow a block in the flow: its parts
    read_out: set[int] = set()  # (ids of) figures whose text was read out as blocks of their own
    for k, block in enumerate(blocks):
        # A page of text the layout model took for one picture is read as text; the words of a real picture
        # (a screenshot, a chart, labels of a drawing) stay with it.
        share = 1.0 if page is None else block.box.area / max(page.area, 1e-6)
        text_page = (share >= PAGE_FIGURE and is_prose(block.lines)) or (share >= 0.6 and len(block.lines) >= 4)
        if block.region in text_figures and block.reason is None and text_figures[block.region].startswith(LISTING):
            pass  # a listing the model took for a picture (`geometry.labels`): its lines read as any box's of code
        elif block.region in text_figures and block.reason is None and block.lines:  # (not its paragraphs again)
            read = _paragraphs if _running_text(block.lines) else _rows  # a receipt, a form: row by row
            blocks.extend(read(block.lines, page_rtl, block.region, text_figures[block.region]))
            block.lines = []
            read_out.add(id(block))
        elif block.label == "figure" and block.region not in keep_whole and text_page:
            read_out.add(id(block))
            parts = _paragraphs(block.lines, page_rtl)  # placed in the flow by their own boxes
            # a chart's numbers beside the prose stay the figure's words: an axis's, in a column or a row with
            # others (a number on its own, a page number, is left to the furniture decision)
            numbers = [p for p in parts if p.figure_labels and _numbers(p.lines)]
            numbers = [p for p in numbers if any(
                q is not p and (x_overlap(p.box, q.box) > 0 or y_overlap(p.box, q.box) > 0) for q in numbers)]
            blocks.extend(p for p in parts if all(p is not q for q in numbers))
            block.lines = [ln for p in numbers for ln in p.lines]
        elif (head := heading_lines(block.lines)) and (block.label in ("text", "list") or (
                block.label == "title" and len(block.lines[head].words) >= PROSE_LINE_WORDS)):
            # (a title's box may hold the first line of the text under it, in the text's type: that line is text; a
            # title's second line in smaller type, a subtitle, is not a line of prose)
            body = block.lines[head:]
            inner[k] = [Block(block.region, "text" if block.label == "title" else block.label,
                              union(ln.box for ln in body), body)]
            block.lines = block.lines[:head]
            block.box = union(ln.box for ln in block.lines)
    for k, block in enumerate(blocks):
        parts = [block, *inner.get(k, [])]
        split = [Block(p.region, p.label, union(ln.box for ln in g), g, reason=p.reason, figure_labels=p.figure_labels)
                 if len(pieces) > 1 else p
                 for p in parts
                 # (the layout model's "reference" is often running text; a bibliography's entries are
                 # paragraphs too)
                 for pieces in [split_paragraphs(p.lines, p.label == "reference")
                                if p.label in ("text", "reference") else [p.lines]]
                 for g in pieces]
        if len(split) > len(parts):
            blocks[k], inner[k] = split[0], split[1:]
    blocks, inner, terms = term_list(blocks, inner, page_rtl)
    boxes = [b.box for b in blocks]
    block_labels = [b.label for b in blocks]
    # a figure whose text was read out is no column of the page's order (its box, as wide as the page, made the whole
    # page one column: a sidebar was read amid the text beside it); its image marker is read where its top is
    emptied = {k for k, b in enumerate(blocks) if id(b) in read_out}
    order = attach_captions(_read_with_labels(blocks, block_labels, page_rtl, terms, emptied), boxes, block_labels)
    order = attach_equation_numbers(order, blocks)
    return [b for i in order for b in [blocks[i], *inner.get(i, [])]] + apart + empty


# Text in a figure is running text (read as paragraphs) when at least RUNNING_SHARE of its lines, or of its
# words, are in lines of RUNNING_WORDS words or more; otherwise (a receipt, a form, a price list) it is read row
# by row, each row whole from edge to edge: an item with its price, "Total RM Incl. of GST  49.39", not all
# items and then all prices (monospaced receipts put gaps that line up between the words of a row, which `lines`
# takes for gutters). By words too: a report page the layout model took for one picture has many short lines
# beside its prose (an analyst box, key figures), and read row by row those were cut into the prose's lines.
RUNNING_WORDS = 6
RUNNING_SHARE = 0.5


def _running_text(block_lines: list[Line]) -> bool:
    counts = [word_count(ln) for ln in block_lines]  # (a line of Chinese is one "word" between spaces)
    running = [n for n in counts if n >= RUNNING_WORDS]
    return len(running) >= RUNNING_SHARE * len(block_lines) or sum(running) >= RUNNING_SHARE * sum(counts)


def row_lines(words: list[Word], rtl: bool) -> list[Line]:
    """Each row of the words (`lines.rows`) as one line, its words in reading order across the whole row, top
    to bottom: never split at a wide gap (a form's label and value, a transcript's line number and text)."""
    return [Line(order_words(row, rtl), union(w.box for w in row), rtl) for row in rows(words)]


def _rows(block_lines: list[Line], rtl: bool, region: int | None, reason: str) -> list[Block]:
    """The text in a figure that is not running text, one block per row of the page (its words in reading
    order across the whole row), top to bottom. A line of turned words (a chart's axis title) stays the line
    it is: a row across the page would cut it into its words."""
    out = []
    turned = [ln for ln in block_lines if all(w.angle in UPRIGHT for w in ln.words)]
    kept = {id(ln) for ln in turned}
    for line in row_lines([w for ln in block_lines if id(ln) not in kept for w in ln.words], rtl):
        out.append(Block(region, "text", line.box, [line], True, reason))
    out += [Block(region, "text", ln.box, [ln], True, reason) for ln in turned]
    return sorted(out, key=lambda b: (b.box.y0, b.box.x0)) if turned else out


def _paragraphs(block_lines: list[Line], rtl: bool, region: int | None = None,
                reason: str = "prose in a figure covering much of the page") -> list[Block]:
    """The text inside a figure that holds prose (a page the layout model took for a picture), as blocks
    of their own."""
    groups = form_rows(group_lines(block_lines), rtl)
    boxes = [union(ln.box for ln in g) for g in groups]
    short = [not is_row(g) and label_like(g) for g in groups]
    out = []
    for k, group in enumerate(groups):
        row = is_row(group)
        # a chart's labels: its numbers, or short labels in a row of such (category names along an axis); a
        # short line alone on its row (a heading) is not one
        labels = short[k] and (_numbers(group) or any(
            short[j] and j != k and y_overlap(boxes[j], boxes[k]) > 0.5 * min(boxes[j].height, boxes[k].height)
            for j in range(len(groups))))
        out.append(Block(region, "text", boxes[k], group if row else order_lines(group, rtl), row, reason,
                         figure_labels=labels))
    return out
