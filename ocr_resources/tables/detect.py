"""Table regions that do not rest on one layout label.

The layout model's regions are checked against what the page itself shows: ruling lines that enclose a
grid of text (or rules stacked over and under rows of aligned text), and regions whose words line up in
columns of short phrases and numbers. A region the model called a figure, a paragraph or a reference that
is really a table becomes a table (its model label is kept); one table region over two ruled tables is
split; a table box that cuts a ruled table short takes the rules' extent; a ruled table the model missed is
added. A frame (rules only round its edge: a page border, a box round a heading) is not a table. Everything
here works in PDF points on one page. On a scan it runs before OCR, with the rules found in the image and
no words: there only a table region over two or more ruled grids is split (a framed form taken whole)."""

from __future__ import annotations

import bisect
import re
import statistics
from dataclasses import dataclass, replace

from ocr_resources.geometry.lines import LINE_NUMBER, Line
from ocr_resources.geometry.lines import rows as word_rows
from ocr_resources.tables.alignment import PHRASE_GAP, channels, is_numeric
from ocr_resources.tables.lines import median_height, split_phrases, text_lines
from ocr_resources.tables.rules import Rule
from ocr_resources.tables.structure import build_structure
from ocr_resources.tables.turned import sideways, upright
from ocr_resources.types import Box, DetectedRegion, TableStructure, Word

# Labels whose region may turn out to be a table. Titles, captions, headers and footers never are.
RELABEL = ("figure", "text", "reference", "list", "other", "formula")
TOL = 2.0  # pt: rules closer than this touch
_CAPTION = re.compile(r"^(table|tab\.|figure|fig\.|chart|exhibit)\s*[A-Z]?[-\d.]+", re.IGNORECASE)
STOP_LABELS = ("caption", "title")  # a table never runs across these
# share of an image-only page's OCR words one region holds for the region to be the page's whole content
WHOLE_PAGE = 0.9
MIN_DENSITY = 0.15  # share of a table's area its words cover; tables are dense, charts and diagrams are not


_HEADING_YEAR = re.compile(r"^(1[89]|20)\d\d$")  # a year heads a column; other numbers are values
_EVIDENCE = {"grid": "ruled grid", "rules": "rules above and below rows", "alignment": "aligned words"}


@dataclass
class Candidate:
    box: Box
    evidence: str  # 'grid' (rules both ways) or 'rules' (rules above and below rows)


def _touch(a: Rule, b: Rule, tol: float = TOL) -> bool:
    return a.x0 - tol <= b.x1 and b.x0 - tol <= a.x1 and a.y0 - tol <= b.y1 and b.y0 - tol <= a.y1


