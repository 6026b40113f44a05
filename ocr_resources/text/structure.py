"""Headings with levels, and list items.

Headings: the layout's titles, and short text blocks set apart by their type (larger than the body text, or
bold at body size). Levels come from section numbering where there is one ("5" -> 2, "5.1" -> 3), else
from the type size (larger is higher); the largest heading of the first page, clearly larger than the body
text, is the document's title (level 1).

Lists: lines that start with a bullet or an enumerator ("•", "-", "1.", "a)", "(iv)") start list items;
the lines that follow belong to the item until the next marker."""

from __future__ import annotations

import re

from ocr_resources.geometry.lines import BULLET_MARKS, DASH_BULLETS, is_cjk
from ocr_resources.geometry.paragraphs import is_tick
from ocr_resources.text.blocks import TextBlock, body_size
from ocr_resources.text.furniture import furniture_pattern

_NUMBERING = re.compile(r"^(?:(?:chapter|section|part|appendix|annex)\s+)?"
                        r"(\d{1,3}(?:\.\d{1,3})*\.?|[A-Z](?:\.\d{1,3})*\.)\s+\S", re.I)
_BULLET = re.compile(rf"^([{BULLET_MARKS}])\s*(?=\S)|^([{re.escape(DASH_BULLETS)}])\s+(?=\S)")
_ENUM = re.compile(r"^(\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)])\s+(?=\S)", re.I)
MAX_HEADING_WORDS = 16
INK_HEADING = 1.25  # a heading read by OCR stands this much taller than the body's ink (`looks_like_heading`)
# an equation's number at the right of its line: "(3)", "(B.31)", "(2.4a)", "(A-1)"
_EQUATION_NUMBER = re.compile(r"^\(\s*(?:[A-Z]\.?\s*)?\d{1,3}(?:\s*[.\-\u2013]\s*\d{1,3})*[a-z]?\s*\)$")


def _wordy(text: str) -> bool:
    """Mostly letters: a formula or a number the layout model calls a title is not a heading."""
    chars = [ch for ch in text if not ch.isspace()]
    if sum(ch.isalpha() for ch in chars) < 0.6 * len(chars):
        return False
    return any(len(w) > 1 and w.isalpha() for w in text.split())


def numbering_depth(text: str) -> int:
    """1 for "5 Results", 2 for "5.1 Setup", 0 when the text is not numbered like a section."""
    m = _NUMBERING.match(text.strip())
    return m.group(1).rstrip(".").count(".") + 1 if m else 0


# a figure's or table's caption: its label and number, then its text ("Table 6.1: Size of ...", "Figure BR1.
# Notification rate ...", "Exhibit 2a. Summary ..."); a label alone ("EXHIBIT 10.1" over a filing's exhibit) may be
# a title
_CAPTION_NAME = (r"^(?:figure|fig\.|table|tab\.|chart|exhibit|listing|scheme|plate|algorithm)\s*"
                 r"[A-Z]{0,3}[-.]?\d+(?:[.\-\u2013]\d+)*[a-z]?\s*")
CAPTION_START = re.compile(_CAPTION_NAME + r"[.:\-\u2013\u2014|]?\s+\S", re.I)
# the same with its punctuation ("Listing 1:", "Table 2."): a caption, never a sentence that starts "Table 1 shows"
CAPTION_LABEL = re.compile(_CAPTION_NAME + r"[.:|\u2013\u2014]\s", re.I)


_NOTE_LINE = re.compile(r"^(?:sources?|notes?)\s*:", re.I)  # a table's or figure's source or note line


def never_heading(b: TextBlock) -> bool:
    """Text that is never a heading whatever its type: an equation's number, a caption (`CAPTION_START`), a
    table's source or note line ("Source: LSA, 1998"), a chart's labels, a row of numbers (a chart's ticks, a
    table's figures), a list's item (its bullet first: the layout model boxes a slide's first item as a title)."""
    text = " ".join(b.text.split())
    if b.figure_labels or _EQUATION_NUMBER.match(text) or CAPTION_START.match(text) or _NOTE_LINE.match(text) \
            or _BULLET.match(text):
        return True
    words = text.split()
    return (len(words) >= 2 and sum(1 for w in words if is_tick(w)) * 2 > len(words)
            and not any(sum(ch.isalpha() for ch in w) >= 3 for w in words))


