"""Reading order on generated PDFs read by the real text-layer extraction: two and three justified columns
with a full-width title and a full-width figure between them (narrow gutters, baselines aligned across
columns), with no layout at all and with a layout whose boxes nest."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Frame, Paragraph

from ocr_resources.geometry import page as page_module
from ocr_resources.geometry.lines import lines
from ocr_resources.geometry.page import compose
from ocr_resources.pipeline.render import text_layer_words
from ocr_resources.types import Box, Word

W, H = A4
STYLE = ParagraphStyle("body", fontName="Times-Roman", fontSize=10, leading=12, alignment=4)
TITLE = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=18, leading=22)


FILL = ["a", "of", "the", "reading", "order", "is", "kept", "across", "columns", "and", "pages"]


def paragraph(column: int, k: int) -> str:
    """36 tagged words between filler words of varied length, as running text has (equal word lengths
    would line their spaces up row after row like a gutter)."""
    words = []
    for i in range(36):
        words += [f"c{column}p{k}w{i}", FILL[(i * 7 + k * 3 + column) % len(FILL)]]
    return " ".join(words) + "."


def columns_pdf(n_cols: int, gutter: float = 10.0) -> tuple[bytes, list[Box]]:
    """Title, n columns of two paragraphs, a full-width figure, n columns of one paragraph. Returns the PDF
    and the columns' frames (top-left origin)."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    margin = 50
    col_w = (W - 2 * margin - (n_cols - 1) * gutter) / n_cols
    Frame(margin, H - 100, W - 2 * margin, 50, showBoundary=0).addFromList(
        [Paragraph("Columns Across The Whole Page", TITLE)], c)
    frames = []
    for band, (top, height, paras) in enumerate(((110, 300, 2), (560, 200, 1))):
        for col in range(n_cols):
            x = margin + col * (col_w + gutter)
            story = [Paragraph(paragraph(col, band * 10 + k), STYLE) for k in range(paras)]
            Frame(x, H - top - height, col_w, height, leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0).addFromList(story, c)
            frames.append(Box(x, top, x + col_w, top + height))
    c.rect(margin, H - 540, W - 2 * margin, 110, fill=1)  # the figure between the two bands
    c.showPage()
    c.save()
    return buf.getvalue(), frames


def words_of(data: bytes) -> list[Word]:
    pdf = pdfium.PdfDocument(data)
    page = pdf[0]
    tp = page.get_textpage()
    words = [Word(t, Box(x0, y0, x1, y1), 1.0, size, bold) for t, x0, y0, x1, y1, size, bold, *_ in
             text_layer_words(tp, page.get_size()[1])]
    tp.close()
    page.close()
    pdf.close()
    return words


def token_order(text: str) -> list[str]:
    return [t.rstrip(".") for t in text.split() if t[:1] == "c" and "p" in t and "w" in t]


