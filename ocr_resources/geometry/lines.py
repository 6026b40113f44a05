"""Words into text lines. A line is a run of words on one baseline band with no gap wider than a column
gutter: lines never merge across columns, and a line's band never widens as words join it (the band of
the words already in it is their median, so one tall word does not swallow the next line)."""

from __future__ import annotations

import bisect
import dataclasses
import re
import statistics
import unicodedata
from dataclasses import dataclass

from ocr_resources.geometry.boxes import UPRIGHT, turned_box, union
from ocr_resources.types import Box, Word

# list bullets (a dash or an asterisk is one too where a space follows it: `text.structure`)
BULLET_MARKS = ("\u2022\u2023\u2043\u2219\u25aa\u25ab\u25a0\u25a1\u25cf\u25cb\u25e6\u2610\u2611\u2612"
                "\u27a2\u2713\u2714\u2756\u25b6\u25ba\u00b7")
DASH_BULLETS = "-\u2013\u2014*"
GAP_FACTOR = 1.5  # a horizontal gap wider than this many text heights ends a line (gutters, table cells)
# A gutter is at least this many text heights wide in the row itself: a narrow gutter (10 pt beside 10-pt
# text, tests/test_reading_order_pdf.py) is 0.89; word spaces of the OCR'd redp5110 contents page about 0.5.
GUTTER_OWN = 0.75
# Justified prose stretches its word spaces to 0.7-1 text heights on some rows, and by chance they can line up
# for a few rows (an OCR'd report: "and | 20x", "projections. | Our", "a | 19x"). A gutter is wider than its
# row's word spaces, or keeps a strip that wide through its run (the columns' edges are set straight); a gap
# that is neither is a chance line-up of word spaces.
GUTTER_OVER_SPACES = 1.5
# A gap no wider than this many of the row's character pitches (its words' width per character) is a word space
# whatever the text height: typewriter type is as wide as it is high, and OCR boxes of its lower-case words are
# shorter still, so its word spaces (1.2-1.6 pitches, a sentence's double space included) pass 1.5 text heights.
# Proportional type has a pitch of about half an em: there 1.5 heights is the wider gap, and binds.
PITCH_SPACES = 2.0
# A gutter is wider in its own row than one and a half characters of the row: justified word spaces of a book's page
# that line up by chance over four rows beside a picture are as wide as 0.75 OCR box heights (whose boxes hug the
# ink), but no wider than a word space, about one character. A narrow gutter (10 pt beside 10-pt text) is two.
GUTTER_PITCHES = 1.5
# Between one sentence's end and the next one's capital, older type (and typewriters) set a space twice as wide
# as a word space: up to this many characters of the row it is a sentence space, not a cell's or column's edge.
SENTENCE_PITCHES = 3.5
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]?$")


def _pitch(row: list[Word]) -> float:
    """A row's character pitch: its words' width per character."""
    return sum(w.box.width for w in row) / max(1, sum(len(w.text) for w in row))


def _sentence_space(before: str, after: str) -> bool:
    """A word ending a sentence before a word starting one (a capital, or a quote or bracket before it)."""
    start = after.lstrip("\"'“‘([")
    return bool(_SENTENCE_END.search(before)) and (len(before) > 1 or before in "?!") and start[:1].isupper()


def is_cjk(ch: str) -> bool:
    # scripts written without spaces between words (Hangul is written with spaces)
    o = ord(ch)
    return 0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF


