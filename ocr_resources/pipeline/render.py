"""Rendering pages and reading their text layer, in worker processes (pdfium is not thread-safe).

Work is split into chunks of consecutive pages of one document, one chunk per worker at a time, so memory
stays bounded whatever the document's length. Workers are supervised (`workers`: memory and time limits per
page), write page images straight into the content-addressed page store and send back only small records.
Pages are capped in pixels before rendering: a huge page renders at a lower dpi, recorded with the page."""

from __future__ import annotations

import ctypes
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ocr_resources.pipeline import page_box
from ocr_resources.pipeline.deskew import page_turn, quarter_and_rest, straighten, turn_image
from ocr_resources.pipeline.page_store import PageStore, as_stored, stored_gray
from ocr_resources.pipeline.workers import Limits, Partial, run_jobs
from ocr_resources.tables.rules import _compose, _matrix, image_rules, page_objects, pdf_page_rules
from ocr_resources.text.drawn import drawn_bullets, drawn_text_areas
from ocr_resources.text.math_symbols import font_family, is_math_font
from ocr_resources.text.pdf_chars import (
    TEX_LIGATURES,
    PdfChar,
    bold_font,
    byte_swapped,
    char_angle,
    chars_to_words,
)
from ocr_resources.text.pdf_math import FormulaRecord, may_hold_math, text_layer_formulas
from ocr_resources.types import Box

MIN_TEXT_LAYER_CHARS = 16  # fewer printable characters than this and the page goes to OCR
MAX_PAGE_PIXELS = 40_000_000  # ~A0 at 144 dpi; larger pages render at a lower dpi (120 MB as RGB)
SCAN_COVER = 0.5  # images drawn over at least this share of the page make it a scan with a source resolution
# text, box, size, bold, hidden, angle (degrees anticlockwise the word runs), mono (a fixed-pitch font),
# unmapped (glyphs without a Unicode mapping read by their font codes: checked against OCR)
WordRecord = tuple[str, float, float, float, float, float | None, bool, bool, int, bool, bool]


@dataclass
class RenderTask:
    document_id: str
    path: str
    page_numbers: list[int]  # 1-based
    dpi: int
    store_root: str
    max_pixels: int = MAX_PAGE_PIXELS


@dataclass
class RenderedPage:
    document_id: str
    page_no: int
    width_pt: float
    height_pt: float
    dpi: int
    width_px: int
    height_px: int
    image_sha256: str
    image_path: str
    text_layer_chars: int
    has_text_layer: bool
    words: list[WordRecord] = field(default_factory=list)
    rules: list[tuple[float, float, float, float, str]] = field(default_factory=list)  # (x0, y0, x1, y1, kind)
    rules_source: str = "vector"  # 'vector' (the PDF's drawing) or 'image' (lines found in a scanned page)
    formulas: list[FormulaRecord] = field(default_factory=list)  # from the text layer (text.page_formulas)
    error: str | None = None
    warning: str | None = None  # rendered, but worth knowing (downscaled, blank, a repaired page box)
    text_only: str | None = None  # why the page could not be rendered; its text layer is kept, on a blank image
    source_dpi: float | None = None  # a page without a text layer drawn as image(s): their pixels per inch
    # a text-layer page: areas (points) of ink that looks like text where the text layer has no word, found
    # while its pixels are at hand (`drawn_text_areas`, nothing else left out); None: not looked for
    drawn_areas: list[tuple[float, float, float, float]] | None = None
    # a text-layer page: bullets drawn as pictures or paths left of a line's first word (`drawn_bullets`), stored
    # as words "•" whose source is "drawing"
    drawn_bullets: list[tuple[float, float, float, float]] = field(default_factory=list)
    # a page without a text layer: degrees (anticlockwise) its image was turned to read upright (`deskew.page_turn`:
    # 90, 180, 270) and level (`deskew.straighten`: a crooked scan's few degrees); 0.0: neither was needed; None for
    # a text-layer page, whose words are the PDF's own
    deskew_degrees: float | None = None


@dataclass
class TextLayer:
    """A page's text layer, read before the page is rendered: it needs no rendering, so a page whose rendering
    is refused (too slow, too large, a crash) keeps it as a text-only page."""

    document_id: str
    page_no: int
    width_pt: float
    height_pt: float
    words: list[WordRecord]
    warning: str | None = None  # a repaired page box

    @property
    def chars(self) -> int:
        return sum(len(w[0]) for w in self.words)