DISPLAY = 1.5  # times the body's size: display type, a heading's whatever its first letter
LARGER_LINE = 1.08  # times the body's size: a line of its own set this much larger is a heading's


def looks_like_heading(b: TextBlock, body: float | None, page_body: float | None = None) -> bool:
    words = b.text.split()
    text = " ".join(words)
    if not text or b.words > MAX_HEADING_WORDS or b.lines > 3 or _BULLET.match(text):
        return False
    numbered = numbering_depth(text)
    # (a line starting in lower case is running text, unless it is set in display type: a function's or a
    # command's name heading its reference page, "function::ustack", "git-commit(1)")
    typeset = body is not None and b.size is not None and not b.ink_size  # a font size to compare (not OCR ink)
    if text[-1] in ".,;:" and not numbered or (text[0].islower() and not (typeset and b.size >= DISPLAY * body)):
        return False
    set_apart = typeset and b.bold and b.size >= LARGER_LINE * body
    if numbered and len(words) > 1 and words[1][0].islower() and (numbered < 2 or len(words) > 4) \
            and not (numbered >= 2 and set_apart):
        # a numbered line of running text ("23 revenue."), not a section's title; a short one under a section's
        # outline number is one ("9.1.1 dpkg-dev": a command's or a package's name is lower case), and so is a
        # longer one in larger bold type ("1.2.9 glp_delete_graph — delete graph")
        return False
    if body is None or b.size is None:
        return False
    if not any(ch.isalpha() for ch in text):
        return b.words <= 2 and b.size >= 2 * body  # a chapter number set large

    if b.ink_size:
        # heights of OCR ink, not font sizes: a short label's capitals and ascenders stand taller than a mixed
        # line's median by chance (a scanned form's "Address", "Eyes": up to ~1.2x), so only type clearly
        # larger counts (1.4x, as furniture's INK_LARGER, also lost a twin's heading standing ~1.25x)
        return b.size >= INK_HEADING * body
    if b.size >= (LARGER_LINE if b.lines == 1 else 1.15) * body or (b.bold and b.size >= 0.9 * body):
        return True
    # a page set in smaller type than the rest of the document (a brochure page, a cover) has its own scale
    return page_body is not None and page_body < 0.9 * body and (
        b.size >= 1.2 * page_body and (b.bold or b.size >= 1.3 * page_body))


_CAPTION = re.compile(r"^(?:figure|fig\.|table|listing|chart|exhibit|source|note)\s*\d", re.I)
_MINOR = frozenset("a an and as at by for from in of on or the to with".split())


def _title_case_line(b: TextBlock, page: list[TextBlock]) -> bool:
    """A heading set in body type (italic, say, which the text layer does not flag): one short line on its
    own, in Title Case, no sentence punctuation, right above a paragraph of the same column."""
    text = " ".join(b.text.split())
    words = [w for w in text.split() if any(ch.isalpha() for ch in w)]
    if b.lines != 1 or not 2 <= len(words) <= 10 or text[-1:] in ".,;:!?" or b.label not in ("text", "title"):
        return False
    if _CAPTION.match(text):
        return False
    major = [w for w in words if w.lower() not in _MINOR]
    if not major or sum(1 for w in major if w[0].isupper()) < max(2, 0.75 * len(major)) or text.isupper():
        return False
    h = max(b.box.height, 1.0)
    return any(o is not b and o.lines >= 2 and 0 <= o.box.y0 - b.box.y1 <= 2.5 * h
               and min(o.box.x1, b.box.x1) - max(o.box.x0, b.box.x0) > 0 for o in page)


def _plain_sentence(b: TextBlock, body: float | None) -> bool:
    """A sentence in the body's type (its size, not bold, ending in a full stop, not numbered): the layout model's
    "title" on a short paragraph ("Strings are zero-terminated.") is no heading."""
    text = " ".join(b.text.split())
    return (bool(text) and text[-1] in ".!?" and not text.endswith("..") and not b.bold and bool(b.size)
            and body is not None and abs(b.size - body) <= 0.05 * body and not numbering_depth(text))