def _components(rules: list[Rule]) -> list[list[Rule]]:
    """Rules that touch (crossings, corners, collinear pieces) grouped together."""
    parent = list(range(len(rules)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted(range(len(rules)), key=lambda i: rules[i].x0)
    for k, i in enumerate(order):  # sweep along x: only rules that start before this one ends can touch it
        for j in order[k + 1:]:
            if rules[j].x0 - TOL > rules[i].x1:
                break
            if _touch(rules[i], rules[j]):
                parent[find(i)] = find(j)
    groups: dict[int, list[Rule]] = {}
    for i, r in enumerate(rules):
        groups.setdefault(find(i), []).append(r)
    return list(groups.values())


def _is_frame(hs: list[Rule], vs: list[Rule], box: Box, tol: float = 2 * TOL) -> bool:
    """Rules only along the outline of their box: a frame (a page border, a box round a heading or a
    callout) with nothing dividing it, not a table. Tables inside a frame are their own grids; a frame's
    own words are then never taken for one table spanning the page."""
    return (all(min(abs(r.y0 - box.y0), abs(r.y1 - box.y1)) <= tol for r in hs)
            and all(min(abs(r.x0 - box.x0), abs(r.x1 - box.x1)) <= tol for r in vs))


def _bbox(rules: list[Rule]) -> Box:
    return Box(min(r.x0 for r in rules), min(r.y0 for r in rules), max(r.x1 for r in rules), max(r.y1 for r in rules))


def _inside(words: list[Word], box: Box) -> list[Word]:
    return [w for w in words if box.contains_point(*w.box.center)]


def looks_tabular(words: list[Word], rules: list[Rule], box: Box, strict: bool) -> bool:
    return table_verdict(words, rules, box, strict)[0]


def table_verdict(words: list[Word], rules: list[Rule], box: Box, strict: bool,
                  whole_page: bool = False) -> tuple[bool, str]:
    """Do these words make a table, and why (or why not)? At least two rows and two columns of short cells
    with text in a fair share of them, and not prose (`prose_reason`). `strict` (the layout model saw no
    table here) wants a dense, nearly full grid, and without rules also aligned columns on most lines and
    numbers in a good share of the cells, which prose, lists and charts do not have. `whole_page` (with
    `strict`: the words are all of an image-only page's, a table image) still wants columns on most lines,
    but not numbers, nor a full or dense grid: a table's empty cells are no sign of a chart when there is
    nothing else on the page, and a chart's tick labels make no columns on most lines."""
    words = [w for w in words if w.text.strip()]
    if len(words) < 4:
        return False, "too few words"
    if way := sideways(words):  # printed sideways: judged upright
        words, rules, box, _ = upright(words, rules, box, way)
    if why := prose_reason(words):
        return False, why
    h = median_height(words)
    lines = text_lines(words)
    phrases = [split_phrases(ln.words, PHRASE_GAP * h) for ln in lines]
    flat = [p for ps in phrases for p in ps]
    if statistics.median(len(p) for p in flat) > 5:
        return False, "prose: long phrases"
    # an outline number opening a line of words ("2.1  Power Counting": a contents entry, a numbered heading)
    # marks an item, not a value
    numbers = sum(1 for ps in phrases for i, p in enumerate(ps)
                  if is_numeric(" ".join(w.text for w in p)) and not (i == 0 and _outline_item(ps)))
    if strict and not rules:
        multi = sum(1 for ps in phrases if len(ps) >= 2)
        numeric = numbers
        if len(lines) < (2 if whole_page else 3) or multi < 0.6 * len(lines):
            return False, "no columns on most lines"
        if numeric < 0.25 * len(flat) and not whole_page:
            return False, "few numbers for a table no model saw"
        if not channels(lines, h, box.x0, box.x1):
            return False, "no white-space channel between columns"
    table = build_structure(words, rules, box)
    filled = sum(1 for c in table.cells if c.text)
    if table.n_rows < 2 or table.n_cols < 2:
        return False, f"grid of {table.n_rows} x {table.n_cols}"
    if whole_page:
        # all of an image-only page: a table with empty cells (values not given) is a numeric one of three
        # columns or more; a text table is nearly full, and of two columns only without numbers (terms and
        # their descriptions). A receipt (items and prices: two columns, rows of wrapped items) and a page
        # of text columns OCR'd into phrases are neither.
        body = [c for c in table.cells if not c.is_header]
        if running_columns(table):
            return False, "prose: columns of running text side by side (long cells in every column)"
        full = sum(1 for c in body if c.text)
        numeric = sum(1 for c in body if c.text and is_numeric(c.text))
        if table.n_cols < 3 and (full < 0.85 * len(body) or numbers >= 0.1 * len(flat)):
            return False, f"grid of {table.n_rows} x {table.n_cols} with numbers or gaps on a page of its own"
        if full < 0.85 * len(body) and numeric < 0.3 * full:
            return False, f"sparse grid ({full} of {len(body)} body cells hold text) with few numbers"
        return True, f"grid of {table.n_rows} x {table.n_cols}"
    if strict:
        # a table nobody else vouches for (the model saw none here) must be dense and nearly full: charts
        # give sparse grids (tick labels round an empty plot), with little text for their area
        extent = _fit(words, box)  # the words' own extent: a model's box may be loose
        density = sum(w.box.area for w in words) / max(extent.area, 1e-6)
        body = [c for c in table.cells if not c.is_header]  # a heading row's stub may well be empty
        full = sum(1 for c in body if c.text)
        if full < 0.85 * len(body):
            return False, f"sparse grid ({full} of {len(body)} body cells hold text)"
        if density < MIN_DENSITY:
            return False, f"little text for its area ({density:.2f})"
        return True, f"grid of {table.n_rows} x {table.n_cols}"
    if filled >= 4 and filled >= 0.3 * len(table.cells):
        return True, f"grid of {table.n_rows} x {table.n_cols}"
    return False, f"sparse grid ({filled} of {len(table.cells)} cells hold text)"


_OUTLINE = re.compile(r"^\d{1,2}(\.\d{1,2})+\.?$")  # a section's number: 2.1, 3.1.4


def _outline_item(phrases: list[list[Word]]) -> bool:
    """A line that is an outline number and then words only (no other number on it)."""
    texts = [" ".join(w.text for w in p) for p in phrases]
    return len(texts) >= 2 and bool(_OUTLINE.match(texts[0])) and not any(is_numeric(t) for t in texts[1:])


_LIST_MARK = re.compile(r"^(\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|[ivxIVX]{1,4}[.)]|[•▪◦●■\-–*])$")
_SENTENCE_END = re.compile(r"[.!?;:][\"')\]]?$")
LONG_PHRASE = 6  # words: a phrase this long is running text, not a cell


# words: the median cell of every column holds this many: pages of running text (a scanned spread of two pages),
# not a table, whose term or label column holds short cells beside its descriptions
RUNNING_CELL_WORDS = 10


def running_columns(table: TableStructure) -> bool:
    """Every column's cells are long runs of words, as two pages or columns of text read as a grid are: the
    phrase test (`prose_reason`) misses them where a justified line's word spaces are as wide as a column gap (a
    low-resolution scan's OCR words), and the grid's rows are then paragraphs."""
    by_col: dict[int, list[int]] = {}
    for c in table.cells:
        if c.text and not c.is_header:
            by_col.setdefault(c.col, []).append(len(c.text.split()))
    return len(by_col) >= 2 and all(statistics.median(n) >= RUNNING_CELL_WORDS for n in by_col.values())


def prose_reason(words: list[Word]) -> str | None:
    """Why these words are prose and not a table, or None. Items of a list (a number or bullet at the left
    edge, then a long phrase, on most lines); columns of running text side by side (two long phrases on
    most lines: one text column flowing into the next); one column of long phrases (sentences, or long
    lines). A text table is none of these: beside its long phrases stand short ones (a label column, a
    number, a bullet), in rows of several cells."""
    words = [w for w in words if w.text.strip()]
    if len(words) < 4:
        return None
    if way := sideways(words):
        words = upright(words, [], Box(0, 0, 0, 0), way)[0]
    h = median_height(words)
    lines = text_lines(words)
    phrases = [split_phrases(ln.words, PHRASE_GAP * h) for ln in lines]
    left = min(w.box.x0 for w in words)
    items = sum(1 for ps in phrases if len(ps) >= 2 and ps[0][0].box.x0 <= left + h
                and _LIST_MARK.match(" ".join(w.text for w in ps[0])) and len(ps[1]) >= 3)
    long_words = sum(len(p) for ps in phrases for p in ps if len(p) >= LONG_PHRASE)
    if items >= 2 and items >= 0.5 * len(lines) and long_words >= 0.4 * len(words):
        return "prose: list items of running text"
    if _numbered_lines(phrases):
        return "prose: numbered lines of running text (a transcript or pleading)"
    if long_words < 0.6 * len(words):
        return None
    if sum(1 for ps in phrases if len(ps) == 2 and min(map(len, ps)) >= LONG_PHRASE) >= 0.5 * len(lines):
        return "prose: columns of running text side by side"
    if sum(1 for ps in phrases if len(ps) >= 2) >= 0.3 * len(lines):
        return None  # rows of several cells, long text beside short: a text table
    if sum(is_numeric(" ".join(w.text for w in p)) for ps in phrases for p in ps) >= max(2, 0.15 * len(lines)):
        return None  # values standing on their own beside wrapped labels
    long = [p for ps in phrases for p in ps if len(p) >= LONG_PHRASE]
    if sum(1 for p in long if _SENTENCE_END.search(p[-1].text)) >= max(1, 0.2 * len(long)):
        return "prose: sentences"
    return "prose: long lines of running text"


# Running text at a table region's top or bottom edge (a disclaimer above the table, a note below it, inside
# the box the layout model drew): lines of at least EDGE_WORDS words in one run (no column gutter cuts them)
# that cross a column channel of the table's other lines, which a cell's text never does.
EDGE_WORDS = 8


def _running_words(words: list[Word]) -> bool:
    """Words as sentences have them: mostly words of letters, most of those in lower case (not a row of
    capitalised labels or of values). (A phrase test cannot be used: on a low-resolution scan OCR's word boxes
    leave gaps as wide as a cell's inside a sentence.)"""
    alpha = [w.text for w in words if w.text[:1].isalpha()]
    return len(alpha) >= 0.7 * len(words) and sum(1 for t in alpha if t[0].islower()) >= 0.5 * len(alpha)


def table_edges(lines: list[Line]) -> tuple[list[Line], list[Line], list[Line]]:
    """A table region's lines (`geometry.lines.lines`, which split at column gutters) as (running text above
    the table, the table's own lines, running text below it). An edge's lines are taken only when their words
    run as sentences do (`_running_words`), each long line crosses a column channel of the rest (`channels`:
    a long cell stays in its column), they lie wholly above (below) the rest, and at least three rows,
    themselves not prose, are left for the table. A paragraph's short last line goes with it. A header row of
    many labels is cut at its gutters into short lines, or is capitalised labels: it stays the table's."""
    by_y = sorted(lines, key=lambda ln: (ln.box.y0, ln.box.x0))

    def long(ln: Line) -> bool:
        return len(ln.words) >= EDGE_WORDS

    def edge(order: list[Line], above: bool) -> int:
        # from the edge in: the long lines, and the paragraph's last line (the lowest) where it is short
        start = 0 if above or not order or long(order[0]) else 1
        n = start
        while n < len(order) - 1 and long(order[n]):
            n += 1
        if n == start:
            return 0
        left = min(ln.box.x0 for ln in order[start:n])
        h = median_height([w for ln in order[:n] for w in ln.words])

        def last_line(ln: Line) -> bool:
            return bool(_SENTENCE_END.search(ln.text)) and ln.box.x0 <= left + h

        if start and not last_line(order[0]):
            return 0
        if above and n < len(order) - 1 and last_line(order[n]):
            n += 1
        run, rest = order[:n], order[n:]
        rest_words = [w for ln in rest for w in ln.words]
        rows = text_lines(rest_words)
        if len(rows) < 3:  # rows left for a table
            return 0
        gaps = channels(rows, median_height(rest_words), min(w.box.x0 for w in rest_words),
                        max(w.box.x1 for w in rest_words))
        apart = (max(ln.box.y1 for ln in run) <= min(ln.box.y0 for ln in rest) + 0.3 * h if above
                 else min(ln.box.y0 for ln in run) >= max(ln.box.y1 for ln in rest) - 0.3 * h)
        crossing = all(any(ln.box.x0 < a and ln.box.x1 > b for a, b in gaps) for ln in run if long(ln))
        running = (apart and crossing and _running_words([w for ln in run for w in ln.words])
                   and prose_reason(rest_words) is None)
        return n if running else 0

    top = edge(by_y, True)
    bottom = edge(by_y[top:][::-1], False)
    kept = {id(ln) for ln in by_y[top:len(by_y) - bottom]}
    return by_y[:top], [ln for ln in lines if id(ln) in kept], by_y[len(by_y) - bottom:]


_TRANSCRIPT_NUMBER = re.compile(r"^\d{1,2}$")  # a transcript's or a pleading's line number


def _numbered_lines(phrases: list[list[list[Word]]]) -> bool:
    """Lines of running text numbered in the margin (a deposition transcript, a pleading, a listing), not a
    table's index column: most lines open with a bare number that counts up down the page (a missed one
    skipped, a new page box side by side or below starting again at 1), and what follows is words, not
    values. A number repeated further along its line is the line number of a box beside it (an n-up sheet)."""
    numbers: list[int] = []
    rest_words = []
    values = 0
    for ps in phrases:
        texts = [" ".join(w.text for w in p) for p in ps]
        if len(texts) < 2 or not _TRANSCRIPT_NUMBER.match(texts[0]):
            continue
        numbers.append(int(texts[0]))
        rest = [(t, p) for t, p in zip(texts[1:], ps[1:], strict=True) if t != texts[0]]
        rest_words.append(sum(len(p) for _, p in rest))
        values += any(is_numeric(t) for t, _ in rest)
    if len(numbers) < 5 or len(numbers) < 0.5 * len(phrases):
        return False
    counting = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if 0 < b - a <= 2 or b == 1)
    return (counting >= 0.8 * (len(numbers) - 1) and values <= 0.15 * len(numbers)
            and statistics.median(rest_words) >= 4)


def numbered_boxes(words: list[Word]) -> list[list[Word]]:
    """The words of a region of numbered lines (`_numbered_lines`: a transcript, a pleading), box by box from
    the left where boxes of them stand side by side (an n-up transcript sheet: each box a page with its own
    column of line numbers, where it starts); [] where the lines are not numbered."""
    if sum(1 for w in words if _TRANSCRIPT_NUMBER.match(w.text)) < 5:  # (cheap: most regions stop here)
        return []
    h = median_height(words)
    phrases = [split_phrases(ln.words, PHRASE_GAP * h) for ln in text_lines(words)]
    if not _numbered_lines(phrases):
        return []
    starts: list[float] = []  # where each line's number stands, and the same number further along its line
    for ps in phrases:
        first = " ".join(w.text for w in ps[0])
        if _TRANSCRIPT_NUMBER.match(first):
            starts += [p[0].box.x0 for p in ps if " ".join(w.text for w in p) == first]
    starts.sort()
    columns = [[starts[0]]]
    for x in starts[1:]:
        if x - columns[-1][-1] <= 2 * h:
            columns[-1].append(x)
        else:
            columns.append([x])
    edges = [c[0] - 0.5 * h for c in columns if len(c) >= 5][1:]  # (the first box takes what lies left of it)
    boxes: list[list[Word]] = [[] for _ in range(len(edges) + 1)]
    for w in words:
        boxes[bisect.bisect_right(edges, w.box.center[0])].append(w)
    return [b for b in boxes if b]


def ruled_tables(words: list[Word], rules: list[Rule], stops: list[Box] = ()) -> list[Candidate]:
    """Tables drawn with rules: grids (horizontal and vertical rules that touch), and stacks of long
    horizontal rules with aligned rows between them (rules above, under the heading and at the bottom).
    `stops`: boxes (captions, notes) that no table runs across."""
    lines = [r for r in rules if r.kind == "line"]
    out: list[Candidate] = []
    loose: list[Rule] = []
    for group in _components(lines):
        hs = [r for r in group if r.horizontal]
        vs = [r for r in group if not r.horizontal]
        box = _bbox(group)
        if len(hs) >= 2 and len(vs) >= 2 and box.width > 20 and box.height > 10 and not _is_frame(hs, vs, box):
            if looks_tabular(_inside(words, box), lines, box, strict=False):
                out.append(Candidate(_with_heading(words, _with_row_labels(words, box)), "grid"))
                continue
        loose += hs
    out += _stacked(words, lines, loose, out, stops)
    return out


def _with_row_labels(words: list[Word], box: Box) -> Box:
    """A ruled grid with its row labels set just left of its first rule (a column of names outside the
    grid, each on the baseline of a row of the grid): the box grown over them. Labels are short (one
    phrase each, a few words, in a column at most 12 line heights wide) and close (the longest within 4 line
    heights); a text column beside a table is neither."""
    inside = _inside(words, box)
    if not inside:
        return box
    h = median_height(inside)
    rows = text_lines(inside)
    near = [w for w in words if w.box.x1 <= box.x0 + 0.5 * h and box.y0 <= w.box.center[1] <= box.y1]
    labels = text_lines(near)
    if len(labels) < 3:
        return box
    h = median_height(near)  # the labels' own size (the grid's may be small print or sideways glyphs)
    for ln in labels:
        phrases = split_phrases(ln.words, PHRASE_GAP * h)
        if len(phrases) > 1 or len(ln.words) > 4:
            return box
    aligned = [ln for ln in labels
               if any(min(ln.box.y1, r.box.y1) - max(ln.box.y0, r.box.y0) >= 0.5 * min(ln.box.height, r.box.height)
                      for r in rows)]
    left = min(ln.box.x0 for ln in labels)
    if len(aligned) < 0.8 * len(labels) or box.x0 - max(ln.box.x1 for ln in labels) > 4 * h \
            or box.x0 - left > 12 * h:
        return box
    return Box(left - 1, box.y0, box.x1, box.y1)


def _with_heading(words: list[Word], box: Box) -> Box:
    """A ruled table with its column headings set just above its top rule (one line of short phrases over
    its columns, within 1.5 line heights): the box grown over them. A caption or a heading above a table
    is one phrase, and stays out."""
    inside = _inside(words, box)
    if not inside:
        return box
    h = median_height(inside)
    above = [w for w in words if box.x0 - 0.5 * h <= w.box.x0 and w.box.x1 <= box.x1 + 0.5 * h
             and box.y0 - 2.5 * h <= w.box.y0 and w.box.center[1] < box.y0]
    lines = text_lines(above)
    if not lines:
        return box
    line = lines[-1]  # the nearest
    phrases = split_phrases(line.words, PHRASE_GAP * h)
    texts = [" ".join(w.text for w in p) for p in phrases]
    if (box.y0 - line.box.y1 > 1.5 * h or len(phrases) < 2 or any(len(p) > 4 for p in phrases)
            or _CAPTION.match(" ".join(w.text for w in line.words[:3]))
            or any(is_numeric(t) and not _HEADING_YEAR.match(t) for t in texts)):
        return box  # (a row of values is the last row of a table above, not a heading)
    # each heading stands over words of the table
    if not all(any(min(p[-1].box.x1, w.box.x1) > max(p[0].box.x0, w.box.x0) for w in inside) for p in phrases):
        return box
    return Box(box.x0, line.box.y0 - 1, box.x1, box.y1)


def _stacked(words: list[Word], rules: list[Rule], hs: list[Rule], taken: list[Candidate],
             stops: list[Box]) -> list[Candidate]:
    """Runs of long horizontal rules of about the same extent, one above the other, with table rows between
    consecutive ones; a band of prose or a caption between two rules ends a run. Rules of tables side by
    side (other extents) make runs of their own."""
    if not words:
        return []
    h = median_height(words)
    long = sorted((r for r in hs if r.length >= 8 * h), key=lambda r: r.pos)
    out: list[Candidate] = []
    while long:
        first = max(long, key=lambda r: r.length)  # the widest rule sets the extent of its group
        group = [r for r in long if r.x0 >= first.x0 - 3 * h and r.x1 <= first.x1 + 3 * h
                 and min(r.x1, first.x1) - max(r.x0, first.x0) >= 0.5 * r.length]
        long = [r for r in long if r not in group]
        run: list[Rule] = []
        for r in group + [None]:
            if r is not None and run:
                band = Box(first.x0, run[-1].pos, first.x1, r.pos)
                if _band_continues(_band_phrases(words, band, h), h) and not any(_share(b, band) >= 0.5 for b in stops):
                    run.append(r)
                    continue
            if len(run) >= 2:
                box = Box(min(x.x0 for x in run), run[0].pos - 1, max(x.x1 for x in run), run[-1].pos + 1)
                if not any(c.box.intersection(box) > 0 for c in taken + out) and looks_tabular(
                        _inside(words, box), rules, box, strict=False):
                    out.append(Candidate(_with_heading(words, box), "rules"))
            run = [r] if r is not None else []
    return out


def _band_phrases(words: list[Word], band: Box, h: float) -> list[Word]:
    """The words between two rules, each phrase whole where the rules' ends cut it: an underline as wide as its
    heading ends mid-line of the paragraph under it, and the paragraph's lines cut there read as short phrases."""
    out: list[Word] = []
    for line in text_lines([w for w in words if band.y0 <= w.box.center[1] <= band.y1]):
        for phrase in split_phrases(line.words, PHRASE_GAP * h):
            if any(band.x0 <= w.box.center[0] <= band.x1 for w in phrase):
                out += phrase
    return out


def _band_continues(words: list[Word], h: float) -> bool:
    """Can the text between two rules belong to one table? Not when it is a paragraph or a caption: lines
    of one long phrase each, or a line that starts like a caption."""
    if not words:
        return True
    lines = text_lines(words)
    if any(_CAPTION.match(" ".join(w.text for w in ln.words[:3])) for ln in lines):
        return False
    phrases = [split_phrases(ln.words, PHRASE_GAP * h) for ln in lines]
    prose = sum(1 for ps in phrases if len(ps) == 1 and len(ps[0]) > 6)
    return prose < 2 and prose <= len(lines) // 2


def split_stacked(words: list[Word], box: Box) -> list[Box]:
    """One region over two unruled tables, one under the other: the second starts after a gap with a
    heading line that has no numbers and nothing in the label column, with rows of numbers above and
    below it. The region's parts, top to bottom (just the region when there is no such line)."""
    lines = text_lines(_inside(words, box))
    if len(lines) < 8:
        return [box]
    h = median_height([w for ln in lines for w in ln.words])
    phrases = [split_phrases(ln.words, PHRASE_GAP * h) for ln in lines]
    numeric = [sum(is_numeric(" ".join(w.text for w in p)) for p in ps) >= 2 for ps in phrases]
    labels = [ps[0] for ps in phrases if len(ps) >= 2]
    label_right = statistics.median(p[-1].box.x1 for p in labels) if labels else box.x1
    gaps = [b.box.y0 - a.box.y1 for a, b in zip(lines, lines[1:], strict=False)]
    typical = statistics.median(gaps)
    cuts = [box.y0]
    for i in range(3, len(lines) - 3):
        heading = (not any(is_numeric(w.text) for w in lines[i].words)
                   and lines[i].words[0].box.x0 > label_right and gaps[i - 1] > typical + 0.5 * h)
        if heading and sum(numeric[max(0, i - 5):i]) >= 3 and sum(numeric[i + 1:i + 6]) >= 3:
            cuts.append((lines[i - 1].box.y1 + lines[i].box.y0) / 2)
    cuts.append(box.y1)
    return [Box(box.x0, a, box.x1, b) for a, b in zip(cuts, cuts[1:], strict=False)]


def refine_regions(regions: list[DetectedRegion], words: list[Word], rules: list[Rule]) -> list[DetectedRegion]:
    """The page's layout regions (boxes in points) with table regions confirmed, relabelled, split, extended
    or added from the page's ruling lines and word alignment. Without words (a scanned page before OCR)
    only the rules can speak (`_split_by_grids`)."""
    words = [w for w in words if w.text.strip()]
    if not words:
        return _split_by_grids(regions, rules)
    # a rule inside a displayed formula is a fraction bar or an overline, never a table's
    formulas = [r.box for r in regions if r.label == "formula"]
    rules = [r for r in rules if not any(_holds_rule(f, r) for f in formulas)]
    found = ruled_tables(words, rules, [r.box for r in regions if r.label in STOP_LABELS])
    lines = [r for r in rules if r.kind == "line"]
    # a page typed on a typewriter (a government report): its tables are in typewriter type like all its text
    typewritten = _mono_share(words) >= 0.5
    out: list[DetectedRegion] = []
    used: set[int] = set()
    for region in regions:
        overlapping = [k for k, c in enumerate(found)
                       if _share(c.box, region.box) >= 0.5 or _share(region.box, c.box) >= 0.5]
        ruled = ", ".join(sorted({found[k].evidence for k in overlapping}))
        if region.label == "table" and overlapping:
            held = _inside(words, region.box)
            covered = sum(1 for w in held if any(found[k].box.contains_point(*w.box.center) for k in overlapping))
            used.update(overlapping)
            if len(overlapping) >= 2 and covered >= 0.8 * len(held):
                # one region over several ruled tables: they replace it
                out += [DetectedRegion(found[k].box, "table", region.model_label, region.score,
                                       f"layout table over {len(overlapping)} ruled tables ({ruled})")
                        for k in overlapping]
            elif len(overlapping) == 1 and covered >= 0.7 * len(held):
                # the rules' extent is the table's (a caption or a cut-off row no longer decides it)
                out.append(DetectedRegion(found[overlapping[0]].box, "table", region.model_label, region.score,
                                          f"layout table, extent of its rules ({ruled})"))
            else:  # rules for part of the table only: keep all of it
                boxes = [region.box] + [found[k].box for k in overlapping]
                union = Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes),
                            max(b.y1 for b in boxes))
                out.append(DetectedRegion(union, "table", region.model_label, region.score,
                                          f"layout table, partly ruled ({ruled})"))
        elif region.label == "table":
            # no rules: the words decide. Prose the model took for a table (a numbered list, a page of two
            # text columns) is text, and so is a block in typewriter type on a page set in proportional type (a
            # program's printed output: the text stage keeps it as code, its columns aligned as printed); else
            # maybe two tables one under the other
            held = _inside(words, region.box)
            if why := prose_reason(held) or (None if typewritten else _typewriter(held)) or _numbered_listing(held):
                out.append(DetectedRegion(region.box, "text", region.model_label, region.score, f"not a table: {why}"))
                continue
            out += [DetectedRegion(_fit(words, b), "table", region.model_label, region.score,
                                   "layout table, words not prose")
                    for b in split_stacked(words, region.box)]
        elif region.label in RELABEL and not overlapping:
            held = _inside(words, region.box)
            # a program's printed output, aligned as it printed it; a listing with its line numbers
            if _listing(held, typewritten):
                out.append(region)
                continue
            ok, why = table_verdict(held, [], region.box, strict=True)
            if ok:
                out.append(DetectedRegion(_fit(words, region.box), "table", region.model_label, region.score,
                                          f"{why} (aligned words) in a {region.label} region"))
            else:  # recorded where the words could have been a table: lines of several phrases
                out.append(replace(region, table_reason=f"not a table: {why}") if _grid_like(held) else region)
        else:
            out.append(region)
    added = []
    for k, c in enumerate(found):
        if k in used or any(r.label == "table" and _iou(r.box, c.box) > 0.5 for r in out):
            continue
        # a rule above and a rule below with none between frame a block (a code listing, a boxed note): they
        # show no rows, so the words must show the table themselves, as where no rule is drawn
        framed = c.evidence == "rules" and not _rules_between(lines, c.box)
        held = _inside(words, c.box)
        if _listing(held, typewritten) and not _rules_between(lines, _fit(words, c.box)):
            continue  # a listing in typewriter type, framed or shaded (no rule between its lines): code, not a table
        ok, why = table_verdict(held, [] if framed else lines, c.box, strict=True)
        if ok:
            added.append((c, f"{why} ({_EVIDENCE[c.evidence]})"))
    held = [w for w in words if not any(r.box.contains_point(*w.box.center) for r in regions)]
    for box in _loose_blocks(held):
        ok, why = table_verdict(_inside(held, box), [], box, strict=True)
        if ok and not any(c.box.intersection(box) > 0 for c in found):
            added.append((Candidate(box, "alignment"), f"{why} (aligned words)"))
    for c, why in added:
        # the model's region that covers most of it lends its label (kept as the model's) and score
        host = max(regions, key=lambda r: r.box.intersection(c.box), default=None)
        hosted = host is not None and host.box.intersection(c.box) > 0
        out.append(DetectedRegion(c.box, "table", host.model_label if hosted else None,
                                  host.score if hosted else None,
                                  f"{why} in a {host.label} region" if hosted else f"{why} outside every region"))
    # a table inside another one is the same table seen twice (two model boxes over one ruled table)
    tables = [r for r in out if r.label == "table"]
    nested = {id(a) for a in tables for b in tables
              if a is not b and _share(a.box, b.box) >= 0.9 and (a.box.area < b.box.area or
                                                                 (a.box == b.box and id(a) > id(b)))}
    out = [r for r in out if id(r) not in nested]
    # a table of one column is none (a framed box of text, a sidebar): its words are read as text
    out = [replace(r, label="text", table_reason=f"not a table: one column ({r.table_reason or 'layout table'})")
           if r.label == "table" and one_column(words, rules, r.box) else r for r in out]
    # regions now inside a table (pieces of it the model took for text) give way to it
    boxes = [r.box for r in out if r.label == "table"]
    return [r for r in out if r.label == "table" or r.label in ("header", "footer")
            or not any(_share(r.box, t) >= 0.6 for t in boxes)]


