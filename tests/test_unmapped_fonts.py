"""Text in a font without a Unicode mapping (a Type 3 font with no ToUnicode, as TeX's bitmap fonts from dvips
are): pdfium gives each glyph's code, which in such a font is usually the letter itself, and TeX's ligatures at
control codes. The words are read by their codes, marked `unmapped`, and kept only where OCR of the same area
agrees; a font whose codes are not its letters is read by OCR. The test pages are Type 3 fonts built here,
each glyph drawing Helvetica letters, so the page shows real text whatever its codes say."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth

from ocr_resources.engines import EngineSettings, engine_class
from ocr_resources.pipeline.render import text_layer_words
from ocr_resources.pipeline.stages.text import _with_regions
from ocr_resources.text.pdf_chars import PdfChar, chars_to_words
from ocr_resources.text.quality import UNMAPPED, assess
from ocr_resources.text.source import DRAWN, OcrRequest, plan
from ocr_resources.types import Box, Word
from tests.test_text_source import run_text

pytestmark = pytest.mark.timeout(300)
LINES = ["The first office staff confirmed the fluctuation of prices",
         "Members are asked to register before the end of the month"]
T1_LIGATURES = {"ff": 0x1B, "fi": 0x1C, "fl": 0x1D}  # where TeX's T1 (EC) fonts set them


def type3_pdf(lines: list[str], shift: int = 0) -> bytes:
    """One page of `lines` in a Type 3 font with no ToUnicode and glyph names pdfium cannot map. Each code
    draws its letters (a T1 ligature code its two letters); `shift` moves every letter's code by that much,
    as a font with an encoding of its own does (the codes then name other letters than the glyphs show)."""
    def codes(line: str) -> list[int]:
        out, i = [], 0
        while i < len(line):
            if line[i:i + 2] in T1_LIGATURES and not shift:
                out.append(T1_LIGATURES[line[i:i + 2]])
                i += 2
            else:
                out.append(ord(line[i]) + (shift if line[i] != " " else 0))
                i += 1
        return out

    coded = [codes(line) for line in lines]
    used = sorted({c for cs in coded for c in cs})
    ligature = {v: k for k, v in T1_LIGATURES.items()}
    glyph = {c: ligature.get(c) or (chr(c - shift) if c != 32 else " ") for c in used}
    objects: dict[int, bytes] = {}
    procs = {}
    for n, c in enumerate(used, start=10):
        letters = glyph[c].replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        body = f"{stringWidth(glyph[c], 'Helvetica', 1000):.0f} 0 d0 BT /H 1000 Tf ({letters}) Tj ET".encode()
        objects[n] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(body), body)
        procs[c] = n
    widths = " ".join(f"{stringWidth(glyph[c], 'Helvetica', 1000):.0f}" if c in glyph else "0"
                      for c in range(used[0], used[-1] + 1))
    content = "BT /T3 12 Tf 72 700 Td 17 TL " + " ".join(
        "(" + "".join(f"\\{c:03o}" for c in cs) + ") Tj T*" for cs in coded) + " ET"
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    objects[3] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
                  b" /Resources << /Font << /T3 5 0 R >> >> >>")
    objects[4] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content.encode())
    objects[5] = (f"<< /Type /Font /Subtype /Type3 /FontBBox [0 -250 1000 1000] /FontMatrix [0.001 0 0 0.001 0 0]"
                  f" /FirstChar {used[0]} /LastChar {used[-1]} /Widths [{widths}]"
                  f" /Encoding << /Type /Encoding /Differences [{' '.join(f'{c} /g{c}' for c in used)}] >>"
                  f" /CharProcs << {' '.join(f'/g{c} {procs[c]} 0 R' for c in used)} >>"
                  f" /Resources << /Font << /H 6 0 R >> >> >>").encode()
    objects[6] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for k in sorted(objects):
        offsets[k] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (k, objects[k])
    start, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for k in range(1, size):
        out += b"%010d 00000 n \n" % offsets[k] if k in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, start)
    return bytes(out)


def layer_words(data: bytes) -> list[tuple]:
    pdf = pdfium.PdfDocument(data)
    page = pdf[0]
    tp = page.get_textpage()
    try:
        return text_layer_words(tp, page.get_size()[1])
    finally:
        tp.close()
        page.close()
        pdf.close()


def test_a_font_without_unicode_is_read_by_its_codes_with_tex_ligatures():
    words = layer_words(type3_pdf(LINES))
    assert " ".join(w[0] for w in words) == " ".join(LINES)  # "first", "office", "staff": ligature codes
    assert all(w[10] for w in words)  # every word marked: read by codes


def test_unmapped_math_glyphs_and_controls_are_still_dropped():
    def chars(text: str, font: str) -> list[PdfChar]:
        return [PdfChar(ch, 10 + 6 * k, 10, 15 + 6 * k, 20, 10, unmapped=True, font=font) for k, ch in enumerate(text)]

    # a math font's codes are not its letters (CMSY's 'k' is a double bar): dropped, as before
    assert chars_to_words(chars("kkk", "CMSY10")) == []
    # a text font's printable codes are read, marked; a control code that is no ligature is no character
    words = chars_to_words(chars("ab\x07c", "T3Font"))
    assert [(w.text, w.unmapped) for w in words] == [("abc", True)]


def test_words_read_by_codes_are_checked_against_ocr():
    def word(text: str, x: float, unmapped: bool) -> Word:
        return Word(text, Box(x, 100, x + 30, 110), 1.0, 10, unmapped=unmapped)

    coded = [word(t, 80 + 40 * k, True) for k, t in enumerate("the first office staff members".split())]
    verdict = assess(coded)
    assert verdict.ok and verdict.verify and verdict.reason == UNMAPPED
    # a region with a single such word among mapped ones is checked too
    mixed = [word("Total", 80, False), word("amount", 120, False), word("due", 160, False), word("first", 200, True),
             word("today", 240, False), word("now", 280, False)]
    page = Box(0, 0, 612, 792)
    assert [(r.region, r.reason, r.verify) for r in plan(mixed, [Box(70, 90, 400, 120)], ["text"], page)] == [
        (0, UNMAPPED, True)]
    assert plan([word("Total", 80, False)] * 6, [Box(70, 90, 400, 120)], ["text"], page) == []


@pytest.fixture(scope="module")
def ppocr():
    return engine_class("ocr", "ppocr")(EngineSettings(role="ocr", engine="ppocr"))


def test_a_page_in_such_a_font_keeps_its_text_layer_where_ocr_agrees(tmp_path, ppocr):
    rows = run_text(tmp_path, type3_pdf(LINES), [(Box(66, 80, 560, 125), "text")], ppocr)
    body = next(r for r in rows if r["text"])
    assert body["text"] == "\n".join(LINES)  # the codes' text, not OCR's reading
    assert body["text_source"] == "text_layer"
    assert body["text_source_reason"].startswith(UNMAPPED) and "agrees with OCR" in body["text_source_reason"]


def test_a_font_whose_codes_are_other_letters_is_read_by_ocr(tmp_path, ppocr):
    assert layer_words(type3_pdf(LINES, shift=1))[0][0] == "Uif"  # what the codes say
    rows = run_text(tmp_path, type3_pdf(LINES, shift=1), [(Box(66, 80, 560, 125), "text")], ppocr)
    text = " ".join(r["text"] for r in rows)
    assert "Uif" not in text and "register before the end" in text
    assert {r["text_source"] for r in rows if r["text"]} == {"ocr"}
    assert all("disagrees with OCR" in r["text_source_reason"] for r in rows if r["text"])


def test_a_region_read_on_its_own_is_not_read_again_by_a_drawn_area_over_it():
    # a drawn-text area may be merged over a region that has its own OCR request (no text layer there): the
    # region's words come from that request once, not from both
    page = {"_regions": [{"x0": 60, "y0": 200, "x1": 560, "y1": 240, "label": "text"}], "_words": []}
    ocr = [Word("It", Box(72, 210, 80, 220), 0.99), Word("can", Box(84, 210, 100, 220), 0.99)]
    got = [({"_crop": OcrRequest(0, "no text layer in this region")}, ocr),
           ({"_crop": OcrRequest(None, DRAWN, box=Box(60, 100, 560, 400))}, [Word(w.text, w.box, 0.99) for w in ocr])]
    read = _with_regions(page, got, lambda page, words, *rest: words)
    assert [w.text for w in read] == ["It", "can"]
