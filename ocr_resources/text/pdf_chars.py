"""A PDF text layer's characters into clean words.

pdfium hands out characters in content-stream order with a box each. Turning them into words is where most
text-layer damage is repaired or avoided:
- a word ends at whitespace, at a jump to another line, at a horizontal gap (in either direction, so
  right-to-left text is not cut into letters), and where the script's direction flips ("Pythonمن");
- a word also ends at a gap of half the font's own space width where pdfium generated no space (words set
  with tight gaps and no space characters), measured between the glyphs' outlines where the font's widths
  are not the ones it is drawn with (advance boxes running over the next glyph);
- every space pdfium generated is a word break, unless the glyphs around it touch (kerning, accents);
- a spacing accent drawn over its letter ("a" + "´") becomes a combining mark on that letter, then NFC;
- the soft-hyphen marker (pdfium's U+FFFE) becomes a plain line-end hyphen that hyphenation joining sees;
- glyphs of a right-to-left ligature that pdfium gives in visual order are put back in logical order;
- characters without a Unicode mapping (controls, private use, replacement characters) are dropped, and a
  word made mostly of them is dropped whole; but an unmapped glyph of a text font whose code is a printable
  character is kept as that character (`readable_code`) and its word marked `unmapped`: in a font with no
  ToUnicode (TeX's Type 3 bitmap fonts, a Type 1 font in its built-in encoding) the code is usually the letter
  itself, and the OCR stage checks such words against OCR before trusting them;
- symbol-font bullets become real bullets;
- a font whose Unicode map was written byte-swapped (U+4D00 for "M") is read the right way round;
- characters set turned a quarter (or half) round, as a chart's axis title or a sideways table is, are made
  into words in their own orientation: turned upright, joined by the same rules, and turned back, each word
  keeping its angle (a rotated heading is three words, not nineteen letters)."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass

from ocr_resources.geometry.boxes import UPRIGHT, turned_box
from ocr_resources.text.clean import SPACING_ACCENTS, clean_text, is_bad_char
from ocr_resources.text.math_symbols import is_math_font
from ocr_resources.types import Box

SYMBOL_FONTS = ("wingding", "webding", "dingbat", "symbol")
PICTOGRAPH_FONTS = ("wingding", "webding")  # every glyph a pictograph, whatever code it is stored under
BULLET = "\u2022"


@dataclass(slots=True)
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
    ink_x0: float | None = None  # the glyph's own outline (tight box), across; None where pdfium gives none
    ink_x1: float | None = None
    space_em: float = 0.0  # the font's space width in ems (0: the font has no space glyph)
    angle: int = 0  # which way the text runs on the page: degrees anticlockwise, 0/90/180/270 (90: bottom to top),
    # or a slant's own angle (`char_angle`)
    mono: bool = False  # set in a fixed-pitch font (code, a typewriter face)
    origin_x: float | None = None  # where its pen position starts, across; read only after a generated space

    @property
    def height(self) -> float:
        return max(1.0, self.y1 - self.y0)

    @property
    def em(self) -> float:
        return self.size if self.size > 0 else self.height


@dataclass(slots=True)
class PdfWord:
    text: str
    box: Box
    size: float | None
    bold: bool
    hidden: bool
    angle: int = 0  # degrees anticlockwise the word runs on the page (90: read bottom to top)
    mono: bool = False  # most of its glyphs in a fixed-pitch font
    unmapped: bool = False  # holds glyphs without a Unicode mapping read by their font codes (`readable_code`)


BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demi", "cmbx", "sfbx")
# a style a font's name states after its family ("LMRoman10-Regular", "Times-Roman", "Arial,Italic")
_NOT_BOLD_STYLES = ("regular", "roman", "book", "italic", "oblique", "light", "thin", "normal", "plain")


# TeX's own fonts name their series: cmr10, cmmi10, cmtt10, sfrm1000 are medium; cmbx12, cmb10, cmmib10, cmbsy10,
# sfbx1000 bold
_TEX_FONT = re.compile(r"(cm|sf)[a-z]+\d+")
_TEX_BOLD = re.compile(r"cm(b\d|bsy|mib)|.*bx")


def bold_font(name: str, weight: int) -> bool:
    """Whether a font sets bold type: by its name where the name says so either way, else by the weight pdfium
    reports. That weight comes from the font's stem width where the PDF states no weight, and some fonts' stems
    lie (Computer Modern's CMR10 and CMMI10 report 744-768, Latin Modern's regular text and math italic 665-744):
    a font named "-Regular", or one of TeX's medium fonts, is not bold."""
    family = name.split("+", 1)[-1].lower()
    if any(b in family for b in BOLD_NAMES):
        return True
    if _TEX_FONT.fullmatch(family):
        return _TEX_BOLD.match(family) is not None
    style = family.replace(",", "-").rpartition("-")[2]
    if style != family and style.startswith(_NOT_BOLD_STYLES):
        return False
    return weight >= 600


