"""Which characters a recogniser may emit for the scripts a page is written in.

PaddleOCR's recognisers read Chinese, Japanese and Latin with one character set; on English handwriting or a
blurred word they may answer with a CJK character. Limiting the decode to the configured scripts keeps that
out: a step whose best class is foreign takes the best allowed class (often the blank), with its own, low,
probability. Digits, punctuation and symbols below U+3000 are common to every script; fullwidth ASCII forms
are folded to ASCII when CJK is not configured.
"""

from __future__ import annotations

import unicodedata

import numpy as np

SCRIPTS = ("latin", "greek", "cyrillic", "cjk")
_CJK_WORDS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC", "HALFWIDTH", "FULLWIDTH")


def char_script(ch: str) -> str:
    """'common', one of SCRIPTS, or 'other' for a single character."""
    cp = ord(ch)
    try:
        first = unicodedata.name(ch).split()[0]
    except ValueError:
        return "other"
    if first in _CJK_WORDS or 0x2E80 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7AF or 0xF900 <= cp <= 0xFAFF \
            or 0xFE30 <= cp <= 0xFE4F or 0xFF00 <= cp <= 0xFFEF:
        return "cjk"
    category = unicodedata.category(ch)
    if category[0] in "LM":
        if first == "LATIN" or cp <= 0x024F:  # Latin-1 letters such as MICRO SIGN or ORDINAL INDICATOR
            return "latin"
        if first in ("GREEK", "COPTIC"):
            return "greek"
        if first == "CYRILLIC":
            return "cyrillic"
        return "other"
    if category == "Nd" and cp > 0x7F:  # digits of other scripts (Devanagari, Arabic-Indic)
        return "other"
    if cp < 0x3000:  # ASCII digits, punctuation, symbols of the shared blocks
        return "common"
    return "other"


def _fold(ch: str) -> str | None:
    """ASCII for fullwidth forms and Roman-numeral letters (what an English reader sees), else None."""
    cp = ord(ch)
    if 0xFF01 <= cp <= 0xFF5E or 0x2160 <= cp <= 0x217F or cp == 0x3000:
        folded = unicodedata.normalize("NFKC", ch)
        return folded if folded.isascii() else None
    return None


def parse_scripts(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Normalise a `scripts` setting ("latin", "latin,greek", ["latin"], "all") to a sorted tuple;
    ("all",) switches the filter off."""
    if value is None or value == "":
        return ("latin",)
    names = value.split(",") if isinstance(value, str) else list(value)
    names = sorted({n.strip().lower() for n in names if n.strip()})
    if "all" in names:
        return ("all",)
    unknown = [n for n in names if n not in SCRIPTS]
    if unknown:
        raise ValueError(f"unknown script(s) {unknown}; known: {list(SCRIPTS)} or 'all'")
    return tuple(names)


def restrict_charset(charset: list[str], scripts: tuple[str, ...]) -> tuple[np.ndarray | None, list[str]]:
    """For a CTC character set (index 0 = blank): a mask of the classes that may be emitted (None when
    everything may) and the set with fullwidth forms folded to ASCII where CJK is not configured."""
    if "all" in scripts:
        return None, list(charset)
    allowed = np.zeros(len(charset), bool)
    out = list(charset)
    allowed[0] = True  # blank
    for i, ch in enumerate(charset[1:], start=1):
        if ch == " ":
            allowed[i] = True
            continue
        if len(ch) != 1:
            continue
        if "cjk" not in scripts and (folded := _fold(ch)) is not None:
            allowed[i], out[i] = True, folded
        elif (script := char_script(ch)) == "common" or script in scripts:
            allowed[i] = True
    return allowed, out