def one_column(words: list[Word], rules: list[Rule], box: Box) -> bool:
    """Do the words in `box` make a table of one column only, by their alignment and the ruling lines (the
    structure the geometry builds, `build_structure`)? Such a "table" is a framed box of text, a sidebar, a
    receipt's lines: its rows are read better as text."""
    held = _inside(words, box)
    return len(held) >= 4 and build_structure(held, rules, box).n_cols < 2


def scanned_verdict(words: list[Word], box: Box, label: str, page_region: bool = False,
                    rules: list[Rule] = ()) -> tuple[bool, str]:
    """Is a region of a page without a text layer a table, by the page's OCR `words`, and why (or why not)? A region
    the layout model labelled table is one unless its words are prose (`prose_reason`) or make one column
    (`one_column`, with the page's `rules`). A figure (or `page_region`'s whole page) as `scanned_figure_verdict`;
    a region labelled otherwise that may be a table (`RELABEL`: text, reference, list) only where it holds the
    page's whole content (a table image the model read as a reference list). The text stage (the region's label)
    and the tables stage (its structure) both ask this, so they agree."""
    if page_region:
        return scanned_figure_verdict(words, box, PAGE_WHERE)
    if label == "table":
        # the layout model's table, unless its words are prose (ruled boxes of a transcript look like one) or
        # make one column (a receipt's lines), as `refine_regions` decides on a digital page (`rules`: the
        # page's ruling lines, found in its pixels)
        held = _inside(words, box)
        if why := prose_reason(held):
            return False, f"not a table: {why}"
        if one_column(held, list(rules), box):
            return False, "not a table: one column"
        return True, "layout table, OCR words not prose"
    if label == "figure":
        return scanned_figure_verdict(words, box)
    if label in RELABEL and words:
        return scanned_figure_verdict(words, box, f"in a {label} region", whole_only=True)
    return False, f"not a table: a {label} region"


