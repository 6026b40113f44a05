"""A PDF text layer's characters into clean words.

pdfium hands out characters in content-stream order with a box each. Turning them into words is where most
text-layer damage is repaired or avoided:
- a word ends at whitespace, at a jump to another line, at a horizontal gap (in either direction, so
  right-to-left text is not cut into letters), and where the script's direction flips ("Pythonمن");
- spaces pdfium generated between touching glyphs (kerning, accents) are ignored;
- a spacing accent drawn over its letter ("a" + "´") becomes a combining mark on that letter, then NFC;
- the soft-hyphen marker (pdfium's U+FFFE) becomes a plain line-end hyphen that hyphenation joining sees;
- glyphs of a right-to-left ligature that pdfium gives in visual order are put back in logical order;
- characters without a Unicode mapping (controls, private use, replacement characters) are dropped, and a
  word made mostly of them is dropped whole;
- symbol-font bullets become real bullets."""

from __future__ import annotations

import statistics
import unicodedata
from dataclasses import dataclass

from ocr_resources.text.clean import SPACING_ACCENTS, clean_text, is_bad_char
from ocr_resources.types import Box

SYMBOL_FONTS = ("wingding", "webding", "dingbat", "symbol")
PICTOGRAPH_FONTS = ("wingding", "webding")  # every glyph a pictograph, whatever code it is stored under
BULLET = "\u2022"


@dataclass
class PdfChar:
    text: str
    x0: float  # PDF points, origin top-left
    y0: float
    x1: float
    y1: float
    size: float = 0.0  # effective font size in points
    bold: bool = False
    generated: bool = False  # inserted by pdfium (a space or line break it inferred)
    soft_hyphen: bool = False
    hidden: bool = False  # text render mode 3 (invisible), as OCR layers of scanned PDFs are
    unmapped: bool = False  # pdfium reports no usable Unicode mapping for this glyph
    font: str = ""

    @property
    def height(self) -> float:
        return max(1.0, self.y1 - self.y0)


@dataclass
class PdfWord:
    text: str
    box: Box
    size: float | None
    bold: bool
    hidden: bool


def _dir(ch: str) -> int:
    kind = unicodedata.bidirectional(ch) if ch else ""
    return -1 if kind in ("R", "AL") else (1 if kind == "L" else 0)


def _is_letter(ch: str) -> bool:
    return bool(ch) and unicodedata.category(ch[0]).startswith("L")


def _symbol_bullets(chars: list[PdfChar]) -> None:
    """Symbol fonts draw bullets and boxes with codes that are not Unicode (C0/C1 controls, private use)."""
    for c in chars:
        font = c.font.lower()
        if c.text and not c.text.isspace() and (
                (is_bad_char(c.text[0]) and any(s in font for s in SYMBOL_FONTS))
                or (c.text.isascii() and any(s in font for s in PICTOGRAPH_FONTS))):
            c.text, c.unmapped = BULLET, False


def _fix_rtl_ligatures(chars: list[PdfChar]) -> None:
    """pdfium gives the letters of one right-to-left ligature glyph (lam-alef) in visual order, all with the
    glyph's box: reverse each such run."""
    i = 0
    while i < len(chars):
        j = i
        key = (round(chars[i].x0, 1), round(chars[i].x1, 1))
        while j + 1 < len(chars) and (round(chars[j + 1].x0, 1), round(chars[j + 1].x1, 1)) == key \
                and abs(chars[j + 1].y0 - chars[i].y0) < 1:
            j += 1
        if j > i and all(_dir(c.text) < 0 for c in chars[i : j + 1]):
            texts = [c.text for c in chars[i : j + 1]]
            for c, t in zip(chars[i : j + 1], reversed(texts), strict=True):
                c.text = t
        i = j + 1


