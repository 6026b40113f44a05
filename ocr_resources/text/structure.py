"""Headings with levels, and list items.

Headings: the layout's titles, and short text blocks set apart by their type (larger than the body text, or
bold at body size). Levels come from section numbering where there is one ("5" -> 2, "5.1" -> 3), else
from the type size (larger is higher); the largest heading of the first page, clearly larger than the body
text, is the document's title (level 1).

Lists: lines that start with a bullet or an enumerator ("•", "-", "1.", "a)", "(iv)") start list items;
the lines that follow belong to the item until the next marker."""

from __future__ import annotations

import re

from ocr_resources.text.blocks import TextBlock, body_size

_NUMBERING = re.compile(r"^(?:(?:chapter|section|part|appendix|annex)\s+)?"
                        r"(\d{1,3}(?:\.\d{1,3})*\.?|[A-Z](?:\.\d{1,3})*\.)\s+\S", re.I)
_BULLET = re.compile(r"^([\u2022\u2023\u2043\u2219\u25aa\u25ab\u25a0\u25a1\u25cf\u25cb\u25e6\u2610\u2611\u2612"
                     r"\u27a2\u2713\u2714\u2756\u25b6\u25ba\u00b7])\s*(?=\S)|^([-\u2013\u2014*])\s+(?=\S)")
_ENUM = re.compile(r"^(\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)])\s+(?=\S)", re.I)
MAX_HEADING_WORDS = 16


def numbering_depth(text: str) -> int:
    """1 for "5 Results", 2 for "5.1 Setup", 0 when the text is not numbered like a section."""
    m = _NUMBERING.match(text.strip())
    return m.group(1).rstrip(".").count(".") + 1 if m else 0


def looks_like_heading(b: TextBlock, body: float | None, page_body: float | None = None) -> bool:
    text = " ".join(b.text.split())
    if not text or b.words > MAX_HEADING_WORDS or b.lines > 3 or _BULLET.match(text):
        return False
    if text[-1] in ".,;:" and not numbering_depth(text) or text[0].islower():
        return False
    if not any(ch.isalpha() for ch in text):
        return False
    if body is None or b.size is None:
        return False
    if b.size >= (1.08 if b.lines == 1 else 1.15) * body or (b.bold and b.size >= 0.95 * body):
        return True
    # a page set in smaller type than the rest of the document (a brochure page, a cover) has its own scale
    return page_body is not None and page_body < 0.9 * body and (
        b.size >= 1.2 * page_body and (b.bold or b.size >= 1.3 * page_body))


def heading_levels(blocks: list[TextBlock]) -> dict[int, int]:
    """Heading level by block index, for the blocks that are headings."""
    body = body_size(blocks)
    pages: dict[int, list[TextBlock]] = {}
    for b in blocks:
        pages.setdefault(b.page_no, []).append(b)
    page_body = {p: body_size(bs) if sum(len(b.text) for b in bs) >= 200 else None for p, bs in pages.items()}
    heads = [i for i, b in enumerate(blocks)
             if b.label not in ("header", "footer", "table", "figure", "caption", "formula")
             and ((b.label == "title" and b.words <= 2 * MAX_HEADING_WORDS)
                  or looks_like_heading(b, body, page_body[b.page_no]))]
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


def list_items(lines: list[str]) -> list[tuple[str, str]] | None:
    """(marker, item text) per item when the lines form a list (the first line starts with a bullet, or two
    lines start with enumerators: one numbered paragraph is not a list), else None."""
    if not lines or not list_marker(lines[0]):
        return None
    if not is_bullet(list_marker(lines[0]) or "") and sum(1 for ln in lines if _ENUM.match(ln)) < 2:
        return None
    items: list[tuple[str, list[str]]] = []
    for line in lines:
        marker = list_marker(line)
        if marker:
            rest = line.lstrip()[len(marker):].strip()
            items.append((marker, [rest] if rest else []))
        else:
            items[-1][1].append(line)
    return [(marker, " ".join(parts)) for marker, parts in items]