STAND_IN_PIXELS = 1_000_000  # the blank image of a text-only page: small, whatever the page's size


def text_only_page(layer: TextLayer, dpi: int, store_root: str, reason: str) -> RenderedPage:
    """A page whose rendering failed but whose text layer was read: its words on a blank stand-in image (at
    most `STAND_IN_PIXELS`, at a whole dpi so coordinates convert exactly; a page too large for even 1 dpi gets
    its top-left corner at 1 dpi), so layout finds nothing and the text stage reads the text layer. The page is
    recorded as failed, so a later run renders it again."""
    from PIL import Image

    res = max(1, page_dpi(layer.width_pt, layer.height_pt, dpi, STAND_IN_PIXELS))
    side = int(math.sqrt(STAND_IN_PIXELS))
    size = (min(side, max(1, round(layer.width_pt * res / 72))), min(side, max(1, round(layer.height_pt * res / 72))))
    sha, rel = PageStore(store_root).put_image(Image.new("RGB", size, "white"))
    note = (f"{reason}; the page is kept text-only: its text layer ({len(layer.words)} words) on a blank image "
            f"at {res} dpi")
    return RenderedPage(layer.document_id, layer.page_no, layer.width_pt, layer.height_pt, res, size[0], size[1],
                        sha, rel, layer.chars, layer.chars >= MIN_TEXT_LAYER_CHARS, layer.words,
                        warning=layer.warning, text_only=note)


def display_matrix(page) -> tuple[float, float, float, float, float, float]:
    """PDF user space -> the page as rendered: points, origin top-left, the visible box's corner at 0 and the
    page's /Rotate applied (x' = a*x + c*y + e, y' = b*x + d*y + f). The box is pdfium's (see page_box), never
    the file's raw numbers, which may be inverted or unreadable."""
    return page_box.normalise(page).display


def _to_display(m: tuple[float, ...], left: float, bottom: float, right: float, top: float) -> list[float]:
    a, b, c, d, e, f = m
    xa, xb = a * left + c * bottom + e, a * right + c * top + e
    ya, yb = b * left + d * bottom + f, b * right + d * top + f
    # min() and max() of each pair, spelt out: this runs twice for every character of every page
    return [xa if xa <= xb else xb, ya if ya <= yb else yb, xb if xb > xa else xa, yb if yb > ya else ya]


Display = tuple[float, float, float, float, float, float]


def text_layer_words(textpage, display: Display | float) -> list[WordRecord]:
    """Clean words with boxes in PDF points, origin top-left of the rendered page (`display`: see
    display_matrix; a bare page height means an unrotated page), with font size, boldness and visibility,
    from the page's characters (see text.pdf_chars for how characters become words)."""
    return text_layer(textpage, display)[0]


def text_layer(textpage, display: Display | float) -> tuple[list[WordRecord], bool]:
    """`text_layer_words`, and whether the page may hold math (pdf_math.may_hold_math): the formula finder
    reads a page's glyphs again only then (most pages have no math font)."""
    n = textpage.count_chars()
    if n <= 0:
        return [], False
    if not isinstance(display, tuple):
        display = (1.0, 0.0, 0.0, -1.0, 0.0, float(display))
    chars = _pdf_chars(textpage, n, display)
    return ([(w.text, w.box.x0, w.box.y0, w.box.x1, w.box.y1, w.size, w.bold, w.hidden, w.angle, w.mono,
              w.unmapped)
             for w in chars_to_words(chars)], may_hold_math(chars))


