"""Lines into paragraphs: grouping loose lines, splitting a box that holds several paragraphs, a heading
boxed with its paragraph, and forms (labels beside their values) read row by row."""

from __future__ import annotations

import re

from ocr_resources.geometry.boxes import union, x_overlap, y_overlap
from ocr_resources.geometry.lines import BULLET_MARKS, LINE_NUMBER, Line
from ocr_resources.text.blocks import sizes_differ
from ocr_resources.types import Box, Word


def same_type(a: Line, b: Line) -> bool:
    """Set in the same type: boldness alike, font sizes (or, without them, line heights) close."""
    if a.bold != b.bold:
        return False
    if a.size and b.size:
        return not sizes_differ(a.size, b.size)
    return 0.67 <= a.height / max(b.height, 1e-6) <= 1.5


def group_lines(lines: list[Line]) -> list[list[Line]]:
    """Loose lines (outside every region, or inside a picture) into paragraphs: a line joins the group
    whose last line it continues (just below it, overlapping its column, in the same type, no wider gap
    than the group's line spacing)."""
    groups: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln.box.y0, ln.box.x0)):
        h = line.height
        for group in reversed(groups):
            last = group[-1]
            g = line.box.y0 - last.box.y1
            spacing = last.box.y0 - group[-2].box.y1 if len(group) > 1 else None
            if (-0.3 * h <= g <= 0.9 * h and x_overlap(line.box, last.box) > 0 and same_type(line, last)
                    and (spacing is None or g <= spacing + 0.25 * h)):
                group.append(line)
                break
        else:
            groups.append([line])
    return groups