def word_count(line: Line) -> int:
    """Words of a line, counting a run of CJK characters (written without spaces) as a word per two of them."""
    return sum(max(1, sum(map(is_cjk, w.text)) // 2) for w in line.words)


def direction(text: str) -> int:
    """+1 for left-to-right, -1 for right-to-left, 0 when `text` has no strong character."""
    rtl = ltr = 0
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            rtl += 1
        elif kind == "L":
            ltr += 1
    return 0 if rtl == ltr == 0 else (-1 if rtl > ltr else 1)


def is_rtl(words: list[Word]) -> bool:
    return direction("".join(w.text for w in words)) < 0


@dataclass
class Line:
    words: list[Word]  # in reading order
    box: Box
    rtl: bool = False

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def height(self) -> float:
        return statistics.median(w.box.height for w in self.words)

    @property
    def size(self) -> float | None:
        sizes = [w.size for w in self.words if w.size]
        return statistics.median(sizes) if sizes else None

    @property
    def bold(self) -> bool:
        return sum(len(w.text) for w in self.words if w.bold) * 2 > sum(len(w.text) for w in self.words)


def rows(words: list[Word]) -> list[list[Word]]:
    """Words grouped by vertical overlap with a row's reference band (the median top and bottom of its
    words), top to bottom. Words of ordinary height make the rows; taller ones (a bullet set in a larger
    font, an initial) then join the overlapping row whose words they are nearest to, so a tall glyph never
    bridges two baselines of neighbouring columns. Rows are not split horizontally here (see `lines`)."""
    if not words:
        return []
    heights = [w.box.height for w in words]
    typical = statistics.median(heights)
    ordinary = [(w, h) for w, h in zip(words, heights, strict=True) if h <= 1.3 * typical]
    tall = [(w, h) for w, h in zip(words, heights, strict=True) if h > 1.3 * typical]
    out: list[list[Word]] = []
    bands: list[tuple[float, float]] = []
    # each row's tops and bottoms kept sorted: its band is their medians (statistics.median's own arithmetic),
    # without sorting the row again for every word it takes
    tops: list[list[float]] = []
    bottoms: list[list[float]] = []
    for word, height in sorted(ordinary, key=lambda wh: ((wh[0].box.y0 + wh[0].box.y1) / 2, wh[0].box.x0)):
        y0, y1 = word.box.y0, word.box.y1
        best, best_overlap = None, 0.0
        for k in range(len(out) - 1, max(-1, len(out) - 8), -1):  # only recent rows can still overlap
            top, bottom = bands[k]
            # min() and max() spelt out (the same values): this runs for every word against up to seven rows
            overlap = (bottom if bottom <= y1 else y1) - (top if top >= y0 else y0)
            if overlap > best_overlap and overlap > 0.5 * (bottom - top if bottom - top <= height else height):
                best, best_overlap = k, overlap
        if best is None:
            out.append([word])
            bands.append((y0, y1))
            tops.append([y0])
            bottoms.append([y1])
        else:
            out[best].append(word)
            bisect.insort(tops[best], y0)
            bisect.insort(bottoms[best], y1)
            bands[best] = (_sorted_median(tops[best]), _sorted_median(bottoms[best]))
    for word, height in tall:
        best, best_dist = None, None
        for k, (top, bottom) in enumerate(bands):
            overlap = min(bottom, word.box.y1) - max(top, word.box.y0)
            if overlap > 0.5 * min(bottom - top, height):
                dist = min(max(w.box.x0 - word.box.x1, word.box.x0 - w.box.x1, 0.0) for w in out[k])
                if best_dist is None or dist < best_dist:
                    best, best_dist = k, dist
        if best is None:
            out.append([word])
            bands.append((word.box.y0, word.box.y1))
        else:
            out[best].append(word)
    order = sorted(range(len(out)), key=lambda k: bands[k])
    return [out[k] for k in order]


def _sorted_median(data: list[float]) -> float:
    """statistics.median of already sorted data (the same value: the middle one, or the mean of the two)."""
    n = len(data)
    if n % 2 == 1:
        return data[n // 2]
    i = n // 2
    return (data[i - 1] + data[i]) / 2


_ENUMERATOR = re.compile(r"^\(?(?:\d{1,3}|[a-zA-Z]|[ivxIVX]{1,4})[.)]$")


def _marker(text: str) -> bool:
    """A bullet or an enumerator standing alone: it belongs to the text after it, however far it is set."""
    return (len(text) <= 2 and not any(ch.isalnum() for ch in text)) or bool(_ENUMERATOR.match(text))


# Table-of-contents rows: "2.1.1   Roles . . . . . . . .   8". The dot leader is there to carry the eye across
# the gaps, so the section number before the title and the page number after the leader stay on its line,
# however wide the gaps and however well they line up from row to row (as gutters do).
_LEADER = re.compile(r"^(?:\.\s?){2,}$|\.{3,}$|…$")
_SECTION_NUMBER = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3})*\.?|[A-Z]\.(?:\d{1,3}\.?)*)$")
PAGE_NUMBER = re.compile(r"^(?:\d{1,4}|[ivxlcdm]{1,7})$", re.I)
# a line's own number (a manuscript's lineno, a listing's numbered lines), matched whole (`fullmatch`)
LINE_NUMBER = re.compile(r"\d{1,5}")


