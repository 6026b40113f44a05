"""Blocks of text as Markdown: paragraphs re-flowed, headings with their level, list items, figures as an
image marker followed by the words they hold, page furniture left out."""

from __future__ import annotations

import itertools
import re
import unicodedata

from ocr_resources.text.blocks import sizes_differ
from ocr_resources.text.structure import CAPTION_LABEL, is_bullet, join_lines, list_items

FURNITURE = frozenset({"header", "footer"})
IMAGE = "<!-- image -->"


def reflow(lines: list[str]) -> str:
    """Lines of one paragraph as one line (no space where two CJK characters meet at a line break)."""
    return join_lines(lines)


_MATH = re.compile(r"(\$\$.+?\$\$|\$[^$\n]+?\$)", re.S)  # formulas as LaTeX (text.page_formulas): kept as they are
FORMULA_IMAGE = "<!-- formula (image) -->"


_LITERAL = str.maketrans({"_": "\\_", "*": "\\*", "`": "\\`"})


def escape(text: str) -> str:
    """Markdown-significant characters in running text: underscores, asterisks and backticks (a document's own
    "*right*" or "2 * 3 * 4" is not emphasis, its "`" opens no code span), and a leading '#' or '>' (not inside
    formulas, whose LaTeX is written as it is)."""
    parts = _MATH.split(text)
    text = "".join(p if k % 2 else p.translate(_LITERAL) for k, p in enumerate(parts))
    return re.sub(r"^([#>])", r"\\\1", text)


def display_math_apart(markdown: str) -> str:
    """A displayed formula (`$$...$$`) on lines of its own, between the paragraph's parts."""
    if "$$" not in markdown:
        return markdown
    return re.sub(r"[ \t]*(\$\$.+?\$\$)[ \t]*", r"\n\n\1\n\n", markdown, flags=re.S).strip()


def _list(lines: list[str]) -> str | None:
    items = list_items(lines)
    if not items:
        return None
    lead = escape(reflow([items[0][1]])) + "\n\n" if items[0][0] == "" else ""
    listed = [(m, t) for m, t in items if m]
    return lead + "\n".join(f"- {escape(t)}" if is_bullet(m) else f"{m} {escape(t)}".strip() for m, t in listed)


# a row of a table of contents (or a price list): its title, a dot leader and a page number (arabic or roman)
_CONTENTS_ROW = re.compile(r"(?:\.\s?){3,}\s*[\dIVXLCDMivxlcdm]{1,6}$|…\s*[\dIVXLCDMivxlcdm]{1,6}$")


def _contents_rows(lines: list[str]) -> str | None:
    """A block of leader rows ("1.1 Plain TeX . . . . 2") kept row by row, each a paragraph of its own: reflowed
    into one paragraph, each page number ran into the next entry's title ("2 1.2 LaTeX"). An entry wrapped
    over lines is one row, up to the line its leader ends."""
    ends = [bool(_CONTENTS_ROW.search(ln.strip())) for ln in lines]
    if len(lines) < 2 or 2 * sum(ends) < len(lines):
        return None
    rows: list[list[str]] = [[]]
    for line, end in zip(lines, ends, strict=True):
        rows[-1].append(line)
        if end:
            rows.append([])
    return "\n\n".join(escape(reflow(r)) for r in rows if r)


# a contents entry without a leader: a title, then its page number ("7. References 73", "Index 77")
_ENTRY_PAGE = re.compile(r"^\S.*\s(\d{1,4})$")
ENTRY_SPAN = 100  # pages: a contents page's entries run over a part of the book, not "Chapter 3 / Results for 2019"


def _contents_headings(lines: list[str]) -> list[str] | None:
    """A heading's lines that are a contents page's chapter entries, each a title and its page number, the numbers
    running on ("7. References 73", "A. Revision History 75", "Index 77", set bold without leaders and boxed as one
    title): each line is an entry of its own, not one heading of all three."""
    found = [_ENTRY_PAGE.match(ln.strip()) for ln in lines]
    if len(lines) < 2 or not all(found):
        return None
    pages = [int(m.group(1)) for m in found]
    if any(b < a for a, b in itertools.pairwise(pages)) or pages[-1] - pages[0] > ENTRY_SPAN:
        return None
    return [ln.strip() for ln in lines]