def expected(tokens: list[str], bands: bool = True) -> list[str]:
    """The tokens in reading order: band by band (the figure between them), column by column, paragraph by
    paragraph, word by word (a frame drops the words that do not fit: only those present are expected)."""
    def key(t: str):
        col, rest = t[1:].split("p")
        para, word = rest.split("w")
        return (int(para) // 10 if bands else 0, int(col), int(para), int(word))

    return sorted(tokens, key=key)


def test_two_and_three_columns_without_layout():
    for n in (2, 3):
        data, _ = columns_pdf(n)
        blocks = compose([w for w in words_of(data) if w.box.y1 < 420], [], [])  # the upper band
        assert blocks[0].text == "Columns Across The Whole Page"
        tokens = token_order(" ".join(b.text for b in blocks))
        assert len(tokens) > 100 and tokens == expected(tokens), n


def test_columns_with_nested_and_full_width_boxes():
    data, frames = columns_pdf(2)
    regions = [Box(45, 45, W - 45, 80)]  # the title
    labels = ["title"]
    for f in frames[:2]:  # upper band: one box per column around two boxes per paragraph
        regions += [Box(f.x0 - 3, f.y0 - 3, f.x1 + 3, f.y1 + 3), Box(f.x0 - 2, f.y0 - 2, f.x1 + 2, f.y0 + 110),
                    Box(f.x0 - 2, f.y0 + 112, f.x1 + 2, f.y1)]
        labels += ["text", "text", "text"]
    regions += [Box(48, 428, W - 48, 542)]  # the figure
    labels += ["figure"]
    regions += [Box(f.x0 - 2, f.y0 - 2, f.x1 - 30, f.y1) for f in frames[2:]]  # boxes that clip their lines
    labels += ["text", "text"]
    blocks = compose(words_of(data), regions, labels)
    tokens = token_order(" ".join(b.text for b in blocks))
    assert len(tokens) > 100 and tokens == expected(tokens)
    assert [b.label for b in blocks].index("figure") == 5  # after the upper band's four paragraphs


def two_leadings_pdf(leadings: tuple[float, float], gutter: float = 10.0) -> bytes:
    """Two justified columns a narrow gutter apart, set with different leading: their baselines meet on some
    rows and miss on others."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    margin = 50
    col_w = (W - 2 * margin - gutter) / 2
    for col, leading in enumerate(leadings):
        style = ParagraphStyle(f"body{col}", parent=STYLE, leading=leading)
        Frame(margin + col * (col_w + gutter), H - 610, col_w, 500, leftPadding=0, rightPadding=0, topPadding=0,
              bottomPadding=0).addFromList([Paragraph(paragraph(col, k), style) for k in range(3)], c)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_lines_never_cross_a_gutter_between_columns_of_different_leading():
    for leadings in ((12, 13.3), (12, 14.5)):
        words = words_of(two_leadings_pdf(leadings))
        for line in lines(words):
            assert len({w.text[:2] for w in line.words if w.text[:1] == "c" and "p" in w.text}) <= 1, line.text
        for regions in ([], [Box(40, 100, W - 40, 700)]):  # no layout, or one box over both columns
            blocks = compose(words, regions, ["text"] * len(regions))
            tokens = token_order(" ".join(b.text for b in blocks))
            assert len(tokens) > 150 and tokens == expected(tokens, bands=False), leadings


def two_up_pdf(gutter: float = 24.0) -> bytes:
    """Two boxes side by side (a two-up sheet), each a complete block: its title and two paragraphs."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    margin = 50
    box_w = (W - 2 * margin - gutter) / 2
    for col in range(2):
        x = margin + col * (box_w + gutter)
        c.rect(x - 6, H - 560, box_w + 12, 470)
        Frame(x, H - 550, box_w, 450, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0).addFromList(
            [Paragraph(f"Box {'AB'[col]} Title", TITLE)] + [Paragraph(paragraph(col, k), STYLE) for k in range(2)], c)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_boxes_side_by_side_are_read_box_by_box_under_boxes_across_them():
    """The layout model draws its boxes across both boxes, a row at a time: each box is still read whole."""
    words = words_of(two_up_pdf())
    bands = [Box(40, 95, W - 40, 130)] + [Box(40, y, W - 40, y + 80) for y in range(130, 530, 80)]
    blocks = compose(words, bands, ["title"] + ["text"] * (len(bands) - 1))
    text = " ".join(b.text for b in blocks)
    tokens = token_order(text)
    assert len(tokens) > 100 and tokens == expected(tokens, bands=False)
    assert text.index("Box A Title") < text.index("c0p0w0") < text.index("Box B Title") < text.index("c1p0w0")


def test_lines_whose_loose_boxes_overlap_by_a_third_are_read_top_to_bottom():
    """A font whose ascent and descent span 1.4 times the line pitch: each line's loose box (17 pt) runs 5 pt into
    the next one's. They are still read one under the other, not the first, the third, then the second."""
    from ocr_resources.geometry.reading_order import reading_order

    lines = [Box(72, 70, 510, 87), Box(57, 82, 510, 99), Box(57, 94, 410, 111)]
    assert reading_order(lines) == [0, 1, 2]
    # two columns' lines on one row are still read column by column
    assert reading_order([Box(57, 70, 280, 87), Box(300, 72, 520, 89), Box(57, 82, 280, 99)]) == [0, 2, 1]


def test_a_column_continued_from_the_last_page_waits_for_the_column_left_of_it():
    """A Korean report's page: the right column opens with the end of a paragraph from the last page (85-98 pt),
    a little higher than the left column's heading (94-108 pt) under a small running head. Boxes overlapping by up
    to a third of their height now count as one above the other, but the right column's box is beside the
    heading, not between the running head and it: the left column is read first."""
    from ocr_resources.geometry.reading_order import reading_order

    boxes = [Box(64, 45, 109, 55), Box(73, 94, 235, 108), Box(65, 130, 295, 264), Box(318, 85, 538, 98),
             Box(318, 103, 547, 150)]
    assert reading_order(boxes, ["text", "title", "text", "text", "text"]) == [0, 1, 2, 3, 4]


OPTIONS = [("SET CPU 8080", ["Simulates the 8080 CPU (default)."]),
           ("SET CPU Z80", ["Simulates the Z80 CPU. Note that some software requires an 8080 CPU",
                            "and will not run properly on a Z80, which lacks the parity flag."]),
           ("SET CPU 8086", ["Simulates the 8086 CPU. This also enables a megabyte of memory by",
                             "default."]),
           ("SET CPU 4K", []), ("SET CPU 8K", []), ("SET CPU 64K", ["All these set the memory's size."]),
           ("SET CPU BANKED", ["Enables banked memory. The simulated memory has eight banks with",
                               "the address range up to COMMON and a common area above it."])]


def options_pdf(sidebar: bool = False) -> bytes:
    """A manual's list of options: each option a short line in a column of its own, its description starting on its
    row at a tab stop 160 pt further right and running on under it. `sidebar`: instead, a column of short lines on
    every row beside paragraphs (lines that each start no paragraph but the first ones)."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("Helvetica", 10)
    y = H - 100
    row = 0
    for term, description in OPTIONS:
        if sidebar:
            description = description or ["continued from the line above it without a stop"]
        c.drawString(66, y, f"Side note {row}" if sidebar else term)
        for k, line in enumerate(description):
            c.drawString(228, y - 12 * k, line)
            if sidebar and k:
                c.drawString(66, y - 12 * k, f"Side note {row + k}")
        row += max(1, len(description))
        y -= 12 * max(1, len(description)) + 6
    c.showPage()
    c.save()
    return buf.getvalue()


def pdf_words(data: bytes) -> list[Word]:
    page = pdfium.PdfDocument(data)[0]
    return [Word(t, Box(x0, y0, x1, y1), 1.0, size) for t, x0, y0, x1, y1, size, *_ in
            text_layer_words(page.get_textpage(), H)]


def test_a_list_of_options_reads_each_option_before_its_description():
    """The layout model boxed the options' column and the descriptions' column apart (two options in one box, the
    descriptions of two in another): read box by box, every option came before every description. Each option is
    now read right before the description that starts on its row; options with no description of their own are
    read together before the one they share."""
    words = pdf_words(options_pdf())
    regions = [(Box(60, 90, 150, 122), "text"), (Box(220, 90, 560, 150), "text")]
    blocks = compose(words, [r[0] for r in regions], [r[1] for r in regions], page=Box(0, 0, W, H))
    text = " ".join(b.text.replace("\n", " ") for b in blocks)
    expected = [part for term, description in OPTIONS for part in [term, *description]]
    at = [text.index(part) for part in expected]
    assert at == sorted(at), [b.text for b in blocks]
    assert "SET CPU 4K\nSET CPU 8K\nSET CPU 64K" in [b.text for b in blocks]


def test_a_list_of_options_the_model_boxed_as_one_block_reads_each_option_before_its_description():
    """The layout model boxed the options and their descriptions as one block (a game manual's "MS DOS:", "AMIGA:"
    beside their requirements): its lines were read column first, every option before every description. The
    block is cut at its columns' gutter and read option by option; a paragraph in one block is not cut."""
    words = pdf_words(options_pdf())
    blocks = compose(words, [Box(60, 90, 560, 260)], ["text"], page=Box(0, 0, W, H))
    text = " ".join(b.text.replace("\n", " ") for b in blocks)
    expected = [part for term, description in OPTIONS for part in [term, *description]]
    at = [text.index(part) for part in expected]
    assert at == sorted(at), [b.text for b in blocks]
    prose = pdf_words(columns_pdf(1)[0])
    assert not any(page_module._term_columns(b) for b in compose(prose, [], [], page=Box(0, 0, W, H)))


def test_a_column_of_short_lines_beside_paragraphs_is_no_list_of_options():
    # the same columns, but the left one holds a line on every row of the right one: most of its lines stand beside
    # no paragraph's start, so the page's columns are read as they are, each whole
    words = pdf_words(options_pdf(sidebar=True))
    blocks = compose(words, [Box(60, 90, 150, 260), Box(220, 90, 560, 260)], ["text", "text"], page=Box(0, 0, W, H))
    assert len(blocks) >= 2 and blocks[0].text.startswith("Side note 0\nSide note 1\nSide note 2")


def test_a_column_of_glyphs_beside_a_listing_is_no_list_of_options():
    # a font manual: each glyph alone on the row of the listing line that makes it ("ö" beside "\otonal  ö"); the
    # listing's lines are no descriptions, and the listing stays one block, the glyphs another
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for k, (glyph, macro) in enumerate([("o", "\\otonal"), ("u", "\\utonal"), ("O", "\\Otonal"), ("U", "\\Utonal")]):
        c.setFont("Helvetica", 10)
        c.drawString(66, H - 100 - 14 * k, glyph)
        c.setFont("Courier", 10)
        c.drawString(228, H - 100 - 14 * k, f"{macro}                     {glyph}")
    c.showPage()
    c.save()
    words = pdf_words(buf.getvalue())
    # (the layout model boxed the listing line by line)
    regions = [Box(60, 90, 80, 150)] + [Box(220, 92 + 14 * k, 500, 104 + 14 * k) for k in range(4)]
    blocks = compose(words, regions, ["text"] * 5, page=Box(0, 0, W, H))
    assert [b.text for b in blocks if b.lines][0] == "o\nu\nO\nU"


def test_a_man_pages_options_in_one_block_read_option_by_option_and_are_no_headings():
    """groff's man page: bold options ("-f", "-h") at the left, each description starting on its row and wrapping
    under itself; the last option with an argument ("-o option-name") runs past the descriptions' edge and its
    description starts under it. The model boxed all as one block: the options were read first and then every
    description, and each option alone in bold was a heading. Each is read before its description now, and kept as
    a term (never a heading)."""
    from reportlab.pdfgen import canvas

    options = [("-f", ["Disable pathname expansion."]),
               ("-h", ["Remember the location of commands as they are looked up for execution. This is",
                       "enabled by default."]),
               ("-k", ["All arguments in the form of assignment statements are placed in the environment",
                       "for a command, not just those that precede the command name."]),
               ("-n", ["Read commands but do not execute them. This may be used to check a shell script",
                       "for syntax errors."])]
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = H - 100
    for term, description in options:
        c.setFont("Times-Bold", 10)
        c.drawString(144, y, term)
        c.setFont("Times-Roman", 10)
        for line in description:
            c.drawString(184, y, line)
            y -= 12
    c.setFont("Times-Bold", 10)
    c.drawString(144, y, "-o option-name")
    c.setFont("Times-Roman", 10)
    c.drawString(184, y - 12, "The option-name can be one of the following words.")
    c.showPage()
    c.save()
    blocks = compose(pdf_words(buf.getvalue()), [Box(130, 90, 560, 200)], ["text"], page=Box(0, 0, W, H))
    texts = [b.text.replace("\n", " ") for b in blocks]
    expected = [part for term, description in options for part in [term, description[0]]]
    expected += ["-o option-name", "The option-name can be"]
    at = [next(k for k, t in enumerate(texts) if part in t) for part in expected]
    assert at == sorted(at), texts
    terms = [b for b in blocks if b.text in ("-f", "-h", "-k", "-n")]
    assert len(terms) == 4 and all(b.form_row for b in terms)