def leader_dots(text: str) -> bool:
    """A word of a dot leader: dots, ellipses and spaces only."""
    return not text.strip(".\u2026 ")


def _ends_in_leader(run: list[Word]) -> bool:
    dots = 0
    for w in reversed(run):
        if not leader_dots(w.text):
            break
        dots += w.text.count(".") + 3 * w.text.count("…")
    return dots >= 3 or bool(run and _LEADER.search(run[-1].text) and len(run[-1].text) > 3)


def _join_leader_rows(runs: list[list[Word]]) -> list[list[Word]]:
    out: list[list[Word]] = []
    for run in runs:
        if out and _ends_in_leader(out[-1]) and len(run) == 1 and PAGE_NUMBER.match(run[0].text):
            out[-1] = out[-1] + run  # the page number the leader points at
        elif out and leader_dots(run[0].text) and _ends_in_leader(run):
            out[-1] = out[-1] + run  # a leader set apart from its title
        else:
            out.append(run)
        if len(out) > 1 and len(out[-2]) == 1 and _SECTION_NUMBER.match(out[-2][0].text) and _ends_in_leader(out[-1]):
            out[-2:] = [out[-2] + out[-1]]  # the section number in front of the title
    return out


def _join_contents_rows(row_runs: list[list[list[Word]]], heights: list[float]) -> list[list[list[Word]]]:
    """Tables of contents without a leader (set without one, or OCR dropped its dots): rows whose last run
    is a lone page number after a title, the page numbers right-aligned down at least three rows. The page
    number joins its title and a section number in front joins it too, so the contents read row by row
    rather than as a column of titles and then a column of numbers. A numeric table (a number before the
    last one) is left to the table code."""
    ends = [i for i, runs in enumerate(row_runs)
            if len(runs) >= 2 and len(runs[-1]) == 1 and PAGE_NUMBER.match(runs[-1][0].text)
            and not PAGE_NUMBER.match(runs[-2][-1].text)]
    out = list(row_runs)
    for i in ends:
        right = row_runs[i][-1][0].box.x1
        if sum(abs(row_runs[j][-1][0].box.x1 - right) <= heights[i] for j in ends) < 3:
            continue
        runs = row_runs[i][:-2] + [row_runs[i][-2] + row_runs[i][-1]]
        if len(runs) >= 2 and len(runs[0]) == 1 and "." in runs[0][0].text and _SECTION_NUMBER.match(runs[0][0].text):
            runs = [runs[0] + runs[1]] + runs[2:]
        out[i] = runs
    return out


def order_words(words: list[Word], rtl: bool) -> list[Word]:
    """Words of one line in reading order. Right-to-left lines read from the right, but a run of
    left-to-right words inside them (a name, a formula) keeps its own left-to-right order."""
    if not rtl:
        return sorted(words, key=lambda w: w.box.x0)
    # By the left edge, where a right-to-left word ends: an OCR word joined with a neutral mark (a slash, a
    # comma) that bidi drew elsewhere has a box reaching right over the words before it (Tesseract's
    # "فروش/" over "تولید/ کل"), so its right edge would put it first; its left edge is its own ink.
    ordered = sorted(words, key=lambda w: (-w.box.x0, -w.box.x1))
    dirs = [direction(w.text) for w in ordered]
    out: list[Word] = []
    i = 0
    while i < len(ordered):
        if dirs[i] > 0:
            j = i
            while j + 1 < len(ordered) and (dirs[j + 1] > 0 or (dirs[j + 1] == 0 and j + 2 < len(ordered)
                                                                and dirs[j + 2] > 0)):
                j += 1
            out.extend(reversed(ordered[i : j + 1]))
            i = j + 1
        else:
            out.append(ordered[i])
            i += 1
    return out


