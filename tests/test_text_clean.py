"""Clean characters: from pdfium's characters to words, and the cleaning every stored text goes through.
The PDF cases are small generated pages read by the real text-layer extraction."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from reportlab.pdfgen import canvas

from ocr_resources.pipeline.render import text_layer_words
from ocr_resources.text.clean import bad_char_count, clean_text
from ocr_resources.text.hyphens import Vocabulary, dehyphenate, join_choice
from ocr_resources.text.pdf_chars import PdfChar, chars_to_words


def pdf_words(draw) -> list[str]:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(400, 300))
    c.setFont("Helvetica", 12)
    draw(c)
    c.showPage()
    c.save()
    pdf = pdfium.PdfDocument(buf.getvalue())
    page = pdf[0]
    textpage = page.get_textpage()
    try:
        return [w[0] for w in text_layer_words(textpage, page.get_size()[1])]
    finally:
        textpage.close()
        page.close()
        pdf.close()


@pytest.mark.parametrize(("raw", "clean"), [
    ("responsi\ufffebility", "responsibility"),
    ("a\u00adb", "ab"),
    ("e\u0301te\u0301", "\u00e9t\u00e9"),  # NFC
    ("\ufb01nal e\ufb00ort", "final effort"),  # ligatures expanded
    ("\ufefb", "\u0644\u0627"),  # Arabic lam-alef presentation form, in logical order
    ("x\x07y\x1b\ufffdz\ue000", "xyz"),  # controls, replacement char, private use
    ("\uf0b7 item", "\u2022 item"),  # Symbol-font bullet
    ("a\u00a0b  c\u2003d", "a b c d"),
    ("x\u00b2 \u00bd", "x\u00b2 \u00bd"),  # NFKC only for ligatures: superscripts and fractions stay
])
def test_clean_text(raw: str, clean: str):
    assert clean_text(raw) == clean
    assert bad_char_count(clean_text(raw)) == 0


def test_soft_hyphen_and_line_end_hyphen_from_a_pdf():
    def draw(c):
        c.drawString(50, 250, "The responsi\u00ad")
        c.drawString(50, 235, "bility of modifi-")
        c.drawString(50, 220, "cations is ours.")

    words = pdf_words(draw)
    assert words == ["The", "responsi-", "bility", "of", "modifi-", "cations", "is", "ours."]
    assert not any(bad_char_count(w) for w in words)
    lines = ["The responsi-", "bility of modifi-", "cations is ours."]
    assert " ".join(dehyphenate(lines, Vocabulary(lines))) == "The responsibility of modifications is ours."


def test_spacing_accent_drawn_over_its_letter_is_composed():
    def draw(c):
        c.drawString(50, 190, "Jan Minac")
        w = c.stringWidth("J", "Helvetica", 12)
        c.drawString(50 + w + 1.0, 192, "\u00b4")  # TeX puts the accent glyph over the letter
        wa = c.stringWidth("Jan Min", "Helvetica", 12)
        c.drawString(50 + wa + 1.0, 192, "\u00b4")
        wc = c.stringWidth("Jan Mina", "Helvetica", 12)
        c.drawString(50 + wc + 0.5, 190, "\u00b8")  # a cedilla, under its letter

    assert pdf_words(draw) == ["J\u00e1n", "Min\u00e1\u00e7"]


def test_chars_to_words_repairs_and_drops():
    def ch(t, x0, x1, **kw):
        return PdfChar(t, x0, 100, x1, 112, 10.0, **kw)

    chars = [ch("a", 0, 6), ch("\u00b4", 1, 5), ch(" ", 6, 6, generated=True), ch("b", 6, 12),  # touching: one word
             ch(" ", 12, 16), ch("\x04", 16, 22, unmapped=True), ch("\x05", 22, 28, unmapped=True),  # garbage
             ch(" ", 28, 32), ch("\x84", 32, 38, font="Wingdings"), ch(" ", 38, 42), ch("x", 42, 48)]
    assert [w.text for w in chars_to_words(chars)] == ["\u00e1b", "\u2022", "x"]


def test_right_to_left_words_are_not_cut_into_letters_and_ligatures_are_reordered():
    # logical order, drawn right to left; the lam-alef ligature's two letters share one box, in visual order
    def ch(t, x0, x1):
        return PdfChar(t, x0, 100, x1, 112, 10.0)

    chars = [ch("\u0645", 90, 96), ch("\u0627", 80, 88), ch("\u0644", 80, 88), ch("\u062a", 74, 80),
             ch(" ", 70, 74), ch("P", 40, 46), ch("y", 46, 52), ch("\u0645", 30, 36), ch("\u0646", 24, 30)]
    assert [w.text for w in chars_to_words(chars)] == ["\u0645\u0644\u0627\u062a", "Py", "\u0645\u0646"]


@pytest.mark.parametrize(("prefix", "nxt", "joined"), [
    ("modifi-", "cations", "modifications"),  # no evidence: hyphenation
    ("load-", "carrying", "load-carrying"),  # the document writes "load-carrying"
    ("well-", "known", "well-known"),  # both parts are words of the document
    ("COVID-", "19", "COVID-19"),
    ("Jean-", "Pierre", "Jean-Pierre"),
    ("infor-", "mation.", "information."),
])
def test_join_choice(prefix: str, nxt: str, joined: str):
    vocab = Vocabulary(["a load-carrying nut", "it is well and known", "information"])
    assert join_choice(prefix, nxt, vocab) == joined


def test_a_dash_is_not_a_hyphenation():
    assert join_choice("-", "then", Vocabulary()) is None
    assert dehyphenate(["first part -", "second part"], Vocabulary()) == ["first part -", "second part"]