def heading_lines(lines: list[Line], max_lines: int = 2, max_words: int = 16) -> int:
    """How many first lines of a block are a heading set in another type than the rest (bold over regular,
    or larger): the layout model often boxes a heading with its paragraph."""
    if len(lines) < 2:
        return 0
    for k in range(1, min(max_lines, len(lines) - 1) + 1):
        head, rest = lines[:k], lines[k:]
        if sum(len(ln.words) for ln in head) > max_words:
            return 0
        rest_size = sorted(ln.size or ln.height for ln in rest)[len(rest) // 2]
        rest_bold = sum(ln.bold for ln in rest) * 2 > len(rest)
        if not all(same_type(head[0], ln) for ln in head):
            return 0
        if head[-1].text[-1:] in ".,;:" or head[-1].text.endswith("-"):
            continue  # the heading goes on (a comma), or the sentence does: a heading is a line or two longer
        set_apart = (head[0].bold and not rest_bold) or min(ln.size or ln.height for ln in head) >= 1.08 * rest_size
        differs = head[-1].bold != rest[0].bold or (head[-1].size or head[-1].height) >= 1.08 * (
            rest[0].size or rest[0].height)
        if set_apart and differs:
            return k
    return 0


_SENTENCE_END = ".!?:;。！？\"”’)"


def split_paragraphs(lines: list[Line], may_hang: bool = False) -> list[list[Line]]:
    """One column of lines holding several paragraphs (one layout box around them) split where a paragraph
    ends: a wider gap than the block's line spacing, or, in justified text, a short line ending a sentence,
    or a first-line indent after a sentence end (`may_hang`: not in a block of hanging indents), or a list's
    bullet, or a line set out left of the bullet of the item above (the list ended)."""
    # pieces of one row (a tab's or an aligned display's gutter cut it) are one line here: a paragraph ends at a row
    if len(lines) < 2:
        return [lines]
    first = _row_starts(lines)
    ls = [lines[s] if e - s == 1 else Line([w for ln in lines[s:e] for w in ln.words],
                                           union([ln.box for ln in lines[s:e]]), lines[s].rtl)
          for s, e in zip(first, [*first[1:], len(lines)], strict=True)]
    if len(ls) == 2 and fixed_pitch(ls[1]) and not fixed_pitch(ls[0]) and ls[0].text[-1:] in _SENTENCE_END:
        return [lines[:first[1]], lines[first[1]:]]  # a sentence, then a line of code (too few lines for the rest)
    if len(ls) == 2 and _bold_break(None, ls[0], ls[1]):
        return [lines[:first[1]], lines[first[1]:]]  # a glossary's letter over its one entry
    if len(ls) < 3:
        return [lines]
    gaps = [b.box.y0 - a.box.y1 for a, b in zip(ls, ls[1:], strict=False)]
    pairs = zip(gaps, ls, ls[1:], strict=False)
    # (a short line then one set in under it, side by side with no overlap, are still one under the other)
    if any(g < -0.5 * ln.height or (x_overlap(ln.box, nxt.box) <= 0 and g < 0) for g, ln, nxt in pairs):
        return [lines]  # not one column of lines read top to bottom
    spacing = sorted(gaps)[len(gaps) // 2]
    # the same from line top to line top: a gap between boxes shrinks where a line's box is taller than the next
    # one's (a date in small capitals over a line with descenders: 18 pt from entry to entry against 12 pt
    # within one, but 9 pt of white against 5 pt)
    pitches = [b.box.y0 - a.box.y0 for a, b in zip(ls, ls[1:], strict=False)]
    pitch = sorted(pitches)[len(pitches) // 2]
    left, right = min(ln.box.x0 for ln in ls), max(ln.box.x1 for ln in ls)
    width = right - left
    rtl = sum(ln.rtl for ln in ls) * 2 > len(ls)
    if rtl:  # mirror: right-to-left lines start at the right edge
        ls = [Line(ln.words, Box(-ln.box.x1, ln.box.y0, -ln.box.x0, ln.box.y1), ln.rtl) for ln in ls]
        left, right = -right, -left
    justified = sorted(ln.box.x1 for ln in ls[:-1])[(len(ls) - 1) // 2] >= right - 0.05 * width
    # a reference list may hang its entries' later lines: there an indented line continues an entry the line
    # above wrapped (full), so where no more than half the lines start at the left edge, a first-line indent is
    # taken only after a line that ends short
    hanging = may_hang and 2 * sum(ln.box.x0 < left + 0.4 * ln.height for ln in ls) <= len(ls)
    starts = [0]
    # a statement's end in a fixed-pitch first line ("}" closing a listing above the box) is code before the prose
    in_code = fixed_pitch(ls[0]) and ls[0].text[-1:] in "});"
    item_x0: float | None = None  # the left edge of the bullet of the list item being read
    for i in range(len(ls) - 1):
        a, b = ls[i], ls[i + 1]
        h = a.height
        ends = a.text[-1:] in _SENTENCE_END
        begins = not b.text[:1].islower()
        wide_gap = gaps[i] > spacing + 0.5 * h or (pitches[i] > pitch + 0.5 * h and gaps[i] > spacing + 0.25 * h)
        short = a.box.x1 < right - 0.15 * width
        short_end = justified and ends and short and begins
        indent = ((not hanging or short) and ends and begins and b.box.x0 > left + 0.8 * h
                  and (i + 2 >= len(ls) or ls[i + 2].box.x0 < left + 0.4 * h))
        if a.text[:1] in BULLET_MARKS and a.text[1:2] == " ":
            item_x0 = a.box.x0
        # a list's first item: a bullet at a line's start begins one, after a sentence or after the words that
        # introduce the list ("... in 3 different forms" / "• The CVSS score"); a middle dot only after a sentence
        # (it also separates words: "Home · About" wrapped). The next items stay in the block of the first (each
        # its own line of the list) unless a sentence ended
        bullet = (b.text[:1] in BULLET_MARKS and b.text[1:2] == " " and not a.text.endswith("-")
                  and (ends or (item_x0 is None and b.text[:1] != "\u00b7")))
        # a line set out left of the bullet of the item above ends the list: no line of an item starts there
        after_list = item_x0 is not None and b.box.x0 < item_x0 - 0.8 * h
        if after_list or bullet:
            item_x0 = None
        # a line set out to the left of the one before, after a sentence's end, where that one hung in from the
        # block's edge continuing a line that did not end one: the paragraph after a list item whose lines hang
        # under its text (a paragraph's indented first line follows a line that ended a sentence, or none)
        prev = ls[i - 1] if i else None
        # a term over its description set further in (a manual's "\\karnaughmap{...}" / "    This macro creates ..."):
        # the term ends short of the edge (or is a row of pieces: a term and its note set right), reaching over the
        # description's indent (a label in the margin beside a paragraph's first line does not), and the
        # description starts with a capital. A reference's wrapped first line runs to the edge
        pieces = first[i + 1] - first[i] > 1
        term = (a.box.x0 < left + 0.4 * h and b.box.x0 > a.box.x0 + 1.5 * h and begins and (short or pieces)
                and lines[first[i]].box.x1 > b.box.x0 and a.text[-1:] not in "-,")
        outdent = (ends and begins and prev is not None and b.box.x0 < a.box.x0 - 0.8 * h
                   and a.box.x0 > left + 0.8 * h and prev.text[-1:] not in _SENTENCE_END)
        # lines of code (every word in a fixed-pitch font) boxed with the prose around them: after a sentence's end
        # (or its colon), or two and more of them after a line ending in prose ("For example," in texinfo's
        # manuals), they start a block, and the prose after them another, even where it goes on with the sentence
        # (a URL a sentence wraps onto a line of its own does not, nor typewriter words a line ending in them
        # wraps onto the next lines: "Locale: LC_COLLATE=C," / "LC_MONETARY=...")
        code = False
        if fixed_pitch(b) and not fixed_pitch(a):
            code = in_code = ends or (i + 2 < len(ls) and fixed_pitch(ls[i + 2]) and not a.words[-1].mono)
        elif fixed_pitch(a) and not fixed_pitch(b):
            code, in_code = in_code and (begins or (i > 0 and fixed_pitch(ls[i - 1]))), False
        if wide_gap or short_end or indent or bullet or after_list or code or outdent or term \
                or _bold_break(prev, a, b):
            starts.append(i + 1)
    starts = [first[k] for k in starts]
    return [lines[s:e] for s, e in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _bold_head(line: Line) -> bool:
    """A line of a few words, every one bold."""
    return len(line.words) <= 4 and all(w.bold for w in line.words)


def _bold_break(before: Line | None, a: Line, b: Line) -> bool:
    """A paragraph ends between a and b by their bold type: a line all in bold, a few words and no sentence's end,
    standing between the end of a sentence (or an entry's page number) and a line that is not in bold (an index's
    or a glossary's letter "D" over its entries) is a heading of its own; a line led by a bold term after one that
    ended so (a glossary's "puffin a seabird ... 1" after "parrot ... 1") starts an entry of its own. Bold words
    inside a sentence that a line break happens to isolate stay in it."""
    def ended(line: Line | None) -> bool:
        return line is None or line.text[-1:] in _SENTENCE_END or line.text[-1:].isdigit()

    def head(line: Line) -> bool:
        return _bold_head(line) and line.text[-1:] not in ".,;:"

    if head(b) and not _bold_head(a) and ended(a) or head(a) and not _bold_head(b) and ended(before):
        return True
    return b.words[0].bold and not b.bold and ended(a) and not any(w.bold for w in a.words[1:])


def _row_starts(lines: list[Line]) -> list[int]:
    """Where each row of the lines (in reading order) starts: a line right of the one before it, on its baseline,
    continues that one's row."""
    starts = [0]
    for i in range(1, len(lines)):
        a, b = lines[i - 1].box, lines[i].box
        if not continues_row(a, b, min(a.height, b.height)):
            starts.append(i)
    return starts


def continues_row(a: Box, b: Box, height: float) -> bool:
    """b stands right of a on a's row (their boxes overlap by half of `height` down the page)."""
    return b.x0 >= a.x1 - 1.0 and y_overlap(a, b) >= 0.5 * height


def fixed_pitch(line: Line) -> bool:
    """Every word of the line is code's (`code_marks`)."""
    return bool(line.words) and all(code_marks(line.words))


def code_lines(lines: list[Line]) -> list[bool]:
    """Per line, whether it is code's: `fixed_pitch`, or a listing's line number set apart from its line of code (a
    lone number of up to five digits with a fixed-pitch line right of it on its row)."""
    pitch = [fixed_pitch(ln) for ln in lines]
    code = list(pitch)
    if not any(pitch):
        return code
    for i, ln in enumerate(lines):
        if not code[i] and len(ln.words) == 1 and LINE_NUMBER.fullmatch(ln.text):
            code[i] = any(pitch[j] and y_overlap(ln.box, other.box) >= 0.5 * min(ln.height, other.height)
                          and other.box.x0 >= ln.box.x1 for j, other in enumerate(lines))
    return code


# what starts a comment in a listing: the comment's words may be set in roman type after it (R's and texinfo's manuals)
_COMMENT_MARKS = ("#", "//", "/*", ";")  # (not "--" or "%": command-line options, R's %in%)


def code_marks(words: list[Word]) -> list[bool]:
    """Per word of one line (in reading order), whether it is code's: set in a fixed-pitch font, part of a comment
    that a fixed-pitch comment mark starts ("x11()  # for graphics" with "for graphics" in roman type), or the line's
    number before it ("143 \\newcommand{...}" with "143" in roman type)."""
    out, comment = [], False
    for w in words:
        comment = comment or (w.mono and w.text.startswith(_COMMENT_MARKS))
        out.append(w.mono or comment)
    if len(words) > 1 and words[1].mono and LINE_NUMBER.fullmatch(words[0].text):
        out[0] = True  # a numbered listing's line number, set in roman type before the line (LaTeX's .dtx, listings)
    return out


def is_prose(lines: list[Line], min_lines: int = 3, min_words: int = 6) -> bool:
    """Running text rather than labels: a few lines of several words each."""
    return sum(1 for ln in lines if len(ln.words) >= min_words) >= min_lines


# a chart's tick value: "40", "-2.5", "1,200", "35%", "$5k", "(3)", "10^3", "2019"
_TICK = re.compile(r"^[\-+\u2212\u2013(]?[$\u20ac\u00a3\u00a5]?\d[\d.,]*(?:[%kKMB\u00b0)]|[x\u00d7]10\S*|\^\S+)?$")
_CAPTION_START = re.compile(r"^(?:figure|fig\.|table|chart|source|note)s?\b", re.I)


def is_tick(text: str) -> bool:
    return bool(_TICK.match(text))


def label_like(group: list[Line]) -> bool:
    """A chart's or a drawing's labels rather than text: a few short lines (axis numbers, category names,
    a legend's entries), mostly numbers or at most three short words a line, no sentence, no caption."""
    words = [w for ln in group for w in ln.words]
    if not words or len(group) > 4 or len(words) > 12 or _CAPTION_START.match(group[0].text):
        return False
    if any(len(w.text) > 16 for w in words) or group[-1].text.rstrip()[-1:] in ".!?:;":
        return False
    ticks = sum(1 for w in words if is_tick(w.text))
    return ticks * 2 >= len(words) or all(len(ln.words) <= 3 for ln in group)


def is_row(group: list[Line]) -> bool:
    """A group made by `form_rows` (a label and its value, side by side): already in reading order."""
    return any(x_overlap(group[0].box, ln.box) <= 0 for ln in group[1:])


def form_rows(groups: list[list[Line]], rtl: bool = False) -> list[list[Line]]:
    """A column of labels beside a column of values (a form) read row by row, each label with its value,
    not all labels and then all values. Labels are a ragged column of short lines that start at one edge
    (left; right on right-to-left pages), most of which have a value line on their baseline; two columns of
    running text fill their lines and are left alone."""
    boxes = [union(ln.box for ln in g) for g in groups]
    edge = [(-b.x1 if rtl else b.x0) for b in boxes]
    for i in sorted(range(len(groups)), key=lambda k: edge[k]):
        column = [j for j in range(len(groups)) if abs(edge[j] - edge[i]) <= 3.0]
        beside = [j for j, bb in enumerate(boxes)
                  if j not in column and _next_to(bb, [ln for k in column for ln in groups[k]], rtl)]
        if not beside:
            continue
        top, bottom = min(boxes[j].y0 for j in beside), max(boxes[j].y1 for j in beside)
        column = [j for j in column if boxes[j].y1 > top and boxes[j].y0 < bottom]  # the labels beside them
        labels = [ln for j in column for ln in groups[j]]
        values = sorted((ln for j in beside for ln in groups[j]), key=lambda ln: ln.box.center[1])
        if not _labels_beside(labels, values):
            continue
        keys = sorted(labels, key=lambda ln: ln.box.y0)
        rows_: list[list[Line]] = [[v for v in values if v.box.center[1] < keys[0].box.y0]]
        for k, key in enumerate(keys):
            end = keys[k + 1].box.y0 if k + 1 < len(keys) else key.box.y1 + 3 * key.height
            row = [key, *(v for v in values if key.box.y0 <= v.box.center[1] < end)]
            prev = rows_[-1][0] if rows_[-1] else None
            if len(row) == 1 and prev is not None and prev in keys and same_type(prev, key) and (
                    0 <= key.box.y0 - max(ln.box.y1 for ln in rows_[-1] if ln in keys) <= 0.5 * key.height):
                rows_[-1].insert(sum(1 for ln in rows_[-1] if ln in keys), key)  # a label's second line
            else:
                rows_.append(row)
        placed = {id(ln) for r in rows_ for ln in r}
        left_over = [v for v in values if id(v) not in placed]  # below the last label's row
        rest = [g for j, g in enumerate(groups) if j not in column and j not in beside]
        return form_rows(rest, rtl) + [r for r in rows_ if r] + ([left_over] if left_over else [])
    return groups


def _next_to(box: Box, labels: list[Line], rtl: bool) -> bool:
    """Values sit next to the labels around them (within a few rows): not in a far column, not under a
    wide label."""
    if not any(y_overlap(ln.box, box) > 0 for ln in labels):
        return False
    level = [ln for ln in labels if y_overlap(ln.box, box) > -5 * ln.height]
    gap = min(ln.box.x0 for ln in level) - box.x1 if rtl else box.x0 - max(ln.box.x1 for ln in level)
    return 0 <= gap <= 12 * max(ln.height for ln in level)


def _labels_beside(a: list[Line], b: list[Line]) -> bool:
    if len(a) < 3 or len(b) < 3:
        return False
    width, value_width = union(ln.box for ln in a).width, union(ln.box for ln in b).width
    ragged = sum(1 for ln in a if ln.box.width < 0.8 * width)
    running = sum(1 for ln in b if len(ln.words) >= 5 and ln.box.width >= 0.8 * value_width)  # a text column
    paired = sum(1 for ln in a if any(y_overlap(ln.box, v.box) > 0.5 * min(ln.height, v.height) for v in b))
    return ragged >= 0.5 * len(a) and running < 0.5 * len(b) and paired >= max(3, 0.5 * len(a))


def side_by_side(block_lines: list[Line], page_words: list[Word], gutter: float = 0.75) -> list[list[Line]]:
    """A box the layout model drew across two boxes set side by side (cards, a two-up page: each a block of
    its own) cut into its part in each: its lines fall in columns that share no x, the strips between them
    are at least `gutter` text heights wide and stay empty of every word of the page a few lines above and
    below the box (a gutter, not a gap in one row), and every part holds running text (a line of four words or
    more: a table's or a form's short cells stay together, read row by row). Returns the parts, in the order
    the lines were given, or the lines whole."""
    if len(block_lines) < 2:
        return [block_lines]
    by_x = sorted(block_lines, key=lambda ln: ln.box.x0)
    columns: list[list[Line]] = [[by_x[0]]]
    right = by_x[0].box.x1
    for ln in by_x[1:]:
        if ln.box.x0 < right:
            columns[-1].append(ln)
        else:
            columns.append([ln])
        right = max(right, ln.box.x1) if ln.box.x0 < right else ln.box.x1
    if len(columns) < 2 or not all(any(len(ln.words) >= 4 for ln in col) for col in columns):
        return [block_lines]
    h = sorted(ln.height for ln in block_lines)[len(block_lines) // 2]
    top, bottom = min(ln.box.y0 for ln in block_lines) - 3 * h, max(ln.box.y1 for ln in block_lines) + 3 * h
    for left, right_col in zip(columns, columns[1:], strict=False):
        x0, x1 = max(ln.box.x1 for ln in left), min(ln.box.x0 for ln in right_col)
        if x1 - x0 < gutter * h:
            return [block_lines]
        inner = (x0 + 0.1 * h, x1 - 0.1 * h)  # (justified lines end a hair apart)
        if any(w.box.x0 < inner[1] and w.box.x1 > inner[0] and w.box.y1 > top and w.box.y0 < bottom
               for w in page_words):
            return [block_lines]
        if sum(ln.text.rstrip().endswith(":") for ln in left) * 2 > len(left):
            return [block_lines]  # labels beside their values
    where = {id(ln): k for k, col in enumerate(columns) for ln in col}
    return [[ln for ln in block_lines if where[id(ln)] == k] for k in range(len(columns))]
