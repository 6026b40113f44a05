"""Is a text layer worth reading? A test of the words themselves, no model needed:

- invisible text (render mode 3, as OCR layers of scanned PDFs are) is not what the page shows: it is
  checked against OCR of the same area before it is trusted;
- so are words read by their font codes (glyphs without a Unicode mapping, `pdf_chars.readable_code`): the
  code is usually the letter in a TeX bitmap font, and anything in a font with its own encoding;
- garbage: too many tokens that no writing system produces: letters mixed with symbols or digits inside a
  word ("t#e", "Ã¼ber"), letters of two scripts in one word, case flipping inside a word ("hElLo"), long
  Latin words without a vowel ("xkcdqwr").

And, when OCR has been run to check, do the two readings agree?"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from ocr_resources.geometry.lines import rows
from ocr_resources.geometry.page import assign
from ocr_resources.types import Box, Word

MIN_TOKENS = 5  # fewer words than this tell nothing either way
MAX_GARBAGE = 0.35  # share of non-word tokens above which a text layer is garbage
MIN_AGREEMENT = 0.6  # similarity of text layer and OCR below which the text layer is not what the page shows
# An old OCR layer of a page's speckle and ruling (graph paper under a sketch: ":.,", "..", "i,", "dP") is much of it
# specks (dots, commas, quotes: what OCR makes of dirt) and has almost no word of three letters; a page of
# formulas has its operators and digits, a contents page its words beside the leaders.
_SPECKS = ".,:;'`\"’‘´¨°·•»«~^"
MAX_MARKS = 0.4
MIN_WORDED = 0.2
MIN_MARK_TOKENS = 20

_STRIP = re.compile(r"^[\W_]+|[\W_]+$")
_VOWELS = set("aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿāăąēĕėęěīįıōőœūůűų")


_FAMILIES = {"HANGUL": "CJK", "HIRAGANA": "CJK", "KATAKANA": "CJK", "HALFWIDTH": "CJK", "FULLWIDTH": "CJK"}


@lru_cache(maxsize=4096)  # pure, and asked for every letter of every word of every region (issue 27)
def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0] if name else ""
    return _FAMILIES.get(first, first)  # Korean and Japanese are written mixed with Han characters


@lru_cache(maxsize=65536)  # pure; a page's words recur region by region and page by page
def _word_like(token: str) -> bool:
    core = _STRIP.sub("", token)
    if not core or not any(ch.isalpha() for ch in core):
        return True  # numbers, punctuation, symbols on their own: not evidence of garbage
    letters = [ch for ch in core if ch.isalpha()]
    scripts = {_script(ch) for ch in letters} - {"LATIN"}
    if len(scripts) > 1 or ("LATIN" in {_script(ch) for ch in letters} and scripts & {"CYRILLIC", "GREEK"}):
        return False  # letters of two scripts in one word (Latin beside another script is common: "U코드")
    if any(not ch.isascii() and (unicodedata.category(ch)[0] == "S" or unicodedata.category(ch) in ("No", "Co"))
           or unicodedata.category(ch) == "Cc" for ch in core):
        return False  # non-ASCII symbols inside a word: mojibake ("Ã¼ber") or a wrong font encoding
    flips = sum(1 for a, b in zip(letters, letters[1:], strict=False) if a.islower() and b.isupper())
    if flips > 1 and letters[0].islower():
        return False  # "hElLo" (CamelCase names start upper-case: "PubTabNet", "LaTeX")
    if (len(letters) >= 5 and _script(letters[0]) == "LATIN" and not all(ch.isupper() for ch in letters)
            and not any(ch.lower() in _VOWELS for ch in letters)):
        return False
    return True


UNMAPPED = "glyphs without a Unicode mapping, read by their font codes"


@dataclass
class Verdict:
    ok: bool
    reason: str
    verify: bool = False  # worth reading only if OCR of the same area agrees


def assess(words: list[Word]) -> Verdict:
    """The text-layer words of one region (or page): usable, garbage, or to be checked against OCR."""
    tokens = [t for w in words for t in w.text.split()]
    if words and sum(1 for w in words if w.hidden) * 2 > len(words):
        return Verdict(True, "invisible text layer", verify=True)
    if words and sum(1 for w in words if w.unmapped) * 2 > len(words):
        return Verdict(True, UNMAPPED, verify=True)
    if len(tokens) < MIN_TOKENS:
        return Verdict(True, "text layer")
    bad = sum(1 for t in tokens if not _word_like(t))
    share = bad / len(tokens)
    if share > MAX_GARBAGE:
        return Verdict(False, f"text layer failed quality test: {share:.0%} of words not word-like")
    kept = _without_leaders(tokens)
    if len(kept) >= MIN_MARK_TOKENS:
        marks = sum(1 for t in kept if not t.strip(_SPECKS)) / len(kept)
        worded = sum(1 for t in kept if sum(ch.isalpha() for ch in t) >= 3) / len(kept)
        if marks >= MAX_MARKS and worded < MIN_WORDED:
            return Verdict(False, f"text layer failed quality test: {marks:.0%} of words are stray marks")
    return Verdict(True, "text layer")


_LEADER_DOT = re.compile(r"^[.·…]+$")


def _without_leaders(tokens: list[str]) -> list[str]:
    """The tokens less dot leaders: runs of four or more tokens of dots in a row (a contents page's ". . . . ."),
    which are no speck of dirt."""
    out: list[str] = []
    run: list[str] = []
    for t in tokens + [""]:
        if t and _LEADER_DOT.match(t):
            run.append(t)
            continue
        if len(run) < 4:
            out.extend(run)
        run = []
        if t:
            out.append(t)
    return out


def agreement(text_layer: list[Word], ocr: list[Word], regions: list[Box] = ()) -> float:
    """Similarity of two readings of the same area (1 = the same characters), spaces and case ignored. Both
    are put in one order first, region by region and row by row: the text layer's order is its content
    stream's and OCR's its detector's, and on a page of two columns or a CV's side column the two differ
    wholesale, which a string distance would count as disagreement about every word."""
    a = "".join(_in_page_order(text_layer, regions).lower().split())
    b = "".join(_in_page_order(ocr, regions).lower().split())
    if not a and not b:
        return 1.0
    return 1.0 - Levenshtein.distance(a, b) / max(len(a), len(b))


JOINED = 1.15  # OCR finding this many times the words of a text layer that agrees with it: the layer lost its spaces
MIN_JOINED_WORDS = 20  # words OCR must find for the count to say anything
SAME_CHARS = 0.1  # ... and the two readings must hold as many letters, within this share


def runs_words_together(text_layer: list[Word], ocr: list[Word]) -> bool:
    """A text layer that agrees with OCR letter for letter (spaces are not compared) but has far fewer words:
    an old OCR layer under a scan that lost its word spaces ("TheLinnSequencer", "manyremarkable"). Where it
    only had to be checked, OCR's reading, spaced, is the better one."""
    layer_words = sum(len(w.text.split()) for w in text_layer)
    ocr_words = sum(len(w.text.split()) for w in ocr)
    layer_chars = sum(len("".join(w.text.split())) for w in text_layer)
    ocr_chars = sum(len("".join(w.text.split())) for w in ocr)
    # (the same letters, within a tenth: OCR's more words are not text the layer lacks, a picture's words)
    same_text = abs(layer_chars - ocr_chars) <= SAME_CHARS * max(layer_chars, ocr_chars)
    return same_text and ocr_words >= MIN_JOINED_WORDS and ocr_words >= JOINED * max(layer_words, 1)


def _in_page_order(words: list[Word], regions: list[Box]) -> str:
    """The words' text by region (the regions' list order; words in none last), each region's by rows top
    to bottom and left to right."""
    groups: dict[int, list[Word]] = {}
    for word, owner in zip(words, assign(words, list(regions)), strict=True):
        groups.setdefault(len(regions) if owner is None else owner, []).append(word)
    return " ".join(w.text for k in sorted(groups) for row in rows(groups[k])
                    for w in sorted(row, key=lambda w: w.box.x0))