# a book's index: a term, then its page numbers ("colorbox, 50, 140, 181", "coordinates, 33, 162–164"); a line of
# page numbers alone continues the entry above it
_PAGES = r"[\dIVXLCDMivxlcdm]{1,5}(?:\s?[–-]\s?\d{1,5})?"
_INDEX_ENTRY = re.compile(rf"^\D.*?,\s*{_PAGES}(?:,\s*{_PAGES})*,?$")
_INDEX_PAGES = re.compile(rf"^{_PAGES}(?:,\s*{_PAGES})*,?$")
INDEX_SHARE = 0.7


def _index_rows(lines: list[str]) -> str | None:
    """A block of index entries (most lines a term and its page numbers, in alphabetical order) kept one per item:
    reflowed into one paragraph, every entry ran into the next ("clip, 24, 81, 137 clip1in, 191 clip4in, 191").
    An entry whose page numbers wrap onto a line of their own is one item."""
    entries: list[list[str]] = []
    for line in (ln.strip() for ln in lines):
        if entries and (_INDEX_PAGES.match(line) or entries[-1][-1].endswith(",")):
            entries[-1].append(line)
        else:
            entries.append([line])
    whole = [" ".join(e) for e in entries]
    if len(entries) < 4 or sum(bool(_INDEX_ENTRY.match(e)) for e in whole) < INDEX_SHARE * len(entries):
        return None
    # in alphabetical order (prose whose lines end in numbers is not)
    keys = [e.lower()[:2] for e in whole]
    if sum(a <= b for a, b in itertools.pairwise(keys)) < INDEX_SHARE * (len(keys) - 1):
        return None
    return "\n".join(f"- {escape(reflow(e))}" for e in entries)


SHORT_LINE = 45  # characters: an address's, a signature's or a letterhead's lines are this short
MIN_SHORT_LINES = 3  # (two short lines may be a sentence wrapped in a narrow box, or a heading and its subtitle)
# a field and its value on a line of its own ("Date: September 30, 2015", "Invoice No.: 4711"): a label of one to
# three words, a capital first, then a colon
_FIELD_LINE = re.compile(r"^[A-ZÀ-Þ][\w.#/'&-]*(?:\s[\w.#/'&-]+){0,2}:\s+\S")


def _line_by_line(lines: list[str]) -> str | None:
    """A block of three or more short lines each starting anew (an address: "Universitätsstr. 15" / "6020 Innsbruck,
    Austria" / "E-mail: ..."; a letterhead), or of two or more fields each on its line: kept line by line (Markdown's
    hard breaks),
    where reflowed they ran into one line. Prose in a narrow column is not: its lines go on with the sentence
    (a lower-case start, a hyphen at a line's end)."""
    fields = len(lines) >= 2 and all(_FIELD_LINE.match(ln.strip()) for ln in lines)  # (a statement's head)
    if (len(lines) < MIN_SHORT_LINES and not fields) or any(len(ln) > SHORT_LINE for ln in lines) \
            or any(ln.rstrip().endswith("-") for ln in lines):
        return None
    if any(not (ln.lstrip()[:1].isupper() or ln.lstrip()[:1].isdigit()) for ln in lines[1:]):
        return None
    return "  \n".join(escape(ln.strip()) for ln in lines)


def code_fence(text: str) -> str:
    """Code as a fenced block, its lines and indents as they are (a fence longer than any run of backticks in
    it)."""
    lines = (text or "").rstrip().split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return ""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n" + "\n".join(ln.rstrip() for ln in lines) + f"\n{fence}"


def block_markdown(label: str, text: str, heading_level: int | None = None, table_md: str | None = None,
                   keep_furniture: bool = False) -> str:
    """One block's Markdown ('' for furniture, unless kept, and for empty blocks). Kept furniture is a plain
    paragraph, never a heading."""
    if label == "code":
        return code_fence(text)
    lines = [ln for ln in (text or "").split("\n") if ln.strip()]
    if label in FURNITURE:
        return escape(reflow(lines)) if keep_furniture and lines else ""
    if table_md:
        return table_md.strip()
    if label == "figure":
        # no word is lost to a label: the words a picture holds (a chart's labels, a sign) follow its marker
        return IMAGE + ("\n\n" + escape(reflow(lines)) if lines else "")
    if not lines:
        return ""
    if label == "title":
        hashes = "#" * max(1, min(heading_level or 2, 6))
        if entries := _contents_headings(lines):  # a contents page's chapter entries boxed as one title
            return "\n\n".join(f"{hashes} {escape(e)}" for e in entries)
        return f"{hashes} {escape(reflow(lines))}"
    if label == "list":
        listed = _list(lines)
        if listed:
            return listed
    if rows := _contents_rows(lines) or _index_rows(lines) or _line_by_line(lines):
        return rows
    return display_math_apart(escape(reflow(lines)))