def _pdf_chars(textpage, n: int, display: Display) -> list[PdfChar]:
    """Per-character facts pdfium knows: loose (font-metric) box, effective font size, font name and
    weight, render mode, whether pdfium generated the character or could not map it to Unicode (its soft
    hyphens and line-end hyphens come as U+FFFE). Font facts are read once per text object."""
    import ctypes

    import pypdfium2.raw as raw

    tp = textpage.raw
    map_error = getattr(raw, "FPDFText_HasUnicodeMapError", None)
    fonts: dict[int, tuple[str, bool, bool, float, float, bool, int | None]] = {}  # per text object: font, bold,
    # invisible, size, the font's space width in ems, fixed pitch, the glyphs' angle
    rect, matrix = raw.FS_RECTF(), raw.FS_MATRIX()
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    ink_refs = (ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top))
    space = ctypes.c_float()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    ox_ref, oy_ref = ctypes.byref(ox), ctypes.byref(oy)
    rect_ref, matrix_ref = ctypes.byref(rect), ctypes.byref(matrix)
    name_buf = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    void_p = ctypes.c_void_p
    out: list[PdfChar] = []
    high = 0  # a character beyond the BMP comes as two indices, its UTF-16 halves: read at the second
    for i in range(n):
        code = raw.FPDFText_GetUnicode(tp, i)  # one code point per index (text ranges shift at surrogates)
        if 0xD800 <= code < 0xDC00:
            high = code
            continue
        if 0xDC00 <= code < 0xE000:  # (math italic letters, 𝑔 𝐸 𝑓: lost as two halves, "Assume that is")
            if not high:
                continue
            code, high = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00), 0
        # 2: pdfium's code for a soft hyphen (or for an unmapped glyph whose font code is 2)
        ch = "\ufffe" if code == 2 and raw.FPDFText_IsHyphen(tp, i) == 1 else chr(code)
        # (a white-space code that may be a byte-swapped character, U+3000 for "0", keeps its box and font for
        # `chars_to_words` to tell)
        if (ch.isspace() and not byte_swapped(code) and not _glyph_code(tp, i, ch, map_error, name_buf)) \
                or ch == "\x00":
            out.append(PdfChar(ch, 0, 0, 0, 0, generated=raw.FPDFText_IsGenerated(tp, i) == 1))
            continue
        raw.FPDFText_GetLooseCharBox(tp, i, rect_ref)
        obj = raw.FPDFText_GetTextObject(tp, i)
        key = ctypes.cast(obj, void_p).value or 0
        font = fonts.get(key)
        if font is None:
            raw.FPDFText_GetFontInfo(tp, i, name_buf, len(name_buf), ctypes.byref(flags))
            name = name_buf.value.decode("latin-1", "replace")
            bold = bold_font(name, raw.FPDFText_GetFontWeight(tp, i))
            hidden = bool(key) and raw.FPDFTextObj_GetTextRenderMode(obj) == raw.FPDF_TEXTRENDERMODE_INVISIBLE
            size = raw.FPDFText_GetFontSize(tp, i)
            if raw.FPDFText_GetMatrix(tp, i, matrix_ref):
                size *= abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
            space_em = 0.0
            if key and raw.FPDFFont_GetGlyphWidth(raw.FPDFTextObj_GetFont(obj), 32, ctypes.c_float(1.0),
                                                  ctypes.byref(space)):
                space_em = space.value
            font = fonts[key] = (name, bold, hidden, size, space_em, _fixed_pitch(flags.value, name),
                                 _char_angle(tp, i, display) if key else None)
        x0, y0, x1, y1 = _to_display(display, rect.left, rect.bottom, rect.right, rect.top)
        ink_x0 = ink_x1 = None
        if raw.FPDFText_GetCharBox(tp, i, *ink_refs):  # the glyph's outline: its ink, whatever the font's widths
            ink_x0, _, ink_x1, _ = _to_display(display, left.value, bottom.value, right.value, top.value)
        angle = font[6] if font[6] is not None else _char_angle(tp, i, display)  # (one matrix per text object)
        origin_x = None
        # (only after a space pdfium generated within a line: where `_apart` asks for it, not at every line start)
        if out and out[-1].generated and out[-1].text.strip("\r\n") == out[-1].text \
                and raw.FPDFText_GetCharOrigin(tp, i, ox_ref, oy_ref):
            origin_x = _to_display(display, ox.value, oy.value, ox.value, oy.value)[0]  # (for `_apart`)
        out.append(PdfChar(ch, x0, y0, x1, y1, font[3],
                           font[1], False, ch in "\ufffe\u00ad", font[2],
                           map_error is not None and map_error(tp, i) == 1, font[0], ink_x0, ink_x1, font[4], angle,
                           font[5], origin_x))
    return out


def _char_angle(tp, i: int, display: Display) -> int:
    """Which way the glyph at `i` runs (text.pdf_chars.char_angle): pdfium's angle is clockwise in PDF space
    (y up), from its text object's matrix, turned onto the display (a page's /Rotate is in the display matrix)."""
    import pypdfium2.raw as raw

    theta = max(0.0, raw.FPDFText_GetCharAngle(tp, i))  # -1: not known
    vx, vy = math.cos(theta), -math.sin(theta)
    return char_angle(display[0] * vx + display[2] * vy, display[1] * vx + display[3] * vy)


