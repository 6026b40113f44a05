"""Page furniture (running heads, page numbers, journal lines, download stamps) decided from every signal,
on a one-page document as on a long one. Each signal is evidence; a block is furniture when there is enough
of it, and never when it reads as part of the page's text.

Evidence (weights in `_WEIGHTS`; one strong signal is enough, small type needs to stand apart too):
- the layout model's label (header or footer);
- a pattern furniture has: a page number in any numbering ("7", "xiv", "7-45", "Page 3 of 10", "- 3 -"), a
  journal or issue line ("PLOS ONE | www.plosone.org", "March 2014 | Volume 8 | Issue 3"), a bare URL or
  DOI, a "Downloaded from ..." or "Download date: ..." stamp, a revision, part, document or registration number, a
  copyright line ("© Copyright IBM Corp. 2014. All rights reserved.");
- type smaller than the body's, and standing apart at the top (bottom) of the page;
- the same text (digits ignored) at about the same height on two or more pages.

Where it must be: in the top or bottom band of the page, or above (below) everything else on it; a line
with a furniture pattern also in the side margin, beside everything else (a stamp run up the page's side).

What vetoes it (the block is in the body's flow): it is set larger than the body (a title the model called a
header; not a header of the model's that recurs page after page, a running head set large), it is long (more than
three lines), it has lines of the page's own text beside it (a CV's details beside the name: a running head has
only furniture beside it), it sits a line's spacing from the body text next to it in the body's own type (a court
filing's case line set as the first line of the text; again not the model's header recurring page after page), or
it is a sentence in the body's type that does not recur page after page (a table's lead-in the model boxed as a
header; a line in capitals is no such sentence), or nothing but furniture stands on its page with it (a one-line
page's line: a running head needs a body to run above), or it is the head of a statement, an invoice, a letter or a
filing (the model's headers in the body's type where one holds a field with its value, "Date: September 30, 2015").
A page number set large is a chapter number. A block the model called header or footer that is not furniture gets a
body label back."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from ocr_resources.text.blocks import TextBlock, body_size

BAND = 0.15  # share of the page height, at the top and at the bottom, where furniture lives
_PAGE_NO = re.compile(
    r"^(?:(?:page|p\.|pg\.?|seite|página|pagina|pag\.|стр\.)\s*)?[-–—(\[|]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*"
    r"[-–—)\]|]?(?:\s*(?:of|/|von|de|di|из|sur)\s*(?:\d{1,4}|[ivxlcdm]{1,7}))?$", re.I)
# Chapter-page numbering ("7-45", "A-3"); not a dot, which makes an amount ("40.00") or a section ("3.2").
_CHAPTER_PAGE = re.compile(r"^[A-Z]?\d{1,3}\s*[-–]\s*\d{1,4}$")
# A page number with a word or two beside it, as running feet have it: "12 | Annual Report", "Report | 12".
_PAGE_BESIDE = re.compile(r"^(?:\d{1,4}\s*[|•·]\s*\S.{0,60}|\S.{0,60}\s*[|•·]\s*\d{1,4})$")
# A document's title or file name beside "Page N of M", as a word processor's running foot has it ("Graphite Overview,
# Page 3 of 3", "Report - page 4", "Page 2 of 5 Confidential"): the page's count names it anywhere in a short line;
# a lone "page N" only at one end, set off by a comma, a dash or a bar (not "see page 4").
_PAGE_OF = re.compile(r"\b(?:page|seite|página|pagina|pag\.)\s*\d{1,4}\s*(?:of|/|von|de|di|sur)\s*\d{1,4}\b", re.I)
_PAGE_END = re.compile(r"^\S.{0,60}?\s*[,|–—-]\s*(?:page|p\.|seite)\s*\d{1,4}$"
                       r"|^(?:page|p\.|seite)\s*\d{1,4}\s*[,|–—-]\s*\S.{0,60}$", re.I)
PAGE_OF_WORDS = 12  # a running foot with the page's count is a short line
_URL = re.compile(r"^(?:https?://|www\.)\S+$|^(?:doi:\s*|https?://doi\.org/)\S+$", re.I)
_JOURNAL = re.compile(
    r"(?:\bvol(?:ume)?\.?\s*\d+.{0,40}\b(?:issue|no\.?|number|nr\.?)\s*\d+)"  # Volume 8 | Issue 3, Vol. 3, No. 2
    r"|(?:\S\s*\|\s*(?:https?://|www\.)\S+)"  # <Journal> | www.journal.org
    r"|(?:(?:https?://|www\.)\S+\s*\|)", re.I)
_STAMP = re.compile(r"^(?:downloaded\s+(?:from|by|on)|download\s+date|printed\s+(?:on|from|by)|accessed\s+on|"
                    r"retrieved\s+(?:from|on))\b", re.I)
_NUMBER_LINE = re.compile(r"\b(?:rev(?:ision)?\.?|part\s*(?:no\.?|number|#)|p/n|doc(?:ument)?\.?\s*(?:no\.?|number|"
                          r"id|#)|e?-?issn|isbn)\s*[:#]?\s*[\w./-]*\d", re.I)
# A registration or catalogue number in any language: a short label and a code of four or more groups of digits
# joined by hyphens, twelve digits or more ("발간등록번호 31-9735045-001338-14"); a phone number ("02-788-4582",
# "1-800-555-1234") or a date has fewer.
_CODE_LINE = re.compile(r"^(?:\S+\s+){0,2}(\d+(?:[-\u2010\u2011\u2013]\d+){3,})$")
_COPYRIGHT = re.compile(r"^(?:©|\(c\)\s|copyright\b)|\ball rights reserved\b", re.I)
MAX_WORDS = 30  # a furniture line is short
BESIDE_TEXT = "beside the page's own text"  # the veto that puts a header back in the page's flow (`_beside_text`)
ONLY_TEXT = "the page's only text"  # the veto for a page that holds nothing but furniture-like lines (`_only_text`)
TOP_MATTER = "the page's top matter (a field and its value)"  # the veto for a statement's head (`_top_matter`)
# labels of furniture's own fields: a page number, a print or download stamp ("Printed: 12 March 2020")
_STAMP_LABELS = frozenset({"page", "seite", "p", "pg", "printed", "downloaded", "generated", "retrieved", "accessed"})


@dataclass(frozen=True)
class Decision:
    label: str  # "header" / "footer", or a body label ("text") for a header/footer the evidence does not back
    reason: str


def normalize(text: str) -> str:
    text = re.sub(r"\d+", "#", text.lower())
    return " ".join(re.sub(r"[^\w#]+", " ", text).split())


def is_page_number(text: str) -> bool:
    text = " ".join(text.split())
    return bool(_PAGE_NO.match(text) or _CHAPTER_PAGE.match(text))


def furniture_pattern(text: str, long_notice: bool = False) -> str | None:
    """What furniture `text` looks like ("page number", "journal line", ...), None when it looks like none.
    `long_notice`: the line is set small, on a line or two, so a copyright and reuse notice may run long ("... may
    not be reproduced in any form without the express written permission of ...")."""
    text = " ".join(text.split())
    if long_notice and _COPYRIGHT.search(text) and len(text.split()) <= 3 * MAX_WORDS:
        return "copyright line"
    if not text or len(text.split()) > MAX_WORDS:
        return None
    if is_page_number(text) or _PAGE_BESIDE.match(text) or _PAGE_END.match(text) or (
            _PAGE_OF.search(text) and len(text.split()) <= PAGE_OF_WORDS):
        return "page number"
    if _STAMP.match(text):
        return "download or print stamp"
    if _URL.match(text) or _JOURNAL.search(text):
        return "journal or URL line"
    if _NUMBER_LINE.search(text) and len(text.split()) <= 12:
        return "revision, part or document number"
    if (code := _CODE_LINE.match(text)) and sum(ch.isdigit() for ch in code.group(1)) >= 12:
        return "revision, part or document number"
    if _COPYRIGHT.search(text) and len(text.split()) <= 16:
        return "copyright line"
    return None


def holds_field(text: str) -> bool:
    """A line of `text` is a field with its value, as a statement's, an invoice's, a letter's or a filing's head
    has them ("Date: September 30, 2015", "Invoice No.: 4711"): a label of one to three words without digits
    (not "Chapter 3: Results"), a colon, and a short value that holds a number (not "Smith et al.: A study"). A
    page number's or a print stamp's label does not count ("Page: 4 of 8", "Printed: 12 March 2020")."""
    for line in text.splitlines():
        label, colon, value = line.partition(":")
        words, value = label.split(), value.strip()
        if not colon or not 1 <= len(words) <= 3 or len(label) > 30 or not label.strip()[0].isalpha():
            continue
        if any(ch.isdigit() for ch in label) or words[0].lower().rstrip(".") in _STAMP_LABELS:
            continue
        if any(ch.isdigit() for ch in value) and not value.startswith("//") and len(value.split()) <= 10:
            return True
    return False


def _small(b: TextBlock, body: float | None) -> bool:
    """Set smaller than the body's type (by more than OCR's ink heights differ between lines, on a scan)."""
    return b.size is not None and body is not None and b.size <= (INK_SMALL if b.ink_size else SMALL) * body


def _top_matter(i: int, page: list[int], blocks: list[TextBlock], body: float | None, repeated: set[int]) -> bool:
    """The model's header is the head of a statement, an invoice, a letter or a filing: a header of the page's
    top band in the body's type (or larger), with no furniture pattern and not recurring page after page, on a
    page where such a header holds a field with its value (`holds_field`). A running head holds no "Date: ..."
    field; the issuer's name beside the fields is part of the same head."""
    def candidate(j: int) -> bool:
        o = blocks[j]
        return (o.label == "header" and _band(o) == "header" and j not in repeated and not _small(o, body)
                and o.lines <= 3 and not furniture_pattern(" ".join(o.text.split())))

    return candidate(i) and any(candidate(j) and holds_field(blocks[j].text) for j in page)


def _band(b: TextBlock) -> str | None:
    if b.box.y1 <= BAND * b.page_height:
        return "header"
    if b.box.y0 >= (1 - BAND) * b.page_height:
        return "footer"
    return None


# One strong signal is enough; small type must come with standing apart at the page's edge (a small line low
# on the page alone may be a footnote, and a footnote is text).
# (a running foot's title or date on the row of its page number, in the band, is furniture on that alone)
_WEIGHTS = {"label": 3, "pattern": 3, "repeated": 3, "small": 2, "beside a page number": 3, "beside furniture": 2,
            "outside furniture": 2, "apart": 1}
NEEDED = 3
# Type measured from OCR ink (`TextBlock.ink_size`) differs from the body's by the letters a line holds, not
# only its font: capitals without descenders stand about 0.7 of a mixed line's height, a line of digits or
# with brackets taller. Only a difference beyond that is evidence (small) or a veto (set larger).
SMALL, LARGER, LARGER_PAGE_NO = 0.9, 1.1, 1.3
INK_SMALL, INK_LARGER, INK_LARGER_PAGE_NO = 0.7, 1.4, 1.6
# A page number set off by dashes or brackets, or named ("- 4 -", "[12]", "Page 3 of 8"), or at the page's foot, is no
# chapter's number: it is furniture up to this many times the body's size (a manual's banner sets it in display type)
LARGER_DECORATED = 2.0
_DECORATED = re.compile(r"^(?:[-–—(\[]\s*\d{1,4}\s*[-–—)\]]|(?:page|seite|p\.|pg\.?)\s*\d.*|.*\bof\s+\d{1,4})$", re.I)
_FOOTNOTE = re.compile(r"^(?:\d{1,2}|[*†‡§¶a-z])(?:\s|[.)]?\s*[A-Z])")


def _larger(pattern: str | None, text: str, ink: bool, where: str | None, split_head: bool) -> float:
    """How many times the body's size a block may be set in and still be furniture: a page number 1.3 times (a
    chapter's number set large is none), one set off by dashes or named, or at the foot of the page (where no
    chapter's number stands), or either half of a running head split across the page's top, twice."""
    if split_head or (pattern == "page number" and (_DECORATED.match(text) or where == "footer")):
        return max(LARGER_DECORATED, INK_LARGER_PAGE_NO if ink else LARGER_PAGE_NO)
    if pattern == "page number":
        return INK_LARGER_PAGE_NO if ink else LARGER_PAGE_NO
    return INK_LARGER if ink else LARGER


def _split_head(i: int, page: list[int], blocks: list[TextBlock]) -> bool:
    """The model's header (footer) with another of its own on its row, apart from it across the page: a running
    head's two halves (the section's title at the left, the chapter's at the right), which a page's title is not."""
    b = blocks[i]
    return b.label in ("header", "footer") and any(
        j != i and blocks[j].label == b.label and _same_row(b, blocks[j])
        and max(b.box.x0, blocks[j].box.x0) - min(b.box.x1, blocks[j].box.x1) > 0.2 * b.page_width for j in page)


def _repeated(blocks: list[TextBlock]) -> set[int]:
    """Blocks whose text (digits ignored) recurs in the same band at about the same height on 2+ pages."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, b in enumerate(blocks):
        band, key = _band(b), normalize(b.text)
        if band and key and b.lines <= 3:
            groups[(band, key)].append(i)
    out: set[int] = set()
    for members in groups.values():
        for i in members:
            y = blocks[i].box.center[1] / blocks[i].page_height
            near = {blocks[j].page_no for j in members
                    if abs(blocks[j].box.center[1] / blocks[j].page_height - y) < 0.03}
            if len(near) >= 2:
                out.add(i)
    return out


def _apart(i: int, where: str, page: list[int], blocks: list[TextBlock]) -> bool:
    """The first (last) block of its page, with more than one and a half of its lines between it and the
    next block below (above) it: set apart from the text, as running heads and feet are."""
    b = blocks[i]
    line = b.box.height / max(b.lines, 1)
    others = [blocks[j] for j in page if j != i and not _same_row(b, blocks[j])]  # (a foot's title and number)
    if where == "header":
        if any(o.box.y0 < b.box.y0 for o in others):
            return False
        return all(o.box.y0 - b.box.y1 > 1.5 * line for o in others)
    if any(o.box.y1 > b.box.y1 for o in others) or _FOOTNOTE.match(b.text.strip()):
        return False
    return all(b.box.y0 - o.box.y1 > 1.5 * line for o in others)


def _in_side_margin(i: int, page: list[int], blocks: list[TextBlock]) -> bool:
    """Left or right of every other block on its page, in the outer tenth of the page's width."""
    b = blocks[i]
    others = [blocks[j] for j in page if j != i]
    if not others:
        return False
    left = b.box.x1 <= min(o.box.x0 for o in others) and b.box.x1 <= 0.1 * b.page_width
    right = b.box.x0 >= max(o.box.x1 for o in others) and b.box.x0 >= 0.9 * b.page_width
    return left or right


def _in_flow(i: int, where: str, page: list[int], blocks: list[TextBlock], body: float | None) -> bool:
    """Read as a line of the body: set in the body's type (or larger), a line's spacing from the body block
    beside it in the column (below a header, above a footer)."""
    b = blocks[i]
    if body is None or b.size is None or b.size < 0.93 * body:
        return False
    line = b.box.height / max(b.lines, 1)
    for j in page:
        o = blocks[j]
        if j == i or min(o.box.x1, b.box.x1) - max(o.box.x0, b.box.x0) <= 0 or o.size is None:
            continue
        if not 0.93 * body <= o.size <= 1.1 * body or (o.lines < 2 and len(o.text) < 1.5 * len(b.text)):
            continue  # the neighbour must be running text, not another short line
        gap = o.box.y0 - b.box.y1 if where == "header" else b.box.y0 - o.box.y1
        if -0.3 * line <= gap <= 0.6 * line:
            return True
    return False


def _only_text(i: int, page: list[int], blocks: list[TextBlock]) -> bool:
    """Nothing of the page's own stands beside the block: every other block on its page is a header or footer
    of the model's or reads as furniture (a page number). A running head needs a body to run above; a page
    whose one line the model called a header (a one-line note, a form's only field) holds that line as its text.
    (Asked only of the model's headers and footers: a line it left unlabelled on the row of furniture, beside a
    figure, is furniture by that row.)"""
    return all(blocks[j].label in ("header", "footer") or not blocks[j].text.strip()
               or furniture_pattern(" ".join(blocks[j].text.split())) for j in page if j != i)


def _beside_text(i: int, page: list[int], blocks: list[TextBlock]) -> bool:
    """A title or text block of the page's own (no furniture pattern) stands on the block's rows, beside
    it: the block is part of the page's top (bottom) matter, as a CV's personal details beside its name or
    a letter's sender beside its logo are, not a running head, which has only furniture beside it."""
    b = blocks[i]
    for j in page:
        o = blocks[j]
        if j == i or o.label not in ("title", "text", "list") or furniture_pattern(" ".join(o.text.split())):
            continue
        overlap = min(o.box.y1, b.box.y1) - max(o.box.y0, b.box.y0)
        if overlap >= 0.5 * o.box.height and min(o.box.x1, b.box.x1) <= max(o.box.x0, b.box.x0):
            return True
    return False


def furniture_decisions(blocks: list[TextBlock]) -> dict[int, Decision]:
    """Labels with their reason by block index: "header"/"footer" for every piece of furniture (whatever its
    label was), and a body label ("text") for blocks the layout called header or footer that are not
    furniture. Blocks not in the result keep their label."""
    # the body's type measured between the bands, where furniture does not stand (a page of tables has little text
    # of its own: its small-print foot outweighed the rest and made a running foot "larger than the body")
    body = body_size([b for b in blocks if not _band(b)]) or body_size(blocks)
    repeated = _repeated(blocks) if len({b.page_no for b in blocks}) > 1 else set()
    by_page: dict[int, list[int]] = defaultdict(list)
    for i, b in enumerate(blocks):
        by_page[b.page_no].append(i)
    tops = {p: min(blocks[i].box.y0 for i in idx) for p, idx in by_page.items()}
    bottoms = {p: max(blocks[i].box.y1 for i in idx) for p, idx in by_page.items()}
    out: dict[int, Decision] = {}
    for i in range(len(blocks)):  # first the blocks furniture on their own evidence, then those beside them
        _decide(i, blocks, body, repeated, by_page, tops, bottoms, out, set())
    furniture = {i for i, d in out.items() if d.label in ("header", "footer") and blocks[i].text.strip()}
    for i, b in enumerate(blocks):
        if i not in out and (where := _band(b)):
            beside = {j for j in furniture if j in by_page[b.page_no] and _same_row(b, blocks[j])}
            outside = any(_outside(b, blocks[j], where) for j in furniture if j in by_page[b.page_no])
            if beside or outside:
                _decide(i, blocks, body, repeated, by_page, tops, bottoms, out, beside, outside)
    return out


def _outside(b: TextBlock, furniture: TextBlock, where: str) -> bool:
    """b stands right outside a piece of furniture, between it and the page's edge (under a running foot, over a
    running head), in its column, no more than half a line apart: a foot's second line ("Sharon Correll,
    03-Oct-2011" under "Graphite Overview, Page 3 of 3"). Nothing of the body lies beyond the furniture; a footnote
    over a page number is on the body's side of it."""
    line = b.box.height / max(b.lines, 1)
    gap = b.box.y0 - furniture.box.y1 if where == "footer" else furniture.box.y0 - b.box.y1
    return -0.3 * line <= gap <= 0.5 * line and min(b.box.x1, furniture.box.x1) > max(b.box.x0, furniture.box.x0)


def _same_row(a: TextBlock, b: TextBlock) -> bool:
    """On one line of the page: a running title beside its page number."""
    overlap = min(a.box.y1, b.box.y1) - max(a.box.y0, b.box.y0)
    return a.lines == b.lines == 1 and overlap >= 0.6 * min(a.box.height, b.box.height)


def _decide(i: int, blocks: list[TextBlock], body: float | None, repeated: set[int], by_page: dict[int, list[int]],
            tops: dict[int, float], bottoms: dict[int, float], out: dict[int, Decision], beside: set[int],
            outside: bool = False) -> None:
    """Block `i`'s decision into `out` (none when it keeps its label). `beside`: furniture on its row; `outside`:
    furniture right inside it (`_outside`)."""
    b = blocks[i]
    text = " ".join(b.text.split())
    labelled = b.label in ("header", "footer")
    ink = b.ink_size
    small = _small(b, body)
    pattern = furniture_pattern(text, long_notice=small and b.lines <= 2) if b.lines <= 3 else None
    if pattern == "page number" and text.startswith("(") and any(
            "$$" in blocks[j].text and _same_row(b, blocks[j]) for j in by_page[b.page_no] if j != i):
        pattern = None  # "(28)" on the row of a displayed formula: its equation number
    where = _band(b)
    place = f"{where} band"
    if where is None and pattern:  # a page number or stamp above or below everything else on the page
        where = "header" if b.box.y0 <= tops[b.page_no] else ("footer" if b.box.y1 >= bottoms[b.page_no] else None)
        place = "above everything else" if where == "header" else "below everything else"
    if where is None and pattern and _in_side_margin(i, by_page[b.page_no], blocks):
        where, place = "footer", "side margin"  # a stamp run up the side of the page ("Downloaded from ...")
    evidence: list[str] = []
    if labelled:
        evidence.append("label")
    if pattern:
        evidence.append("pattern")
    if i in repeated:
        evidence.append("repeated")
    if beside:
        # (not a formula beside its equation number "(28)", which reads as a page number too)
        numbered = "$" not in text and any("(page number)" in out[j].reason and not blocks[j].text.strip()
                                           .startswith("(") for j in beside)
        evidence.append("beside a page number" if numbered else "beside furniture")
    if outside:
        evidence.append("outside furniture")
    if small:
        evidence.append("small")
    if where is not None and _apart(i, where, by_page[b.page_no], blocks):
        evidence.append("apart")
    running_head = labelled and i in repeated  # the model's header (footer) recurring page after page
    veto = None
    if where is None:
        veto = "not at the top or bottom of the page"
    elif b.lines > 3 or (len(text.split()) > MAX_WORDS and pattern != "copyright line"):
        veto = "too long"  # (a copyright and reuse notice in small type may run long: `furniture_pattern`)
    elif labelled and not pattern and i not in repeated and _only_text(i, by_page[b.page_no], blocks):
        veto = ONLY_TEXT
    elif where == "header" and _top_matter(i, by_page[b.page_no], blocks, body, repeated):
        veto = TOP_MATTER
    elif b.size is not None and body is not None and not running_head and (
            b.size > _larger(pattern, text, ink, where, _split_head(i, by_page[b.page_no], blocks)) * body):
        veto = "set larger than the body text"
    elif not small and not running_head and _in_flow(i, where, by_page[b.page_no], blocks, body):
        veto = "in the flow of the body text"
    elif not pattern and i not in repeated and b.lines >= 2 and _beside_text(i, by_page[b.page_no], blocks):
        veto = BESIDE_TEXT
    elif not small and not pattern and i not in repeated and len(text.split()) >= 5 and text[-1] in ".!?:;" \
            and any(ch.islower() for ch in text):  # (a line in capitals is a head: "CHAPTER 7. BASICS … 7.3.")
        veto = "a sentence in the body's type"  # (unless the same sentence stands at the same place page after page)
    score = sum(_WEIGHTS[e] for e in evidence)
    if veto is None and score >= NEEDED and where is not None:
        why = ", ".join(f"{e} ({pattern})" if e == "pattern" else e for e in evidence)
        out[i] = Decision(where, f"furniture: {place}; {why}")
    elif labelled:
        out[i] = Decision("text", f"not furniture: {veto or 'too little evidence'}")


def find_furniture(blocks: list[TextBlock]) -> dict[int, str]:
    """New labels by block index, where they change (see `furniture_decisions`)."""
    return {i: d.label for i, d in furniture_decisions(blocks).items() if d.label != blocks[i].label}