def _dir(ch: str) -> int:
    kind = unicodedata.bidirectional(ch) if ch else ""
    return -1 if kind in ("R", "AL") else (1 if kind == "L" else 0)


def _is_letter(ch: str) -> bool:
    return bool(ch) and unicodedata.category(ch[0]).startswith("L")


def _symbol_bullets(chars: list[PdfChar]) -> None:
    """Symbol fonts draw bullets and boxes with codes that are not Unicode (C0/C1 controls, private use);
    pictograph fonts (Wingdings) draw them even under letter codes."""
    kinds: dict[str, tuple[bool, bool]] = {}
    for c in chars:
        kind = kinds.get(c.font)
        if kind is None:
            font = c.font.lower()
            kind = kinds[c.font] = (any(s in font for s in SYMBOL_FONTS), any(s in font for s in PICTOGRAPH_FONTS))
        if (kind[0] or kind[1]) and not c.text.isspace() and (
                (kind[0] and is_bad_char(c.text[0])) or (kind[1] and c.text.isascii())):
            c.text, c.unmapped = BULLET, False


def _fix_rtl_ligatures(chars: list[PdfChar]) -> None:
    """pdfium gives the letters of one right-to-left ligature glyph (lam-alef) in visual order, all with the
    glyph's box: reverse each such run."""
    if not any(ord(c.text[0]) >= 0x590 for c in chars):  # no right-to-left script on the page
        return
    i = 0
    while i < len(chars):
        if _dir(chars[i].text) >= 0:
            i += 1
            continue
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
    accents = [i for i, c in enumerate(chars) if c.text in SPACING_ACCENTS]
    if not accents:
        return chars
    out = list(chars)
    drop: set[int] = set()
    for i in accents:
        c = chars[i]
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
                                base.font, base.ink_x0, base.ink_x1, base.space_em, base.angle)
            drop.add(i)
    return [c for i, c in enumerate(out) if i not in drop]


def _space(c: PdfChar) -> bool:
    """White space; not a glyph drawn at a control code Python counts as white space (an unmapped ligature)."""
    return c.text.isspace() and not c.unmapped


# TeX's text fonts set the ligatures ff, fi, fl, ffi and ffl at codes 0x0B-0x0F (OT1) or 0x1B-0x1F (T1, the EC
# fonts): control codes, no characters, where such a font has no Unicode mapping
TEX_LIGATURES = {chr(base + k): lig for base in (0x0B, 0x1B) for k, lig in enumerate(("ff", "fi", "fl", "ffi", "ffl"))}


def readable_code(c: PdfChar) -> bool:
    """An unmapped glyph of a text font whose code is a printable character or a TeX ligature's. Math fonts
    are left out: their codes are not the letters they draw (the formula finder reads them by their tables)."""
    return (c.unmapped and (c.text in TEX_LIGATURES or not (is_bad_char(c.text[0]) or c.text.isspace()))
            and not is_math_font(c.font))


TALL_GLYPH = 1.5  # times a word's usual glyph height: a glyph box this tall is another font's, not the word's line