def heading_levels(blocks: list[TextBlock]) -> dict[int, int]:
    """Heading level by block index, for the blocks that are headings."""
    body = body_size(blocks)
    pages: dict[int, list[TextBlock]] = {}
    for b in blocks:
        pages.setdefault(b.page_no, []).append(b)
    page_body = {p: body_size(bs) if sum(len(b.text) for b in bs) >= 200 else None for p, bs in pages.items()}
    heads = [i for i, b in enumerate(blocks)
             if b.label not in ("header", "footer", "table", "figure", "caption", "formula") and not b.form_row
             and not never_heading(b)
             and not (furniture_pattern(b.text) and not (b.size and body and b.size >= 1.3 * body))  # a journal
             # line or page number kept as text is no heading (a number set large is a chapter's)
             and ((b.label == "title" and b.words <= 2 * MAX_HEADING_WORDS and _wordy(b.text)
                   and not _plain_sentence(b, body))
                  or looks_like_heading(b, body, page_body[b.page_no]) or _title_case_line(b, pages[b.page_no]))]
    if not heads:
        return {}
    levels: dict[int, int] = {}
    first_page = min(blocks[i].page_no for i in heads)
    sized = [i for i in heads if blocks[i].size]
    title = None
    if sized and body:
        top = max(sized, key=lambda i: (blocks[i].size or 0, -blocks[i].page_no))
        larger_than_rest = all((blocks[j].size or 0) < (blocks[top].size or 0) for j in sized if j != top
                               and blocks[j].page_no != blocks[top].page_no)
        if blocks[top].page_no == first_page and (blocks[top].size or 0) >= 1.3 * body and larger_than_rest \
                and not numbering_depth(blocks[top].text):
            title = top
            levels[top] = 1
    sizes = sorted({round((blocks[i].size or 0) * 2) / 2 for i in heads if i != title and blocks[i].size}, reverse=True)
    for i in heads:
        if i == title:
            continue
        depth = numbering_depth(blocks[i].text)
        if depth:
            levels[i] = min(1 + depth, 6)
        elif blocks[i].size and sizes:
            levels[i] = min(2 + sizes.index(round(blocks[i].size * 2) / 2), 4)
        else:
            levels[i] = 2
    return levels


def list_marker(line: str) -> str | None:
    """The bullet or enumerator a line starts with, if any."""
    m = _BULLET.match(line)
    if m:
        return m.group(1) or m.group(2)
    m = _ENUM.match(line)
    return m.group(1) if m else None


def is_bullet(marker: str) -> bool:
    return not any(ch.isalnum() for ch in marker)


def join_lines(lines: list[str]) -> str:
    """Lines as one line: a space between them, none where two CJK characters meet at the break."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if out and not (is_cjk(out[-1]) and is_cjk(line[0])):
            out += " "
        out += line
    return out


def list_items(lines: list[str]) -> list[tuple[str, str]] | None:
    """(marker, item text) per item when the lines form a list, else None. A list starts with a bullet, or
    has two lines that start with enumerators (one numbered paragraph is not a list); lines before its
    first marker are its lead-in, returned as an item with the marker ''."""
    markers = [list_marker(ln) for ln in lines]
    for k in range(1, len(lines)):
        # an em dash opening a line inside a sentence ("... names should be complete" / "— use full first names")
        # is the sentence's dash, not a list's bullet (in a block that does not open with one)
        before = lines[k - 1].rstrip()
        runs_on = bool(before) and before[-1] not in ".:;!?)]\u201d\""
        if markers[k] == "\u2014" and not markers[0] and not markers[k - 1] and runs_on \
                and lines[k].lstrip()[1:].strip()[:1].islower():
            markers[k] = None
    first = next((k for k, m in enumerate(markers) if m), None)
    if first is None:
        return None
    bullets = sum(1 for m in markers if m and is_bullet(m))
    enums = sum(1 for ln in lines if _ENUM.match(ln))
    if not (bullets and (first == 0 or bullets >= 2)) and enums < 2:
        return None
    items: list[tuple[str, list[str]]] = [("", lines[:first])] if first else []
    for line, marker in zip(lines[first:], markers[first:], strict=True):
        if marker:
            rest = line.lstrip()[len(marker):].strip()
            items.append((marker, [rest] if rest else []))
        else:
            items[-1][1].append(line)
    return [(marker, join_lines(parts)) for marker, parts in items]
