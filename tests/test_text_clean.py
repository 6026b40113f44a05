"""Clean characters: from pdfium's characters to words, and the cleaning every stored text goes through.
The PDF cases are small generated pages read by the real text-layer extraction."""

from __future__ import annotations

import io
import re

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
    return raw_words(buf.getvalue())


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


def raw_pdf(content: bytes, font: str = "Helvetica", widths: list[int] | None = None,
            to_unicode: bytes | None = None) -> bytes:
    """A one-page PDF whose content stream is written by hand, so glyphs are placed exactly as a given producer
    would place them (`widths`: the font's /Widths for codes 32-126, true or not; `to_unicode`: the font's
    ToUnicode CMap, right or not)."""
    font_dict = b"<< /Type /Font /Subtype /Type1 /BaseFont /" + font.encode()
    if widths is not None:
        font_dict += b" /FirstChar 32 /LastChar 126 /Widths [" + b" ".join(b"%d" % w for w in widths) + b"]"
    if to_unicode is not None:
        font_dict += b" /ToUnicode 6 0 R"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 300] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream", font_dict + b" >>"]
    if to_unicode is not None:
        objs.append(b"<< /Length %d >>\nstream\n" % len(to_unicode) + to_unicode + b"\nendstream")
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


def raw_words(data: bytes) -> list[str]:
    pdf = pdfium.PdfDocument(data)
    page = pdf[0]
    textpage = page.get_textpage()
    try:
        return [w[0] for w in text_layer_words(textpage, page.get_size()[1])]
    finally:
        textpage.close()
        page.close()
        pdf.close()


CAPTION = "Table 1 Composition of the pretraining data for OLMo 2.".split()


def test_words_placed_with_tight_gaps_and_no_space_characters_are_split():
    """Each word placed on its own, 0.15 em apart (a tight justified line; Helvetica's space is 0.28 em), no
    space character anywhere (pdfium itself reads "1Composition" and "forOLMo"): half the font's space width is
    a word space."""
    def draw(c):
        x = 20.0
        for word in CAPTION:
            c.drawString(x, 200, word)
            x += c.stringWidth(word, "Helvetica", 12) + 0.15 * 12

    assert pdf_words(draw) == CAPTION


