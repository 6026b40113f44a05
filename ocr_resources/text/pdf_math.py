"""A PDF page's glyphs as formulas need them (code, font, size, ink box, baseline) and its thin horizontal
rules (fraction bars, radical vincula), read with pypdfium2. Coordinates: points, origin top-left of the
page as rendered (see pipeline.render.display_matrix); call it in the process that owns the document
(pdfium is not thread-safe)."""

from __future__ import annotations

import ctypes

from ocr_resources.text.formulas import MathChar, Rule
from ocr_resources.text.math_symbols import is_math_font
from ocr_resources.text.pdf_chars import bold_font

_SPACES = frozenset(" \t\r\n\u00a0\u2002\u2003\u2009\u200a\u202f")
MAX_RULE_THICKNESS = 2.0  # pt: a fraction bar or vinculum; thicker filled shapes are something else


def _to_display(m: tuple[float, ...], x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def page_math_chars(textpage, display: tuple[float, ...]) -> list[MathChar]:
    """Every visible glyph of a text page (spaces and line breaks pdfium generated left out)."""
    import pypdfium2.raw as raw

    tp = textpage.raw
    n = raw.FPDFText_CountChars(tp)
    name = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    ox, oy = ctypes.c_double(), ctypes.c_double()
    matrix = raw.FS_MATRIX()
    fonts: dict[int, tuple[str, float, bool]] = {}
    map_error = getattr(raw, "FPDFText_HasUnicodeMapError", None)
    out: list[MathChar] = []
    pending_high = 0  # pdfium gives a character beyond the BMP as two indices: its UTF-16 surrogates
    for i in range(n):
        code = raw.FPDFText_GetUnicode(tp, i)
        if 0xD800 <= code < 0xDC00:
            pending_high = code
            continue
        if 0xDC00 <= code < 0xE000:
            if not pending_high:
                continue
            code = 0x10000 + ((pending_high - 0xD800) << 10) + (code - 0xDC00)
        pending_high = 0
        ch = chr(code)
        # (codes 0 and 12 are glyphs in TeX's extension font: only true spaces are skipped)
        if ch in _SPACES or raw.FPDFText_IsGenerated(tp, i) == 1:
            continue
        if not raw.FPDFText_GetCharBox(tp, i, ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom),
                                       ctypes.byref(top)):
            continue
        obj = raw.FPDFText_GetTextObject(tp, i)
        key = ctypes.cast(obj, ctypes.c_void_p).value or 0
        font = fonts.get(key)
        if font is None:
            raw.FPDFText_GetFontInfo(tp, i, name, len(name), ctypes.byref(flags))
            size = raw.FPDFText_GetFontSize(tp, i)
            if raw.FPDFText_GetMatrix(tp, i, ctypes.byref(matrix)):
                size *= abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
            font_name = name.value.decode("latin-1", "replace")
            font = fonts[key] = (font_name, size, bold_font(font_name, raw.FPDFText_GetFontWeight(tp, i)))
        xa, ya = _to_display(display, left.value, bottom.value)
        xb, yb = _to_display(display, right.value, top.value)
        raw.FPDFText_GetCharOrigin(tp, i, ctypes.byref(ox), ctypes.byref(oy))
        _, base = _to_display(display, ox.value, oy.value)
        unmapped = map_error is not None and map_error(tp, i) == 1
        out.append(MathChar(ch, min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb), font[1], font[0], base,
                            font[2], unmapped))
    return out


def may_hold_math(chars) -> bool:
    """Whether `page_math_chars` could find a math font on a page whose glyphs the text layer has read as
    `chars` (text.pdf_chars.PdfChar: every glyph's font but the space-like ones'). False lets a page skip
    reading its glyphs a second time; a space-like code that is not a true space (TeX's extension font draws
    glyphs at 0 and 12) has no font there, so it answers True."""
    if any(is_math_font(f) for f in {c.font for c in chars}):
        return True
    return any(not c.font and not c.generated and c.text not in _SPACES and (c.text.isspace() or c.text == "\x00")
               for c in chars)


def page_thin_rules(page, display: tuple[float, ...]) -> list[Rule]:
    """Thin horizontal strokes and filled bars of the page's drawing, top level and inside forms."""
    import pypdfium2.raw as raw

    out: list[Rule] = []
    l_, b_, r_, t_ = (ctypes.c_float() for _ in range(4))

    def walk(count, get) -> None:
        for k in range(count):
            obj = get(k)
            kind = raw.FPDFPageObj_GetType(obj)
            if kind == raw.FPDF_PAGEOBJ_FORM:
                walk(raw.FPDFFormObj_CountObjects(obj), lambda j, o=obj: raw.FPDFFormObj_GetObject(o, j))
                continue
            if kind != raw.FPDF_PAGEOBJ_PATH:
                continue
            if not raw.FPDFPageObj_GetBounds(obj, ctypes.byref(l_), ctypes.byref(b_), ctypes.byref(r_),
                                             ctypes.byref(t_)):
                continue
            xa, ya = _to_display(display, l_.value, b_.value)
            xb, yb = _to_display(display, r_.value, t_.value)
            x0, y0, x1, y1 = min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)
            if y1 - y0 <= MAX_RULE_THICKNESS and x1 - x0 > 2 * (y1 - y0):
                out.append((x0, y0, x1, y1))

    walk(raw.FPDFPage_CountObjects(page.raw), lambda j: raw.FPDFPage_GetObject(page.raw, j))
    return out


FormulaRecord = tuple[float, float, float, float, str, str, str]  # box, LaTeX, kind (display/inline), reason


def text_layer_formulas(page, textpage, display: tuple[float, ...], words: list) -> tuple[list, list[FormulaRecord]]:
    """The page's words with its formulas as words of LaTeX, and the formulas (see text.page_formulas). A page
    whose formulas cannot be read keeps its words as they were: a formula is never worth a page's text."""
    from ocr_resources.text.page_formulas import find_formulas, replace_words

    try:
        chars = page_math_chars(textpage, display)
        if not any(is_math_font(c.font) for c in chars):
            return words, []
        found = find_formulas(chars, page_thin_rules(page, display))
    except Exception:  # noqa: BLE001 (the words stand without their formulas)
        return words, []
    found = [f for f in found if _encodable(f.latex)]
    return replace_words(words, found), [(*f.box, f.latex, f.kind, f.reason) for f in found]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