def scanned_figure_verdict(words: list[Word], box: Box, where: str = "in a figure region",
                           whole_only: bool = False) -> tuple[bool, str]:
    """Is a figure region of a page without a text layer a table, by the OCR words whose centres lie in it,
    and why (or why not)? The decision a figure region of a digital page gets in `refine_regions` (a grid
    nobody else vouches for: dense, nearly full, numbers, white-space columns; prose rejected), taken once
    OCR has read the page: the layout stage ran before there were words. `whole_only`: only where the region
    holds the page's whole content."""
    held = _inside(words, box)
    whole = len(held) >= WHOLE_PAGE * len(words)
    if whole_only and not whole:
        return False, "not a table: not the page's whole content"
    ok, why = table_verdict(held, [], box, strict=True)
    if not ok and whole:
        # the region is the page's whole content (a table image, a scanned table alone on its page)
        whole, why_whole = table_verdict(held, [], box, strict=True, whole_page=True)
        if whole:
            return True, f"{why_whole} (aligned OCR words, the page's whole content) {where}"
    return ok, (f"{why} (aligned OCR words) {where}" if ok else f"not a table: {why}")


# The reason on the region that stands for a whole page the layout model found nothing on (a page without a
# text layer): a table image the model saw no region in is still a table once OCR shows its words form a grid.
PAGE_REGION = ("no layout region on a page without a text layer: the whole page, a table where its OCR words "
               "form a grid (else read as a page without regions)")