def _compose_accents(chars: list[PdfChar]) -> list[PdfChar]:
    """Spacing accents onto the letter they are drawn over (or under), searched among the nearby glyphs."""
    out = list(chars)
    drop: set[int] = set()
    for i, c in enumerate(chars):
        if c.text not in SPACING_ACCENTS or c.generated:
            continue
        cx = (c.x0 + c.x1) / 2
        best, best_overlap = None, 0.0
        for j in range(max(0, i - 40), min(len(chars), i + 41)):  # drawn before, after, or apart
            base = chars[j]
            if j == i or j in drop or not _is_letter(base.text) or base.generated:
                continue
            tol = 0.15 * base.height
            if not (base.x0 - tol <= cx <= base.x1 + tol):
                continue
            if min(c.y1, base.y1) - max(c.y0, base.y0) < -0.5 * base.height:  # on another line
                continue
            overlap = min(c.x1, base.x1) - max(c.x0, base.x0) - 0.01 * abs(j - i)  # ties: the nearer glyph
            if best is None or overlap > best_overlap:
                best, best_overlap = j, overlap
        if best is not None:
            base = out[best]
            mark = SPACING_ACCENTS[c.text]
            out[best] = PdfChar(unicodedata.normalize("NFC", base.text + mark), base.x0, base.y0, base.x1, base.y1,
                                base.size, base.bold, base.generated, base.soft_hyphen, base.hidden, base.unmapped,
                                base.font)
            drop.add(i)
    return [c for i, c in enumerate(out) if i not in drop]


def _word(chars: list[PdfChar]) -> PdfWord | None:
    bad = sum(1 for c in chars if c.unmapped or any(is_bad_char(ch) for ch in c.text))
    if bad * 2 > len(chars):
        return None  # mostly unmappable glyphs: nothing to read (the page may still be OCR'd)
    text = clean_text("".join(c.text for c in chars if not c.unmapped))
    if not text:
        return None
    sizes = [c.size for c in chars if c.size > 0]
    box = Box(min(c.x0 for c in chars), min(c.y0 for c in chars), max(c.x1 for c in chars), max(c.y1 for c in chars))
    return PdfWord(text, box, statistics.median(sizes) if sizes else None,
                   sum(c.bold for c in chars) * 2 > len(chars), sum(c.hidden for c in chars) * 2 > len(chars))


def chars_to_words(chars: list[PdfChar]) -> list[PdfWord]:
    chars = [c for c in chars if c.text]
    _symbol_bullets(chars)
    _fix_rtl_ligatures(chars)
    chars = _compose_accents(chars)
    words: list[PdfWord] = []
    cur: list[PdfChar] = []
    box: list[float] = []
    pending_break = False  # a generated space: a break only if the glyphs around it do not touch

    def close() -> None:
        nonlocal pending_break
        if cur:
            word = _word(cur)
            if word is not None:
                words.append(word)
            cur.clear()
        pending_break = False

    for c in chars:
        if c.soft_hyphen:
            if cur:
                cur.append(PdfChar("-", c.x0, c.y0, c.x1, c.y1, c.size, c.bold, font=c.font))
            close()
            continue
        if c.text.isspace() or c.text == "\x00":
            if c.generated and "\n" not in c.text and "\r" not in c.text:
                pending_break = True
            else:
                close()
            continue
        if cur:
            height = max(1.0, box[3] - box[1])
            same_line = min(c.y1, box[3]) - max(c.y0, box[1]) > 0.3 * min(height, c.height)
            gap = max(c.x0 - box[2], box[0] - c.x1)
            prev = next((_dir(ch) for p in reversed(cur) for ch in p.text if _dir(ch)), 0)
            flip = prev != 0 and _dir(c.text[0]) == -prev
            if (not same_line or gap > 0.6 * height or flip or (pending_break and gap > 0.1 * height)
                    or c.hidden != cur[-1].hidden):
                close()
        pending_break = False
        if not cur:
            box = [c.x0, c.y0, c.x1, c.y1]
        else:
            box = [min(box[0], c.x0), min(box[1], c.y0), max(box[2], c.x1), max(box[3], c.y1)]
        cur.append(c)
    close()
    return words
