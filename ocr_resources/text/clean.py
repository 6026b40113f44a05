"""Clean characters: what goes into DuckDB and the Markdown is NFC text without control characters,
non-characters, replacement characters or private-use code points, with ligatures expanded and spacing
accents composed onto their letter."""

from __future__ import annotations

import re
import unicodedata

# Spacing accents (as typeset by TeX and others: a separate glyph over the letter) -> combining marks.
SPACING_ACCENTS = {
    "\u00b4": "\u0301", "\u02ca": "\u0301", "\u02cb": "\u0300", "\u00a8": "\u0308", "\u02c6": "\u0302",
    "\u02dc": "\u0303", "\u00af": "\u0304", "\u02c9": "\u0304", "\u02d8": "\u0306", "\u02d9": "\u0307",
    "\u02da": "\u030a", "\u02dd": "\u030b", "\u02c7": "\u030c", "\u00b8": "\u0327", "\u02db": "\u0328",
}

# Private-use code points that symbol fonts (Symbol, Wingdings) use for bullets and boxes.
PRIVATE_BULLETS = {
    "\uf0b7": "\u2022", "\uf0a7": "\u25aa", "\uf06e": "\u25a0", "\uf0d8": "\u27a2", "\uf0fc": "\u2713",
    "\uf076": "\u2756", "\uf0a8": "\u25e6", "\uf0e0": "\u27a2", "\uf0f0": "\u27a2", "\uf02d": "-", "\uf0be": "\u2014",
}

# Removed outright: invisible formatting that carries nothing in plain text (soft hyphen, zero-width space,
# word joiner, byte-order mark, bidi embeddings and isolates). ZWJ/ZWNJ stay: they shape Indic and Persian.
_DROP_FORMAT = frozenset("\u00ad\u200b\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPACES = re.compile(r"[^\S\n]+")


def is_bad_char(ch: str) -> bool:
    """A character that must never be stored: controls (but tab and newline), surrogates, non-characters
    (U+FFFE, U+FFFF, ...), unassigned code points, private use, and the replacement character."""
    if ch in "\n\t":
        return False
    if ch == "\ufffd":
        return True
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cs", "Cn", "Co")


def _is_ligature(ch: str) -> bool:
    o = ord(ch)
    # Latin and Armenian ligatures, Arabic presentation forms (contextual glyph forms, lam-alef)
    return 0xFB00 <= o <= 0xFB17 or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF


def clean_text(text: str) -> str:
    """NFC text with ligatures and presentation forms expanded (NFKC for those blocks only: NFKC on all text
    would also rewrite superscripts, fractions and full-width forms), symbol-font bullets mapped to Unicode,
    every space character a plain space, and no bad or invisible formatting characters."""
    if not text:
        return ""
    if text.isascii() and text.isprintable():  # the common case: nothing to do but spaces
        return " ".join(text.split())
    out = []
    for ch in text:
        if ch in PRIVATE_BULLETS:
            out.append(PRIVATE_BULLETS[ch])
        elif ch in _DROP_FORMAT or is_bad_char(ch):
            continue
        elif _is_ligature(ch):
            out.append(unicodedata.normalize("NFKC", ch))
        elif ch != "\n" and ch != "\t" and unicodedata.category(ch) == "Zs":
            out.append(" ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFC", "".join(out))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n")).strip("\n")


def bad_char_count(text: str) -> int:
    return sum(1 for ch in text if is_bad_char(ch))