_MONO_NAMES = ("mono", "courier", "consol", "menlo", "monaco", "typewriter", "cmtt", "sfltt", "sourcecode",
               "inconsolata", "firacode", "andale", "fixedsys",
               # URW's Courier (NimbusMonL, NimbusMonPS), TeX's typewriter faces (EC, TC, TX, Latin Modern, psnfss
               # Courier, TeX Gyre Cursor), Letter Gothic, Cousine
               "nimbusmon", "sftt", "ectt", "tctt", "txtt", "lmtt", "pcrr", "texgyrecursor", "lettergothic", "cousine")
_FIXED_PITCH_FLAG = 1  # the font descriptor's FixedPitch flag (PDF 32000-1, table 123)


def _glyph_code(tp, i: int, ch: str, map_error, name_buf) -> bool:
    """Whether a white-space control at index `i` is a glyph of a text font without a Unicode mapping: some of
    TeX's ligature codes (pdf_chars.TEX_LIGATURES) are controls Python counts as white space; read as spaces
    they would cut "confidence" in two."""
    import pypdfium2.raw as raw

    if ch not in TEX_LIGATURES or map_error is None or map_error(tp, i) != 1 or raw.FPDFText_IsGenerated(tp, i) == 1:
        return False
    raw.FPDFText_GetFontInfo(tp, i, name_buf, len(name_buf), None)
    return not is_math_font(name_buf.value.decode("latin-1", "replace"))


def _fixed_pitch(flags: int, name: str) -> bool:
    """A fixed-pitch font (code listings, typewriter text), by its descriptor's flag or by its name (TeX's and
    most producers' fonts do not set the flag). Not by its glyph widths: a subset font that lacks the glyphs
    asked for reports one default width for them all."""
    return bool(flags & _FIXED_PITCH_FLAG) or any(m in font_family(name) for m in _MONO_NAMES)


def source_image_dpi(page, width_pt: float, height_pt: float) -> float | None:
    """The resolution of the image(s) a scanned page is drawn from: pixels per inch of drawn size, the lower of
    the two axes (a line's height may lie along either), weighted by drawn area over the images. None where
    images cover less than `SCAN_COVER` of the page (a vector page, a logo). A line 24 px high in our 144-dpi
    render of a 72-dpi scan is 12 pixels of the source: the source is what the recogniser has to go on."""
    import pypdfium2.raw as pdfium_c

    found: list[tuple[float, float]] = []  # (drawn area pt^2, dpi)
    for obj, kind, parent in page_objects(page, (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)):
        if kind != pdfium_c.FPDF_PAGEOBJ_IMAGE:
            continue
        a, b, c, d, _, _ = _compose(_matrix(pdfium_c, obj), parent)
        w_px, h_px = ctypes.c_uint(), ctypes.c_uint()
        if not pdfium_c.FPDFImageObj_GetImagePixelSize(obj, ctypes.byref(w_px), ctypes.byref(h_px)):
            continue
        w_in, h_in = math.hypot(a, b) / 72, math.hypot(c, d) / 72  # the unit square's sides, drawn
        if w_in > 0 and h_in > 0 and w_px.value > 1 and h_px.value > 1:
            found.append((abs(a * d - b * c), min(w_px.value / w_in, h_px.value / h_in)))
    area = sum(a for a, _ in found)
    if not found or width_pt <= 0 or height_pt <= 0 or area < SCAN_COVER * width_pt * height_pt:
        return None
    return round(sum(a * dpi for a, dpi in found) / area, 1)


def page_dpi(width_pt: float, height_pt: float, dpi: int, max_pixels: int) -> int:
    """The resolution to render a page at: `dpi`, or lower when the image would pass `max_pixels` (a 200-inch
    page at 144 dpi is 830 million pixels); whole dpi, so coordinates convert exactly. 0 = cannot render."""
    if not (width_pt > 0 and height_pt > 0) or max_pixels <= 0:
        return 0
    fit = int(72 * math.sqrt(max_pixels / (width_pt * height_pt)))
    return max(0, min(dpi, fit))