MAX_ONE_SIDED = 3  # rows in a row with words on one side of a gutter only (see `_gutters`)


@dataclass
class _RowEdges:
    """A row's word edges (its words sorted by x0), what `_free` looks at."""

    x0s: list[float]
    x1s: list[float]
    min_x1: float
    max_x0: float

    @classmethod
    def of(cls, row: list[Word]) -> _RowEdges:
        x0s, x1s = [w.box.x0 for w in row], [w.box.x1 for w in row]
        return cls(x0s, x1s, min(x1s), max(x0s))


def _free(row: _RowEdges, cur: tuple[float, float]) -> tuple[tuple[float, float], bool, bool]:
    """The widest part of the strip `cur` that no word of the row covers (the first of equal ones), and whether
    the row has words left and right of it. Called for every gap against the rows above and below it, so it
    works on the row's edges as plain lists rather than on its words."""
    c0, c1 = cur
    free, widest = (c0, c0), None
    a = c0  # left end of the next piece: the strip's edge, then the right edge of the last word crossing it
    # words are sorted by x0: those from `bisect_left` on start at or right of the strip
    k = bisect.bisect_left(row.x0s, c1)
    for x0, x1 in zip(row.x0s[:k], row.x1s[:k], strict=True):
        if x1 > c0:
            piece = (max(c0, a), min(c1, x0))
            if widest is None or piece[1] - piece[0] > widest:
                free, widest = piece, piece[1] - piece[0]
            a = x1
    piece = (max(c0, a), c1)
    if widest is None or piece[1] - piece[0] > widest:
        free = piece
    return free, row.min_x1 <= free[0], row.max_x0 >= free[1]


def _gutters(all_rows: list[list[Word]], min_run: int = 4) -> list[list[tuple[float, float]]]:
    """Per row, the gaps that are column gutters: a gap at least GUTTER_OWN text heights wide whose strip stays
    at least half a height wide and empty of words, at the same place, through `min_run` rows split by it.
    Rows on one side of the strip only (up to MAX_ONE_SIDED in a row) do not break the run: where two columns
    are set with different leading, their lines share a row on some baselines and not on others. Word spaces
    of justified text are half a height wide sometimes, but do not line up row after row; a word space beside
    rows that end short (a table of contents, a ragged list: empty to its right) lines up, but is no gutter
    either (those rows have words right of it, across the strip). Nor is a gap no wider than its row's word
    spaces whose strip narrows below GUTTER_OWN heights through the run (GUTTER_OVER_SPACES)."""
    gaps: list[list[tuple[float, float]]] = []
    heights: list[float] = []
    least: list[float] = []  # the narrowest strip that can be a gutter on each row: GUTTER_PITCHES of its pitch
    for row in all_rows:
        h = statistics.median(w.box.height for w in row)
        heights.append(h)
        least.append(GUTTER_PITCHES * _pitch(row))
        gaps.append([(a.box.x1, b.box.x0) for a, b in zip(row, row[1:], strict=False)
                     if b.box.x0 - a.box.x1 >= 0.5 * h])
    out: list[list[tuple[float, float]]] = [[] for _ in all_rows]
    edges = [_RowEdges.of(row) for row in all_rows]
    for i, row_gaps in enumerate(gaps):
        for gap in row_gaps:
            if gap[1] - gap[0] < max(GUTTER_OWN * heights[i], least[i]):
                continue
            width_min = 0.5 * heights[i]
            run, strip = 1, gap[1] - gap[0]
            wide = _wider_than_spaces(gap, all_rows[i])
            for step in (-1, 1):
                j, cur, one_sided = i + step, gap, 0
                while 0 <= j < len(gaps):
                    # The walk stops once it can no longer change the answer (it went through every row of a
                    # column for every gap, on every row): a gap wider than its row's spaces needs only a run of
                    # min_run rows; another needs its strip to stay GUTTER_OWN heights wide, and a strip only narrows.
                    if (run >= min_run) if wide else (min(strip, cur[1] - cur[0]) < GUTTER_OWN * heights[i]):
                        break
                    free, left, right = _free(edges[j], cur)
                    if free[1] - free[0] < width_min:
                        break
                    if left and right:
                        cur, run, one_sided = free, run + 1, 0
                    else:
                        one_sided += 1
                        if one_sided > MAX_ONE_SIDED:
                            break
                    j += step
                strip = min(strip, cur[1] - cur[0])
            if run >= min_run and (strip >= GUTTER_OWN * heights[i] or wide):
                out[i].append(gap)
    return out