PAGE_WHERE = "on a page the layout model found no region on"  # where its verdict says the grid is


def page_region(width: float, height: float) -> DetectedRegion:
    """The region that stands for a whole scan the layout model found nothing on (label "text", no model label,
    `PAGE_REGION` its reason), for OCR's words to decide: the text stage keeps it as a table where they form a
    grid (`scanned_verdict`, as the tables stage asks) and drops it otherwise. Before OCR there are no words
    to judge by."""
    return DetectedRegion(Box(0.0, 0.0, width, height), "text", None, None, table_reason=PAGE_REGION)


def is_page_region(region: dict) -> bool:
    """A stored region row that is `page_region`'s placeholder."""
    return region.get("model_label") is None and region.get("table_reason") == PAGE_REGION


def region_verdict(words: list[Word], region: dict, rules: list[Rule] = ()) -> tuple[bool, str]:
    """`scanned_verdict` for a stored region row of a page without a text layer."""
    return scanned_verdict(words, Box(region["x0"], region["y0"], region["x1"], region["y1"]), region["label"],
                           is_page_region(region), rules)


TYPEWRITER_SHARE = 0.9  # of a region's characters in a fixed-pitch font


def _mono_share(words: list[Word]) -> float:
    """The share of the words' characters set in a fixed-pitch font."""
    chars = sum(len(w.text) for w in words)
    return sum(len(w.text) for w in words if w.mono) / chars if chars else 0.0