def test_words_of_a_font_whose_widths_lie_are_split_at_their_ink():
    """A producer that declares every glyph 1 em wide and pulls each next glyph back into place (TJ
    offsets): the advance boxes run over the following glyphs, so the gaps are measured between outlines."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    items = []
    for k, word in enumerate(CAPTION):
        for n, ch in enumerate(word):
            pull = 1000 - stringWidth(ch, "Helvetica", 1000)
            if n == len(word) - 1 and k < len(CAPTION) - 1:
                pull -= 280  # the word space
            items.append(b"(%s) %d" % (ch.encode(), round(pull)))
    content = b"BT /F1 10 Tf 20 200 Td [" + b" ".join(items) + b"] TJ ET"
    assert raw_words(raw_pdf(content, widths=[1000] * 95)) == CAPTION


def test_real_space_glyphs_kerning_and_tracking_keep_words_whole():
    """Real space characters split words; kerning (glyphs pulled together), a little letter spacing and the
    wide side bearings of digits do not."""
    content = (b"BT /F1 10 Tf 20 200 Td (The year 2011 saw 1111 offices.) Tj ET "
               b"BT /F1 10 Tf 20 180 Td [(A) 80 (V) 80 (A) 120 (T) 90 (o) ( W) 60 (ay)] TJ ET "
               b"BT /F1 10 Tf 0.6 Tc 20 160 Td (TRACKED HEADING) Tj ET")
    assert raw_words(raw_pdf(content)) == ["The", "year", "2011", "saw", "1111", "offices.", "AVATo", "Way",
                                           "TRACKED", "HEADING"]


def test_code_in_a_fixed_pitch_font_keeps_its_punctuation_on_its_words():
    """A listing in a typewriter face, each glyph placed by the producer with its position rounded (cells 0.05 to
    0.15 em apart), no space characters: pdfium guessed spaces at the wider cells ("console .log (add (3 , 5) )
    ;"). Between fixed-pitch glyphs a word space is a whole empty cell, so only those split."""
    code = "console.log(add(3, 5));"
    items, k = [], 0
    for ch in code:
        if ch == " ":
            items.append(b"-600")  # an empty cell: the word space, drawn as a move
            continue
        items.append(b"(%s) %d" % (ch.replace("(", "\\(").replace(")", "\\)").encode(), (-50, -150)[k % 2]))
        k += 1
    content = b"BT /F1 10 Tf 20 200 Td [" + b" ".join(items) + b"] TJ ET"
    assert raw_words(raw_pdf(content, font="Courier")) == ["console.log(add(3,", "5));"]


def test_a_kept_line_end_hyphen_keeps_the_character_the_document_wrote():
    # "G‐" + "1/Lot 1" (U+2010) is a code that stays hyphenated: as written, not turned into "-"
    assert join_choice("ICB/G\u2010", "1/Lot", Vocabulary()) == "ICB/G\u20101/Lot"
    assert join_choice("Jean-", "Paul", Vocabulary()) == "Jean-Paul"
    assert join_choice("Preva\u00ad", "lence", Vocabulary()) == "Prevalence"


def test_a_web_address_cut_at_a_line_end_is_joined_without_a_space():
    vocab = Vocabulary(["Packages read the formats after which they are named."])
    lines = ["Packages bmp (https://CRAN.R-project.org/package=bmp), jpeg (https://CRAN.",
             "R-project.org/package=jpeg) and png read the formats. See also biOps (https://",
             "CRAN.R-project.org/package=biOps) and Momocs (https://CRAN.R-project.org/",
             "package=Momocs), and the site at https://www.r-project.org.",
             "Then the next sentence, or www.example.com/",
             "and more, see https:",
             "//www.acm.org/publications/taps/describing-figures/."]
    assert dehyphenate(lines, vocab) == [
        "Packages bmp (https://CRAN.R-project.org/package=bmp), jpeg (https://CRAN.R-project.org/package=jpeg)",
        "and png read the formats. See also biOps (https://CRAN.R-project.org/package=biOps)",
        "and Momocs (https://CRAN.R-project.org/package=Momocs),",
        "and the site at https://www.r-project.org.",
        "Then the next sentence, or www.example.com/",
        "and more, see https://www.acm.org/publications/taps/describing-figures/."]


def test_a_font_named_regular_is_not_bold_whatever_weight_pdfium_reports():
    """pdfium's weight comes from a font's stem width where the PDF states none, and Computer Modern's CMR10 and
    CMMI10 report 744-768, Latin Modern's regular text and math italic 665-744: their letters were set as bold
    (math as \\boldsymbol, a bold line of prose as a heading). A style the name states decides, and TeX's font
    names state their series; the weight only where the name says nothing."""
    from ocr_resources.text.pdf_chars import bold_font

    assert not bold_font("LMRoman10-Regular", 744)
    assert not bold_font("ABCDEF+LMMathItalic10-Regular", 665)
    assert not bold_font("Times-Roman", 700) and not bold_font("Arial,Italic", 700)
    assert bold_font("LMRomanDemi10-Regular", 685) and bold_font("LMRoman12-Bold", 300)
    assert bold_font("TimesNewRomanPS-BoldMT", 400) and bold_font("Arial,BoldItalic", 400)
    assert not bold_font("ABCDEF+CMR10", 744) and not bold_font("CMMI10", 768) and not bold_font("SFRM1000", 700)
    assert bold_font("CMBX12", 300) and bold_font("CMMIB10", 300) and bold_font("CMB10", 300)
    assert not bold_font("CMBR10", 700)  # Computer Modern Bright, medium
    assert bold_font("Helvetica", 700) and not bold_font("Helvetica", 400)  # no style in the name: the weight


def test_a_words_height_is_its_glyphs_usual_one_not_its_tallest():
    """texinfo sets '{"normal"}' in typewriter type with braces from a symbol font whose loose boxes run deep
    (99-118 pt against the line's 101-110): the word was as tall as two lines and was read with the line under
    it ('Control whether {"normal"} the font is italic'). Its box is its glyphs' usual height; it stays wide."""
    from ocr_resources.text.pdf_chars import PdfChar, chars_to_words

    chars = [PdfChar("{", 208.2, 99.4, 213.9, 118.3, 10.9, mono=True)]
    x = 213.9
    for ch in '"normal"':
        chars.append(PdfChar(ch, x, 101.2, x + 5.7, 110.3, 10.9, mono=True))
        x += 5.7
    chars.append(PdfChar("}", x, 99.4, x + 5.7, 118.3, 10.9, mono=True))
    [word] = chars_to_words(chars)
    assert word.text == '{"normal"}'
    assert (word.box.y0, word.box.y1) == (101.2, 110.3) and (word.box.x0, word.box.x1) == (208.2, x + 5.7)


def test_a_words_glyphs_of_slightly_different_heights_keep_the_words_full_box():
    # ICDAR's us-021: a header word whose glyphs' boxes differ by a point or two keeps their union (a table's header
    # rows are told apart by it); only a glyph far taller than the rest is left out of the word's height
    from ocr_resources.text.pdf_chars import PdfChar, chars_to_words

    chars = [PdfChar("N", 398.0, 105.7, 403.0, 116.0, 7.75), PdfChar("e", 403.0, 107.9, 408.0, 115.1, 7.75),
             PdfChar("w", 408.0, 106.0, 413.5, 115.5, 7.75)]
    [word] = chars_to_words(chars)
    assert (word.box.y0, word.box.y1) == (105.7, 116.0)


def test_a_space_pdfium_generated_stands_where_an_italic_fs_tails_reach_over_the_boxes():
    """EB Garamond italic: an f's box reaches over its tails, to the next word's box ("of measurable": 0.04 em
    apart) and back over the previous word's last glyph ("measurable function": overlapping). pdfium generated the
    space from the pens' positions; the glyph's pen position, not its box, says how far apart the words stand.
    Where pdfium generated none, or the glyphs' pens touch (an accent, kerning), the word stays whole."""
    def ch(t, x0, x1, **kw):
        return PdfChar(t, x0, 100, x1, 112, 10.0, ink_x0=x0, ink_x1=x1, **kw)

    space = PdfChar(" ", 0, 0, 0, 0, generated=True)
    chars = [ch("o", 256.7, 260.4), ch("f", 258.5, 265.45), space, ch("m", 265.9, 273.8, origin_x=267.5),
             ch("e", 273.8, 277.2), space, ch("f", 275.0, 283.0, origin_x=279.6), ch("n", 281.5, 286.0)]
    assert [w.text for w in chars_to_words(chars)] == ["of", "me", "fn"]
    kerned = [ch("A", 0, 7), space, ch("V", 6.9, 14, origin_x=6.9)]  # pens touching: one word
    assert [w.text for w in chars_to_words(kerned)] == ["AV"]
    # a superscript, smaller, set an italic correction off its base ("N^{RX}-order", whose boxes touch while
    # their ink stands apart): no word space
    script = [PdfChar("N", 0, 100, 8.9, 112, 10.0, ink_x0=0.3, ink_x1=8.2), space,
              PdfChar("R", 9.0, 98, 13, 106, 7.0, ink_x0=9.2, ink_x1=13, origin_x=9.0),
              PdfChar("X", 13, 98, 17, 106, 7.0, ink_x0=13, ink_x1=17)]
    assert [w.text for w in chars_to_words(script)] == ["NRX"]


SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"  # (Debian's fonts-dejavu-core: math italic letters)


@pytest.mark.skipif(not __import__("os").path.exists(SERIF), reason=f"{SERIF} not installed (fonts-dejavu-core)")
def test_letters_beyond_the_basic_plane_are_read_not_dropped():
    """Math italic letters (U+1D454 'g', U+1D438 'E') come from pdfium as two indices, the UTF-16 halves of one
    character: each half alone is no character, and "Assume that 𝑔 is" was read "Assume that is". (reportlab
    writes such a letter's ToUnicode entry as the bare code point; a PDF wants UTF-16, as LuaTeX writes it: the
    entry is rewritten so, at the same length.)"""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("DejaVuSerif", SERIF))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(400, 300), pageCompression=0)
    c.setFont("DejaVuSerif", 12)
    c.drawString(50, 200, "Assume that \U0001d454 is integrable on \U0001d438.")
    c.showPage()
    c.save()
    data = buf.getvalue()
    block = re.search(rb"beginbfchar\n(.*?)endbfchar", data, re.S)
    assert block and b"<1D454>" in block.group(1), "reportlab's ToUnicode map changed"

    def utf16(m: re.Match) -> bytes:
        return b"<" + chr(int(m.group(1), 16)).encode("utf-16-be").hex().upper().encode() + b">"

    entries = re.sub(rb"<([0-9A-F]{5})>", utf16, block.group(1).replace(b"> <", b"><"))
    assert len(entries) <= len(block.group(1))
    data = data.replace(block.group(1), entries.ljust(len(block.group(1))))  # (same length: the stream's /Length)
    assert raw_words(data) == ["Assume", "that", "\U0001d454", "is", "integrable", "on", "\U0001d438."]


def test_a_font_whose_unicode_map_is_byte_swapped_is_read_the_right_way_round():
    """A producer that wrote its ToUnicode map's UTF-16 bytes the wrong way round ("M" as U+4D00): pdfium reads
    Han characters ("䴀甀氀琀椀"), and a space as U+2000, a "0" as U+3000 (white space both). Every glyph of the
    font has that form, so it is swapped back: words, spaces and digits as drawn."""
    entries = b"".join(b"<%02X> <%02X00>\n" % (code, code) for code in range(32, 127))
    cmap = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Swapped def "
            b"1 begincodespacerange <00> <FF> endcodespacerange\n95 beginbfchar\n" + entries
            + b"endbfchar endcmap CMapName currentdict /CMap defineresource pop end end")
    data = raw_pdf(b"BT /F1 12 Tf 20 200 Td (Pure Black \\(K = 100\\)) Tj ET", to_unicode=cmap)
    assert raw_words(data) == ["Pure", "Black", "(K", "=", "100)"]