def _wider_than_spaces(gap: tuple[float, float], row: list[Word]) -> bool:
    """The gap is GUTTER_OVER_SPACES times the row's other word spaces (their median; a row of fewer than three
    other gaps says nothing against it)."""
    others = [b.box.x0 - a.box.x1 for a, b in zip(row, row[1:], strict=False)
              if (a.box.x1, b.box.x0) != gap and b.box.x0 > a.box.x1]
    return len(others) < 3 or gap[1] - gap[0] >= GUTTER_OVER_SPACES * statistics.median(others)


def lines(words: list[Word], gap_factor: float = GAP_FACTOR, rtl: bool | None = None) -> list[Line]:
    """Text lines: rows split at column gutters (gaps that line up row after row) and wherever the gap
    between neighbouring words is wider than `gap_factor` text heights, so two columns (or two table cells)
    on one baseline become two lines. Words that run turned (a chart's axis title, `Word.angle`) make lines
    in their own orientation: read upright, their line boxes back on the page."""
    if not any(w.angle in UPRIGHT for w in words):
        return _upright_lines(words, gap_factor, rtl)
    out = _upright_lines([w for w in words if w.angle not in UPRIGHT], gap_factor, rtl)
    for angle, (turn, _) in UPRIGHT.items():
        turned = [w for w in words if w.angle == angle]
        if not turned:
            continue
        proxies = [dataclasses.replace(w, box=turned_box(w.box, turn), angle=0) for w in turned]
        on_page = {id(p): w for p, w in zip(proxies, turned, strict=True)}
        for line in _upright_lines(proxies, gap_factor, rtl):
            run = [on_page[id(p)] for p in line.words]
            out.append(Line(run, union(w.box for w in run), line.rtl))
    return out


def _upright_lines(words: list[Word], gap_factor: float, rtl: bool | None) -> list[Line]:
    if not words:
        return []
    all_rows = [sorted(row, key=lambda w: w.box.x0) for row in rows(words)]
    gutters = _gutters(all_rows)
    row_runs: list[list[list[Word]]] = []
    heights: list[float] = []
    for row, row_gutters in zip(all_rows, gutters, strict=True):
        height = statistics.median(w.box.height for w in row)
        pitch = _pitch(row)
        least = max(gap_factor * height, PITCH_SPACES * pitch, 1e-6)  # a narrower gap is a word space
        cuts = {g[1] for g in row_gutters}
        runs: list[list[Word]] = [[row[0]]]
        run_x1 = row[0].box.x1  # the right edge of the run so far (kept, not taken again over its words)
        for prev, word in zip(row, row[1:], strict=False):
            gap = word.box.x0 - run_x1
            wide = (gap > least and not (gap <= SENTENCE_PITCHES * pitch and _sentence_space(prev.text, word.text))
                    or word.box.x0 in cuts)
            if wide and not (len(runs[-1]) == 1 and _marker(runs[-1][0].text) and gap < 6 * height):
                runs.append([word])
                run_x1 = word.box.x1
            else:
                runs[-1].append(word)
                run_x1 = max(run_x1, word.box.x1)
        row_runs.append(_join_leader_rows(runs))
        heights.append(height)
    out: list[Line] = []
    for runs in _join_contents_rows(row_runs, heights):
        for run in runs:
            line_rtl = is_rtl(run) if rtl is None else rtl
            out.append(Line(order_words(run, line_rtl), union(w.box for w in run), line_rtl))
    return out


def line_text(line_list: list[Line]) -> str:
    return "\n".join(line.text for line in line_list)
