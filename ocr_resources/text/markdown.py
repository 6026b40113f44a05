"""Blocks of text as Markdown: paragraphs re-flowed, headings with their level, list items, figures as an
image marker (with the text they hold when it is prose), page furniture left out."""

from __future__ import annotations

import re
import unicodedata

from ocr_resources.text.structure import is_bullet, list_items

FURNITURE = frozenset({"header", "footer"})
IMAGE = "<!-- image -->"


def _cjk(ch: str) -> bool:
    # scripts written without spaces between words (Hangul is written with spaces)
    o = ord(ch)
    return 0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF


def reflow(lines: list[str]) -> str:
    """Lines of one paragraph as one line (no space where two CJK characters meet at a line break)."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if out and not (_cjk(out[-1]) and _cjk(line[0])):
            out += " "
        out += line
    return out


def escape(text: str) -> str:
    """Markdown-significant characters in running text: underscores, and a leading '#' or '>'."""
    text = text.replace("_", "\\_")
    return re.sub(r"^([#>])", r"\\\1", text)


def _prose(lines: list[str]) -> bool:
    return sum(1 for ln in lines if len(ln.split()) >= 6) >= 3


def _list(lines: list[str]) -> str | None:
    items = list_items(lines)
    if not items:
        return None
    return "\n".join(f"- {escape(t)}" if is_bullet(m) else f"{m} {escape(t)}".strip() for m, t in items)


def block_markdown(label: str, text: str, heading_level: int | None = None, table_md: str | None = None) -> str:
    """One block's Markdown ('' for furniture and empty blocks)."""
    if label in FURNITURE:
        return ""
    lines = [ln for ln in (text or "").split("\n") if ln.strip()]
    if table_md:
        return table_md.strip()
    if label == "figure":
        body = (_list(lines) or escape(reflow(lines))) if _prose(lines) else ""
        return IMAGE + ("\n\n" + body if body else "")
    if not lines:
        return ""
    if label == "title":
        return "#" * max(1, min(heading_level or 2, 6)) + " " + escape(reflow(lines))
    if label == "list":
        listed = _list(lines)
        if listed:
            return listed
    return escape(reflow(lines))


def normalize_newlines(markdown: str) -> str:
    return unicodedata.normalize("NFC", re.sub(r"\n{3,}", "\n\n", markdown)).strip() + "\n"