def _word(chars: list[PdfChar]) -> PdfWord | None:
    coded = [readable_code(c) for c in chars]
    bad = sum(1 for c, code in zip(chars, coded, strict=True) if (c.unmapped and not code) or is_bad_char(c.text[0]))
    if bad * 2 > len(chars):
        return None  # mostly unmappable glyphs: nothing to read (the page may still be OCR'd)
    kept = [c for c, code in zip(chars, coded, strict=True) if code or not (c.unmapped or is_bad_char(c.text[0]))]
    text = clean_text("".join(TEX_LIGATURES.get(c.text, c.text) if c.unmapped else c.text for c in kept))
    if not text:
        return None
    sizes = sorted(c.size for c in chars if c.size > 0)
    # the box of the glyphs it reads: a dropped glyph of a math extension font (a wide hat) has a box as tall as
    # the font's, which kept its word clear of the formula it belongs to. Where one glyph's box is far taller than
    # the word's usual one (the median), the usual one: a brace from a symbol font with a deep descent
    # ('{"normal"}' in texinfo's typewriter type) made the word as tall as two lines, read with the line under it
    box = Box(min(c.x0 for c in kept), min(c.y0 for c in kept), max(c.x1 for c in kept), max(c.y1 for c in kept))
    heights = sorted(c.y1 - c.y0 for c in kept)
    if box.height > TALL_GLYPH * heights[len(heights) // 2]:
        tops, bottoms = sorted(c.y0 for c in kept), sorted(c.y1 for c in kept)
        box = Box(box.x0, tops[(len(tops) - 1) // 2], box.x1, bottoms[len(bottoms) // 2])
    return PdfWord(text, box, sizes[len(sizes) // 2] if sizes else None,
                   sum(c.bold for c in chars) * 2 > len(chars), sum(c.hidden for c in chars) * 2 > len(chars),
                   mono=sum(c.mono for c in chars) * 2 > len(chars), unmapped=any(coded))


# Word spaces. pdfium's boxes are advance boxes (origin to origin plus the font's width for the glyph); where
# a font's /Widths are not the widths it is drawn with (the producer placed every glyph itself), they run over
# the next glyphs and every gap looks closed, so the glyph outlines (ink) decide there.
TOUCH = 0.08  # ems: glyphs this close touch (kerning, an accent): a space pdfium generated there is no word space
WIDTHS_LIE = 0.15  # ems an advance box runs over the next glyph before the font's widths are not trusted
MIN_SPACE = 0.12  # ems: the narrowest gap taken for a word space where pdfium generated none
INK_SPACE = 0.15  # ems of bare ink between glyphs that make a word space where the widths are not trusted
# ems between two glyphs of a fixed-pitch font that make a word space: a space there is a whole empty cell (half
# an em or more), while the cells' own gaps vary up to ~0.15 em where the producer rounds each glyph's position
# ("console.log(add(3, 5));" came out "console . log ( add (3 , 5) ) ;", as pdfium's own text has it)
MONO_SPACE = 0.3


def _word_gap(c: PdfChar, last: PdfChar, advance_gap: float,
              ink: tuple[float, float] | None) -> tuple[float, float]:
    """The gap between a word so far and its next glyph, and the gap that makes a word space there: half
    the font's own space width (at least MIN_SPACE ems) between advance boxes, or INK_SPACE ems between
    the glyphs' outlines where the advance boxes cannot be trusted."""
    em = c.em
    if ink is not None and c.ink_x0 is not None and c.ink_x1 is not None and advance_gap < -WIDTHS_LIE * em:
        return max(c.ink_x0 - ink[1], ink[0] - c.ink_x1), INK_SPACE * em
    if c.mono and last.mono:
        return advance_gap, MONO_SPACE * em
    space_em = last.space_em if 0.15 <= last.space_em <= 1.0 else 0.25
    return advance_gap, max(0.5 * space_em, MIN_SPACE) * em


def _apart(c: PdfChar, last: PdfChar, gap: float, ink: tuple[float, float] | None) -> float:
    """How far apart a glyph stands from the word before it, where pdfium generated a space between them: the
    widest of the gaps between their boxes, between their ink, and from the last glyph's box to the glyph's pen
    position. An italic f's tails reach over its neighbours' boxes on both sides ("of measurable", "measurable
    function": boxes 0.04 em apart or overlapping) while its pen position stands a space's width off."""
    if abs(c.size - last.size) > 0.1 * last.size:
        return gap  # a script: TeX sets it an italic correction off its base ("N^{RX}-order" is one word)
    apart = gap
    if ink is not None and c.ink_x0 is not None and c.ink_x1 is not None:
        apart = max(apart, c.ink_x0 - ink[1], ink[0] - c.ink_x1)
    if c.origin_x is not None and c.angle == last.angle == 0:
        apart = max(apart, c.origin_x - last.x1)
    return apart


def _line_start_glyph(chars: list[PdfChar], previous: PdfWord | None) -> PdfWord | None:
    """An unmappable glyph standing alone at the start of a line is a bullet drawn from a symbol font
    (a dingbat without a Unicode mapping): keep it as a bullet, so the list keeps its items."""
    x0, y0 = min(c.x0 for c in chars), min(c.y0 for c in chars)
    x1, y1 = max(c.x1 for c in chars), max(c.y1 for c in chars)
    if previous is not None and min(previous.box.y1, y1) - max(previous.box.y0, y0) > 0 and previous.box.x1 <= x0:
        return None  # something precedes it on its line
    return PdfWord(BULLET, Box(x0, y0, x1, y1), chars[0].size or None, False, chars[0].hidden)


def char_angle(dx: float, dy: float) -> int:
    """The quarter turn (0, 90, 180, 270 degrees anticlockwise) of a glyph whose baseline runs along (dx, dy)
    on the page (y down); for a slant more than 15 degrees off every quarter, its own angle in whole degrees
    to 5 (words are made of such glyphs as of upright ones; `oblique` tells them apart: a watermark across the
    page)."""
    import math

    deg = math.degrees(math.atan2(-dy, dx)) % 360
    quarter = round(deg / 90) % 4 * 90
    off = min(abs(deg - quarter), 360 - abs(deg - quarter))
    return quarter if off <= 15 else int(round(deg / 5) * 5) % 360


def oblique(angle: int) -> bool:
    """A word set at a slant, neither upright nor turned a quarter (`char_angle`)."""
    return angle % 90 != 0


def _angle_runs(chars: list[PdfChar]) -> list[tuple[int, list[PdfChar]]]:
    """The characters in runs of one orientation, in content order; whitespace goes with the run it is in."""
    runs: list[tuple[int, list[PdfChar]]] = []
    for c in chars:
        angle = runs[-1][0] if runs and (_space(c) or c.text == "\x00") else c.angle
        if not runs or runs[-1][0] != angle:
            runs.append((angle, []))
        runs[-1][1].append(c)
    return runs


def byte_swapped(code: int) -> bool:
    """A code point whose UTF-16 bytes are the wrong way round: a printable ASCII character in its high byte."""
    return code & 0xFF == 0 and 0x20 <= code >> 8 <= 0x7E


def _unswap_utf16(chars: list[PdfChar]) -> list[PdfChar]:
    """Characters of a font whose ToUnicode map its producer wrote byte-swapped ("䴀甀氀琀椀" for "Multi":
    U+4D00 for U+004D) put right. A font is taken as swapped only where every one of its characters, three or
    more of at least two kinds, has that form; real Han text ("一", U+4E00) runs through many other code points."""
    by_font: dict[str, list[int]] = {}
    for c in chars:
        if c.text and not c.generated and not (c.text.isascii() and c.text.isspace()):
            by_font.setdefault(c.font, []).extend(ord(ch) for ch in c.text)
    swapped = {font for font, codes in by_font.items()
               if len(codes) >= 3 and len(set(codes)) >= 2 and all(byte_swapped(code) for code in codes)}
    if not swapped:
        return chars
    return [dataclasses.replace(c, text="".join(chr(ord(ch) >> 8) for ch in c.text))
            if c.font in swapped and not c.generated and all(byte_swapped(ord(ch)) for ch in c.text) else c
            for c in chars]


def chars_to_words(chars: list[PdfChar]) -> list[PdfWord]:
    chars = _unswap_utf16([c for c in chars if c.text])
    _symbol_bullets(chars)
    _fix_rtl_ligatures(chars)
    chars = _compose_accents(chars)
    if not any(c.angle for c in chars):
        return _words_of(chars)
    words: list[PdfWord] = []
    for angle, run in _angle_runs(chars):
        if angle not in UPRIGHT:  # (upright, or at a slant: read as upright text is, its angle kept)
            words.extend(dataclasses.replace(w, angle=angle) if angle else w for w in _words_of(run))
            continue
        turn, back = UPRIGHT[angle]
        # upright, the glyphs' outlines across are not known (pdfium's ink box is along x on the page)
        upright = []
        for c in run:
            b = turned_box(Box(c.x0, c.y0, c.x1, c.y1), turn)
            upright.append(dataclasses.replace(c, x0=b.x0, y0=b.y0, x1=b.x1, y1=b.y1, ink_x0=None, ink_x1=None))
        for w in _words_of(upright):
            words.append(PdfWord(w.text, turned_box(w.box, back), w.size, w.bold, w.hidden, angle, w.mono,
                                 w.unmapped))
    return words


def _words_of(chars: list[PdfChar]) -> list[PdfWord]:
    """Upright characters (in content order) into words."""
    words: list[PdfWord] = []
    guessed: list[int] = []  # indices of bullets guessed from unmappable glyphs
    cur: list[PdfChar] = []
    x0 = y0 = x1 = y1 = 0.0
    ink: tuple[float, float] | None = None  # the word's glyph outlines, across
    direction = 0  # of the word so far: +1 left-to-right, -1 right-to-left, 0 not known yet
    pending_break = False  # a generated space: a break only if the glyphs around it do not touch

    def close() -> None:
        if cur:
            word = _word(cur)
            if word is None and len(cur) <= 2 and all(c.unmapped or is_bad_char(c.text[0]) for c in cur):
                word = _line_start_glyph(cur, words[-1] if words else None)
                if word is not None:
                    guessed.append(len(words))
            if word is not None:
                words.append(word)
            cur.clear()

    for c in chars:
        text = c.text
        if c.soft_hyphen:
            if cur:
                cur.append(PdfChar("-", c.x0, c.y0, c.x1, c.y1, c.size, c.bold, font=c.font))
            close()
            pending_break = False
            continue
        if _space(c) or text == "\x00":
            if c.generated and "\n" not in text and "\r" not in text:
                pending_break = True
            else:
                close()
                pending_break = False
            continue
        d = _dir(text[0])
        if cur:
            height = max(1.0, y1 - y0)
            same_line = min(c.y1, y1) - max(c.y0, y0) > 0.3 * min(height, c.y1 - c.y0)
            advance_gap = max(c.x0 - x1, x0 - c.x1)
            gap, space = _word_gap(c, cur[-1], advance_gap, ink)
            tight_space = d >= 0 and direction >= 0 and gap >= space  # (right-to-left glyph boxes are too loose)
            if (not same_line or advance_gap > 0.6 * height or (d and direction == -d) or tight_space
                    # (pdfium's generated spaces are not trusted between fixed-pitch glyphs: it guesses one
                    # wherever a producer's rounding widens a cell's gap; a real space there is a whole cell)
                    or (pending_break and _apart(c, cur[-1], gap, ink) > TOUCH * c.em and not (c.mono and cur[-1].mono))
                    or c.hidden != cur[-1].hidden):
                close()
        pending_break = False
        if not cur:
            x0, y0, x1, y1 = c.x0, c.y0, c.x1, c.y1
            ink = (c.ink_x0, c.ink_x1) if c.ink_x0 is not None and c.ink_x1 is not None else None
            direction = 0
        else:
            x0, y0, x1, y1 = min(x0, c.x0), min(y0, c.y0), max(x1, c.x1), max(y1, c.y1)
            if ink is not None and c.ink_x0 is not None and c.ink_x1 is not None:
                ink = (min(ink[0], c.ink_x0), max(ink[1], c.ink_x1))
            else:
                ink = None
        if d:
            direction = d
        cur.append(c)
    close()
    # a guessed bullet stays only where text follows it on its line (not beside a line that was all garbage)
    drop = {k for k in guessed if k + 1 >= len(words) or not _same_line(words[k], words[k + 1])}
    return [w for k, w in enumerate(words) if k not in drop]


def _same_line(a: PdfWord, b: PdfWord) -> bool:
    return min(a.box.y1, b.box.y1) - max(a.box.y0, b.box.y0) > 0.3 * min(a.box.height, b.box.height)
