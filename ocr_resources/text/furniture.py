"""Page furniture (running heads, page numbers, repeated footers) found by position and repetition across
a document's pages, not by the layout label alone.

- Text in the top or bottom band of the page that recurs at about the same height on several pages (digits
  ignored, so "Page 3" and "Page 4" are one text) is furniture.
- A page number (3, iii, 7-45, "Page 3 of 9", "- 3 -") in the top or bottom band is furniture.
- A block the layout model labels header or footer is furniture only if it also looks like it: in the top or
  bottom band and set no larger than the body text. A document's title that the model calls a header (large
  type, or low on the page) is not furniture and gets a body label back."""

from __future__ import annotations

import re
from collections import defaultdict

from ocr_resources.text.blocks import TextBlock, body_size

BAND = 0.15  # share of the page height, at the top and at the bottom, where furniture lives
_PAGE_NO = re.compile(
    r"^(?:(?:page|p\.|seite|página|pagina|pag\.|стр\.)\s*)?[-–—(\[]?\s*(?:\d{1,4}|[ivxlcdm]{1,7})\s*[-–—)\]]?"
    r"(?:\s*(?:of|/|von|de|di|из)\s*\d{1,4})?$", re.I)
_CHAPTER_PAGE = re.compile(r"^[A-Z]?\d{1,3}\s*[-–.]\s*\d{1,4}$")


def normalize(text: str) -> str:
    text = re.sub(r"\d+", "#", text.lower())
    return " ".join(re.sub(r"[^\w#]+", " ", text).split())


def is_page_number(text: str) -> bool:
    text = " ".join(text.split())
    return bool(_PAGE_NO.match(text) or _CHAPTER_PAGE.match(text))


def _band(b: TextBlock) -> str | None:
    if b.box.y1 <= BAND * b.page_height:
        return "header"
    if b.box.y0 >= (1 - BAND) * b.page_height:
        return "footer"
    return None


def find_furniture(blocks: list[TextBlock]) -> dict[int, str]:
    """New labels by block index: "header"/"footer" for furniture, and a body label ("text") for blocks
    the layout called header or footer that are not furniture. Blocks not in the result keep their label."""
    body = body_size(blocks)
    pages = {b.page_no for b in blocks}
    out: dict[int, str] = {}
    # repetition: same normalized text, same band, about the same height, on two or more pages
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, b in enumerate(blocks):
        band = _band(b)
        key = normalize(b.text)
        if band and key and b.lines <= 3:
            groups[(band, key)].append(i)
    if len(pages) > 1:
        for (band, _), members in groups.items():
            for i in members:
                y = blocks[i].box.center[1] / blocks[i].page_height
                near = {blocks[j].page_no for j in members
                        if abs(blocks[j].box.center[1] / blocks[j].page_height - y) < 0.03}
                if len(near) >= 2:
                    out[i] = band
    tops: dict[int, float] = {}
    bottoms: dict[int, float] = {}
    for b in blocks:
        tops[b.page_no] = min(tops.get(b.page_no, b.box.y0), b.box.y0)
        bottoms[b.page_no] = max(bottoms.get(b.page_no, b.box.y1), b.box.y1)
    for i, b in enumerate(blocks):
        if i in out:
            continue
        band = _band(b)
        if band is None and is_page_number(b.text):  # a number alone above or below everything else
            band = "header" if b.box.y0 <= tops[b.page_no] else ("footer" if b.box.y1 >= bottoms[b.page_no] else None)
        if band and is_page_number(b.text) and (b.size is None or body is None or b.size <= 1.3 * body):
            out[i] = band  # (a large number is a chapter number, not a page number)
        elif b.label in ("header", "footer"):
            small = b.size is None or body is None or b.size <= 0.95 * body
            if band and small and b.lines <= 3:
                out[i] = band
            else:
                out[i] = "text"
    return {i: lab for i, lab in out.items() if lab != blocks[i].label}