def _typewriter(words: list[Word]) -> str | None:
    """Why a table region's words are a program's printed output (R's coefficient matrix under its call, a
    console's listing), or None: nearly all of their characters are set in a fixed-pitch font (its line numbers
    aside). Asked only on a page set in proportional type: a typewritten page's tables are typewritten too."""
    share = _mono_share(words) if len(words) >= 4 else 0.0
    # (the line numbers looked for only where half the characters are code's: a table is not looked at word by word)
    if share < 0.5 or (share < TYPEWRITER_SHARE and _mono_share(_without_line_numbers(words)) < TYPEWRITER_SHARE):
        return None
    return "typewriter text (a program's printed output or a listing)"


def _listing(words: list[Word], typewritten: bool) -> bool:
    """A program's printed output on a page set in proportional type (`_typewriter`), or a numbered listing."""
    return bool((not typewritten and _typewriter(words)) or _numbered_listing(words))


def _numbered_listing(words: list[Word]) -> str | None:
    """Why the words are a numbered listing, or None: rows led by line numbers counting up by one (a line left out
    here and there), the rest code's (a fixed-pitch font). On a page that is all code (docstrip's numbered source)
    the page counts as typewritten, and its number and code columns made a grid of two columns."""
    if _mono_share(words) < 0.5:  # (most characters are code's: a table is not looked at row by row)
        return None
    leading = sorted((w for w in _leaders(words) if LINE_NUMBER.fullmatch(w.text) and not w.mono),
                     key=lambda w: w.box.y0)
    values = [int(w.text) for w in leading]
    numbered = {id(w) for w in leading}
    rest = [w for w in words if id(w) not in numbered]
    if len(leading) < 5 or not rest or _mono_share(rest) < TYPEWRITER_SHARE \
            or not all(0 < b - a <= 2 for a, b in zip(values, values[1:], strict=False)):
        return None
    return f"a numbered listing ({len(leading)} numbered lines of code)"