def page_image(path: str, page_no: int, dpi: int, max_pixels: int = MAX_PAGE_PIXELS, turn: float = 0.0):
    """One page rendered again, at `dpi` (or lower to stay under `max_pixels`), with its box read as
    `iter_render` reads it and turned `turn` degrees as it was straightened (pages.deskew_degrees): (RGB image,
    the dpi used). For a second, finer read of a page's small print."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[page_no - 1]
        box, textpage, *_ = _upright(page)  # (turned as `iter_render` turned it, so the pixels match its coordinates)
        textpage.close()
        quarter, turn = quarter_and_rest(turn)
        if quarter:  # a scan read sideways or upside down: turned as the render stage turned it
            _turn(page, box, 360 - quarter)
        width_pt, height_pt = page.get_size()
        dpi = page_dpi(width_pt, height_pt, dpi, max_pixels)
        if dpi < 1:
            raise ValueError(f"page {page_no} cannot be rendered within {max_pixels:,} pixels")
        image = page.render(scale=dpi / 72).to_pil()
        page.close()
        return turn_image(image if image.mode == "RGB" else image.convert("RGB"), turn), dpi
    finally:
        pdf.close()


@dataclass
class PageImage:
    """A page rendered again (`PageImageJob`): the RGB image and the dpi used, or why there is none."""

    image: Any  # PIL RGB image; None on failure
    dpi: int
    error: str | None = None


@dataclass
class PageImageJob:
    """One page rendered again at another dpi (`page_image`) as supervised work (see `workers`): pdfium on an
    untrusted file stays in a render worker, under its memory and time limits, so a crash or a memory bomb
    costs this image, not the run."""

    path: str
    page_no: int
    dpi: int
    max_pixels: int = MAX_PAGE_PIXELS
    turn: float = 0.0  # degrees, as the render stage straightened the page (pages.deskew_degrees)

    @property
    def units(self) -> list[int]:
        return [self.page_no]

    def run(self) -> Iterator[PageImage]:
        try:
            image, dpi = page_image(self.path, self.page_no, self.dpi, self.max_pixels, self.turn)
        except MemoryError:
            yield PageImage(None, 0, "the page needs more memory than a render worker may use")
        except Exception as exc:  # the file changed or vanished since it was rendered, a page pdfium refuses
            yield PageImage(None, 0, f"{type(exc).__name__}: {exc}")
        else:
            yield PageImage(image, dpi)

    def rest(self, start: int) -> PageImageJob | None:
        return None  # one unit

    def failed(self, page_no: int, reason: str, partial: Any = None) -> PageImage:
        return PageImage(None, 0, f"rendering {reason}")


def render_page_image(path: str, page_no: int, dpi: int, limits: Limits | None = None,
                      max_pixels: int = MAX_PAGE_PIXELS, turn: float = 0.0) -> PageImage:
    """`page_image` in a supervised render worker (one the run keeps: no start-up cost after the first)."""
    # every result is read, so the worker ends its job healthy and is kept for the next call
    return list(run_jobs([PageImageJob(path, page_no, dpi, max_pixels, turn)], 1, limits))[0]


def _is_blank(image) -> bool:
    """One colour over the whole page (checked on a small copy: cheap at any size)."""
    small = image.reduce(max(1, min(image.width, image.height) // 64)) if min(image.size) > 64 else image
    return all(lo == hi for lo, hi in small.getextrema()) and all(lo == hi for lo, hi in image.getextrema())


def iter_render(task: RenderTask) -> Iterator[RenderedPage | Partial]:
    """Render the task's pages one by one (in a worker process): each page at most `task.max_pixels`. A page's
    text layer is read first and sent ahead as a `Partial` (see workers): if rendering is then refused or
    kills the worker, the page is still kept text-only."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    store = PageStore(task.store_root)
    try:
        pdf = pdfium.PdfDocument(task.path)
    except Exception as exc:  # the file changed or vanished since it was inspected
        for page_no in task.page_numbers:
            yield RenderedPage(task.document_id, page_no, 0, 0, task.dpi, 0, 0, "", "", 0, False,
                               error=f"cannot open the PDF again: {type(exc).__name__}: {exc}")
        return
    try:
        for page_no in task.page_numbers:
            layer: TextLayer | None = None
            try:
                page = pdf[page_no - 1]
                box, textpage, words, math, turn = _upright(page)  # once: rendering, words and rules use this box
                width_pt, height_pt = page.get_size()
                formulas: list[FormulaRecord] = []
                if math:
                    words, formulas = text_layer_formulas(page, textpage, box.display, words)
                textpage.close()
                layer = TextLayer(task.document_id, page_no, width_pt, height_pt, words, box.repair)
                if words:
                    yield Partial(layer)
                dpi = page_dpi(width_pt, height_pt, task.dpi, task.max_pixels)
                if dpi < 1:
                    raise _Refused(f"page size {width_pt:g} x {height_pt:g} pt cannot be rendered within "
                                   f"{task.max_pixels:,} pixels")
                warning = box.repair
                if turn:
                    note = f"the page's text is set sideways: the page is read turned {turn} degrees clockwise"
                    warning = _noted(warning, note)
                if dpi < task.dpi:
                    note = (f"page is {width_pt / 72:.0f} x {height_pt / 72:.0f} in: rendered at {dpi} dpi "
                            f"instead of {task.dpi} to stay under {task.max_pixels:,} pixels")
                    warning = _noted(warning, note)
                image = page.render(scale=dpi / 72).to_pil()
                if image.mode != "RGB":  # pdfium's default bitmap is already RGB: no copy of the page
                    image = image.convert("RGB")
                chars = layer.chars
                digital = chars >= MIN_TEXT_LAYER_CHARS
                turned = None
                if not digital:  # a crooked scan is levelled before layout and OCR read it
                    image, turned = straighten(image)
                quarter = 0 if digital else page_turn(image)  # (its lines' lean is read level)
                if quarter:  # a scan lying sideways or upside down is read turned upright, as a sideways text page is
                    box = _turn(page, box, 360 - quarter)  # (/Rotate turns clockwise)
                    width_pt, height_pt = page.get_size()
                    dpi = page_dpi(width_pt, height_pt, task.dpi, task.max_pixels)
                    textpage = page.get_textpage()
                    words, _ = text_layer(textpage, box.display)
                    textpage.close()
                    layer = TextLayer(task.document_id, page_no, width_pt, height_pt, words, box.repair)
                    image, turned = straighten(page.render(scale=dpi / 72).to_pil().convert("RGB"))
                    turned += quarter
                    note = f"scanned {'upside down' if quarter == 180 else 'sideways'}: read turned {quarter} degrees"
                    warning = _noted(warning, note)
                if turned is not None and turned % 90:
                    fine = quarter_and_rest(turned)[1]
                    way = "anticlockwise" if fine > 0 else "clockwise"
                    note = (f"scanned {abs(fine):.2f} degrees crooked: straightened (turned {way}); "
                            f"its boxes are the straight image's")
                    warning = _noted(warning, note)
                if _is_blank(image):
                    objects = pdfium_c.FPDFPage_CountObjects(page.raw)
                    note = (f"page renders blank although its content has {objects} objects (damaged or "
                            f"invisible content?)" if objects > 0 else "page is blank: it has no content to render")
                    warning = _noted(warning, note)
                stored = as_stored(image)  # one channel where the page is all grey
                sha, rel = store.put_image(stored)
                # scanned pages have no drawing to read: their ruling lines come from the image
                rules = pdf_page_rules(page, box.display) if digital else image_rules(image, dpi)
                out = RenderedPage(task.document_id, page_no, width_pt, height_pt, dpi, image.width,
                                   image.height, sha, rel, chars, digital, words,
                                   [r.as_tuple() for r in rules], "vector" if digital else "image")
                out.warning = warning
                out.formulas = formulas
                out.source_dpi = None if digital else source_image_dpi(page, width_pt, height_pt)
                out.deskew_degrees = turned
                if digital:  # so the OCR stage decodes this page's image only where it may hold drawn text
                    gray, boxes = stored_gray(stored), [Box(*w[1:5]) for w in words]
                    areas = drawn_text_areas(gray, dpi, boxes, [])
                    out.drawn_areas = [(b.x0, b.y0, b.x1, b.y1) for b in areas]
                    out.drawn_bullets = [(b.x0, b.y0, b.x1, b.y1) for b in drawn_bullets(gray, dpi, boxes)]
                    del gray
                del image, stored
                page.close()
                yield out
            except MemoryError:
                yield _failed_page(task, page_no, "the page needs more memory than a render worker may use", layer)
            except _Refused as exc:
                yield _failed_page(task, page_no, str(exc), layer)
            except Exception as exc:  # one bad page must not lose the rest of the document
                yield _failed_page(task, page_no, f"{type(exc).__name__}: {exc}", layer)
    finally:
        pdf.close()