_SKIPPABLE = frozenset({"header", "footer", "figure", "table", "caption"})
_OPEN_END = re.compile(r"[\w,;\-–]$")


# Paragraphs a column or page break may cut: running text, and what the layout model calls a reference (a
# bibliography's entry, or running text it took for one: a newsletter's column)
_FLOWING = ("text", "reference")


def _continues(previous: str, text: str) -> bool:
    """A paragraph cut by a column or page break: the first part stops mid-sentence, the next starts
    with a lower-case letter. A caption the layout model boxed as text ("Listing 1: ...") is never continued (a
    listing's first line of code starts lower-case)."""
    return (bool(previous) and bool(text) and bool(_OPEN_END.search(previous)) and text[0].islower()
            and not CAPTION_LABEL.match(previous))


def render(rows: list[dict], tables: dict[tuple[int, int], str] | None = None, keep_furniture: bool = False) -> str:
    """A document's Markdown from its text rows in reading order (dicts with label, text, heading_level,
    page_no, region_no). A paragraph split by a column or page break (with only furniture, figures, tables
    or captions between the parts) is joined again, as docling does. Page furniture is left out unless
    `keep_furniture` (then each piece is a paragraph of its own where it was read)."""
    tables = tables or {}
    parts: list[str] = []
    last_text: int | None = None  # index in parts of the last paragraph that may continue
    last_row: dict = {}  # ... and its row
    code: list[str] = []  # the lines of code blocks in a row (a listing the layout cut in pieces): one fence
    code_size: float | None = None
    for row in rows:
        label = row["label"]
        if label == "code":
            size = row.get("font_size")
            if code and sizes_differ(size, code_size):
                parts.append(code_fence("\n".join(code)))  # code in another type (a signature over its listing)
                code = []
            code.append(row["text"] or "")
            code_size = size
            continue
        if code and label not in FURNITURE:  # (a listing that runs over a page break stays one block)
            parts.append(code_fence("\n".join(code)))
            code, last_text = [], None
        table = tables.get((row["page_no"], row["region_no"])) if row.get("region_no") is not None else None
        if label in _FLOWING and not table and last_text is not None:
            text = reflow((row["text"] or "").split("\n"))
            if _continues(parts[last_text], text) and not sizes_differ(row.get("font_size"), last_row.get("font_size")):
                parts[last_text] = parts[last_text] + " " + escape(text)
                continue
        body = block_markdown(label, row["text"], row.get("heading_level"), table, keep_furniture)
        if label == "formula" and _scanned(row) and "$" not in (row["text"] or ""):
            body = _formula_image(row)  # a formula on a scan: its place and box, never OCR's garbled glyphs
        if label in _FLOWING and not table:
            # (a footnote at the column's foot, in smaller type: the paragraph above may go on after it)
            if body and not (last_text is not None and _note_under(row, last_row)):
                last_text, last_row = len(parts), row
        elif label not in _SKIPPABLE:
            last_text = None
        if body:
            parts.append(body)
    if code:
        parts.append(code_fence("\n".join(code)))
    return normalize_newlines("\n\n".join(parts))


def _note_under(row: dict, paragraph: dict) -> bool:
    """A note in smaller type under a paragraph on its page (a footnote at the foot of the column it ends)."""
    a, b = row.get("font_size"), paragraph.get("font_size")
    return (bool(a and b) and a < 0.9 * b and row.get("page_no") == paragraph.get("page_no")
            and row.get("y0") is not None and paragraph.get("y1") is not None and row["y0"] >= paragraph["y1"])


def _scanned(row: dict) -> bool:
    """Read by OCR because its page has no text layer (a region OCR'd on a digital page keeps its words)."""
    return row.get("text_source") == "ocr" and (row.get("text_source_reason") or "").startswith("no text layer")


def _formula_image(row: dict) -> str:
    if row.get("x0") is None:
        return FORMULA_IMAGE
    box = ", ".join(f"{row[k]:.0f}" for k in ("x0", "y0", "x1", "y1"))
    return f"<!-- formula (image): page {row['page_no']}, box {box} pt -->"


def normalize_newlines(markdown: str) -> str:
    return unicodedata.normalize("NFC", re.sub(r"\n{3,}", "\n\n", markdown)).strip() + "\n"