def _leaders(words: list[Word]) -> list[Word]:
    """The first word of each row (`geometry.lines.rows`)."""
    return [min(row, key=lambda w: w.box.x0) for row in word_rows(words)]


def _without_line_numbers(words: list[Word]) -> list[Word]:
    """The words less a listing's line numbers set in roman type: a number of up to five digits that leads its row
    (docstrip's numbered source, "1515  \\pgfkeysvalueof{...}", read as a table of numbers and code)."""
    leaders = {id(w) for w in _leaders(words)}
    return [w for w in words if w.mono or not (LINE_NUMBER.fullmatch(w.text) and id(w) in leaders)]


def _grid_like(words: list[Word]) -> bool:
    """Could these words be a table at all: two lines or more with several phrases each."""
    if len(words) < 4:
        return False
    h = median_height(words)
    return sum(len(split_phrases(ln.words, PHRASE_GAP * h)) >= 2 for ln in text_lines(words)) >= 2


def _loose_blocks(words: list[Word]) -> list[Box]:
    """Words outside every region in blocks of three lines or more, a blank line apart: where a table the
    layout model did not see at all may be."""
    lines = text_lines(words)
    if not lines:
        return []
    h = median_height(words)
    groups: list[list] = [[lines[0]]]
    for prev, ln in zip(lines, lines[1:], strict=False):
        if ln.box.y0 - prev.box.y1 > 1.5 * h:
            groups.append([ln])
        else:
            groups[-1].append(ln)
    return [_fit(words, Box(min(ln.box.x0 for ln in g), min(ln.box.y0 for ln in g), max(ln.box.x1 for ln in g),
                            max(ln.box.y1 for ln in g))) for g in groups if len(g) >= 3]