SIDEWAYS_SHARE = 2 / 3  # of a page's visible characters, turned one way, for the page to be read turned
SIDEWAYS_MIN_CHARS = 40


def _upright(page):
    """The page's box (repaired where broken), its text page, words, whether it may hold math, and the turn applied:
    a page whose text is set sideways (`sideways_turn`) is read as if turned, by setting its /Rotate in memory."""
    box = page_box.normalise(page)
    textpage = page.get_textpage()
    words, math = text_layer(textpage, box.display)
    turn = sideways_turn(words)
    if turn:
        box = _turn(page, box, turn)
        words, math = text_layer(textpage, box.display)
    return box, textpage, words, math, turn


def _turn(page, box: page_box.PageBox, clockwise: int) -> page_box.PageBox:
    """The page turned `clockwise` degrees further (its /Rotate, set in memory), and its box read again."""
    page.set_rotation((box.rotation + clockwise) % 360)
    return page_box.normalise(page)


def _noted(warning: str | None, note: str) -> str:
    """A page's warning with one more note."""
    return f"{warning}; {note}" if warning else note


def sideways_turn(words: list[WordRecord]) -> int:
    """Degrees (90, 180, 270) to turn a page clockwise so that its text reads upright, where most of its text is
    set turned one way on an upright page (a sideways table or figure on a portrait page, a landscape page stored
    portrait); 0 otherwise. Layout, reading order and tables then see the page as a reader holding it turned does."""
    chars: dict[int, int] = {}
    for w in words:
        if not w[7]:  # (hidden text, an OCR layer under a scan, is no reader's)
            chars[w[8] % 360] = chars.get(w[8] % 360, 0) + len(w[0])
    total = sum(chars.values())
    angle, most = max(chars.items(), key=lambda kv: kv[1], default=(0, 0))
    if angle in (90, 180, 270) and most >= SIDEWAYS_MIN_CHARS and most >= SIDEWAYS_SHARE * total:
        return angle
    return 0


class _Refused(ValueError):
    """A page not rendered on purpose (too large for the pixel budget)."""


def _failed_page(task: RenderTask, page_no: int, reason: str, layer: TextLayer | None) -> RenderedPage:
    """An error page, or a text-only page where the text layer was read before rendering failed."""
    if layer is not None and layer.words:
        return text_only_page(layer, task.dpi, task.store_root, reason)
    return RenderedPage(task.document_id, page_no, 0, 0, task.dpi, 0, 0, "", "", 0, False, error=reason)


def render_chunk(task: RenderTask) -> list[RenderedPage]:
    return [p for p in iter_render(task) if isinstance(p, RenderedPage)]


@dataclass
class RenderJob:
    """A task as supervised work (see `workers`): a page whose worker dies or overruns becomes an error page."""

    task: RenderTask

    @property
    def units(self) -> list[int]:
        return self.task.page_numbers

    def run(self) -> Iterator[RenderedPage | Partial]:
        return iter_render(self.task)

    def rest(self, start: int) -> RenderJob | None:
        left = self.task.page_numbers[start:]
        return RenderJob(replace(self.task, page_numbers=left)) if left else None

    def failed(self, page_no: int, reason: str, partial: TextLayer | None = None) -> RenderedPage:
        return _failed_page(self.task, page_no, f"rendering {reason}", partial)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def render_pages(tasks: list[RenderTask], workers: int | None = None, limits: Limits | None = None
                 ) -> Iterator[RenderedPage]:
    """Yield rendered pages as they finish (pages of one task in order, tasks interleaved). Every page is
    rendered in a supervised worker process, even for one page: pdfium on an untrusted file may crash, hang
    or take gigabytes, and that must cost the page, not the run."""
    workers = max(1, min(workers or default_workers(), len(tasks) or 1))
    yield from run_jobs((RenderJob(t) for t in tasks), workers, limits)


def chunk_tasks(document_id: str, path: Path, page_count: int, dpi: int, store_root: Path,
                chunk_pages: int = 8, pages: list[int] | None = None,
                max_pixels: int = MAX_PAGE_PIXELS) -> list[RenderTask]:
    """Tasks of up to `chunk_pages` pages each; `pages` (1-based) limits them to some pages (resume)."""
    numbers = list(range(1, page_count + 1)) if pages is None else sorted(pages)
    return [RenderTask(document_id, os.fsdecode(path), numbers[i : i + chunk_pages], dpi, str(store_root),
                       max_pixels) for i in range(0, len(numbers), chunk_pages)]