def _positions(values: list[float], tol: float = 2 * TOL) -> int:
    """How many distinct positions these rule centre lines are at (pieces of one ruled line count once)."""
    distinct: list[float] = []
    for v in sorted(values):
        if not distinct or v - distinct[-1] > tol:
            distinct.append(v)
    return len(distinct)


def grid_rules(rules: list[Rule]) -> list[list[Rule]]:
    """The rules of each ruled grid that is a table by its rules alone: at least three horizontal and three
    vertical rule positions (two rows by two columns of cells), and not a frame."""
    out = []
    for group in _components([r for r in rules if r.kind == "line"]):
        hs = [r for r in group if r.horizontal]
        vs = [r for r in group if not r.horizontal]
        if (_positions([r.pos for r in hs]) >= 3 and _positions([r.pos for r in vs]) >= 3
                and not _is_frame(hs, vs, _bbox(group))):
            out.append(group)
    return out


def grids(rules: list[Rule]) -> list[Box]:
    return [_bbox(group) for group in grid_rules(rules)]


def _split_by_grids(regions: list[DetectedRegion], rules: list[Rule]) -> list[DetectedRegion]:
    """A page without words yet (a scan, before OCR): one table region over two or more separate ruled
    grids (a framed form the model took whole) is those grids. The rest of the region's text (headings
    between the grids, a letterhead) is placed in the flow on its own once OCR has read it. Everything else
    waits for words: a single grid says nothing about unruled rows round it."""
    found = grids(rules)
    out: list[DetectedRegion] = []
    for region in regions:
        inside = [g for g in found if _share(g, region.box) >= 0.8]
        if region.label == "table" and len(inside) >= 2:
            out += [DetectedRegion(g, "table", region.model_label, region.score,
                                   f"layout table over {len(inside)} ruled grids (no words yet)")
                    for g in sorted(inside, key=lambda b: (b.y0, b.x0))]
        else:
            out.append(region)
    return out


def _fit(words: list[Word], box: Box, margin: float = 2.0) -> Box:
    """A table box without rules drawn to the extent of its words (model boxes are loose)."""
    held = _inside(words, box)
    if not held:
        return box
    return Box(max(box.x0, min(w.box.x0 for w in held) - margin), max(box.y0, min(w.box.y0 for w in held) - margin),
               min(box.x1, max(w.box.x1 for w in held) + margin), min(box.y1, max(w.box.y1 for w in held) + margin))


def _holds_rule(box: Box, rule: Rule) -> bool:
    return (box.x0 - TOL <= rule.x0 and rule.x1 <= box.x1 + TOL and box.y0 - TOL <= rule.y0
            and rule.y1 <= box.y1 + TOL)


def _rules_between(rules: list[Rule], box: Box) -> bool:
    """A horizontal rule across most of `box` between its top and bottom rules."""
    return any(r.horizontal and box.y0 + 2 * TOL < r.y0 < box.y1 - 2 * TOL
               and min(r.x1, box.x1) - max(r.x0, box.x0) >= 0.5 * box.width for r in rules)


def _share(inner: Box, outer: Box) -> float:
    """Share of `inner`'s area inside `outer`."""
    return inner.intersection(outer) / inner.area if inner.area > 0 else 0.0


def _iou(a: Box, b: Box) -> float:
    inter = a.intersection(b)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0
