"""Document-level text: page furniture by position and repetition, headings with levels, lists, captions,
and the Markdown, on generated multi-page PDFs read by the real text-layer extraction (layout regions are
given by hand or left out, so no model runs)."""

from __future__ import annotations

import dataclasses
import io

import pypdfium2 as pdfium
from reportlab.pdfgen import canvas

from ocr_resources.geometry.page import compose
from ocr_resources.pipeline.render import text_layer_words
from ocr_resources.text.blocks import TextBlock
from ocr_resources.text.document import PageBlocks, finish_document
from ocr_resources.text.furniture import find_furniture, is_page_number
from ocr_resources.text.markdown import render
from ocr_resources.text.structure import heading_levels
from ocr_resources.types import Box, Word

W, H = 595, 842
BODY = ("Body text of the report runs across the page in long lines that wrap", "onto the next line and make a "
        "paragraph of several lines of text", "before the paragraph ends with a full stop.")


def report_pdf(pages: int = 4) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    for n in range(1, pages + 1):
        c.setFont("Helvetica", 8)
        c.drawString(72, H - 40, "Annual Report 2024 - Example Corporation")  # running head
        c.drawString(W / 2, 30, str(n))  # page number
        y = H - 90
        if n == 1:
            c.setFont("Helvetica-Bold", 24)
            c.drawString(72, y, "The Example Annual Report")
            y -= 50
        c.setFont("Helvetica-Bold", 14)
        c.drawString(72, y, f"{n} Section number {n}")
        y -= 24
        c.setFont("Helvetica-Bold", 11)
        c.drawString(72, y, f"{n}.1 A subsection")
        y -= 20
        c.setFont("Helvetica", 11)
        for line in BODY:
            c.drawString(72, y, line)
            y -= 14
        y -= 10
        for item in ("first point of the list", "second point of the list"):
            c.drawString(72, y, "\u2022 " + item)
            y -= 14
        c.showPage()
    c.save()
    return buf.getvalue()


def page_words(data: bytes) -> list[list[Word]]:
    pdf = pdfium.PdfDocument(data)
    out = []
    for page in pdf:
        tp = page.get_textpage()
        out.append([Word(t, Box(x0, y0, x1, y1), 1.0, size, bold, hidden, angle, mono, unmapped)
                    for t, x0, y0, x1, y1, size, bold, hidden, angle, mono, unmapped
                    in text_layer_words(tp, page.get_size()[1])])
        tp.close()
        page.close()
    pdf.close()
    return out


def document(regions_by_page: dict[int, list[tuple[Box, str]]] | None = None):
    pages = []
    for n, words in enumerate(page_words(report_pdf()), start=1):
        regions = (regions_by_page or {}).get(n, [])
        blocks = compose(words, [r[0] for r in regions], [r[1] for r in regions])
        pages.append(PageBlocks(n, W, H, blocks))
    return pages, finish_document(pages)


def test_running_heads_and_page_numbers_are_furniture_kept_with_their_label():
    pages, results = document()
    labels = {bt.text: bt.label for page in results for bt in page}
    assert labels["Annual Report 2024 - Example Corporation"] == "header"
    assert all(labels[str(n)] == "footer" for n in range(1, 5))
    rows = [{"label": bt.label, "text": bt.text, "heading_level": bt.heading_level, "page_no": p.page_no,
             "region_no": None} for p, page in zip(pages, results, strict=True) for bt in page]
    md = render(rows)
    assert "Annual Report 2024" not in md
    assert "\n2\n" not in md and not md.rstrip().endswith("4")


def test_title_labelled_header_is_kept_and_headings_get_levels():
    title_box = Box(60, 70, 420, 100)  # the layout model calls the first page's title a page header
    pages, results = document({1: [(title_box, "header")]})
    first = {bt.text: bt for bt in results[0]}
    assert first["The Example Annual Report"].label == "title"
    assert first["The Example Annual Report"].heading_level == 1
    assert first["1 Section number 1"].heading_level == 2
    assert first["1.1 A subsection"].heading_level == 3
    rows = [{"label": bt.label, "text": bt.text, "heading_level": bt.heading_level, "page_no": p.page_no,
             "region_no": None} for p, page in zip(pages, results, strict=True) for bt in page]
    md = render(rows)
    assert md.startswith("# The Example Annual Report\n\n## 1 Section number 1\n\n### 1.1 A subsection\n\n")
    assert "\n- first point of the list\n- second point of the list\n" in md
    assert " ".join(BODY) in md


def test_furniture_rules():
    def block(page, y, text, label="text", size=10.0):
        return TextBlock(page, 600, 800, Box(100, y, 300, y + 10), label, text, size)

    blocks = [block(1, 30, "Big Title", "header", 24), block(1, 400, "Body " * 20), block(2, 400, "Body " * 20),
              block(1, 770, "Page 1 of 2"), block(2, 770, "Page 2 of 2"), block(2, 300, "mid page", "header"),
              block(2, 20, "Confidential", "text", 8)]
    # "Confidential" in small type, alone at the top of its page, apart from the text: a page stamp
    assert find_furniture(blocks) == {0: "text", 3: "footer", 4: "footer", 5: "text", 6: "header"}
    assert is_page_number("7-45") and is_page_number("xiv") and is_page_number("- 3 -")
    assert not is_page_number("12.50")  # an amount


def test_heading_levels_follow_numbering_then_size():
    def block(page, text, size, bold=False, label="text"):
        return TextBlock(page, 600, 800, Box(50, 100, 300, 112), label, text, size, bold)

    blocks = [block(1, "Document Title", 24, True), block(1, "Body text " * 30, 10),
              block(1, "Introduction", 16, True), block(1, "Background", 12, True), block(1, "2.3 Details", 11, True),
              block(2, "A sentence in bold that is a paragraph, not a heading.", 10, True)]
    assert heading_levels(blocks) == {0: 1, 2: 2, 3: 3, 4: 3}


def test_a_section_numbered_heading_naming_a_command_in_lower_case_is_a_heading():
    """Debian's developers' reference: "9.1.1 dpkg-dev" in larger type over its text. A lower-case word after a
    number marked a numbered line of running text ("23 revenue."); under a section's outline number (two levels
    or more) in a short line it is a command's or a package's name."""
    def block(text, size):
        return TextBlock(1, 600, 800, Box(50, 100, 300, 112), "text", text, size, False)

    blocks = [block("Body text " * 30, 10), block("9.1.1 dpkg-dev", 12), block("Body text " * 30, 10),
              block("23 revenue.", 12), block("2 per cent of the members voted for the motion", 12)]
    assert heading_levels(blocks) == {1: 4}
    # a longer one in larger bold type is a section's title too (GLPK's "1.2.9 glp_delete_graph — delete graph",
    # which the layout model left outside every region); in the body's type, or a single number, it stays text
    bold = TextBlock(1, 600, 800, Box(50, 100, 300, 112), "text", "1.2.9 glp_delete_graph — delete graph", 12, True)
    plain = TextBlock(1, 600, 800, Box(50, 100, 300, 112), "text", "1.2.9 glp_delete_graph — delete graph", 10, True)
    assert heading_levels([*blocks, bold, plain]) == {1: 4, 5: 4}


def test_a_function_name_in_display_type_heading_its_reference_page_is_a_heading():
    """A reference page's title is the function's name, in lower case ("function::ustack", twice the body's size):
    display type is a heading whatever its first letter; a line in lower case in the body's size (or a little
    larger) is running text."""
    def block(text, size, label="text"):
        return TextBlock(1, 600, 800, Box(50, 100, 300, 112), label, text, size, False)

    blocks = [block("function::ustack", 20.7, "title"), block("Body text " * 30, 10),
              block("and the rest of the sentence goes on", 12)]
    assert heading_levels(blocks) == {0: 1}


def test_equation_numbers_and_rows_of_numbers_are_never_headings():
    def block(text, size, label="text", bold=False, figure_labels=False):
        return TextBlock(1, 600, 800, Box(50, 100, 300, 112), label, text, size, bold, figure_labels=figure_labels)

    # on a scan an equation's number is read with its equation's height, so it looks set large
    blocks = [block("Body text " * 30, 10), block("(B.31)", 14), block("(3)", 22), block("(2.4a)", 12, "title"),
              block("2019 2020 2021", 14, bold=True), block("North", 14, figure_labels=True),
              block("1 Introduction", 14, bold=True), block("3", 24)]
    assert heading_levels(blocks) == {6: 2, 7: 1}  # a section, a chapter's number set large


def test_markdown_joins_paragraphs_cut_by_columns_and_skips_furniture():
    rows = [{"label": "text", "text": "The wing type that is", "page_no": 1, "region_no": 1},
            {"label": "footer", "text": "7", "page_no": 1, "region_no": 2},
            {"label": "text", "text": "the most common one.", "page_no": 2, "region_no": 1},
            {"label": "caption", "text": "Figure 1. A nut.", "page_no": 2, "region_no": 2},
            {"label": "figure", "text": "", "page_no": 2, "region_no": 3},
            {"label": "text", "text": "A new paragraph with TAX_ID.", "page_no": 2, "region_no": 4}]
    assert render(rows) == ("The wing type that is the most common one.\n\nFigure 1. A nut.\n\n<!-- image -->\n\n"
                            "A new paragraph with TAX\\_ID.\n")
    # a newsletter's columns the layout model called references: "... superior information structure" / "and
    # superior printed output ..." over a column break, with the page's footer read between
    rows = [{"label": "reference", "text": "They provide superior information structure", "page_no": 1,
             "region_no": 1}, {"label": "footer", "text": "Copyright 1994", "page_no": 1, "region_no": 2},
            {"label": "reference", "text": "and superior printed output.", "page_no": 1, "region_no": 3}]
    assert render(rows) == "They provide superior information structure and superior printed output.\n"


def test_a_caption_boxed_as_text_is_not_continued_by_the_code_under_it():
    """"Listing 1: Simple JavaScript Program" stops without a full stop and the listing's first line starts
    lower-case: it is no paragraph cut by a column, the two stay apart. A sentence cut by a page still joins."""
    rows = [{"label": "text", "text": "Listing 1: Simple JavaScript Program", "page_no": 1, "region_no": 1},
            {"label": "text", "text": "function add (a, b) {", "page_no": 1, "region_no": 2},
            {"label": "text", "text": "Table 1 shows the values of the", "page_no": 1, "region_no": 3},
            {"label": "text", "text": "runs we made.", "page_no": 2, "region_no": 1}]
    assert render(rows) == ("Listing 1: Simple JavaScript Program\n\nfunction add (a, b) {\n\n"
                            "Table 1 shows the values of the runs we made.\n")


def test_a_table_of_contents_keeps_its_rows():
    """Leader rows are not reflowed into one paragraph (where each page number ran into the next title); an
    entry wrapped over two lines is one row; prose with an ellipsis stays a paragraph."""
    contents = ("Notices . . . . . . . . vii\nTrademarks . . . . . . viii\n1.1 A long entry whose title\n"
                "wraps to a second line . . . . 12\n1.2 LaTeX…14")
    rows = [{"label": label, "text": contents, "page_no": 1, "region_no": 1} for label in ("text", "reference")]
    expected = ("Notices . . . . . . . . vii\n\nTrademarks . . . . . . viii\n\n"
                "1.1 A long entry whose title wraps to a second line . . . . 12\n\n1.2 LaTeX…14")
    assert render(rows[:1]) == render(rows[1:]) == expected + "\n"
    prose = [{"label": "text", "text": "We waited . . . and then\nit rained on page 12.", "page_no": 1,
              "region_no": 1}]
    assert render(prose) == "We waited . . . and then it rained on page 12.\n"


def test_a_contents_pages_chapter_entries_boxed_as_one_title_are_each_a_heading():
    """A contents page's chapter entries set bold without leaders ("7. References 73", "Index 77"), which the layout
    model boxed as one title, were one heading of all of them; each is an entry of its own. A two-line heading whose
    lines end in numbers far apart ("Chapter 3", "Results for 2019") stays one."""
    def row(text):
        return {"label": "title", "text": text, "heading_level": 2, "page_no": 1, "region_no": 1}

    assert render([row("7. References 73\nA. Revision History 75\nIndex 77")]) == (
        "## 7. References 73\n\n## A. Revision History 75\n\n## Index 77\n")
    assert render([row("Chapter 3\nResults for 2019")]) == "## Chapter 3 Results for 2019\n"


def test_a_bulleted_list_the_layout_model_calls_a_reference_list_is_a_list():
    # the layout model boxes the two bullets as a reference list: each item still a line of its own
    items = Box(60, 150, 540, 800)
    pages, results = document({n: [(items, "reference")] for n in range(1, 5)})
    listed = [bt for bt in results[0] if "point of the list" in bt.text]
    assert listed and all(bt.label == "list" for bt in listed)
    rows = [{"label": bt.label, "text": bt.text, "heading_level": bt.heading_level, "page_no": 1,
             "region_no": None} for bt in results[0]]
    assert "- first point of the list\n- second point of the list" in render(rows)


def test_a_caption_or_a_source_line_is_never_a_heading():
    def block(y, text, label="text", size=10.0, bold=False):
        return TextBlock(1, 600, 800, Box(100, y, 500, y + 12), label, text, size, bold)

    body = [block(100 + 20 * k, "Body text of a report that runs on for a good many words in its line.") for k in
            range(8)]
    caption = block(300, "Table 6.1: Size of the market across the member states", "title", 11.0, True)
    loose = block(330, "Figure BR1. Notification rate of reported confirmed cases", "text", 11.0, True)
    heading = block(360, "6.1 Market size and the size of retail outlets", "title", 11.0, True)
    source = block(390, "Source: LSA, 1998", "title", 12.0, True)
    item = block(420, "\u2022 16-bit extension of TeX by two authors", "title", 12.0, True)  # a slide's first item
    sentence = block(450, "Strings are zero-terminated.", "title")  # the model's title on a paragraph of body type
    levels = heading_levels([*body, caption, loose, heading, source, item, sentence])
    assert set(levels) == {10}  # the section heading only
    from ocr_resources.text.structure import CAPTION_START
    assert CAPTION_START.match("Exhibit 2a. Summary of impacts") and not CAPTION_START.match("EXHIBIT 10.1")


def test_on_a_scan_only_type_clearly_larger_than_the_body_makes_a_heading():
    # OCR sizes are ink heights: a form's short label stands a little taller than the body's median by chance
    def block(y, text, size):
        return TextBlock(1, 600, 800, Box(100, y, 500, y + size), "text", text, size, ink_size=True)

    body = [block(100 + 20 * k, "Body text of a scanned page that runs on for a good many words.", 5.0)
            for k in range(8)]
    label, title = block(300, "Permanent Address", 6.0), block(330, "Booking Report", 8.0)
    assert set(heading_levels([*body, label, title])) == {9}


def test_a_heading_cut_in_two_boxes_on_its_line_is_one_heading():
    """The layout model boxed a title's last word apart, on the same line ("How to use CJK character sets in" |
    "TeX?", the logo's lowered E making it a line of its own): one heading, not two of one level. A heading
    beside another in the next column stays apart."""
    from ocr_resources.geometry.page import Block
    from ocr_resources.text.document import BlockText, _merge_split_headings

    def heading(text: str, x0: float, x1: float, y1: float = 96.0) -> BlockText:
        return BlockText(Block(1, "title", Box(x0, 66.5, x1, y1)), "title", text, 24.0, True, 2)

    row = [heading("How to use CJK character sets in", 54, 446), heading("TeX?", 453, 509, 102.6)]
    _merge_split_headings(row)
    assert [bt.text for bt in row] == ["How to use CJK character sets in TeX?", ""]
    columns = [heading("Methods", 54, 150), heading("Results", 320, 420)]
    _merge_split_headings(columns)
    assert [bt.text for bt in columns] == ["Methods", "Results"]


LISTING = ["def add(a, b):", "    if a:", "        return a + b  # both", "    return b          # one"]


def _lines_pdf(*runs: tuple[str, float, float, float, list[str] | tuple[str, ...]]) -> bytes:
    """One page of runs of lines, each (font, size, top, pitch, lines), every line from the left margin (72 pt)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    for font, size, top, pitch, lines in runs:
        c.setFont(font, size)
        for k, line in enumerate(lines):
            c.drawString(72, H - top - pitch * k, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def _listing_pdf(prose_font: str = "Helvetica", code: tuple[str, ...] | list[str] = tuple(LISTING),
                 pitch: float = 12) -> bytes:
    """A paragraph of prose, then a listing in Courier (by default nested, with an aligned comment column), its
    lines `pitch` points apart."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont(prose_font, 11)
    for k, line in enumerate(BODY):
        c.drawString(72, H - 100 - 14 * k, line)
    c.setFont("Courier", 10)
    for k, line in enumerate(code):
        c.drawString(72, H - 170 - pitch * k, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_a_listing_in_a_fixed_pitch_font_is_a_code_block_with_its_indents():
    """Words set in a fixed-pitch font carry it (`Word.mono`); a block of them in a document of proportional text
    is code: a fenced block whose lines keep their indents and aligned columns, nothing reflowed."""
    words = page_words(_listing_pdf())[0]
    assert {w.text for w in words if w.mono} >= {"def", "add(a,", "return", "#"}
    assert not any(w.mono for w in words if w.text in ("Body", "paragraph"))
    pages = [PageBlocks(1, W, H, compose(words, [], []))]
    results = finish_document(pages)
    code = [bt for bt in results[0] if bt.label == "code" and bt.text]
    assert len(code) == 1 and code[0].reason
    assert code[0].text == ("def add(a, b):\n    if a:\n        return a + b  # both\n    return b          # one")
    rows = [{"label": bt.label, "text": bt.text, "page_no": 1, "region_no": None} for bt in results[0]]
    markdown = render(rows)
    assert "```\ndef add(a, b):\n    if a:\n        return a + b  # both\n    return b          # one\n```" in markdown
    assert markdown.startswith("Body text of the report")


def test_a_document_typed_all_in_courier_is_prose_not_code():
    words = page_words(_listing_pdf(prose_font="Courier"))[0]
    results = finish_document([PageBlocks(1, W, H, compose(words, [], []))])
    labels = {bt.label for bt in results[0] if bt.text.startswith("Body")}
    assert labels == {"text"}


def test_code_blocks_in_a_row_are_one_fence_and_backticks_inside_lengthen_it():
    rows = [{"label": "code", "text": "a = 1", "page_no": 1, "region_no": 1},
            {"label": "footer", "text": "7", "page_no": 1, "region_no": 2},
            {"label": "code", "text": "b = '```'", "page_no": 2, "region_no": 1},
            {"label": "text", "text": "After it.", "page_no": 2, "region_no": 2}]
    assert render(rows) == "````\na = 1\nb = '```'\n````\n\nAfter it.\n"


def test_a_line_of_code_the_layout_model_took_for_a_title_is_code():
    # "> str(sleepstudy)" boxed as a title: regular typewriter type in a proportional document is code; a heading
    # set in bold typewriter type stays a heading
    words = page_words(_listing_pdf())[0]
    code = [w for w in words if w.mono]
    prose = [w for w in words if not w.mono]
    regions = [Box(66, 90, 500, 140), Box(66, 160, 500, 220)]
    results = finish_document([PageBlocks(1, W, H, compose(prose + code, regions, ["text", "title"]))])
    assert [bt.label for bt in results[0] if bt.text.startswith("def add")] == ["code"]
    bold = [dataclasses.replace(w, bold=True) for w in code[:2]]
    results = finish_document([PageBlocks(1, W, H, compose(prose + bold, regions, ["text", "title"]))])
    assert [bt.label for bt in results[0] if bt.text.startswith("def add")] == ["title"]


def test_a_page_mostly_listing_with_some_prose_keeps_its_listing_as_code():
    # a manual's page: a control file listed in Courier (few brackets or operators), a paragraph of prose above
    # it; mostly fixed-pitch, but with a fifth of its text in proportional type it is no document typed in Courier
    fields = ["Source: debhello", "Section: devel", "Priority: optional", "Maintainer: Osamu Aoki",
              "Build-Depends: debhelper-compat", "Standards-Version: 4.5.1", "Homepage: example.org",
              "Package: debhello", "Architecture: any", "Multi-Arch: foreign", "Description: Simple packaging"]
    words = page_words(_lines_pdf(("Helvetica", 11, 100, 14, BODY[:2]), ("Courier", 10, 150, 12, fields)))[0]
    mono = sum(len(w.text) for w in words if w.mono) / sum(len(w.text) for w in words)
    assert 0.5 < mono < 0.8
    results = finish_document([PageBlocks(1, W, H, compose(words, [], []))])
    assert [bt.label for bt in results[0] if bt.text.startswith("Source:")] == ["code"]


def test_a_list_items_japanese_lines_join_without_a_space():
    from ocr_resources.text.structure import list_items

    lines = ["• upstream maintainer: 現在プログラムをメンテナンスしている", "人です。", "• sponsor: 手伝う人です"]
    assert list_items(lines) == [("•", "upstream maintainer: 現在プログラムをメンテナンスしている人です。"),
                                 ("•", "sponsor: 手伝う人です")]


def test_a_listing_cut_in_two_boxes_is_one_block_with_its_indents_and_blank_line():
    """The layout model boxed a listing's first lines and its indented rest apart: one code block, every line's
    indent measured from the listing's one left edge (not the second box's), the blank line between them kept."""
    # a blank line in it, its later lines set in one level further than its first
    code = ["def scale(points):", "    out = []", "", "    for x, y in points:", "        out.append((2 * x, y))",
            "    return out"]
    words = page_words(_listing_pdf(code=code))[0]
    regions = [Box(66, 90, 500, 150), Box(66, 160, 400, 185), Box(100, 200, 400, 250)]
    results = finish_document([PageBlocks(1, W, H, compose(words, regions, ["text", "text", "text"]))])
    code = [bt for bt in results[0] if bt.label == "code" and bt.text]
    assert [bt.text for bt in code] == ["def scale(points):\n    out = []\n\n    for x, y in points:\n"
                                        "        out.append((2 * x, y))\n    return out"]


def test_a_listing_set_double_spaced_has_no_blank_line_between_its_lines():
    """R vignettes set their listings with a row's height between rows, as their prose: that leading is the
    listing's own, not a blank line after every line (a blank line in a listing set tight: the test above)."""
    code = ["> m <- 3", "> sigma <- diag(3)", "> sigma[2,1] <- 3/5", "> pmvnorm(sigma)", "[1] 0.8279847"]
    for listing in (code[:2], code):
        words = page_words(_listing_pdf(code=listing, pitch=22))[0]
        results = finish_document([PageBlocks(1, W, H, compose(words, [], []))])
        assert [bt.text for bt in results[0] if bt.label == "code" and bt.text] == ["\n".join(listing)]


def test_code_in_another_type_is_a_fence_of_its_own():
    # a method's signature in 12-point typewriter type, its example listing in 8-point under it: two fences
    rows = [{"label": "code", "text": "TableStyle.add(commands)", "page_no": 1, "region_no": 1, "font_size": 12.0},
            {"label": "code", "text": "STYLE.add('GRID', (0,0))", "page_no": 1, "region_no": 2, "font_size": 8.0},
            {"label": "code", "text": "STYLE.add('BOX', (0,0))", "page_no": 1, "region_no": 3, "font_size": 8.2}]
    assert render(rows) == ("```\nTableStyle.add(commands)\n```\n\n"
                            "```\nSTYLE.add('GRID', (0,0))\nSTYLE.add('BOX', (0,0))\n```\n")


def test_a_listing_whose_comments_are_set_in_roman_type_is_code_read_row_by_row():
    """R's manuals set a listing's comments in roman type after a typewriter "#": the listing is still code, and
    each comment stays on its line of code (not read as a column of its own after the code)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("Helvetica", 11)
    for k, line in enumerate(BODY):
        c.drawString(72, H - 100 - 14 * k, line)
    code = [("options(digits=5)", "custom numbers"), ("x11()", "for graphics"), ("par(pch = 1)", "plotting character")]
    for k, (stmt, comment) in enumerate(code):
        c.setFont("Courier", 10)
        c.drawString(90, H - 170 - 12 * k, stmt)
        c.drawString(250, H - 170 - 12 * k, "#")
        c.setFont("Times-Roman", 10)
        c.drawString(262, H - 170 - 12 * k, comment)
    c.showPage()
    c.save()
    words = page_words(buf.getvalue())[0]
    results = finish_document([PageBlocks(1, W, H, compose(words, [], []))])
    code_blocks = [bt for bt in results[0] if bt.label == "code" and bt.text]
    assert [bt.text for bt in code_blocks] == ["options(digits=5)          # custom numbers\n"
                                               "x11()                      # for graphics\n"
                                               "par(pch = 1)               # plotting character"]
    # a command-line option ("--smtp-host") is no comment mark: a line of prose after it stays prose
    from ocr_resources.geometry.paragraphs import code_marks

    option = [Word("--smtp-host", Box(0, 0, 60, 10), mono=True), Word("sets", Box(65, 0, 85, 10)),
              Word("the", Box(90, 0, 105, 10))]
    assert code_marks(option) == [True, False, False]


def test_a_paragraph_goes_on_past_the_footnote_at_its_columns_foot():
    """Two columns: a paragraph stops at column 1's foot, over a footnote in smaller type; it goes on at the top of
    column 2. The paragraph is one, the footnote after it; a note in the body's own size still ends the paragraph."""
    def row(text: str, size: float, y0: float, y1: float, region: int) -> dict:
        return {"label": "text", "text": text, "page_no": 1, "region_no": region, "font_size": size, "y0": y0,
                "y1": y1}

    rows = [row("Readers can verify whether a work was published. If you would like to", 10.9, 609, 674, 1),
            row("Christian Gogolin: latex@quantum-journal.org", 9.0, 684, 752, 5),
            row("use the class for manuscripts not yet accepted, say so.", 10.9, 281, 494, 0)]
    assert render(rows) == ("Readers can verify whether a work was published. If you would like to use the class for "
                            "manuscripts not yet accepted, say so.\n\nChristian Gogolin: latex@quantum-journal.org\n")
    rows[1]["font_size"] = 10.9  # in the body's size it is text between the parts: the first stops
    assert render(rows).startswith("Readers can verify whether a work was published. If you would like to\n\n")


def test_an_em_dash_opening_a_line_inside_a_sentence_is_no_bullet():
    from ocr_resources.text.structure import list_items

    prose = ["Authors' names should be complete",
             "\u2014 use full first names (\u201cDonald E. Knuth\u201d) not initials (\u201cD. E. Knuth\u201d)",
             "\u2014 and the salient identifying features of a reference should be included."]
    assert list_items(prose) is None
    # em-dash bullets stay bullets: after a lead-in, or in a block that opens with one (items wrapped in lower case)
    assert [m for m, _ in list_items(["Features:", "\u2014 fast", "\u2014 small"])] == ["", "\u2014", "\u2014"]
    assert list_items(["\u2014 fast and very", "small things", "\u2014 next item"]) == [
        ("\u2014", "fast and very small things"), ("\u2014", "next item")]


def _prose_code_prose_pdf(before: str, code: list[str], after: str, code_x: float = 90, gap: float = 0,
                          prose: int = 2) -> bytes:
    """One paragraph's lines: prose in Times (`before`'s end after a "|" in Courier), then lines in Courier (set in
    by `code_x`, `gap` more points above and under them), then prose again; `prose` lines before `before`."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    y = H - 100
    for line in [*(BODY * prose)[:prose], before]:
        prose, _, mono = line.partition("|")  # a line's end after "|" set in Courier
        c.setFont("Times-Roman", 11)
        c.drawString(72, y, prose)
        if mono:
            c.setFont("Courier", 10)
            c.drawString(72 + c.stringWidth(prose, "Times-Roman", 11), y, mono)
        y -= 13
    y -= gap
    for line in code:
        c.setFont("Courier", 10)
        c.drawString(code_x, y, line)
        y -= 13
    c.setFont("Times-Roman", 11)
    c.drawString(72, y - gap, after)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_a_listing_inside_a_sentence_is_a_code_block_of_its_own():
    """texinfo's manuals run a sentence into an example ("For example," / the listing / "displays sine and
    cosine..."): two and more lines of code after a line ending in prose are a code block, even with no
    sentence ended before it, and the prose after them a paragraph of its own."""
    code = ["hold on;", "x = -10:0.1:10;", "plot (x, sin (x));"]
    words = page_words(_prose_code_prose_pdf("the axes property. For example,", code,
                                             "displays sine and cosine waves on the same axes."))[0]
    results = finish_document([PageBlocks(1, W, H, compose(words, [Box(60, 80, 540, 200)], ["text"]))])
    texts = [(bt.label, bt.text) for bt in results[0] if bt.text]
    assert ("code", "\n".join(code)) in texts
    assert texts[-1] == ("text", "displays sine and cosine waves on the same axes.")
    assert texts[0][1].endswith("For example,")


def test_typewriter_words_a_sentence_wraps_onto_two_lines_stay_in_its_paragraph():
    # an R session's locale: a line of prose ending in typewriter words, wrapped onto two lines all typewriter
    words = page_words(_prose_code_prose_pdf("Locale: |LC_COLLATE=C, LC_CTYPE=English_New Zealand.1252,",
                                             ["LC_MONETARY=English_New Zealand.1252, LC_NUMERIC=C,",
                                              "LC_TIME=English_New Zealand.1252"], "Running under: Windows 7",
                                             code_x=72))[0]
    assert [w.mono for w in words if w.text in ("Locale:", "LC_COLLATE=C,")] == [False, True]
    results = finish_document([PageBlocks(1, W, H, compose(words, [Box(60, 80, 540, 200)], ["text"]))])
    assert not [bt for bt in results[0] if bt.label == "code" and bt.text]


def test_a_short_line_then_a_listing_set_in_under_it_still_splits_the_paragraphs():
    """PARI's manual: a sentence's last line is one word ("set"), the listing under it starts further in, so the two
    lines share no width. They are still one under the other: the block splits into its paragraphs and listing (it
    was left whole, listing and all, as if its lines stood side by side), whatever the model called it."""
    code = ["k = (x.p ^ x.f - 1) / fforder(x)"]
    after = "The library syntax is long ispower(GEN x, GEN k = NULL, GEN *n = NULL)."
    words = page_words(_prose_code_prose_pdf("set", code, after, code_x=94, gap=7, prose=6))[0]
    for label in ("text", "reference"):
        results = finish_document([PageBlocks(1, W, H, compose(words, [Box(60, 80, 540, 200)], [label]))])
        texts = [(bt.label, bt.text) for bt in results[0] if bt.text]
        assert ("code", code[0]) in texts and texts[-1][1] == after, texts


def test_a_listings_comment_column_is_read_on_the_rows_of_its_code():
    """PARI's manual sets a session's comments in a column of their own far right of its code ("? #P" ...
    "\\\\ 2 primes above 5"). The reading order took that column after the code's, as a column (and the block's
    paragraphs were then left unsplit): each comment is read on its row of code, in the code block."""
    rows = [("? K = nfinit(x^3-2);", ""), ("? P = idealprimedec(K, 5);", ""), ("? #P", "\\\\ 2 primes above 5"),
            ("%3 = 2", ""), ("? [p1.e, p1.f]", "\\\\ the first is unramified"), ("%5 = [1, 1]", "")]
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("Helvetica", 11)
    for k, line in enumerate(BODY):
        c.drawString(72, H - 100 - 14 * k, line)
    c.setFont("Courier", 10)
    for k, (stmt, comment) in enumerate(rows):
        c.drawString(94, H - 160 - 12 * k, stmt)
        if comment:
            c.drawString(330, H - 160 - 12 * k, comment)
    c.setFont("Helvetica", 11)
    c.drawString(72, H - 250, "The library syntax is GEN idealprimedec(GEN nf, GEN p).")
    c.showPage()
    c.save()
    words = page_words(buf.getvalue())[0]
    results = finish_document([PageBlocks(1, W, H, compose(words, [Box(60, 80, 540, 260)], ["text"]))])
    code = [bt.text for bt in results[0] if bt.label == "code" and bt.text]
    assert len(code) == 1
    lines = code[0].split("\n")
    assert [ln.split()[0] for ln in lines] == ["?", "?", "?", "%3", "?", "%5"]
    assert lines[2].endswith("\\\\ 2 primes above 5") and lines[4].endswith("\\\\ the first is unramified")


def test_an_index_page_keeps_one_entry_per_item():
    """A book's index: a term and its page numbers a line, in alphabetical order, an entry's numbers wrapping onto
    a line of their own. Reflowed, every entry ran into the next ("clip, 24, 81, 137 clip1in, 191"); each is an
    item of its own, a wrapped one whole. Prose whose lines end in numbers stays a paragraph."""
    entries = ["clip, 24, 81, 137", "clip1in, 191", "colorbox, 50, 140, 181, 189, 190, 226",
               "colorspec, 28, 50, 68, 75, 79, 126, 163, 177, 181, 192,", "          202, 203, 210", "column, 40, 116",
               "copyright, 21", "coordinates, 33, 131, 158, 162–164, 177–179", "corel, 249"]
    words = page_words(_lines_pdf(("Times-Roman", 10, 100, 12, entries)))[0]
    results = finish_document([PageBlocks(1, W, H, compose(words, [Box(60, 80, 400, 220)], ["text"]))])
    rows = [{"label": bt.label, "text": bt.text, "page_no": 1, "region_no": k} for k, bt in enumerate(results[0])]
    md = render(rows)
    assert "- clip, 24, 81, 137\n- clip1in, 191\n" in md
    assert "- colorspec, 28, 50, 68, 75, 79, 126, 163, 177, 181, 192, 202, 203, 210\n- column, 40, 116" in md
    text = "We measured 12, 14\nthen the rest was 5, 6\nand finally 7, 8\nbefore the end, 9"
    prose = [{"label": "text", "text": text, "page_no": 1, "region_no": 0}]
    assert render(prose).strip() == "We measured 12, 14 then the rest was 5, 6 and finally 7, 8 before the end, 9"


def test_a_bulleted_term_in_typewriter_type_is_a_list_item_not_code():
    """Debian's maintainer guide: "• Provides" (the field's name in typewriter type) on a line of its own over its
    description. A listing never starts with a bullet: the term is a list item, not a fenced block."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    for k, (term, text) in enumerate([("Provides", "For some types of packages there are alternatives."),
                                      ("Replaces", "Use this when your program replaces files from another.")]):
        y = H - 100 - 40 * k
        c.setFont("Helvetica", 10)
        c.drawString(72, y, "\u2022")
        c.setFont("Courier", 10)
        c.drawString(82, y, term)
        c.setFont("Helvetica", 10)
        c.drawString(82, y - 13, text)
    c.showPage()
    c.save()
    words = page_words(buf.getvalue())[0]
    regions = [Box(60, 90, 400, 103), Box(60, 104, 400, 120), Box(60, 130, 400, 143), Box(60, 144, 400, 160)]
    results = finish_document([PageBlocks(1, W, H, compose(words, regions, ["text"] * 4))])
    assert not [bt for bt in results[0] if bt.label == "code"], [(bt.label, bt.text) for bt in results[0]]


def test_an_address_keeps_its_lines_and_a_narrow_column_of_prose_is_reflowed():
    """An address (a signature, a letterhead) is short lines each starting anew: reflowed, it ran into one line
    ("Universitätsstr. 15 6020 Innsbruck, Austria E-mail: ..."). So is a statement's head of two fields ("Date: ..." /
    "Statement: ..."; reflowed, "... 2015 Statement: ..."). Prose set in a narrow column goes on with its sentence from
    line to line and is still one paragraph, a colon in it or not."""
    cases = [("Universitätsstr. 15\n6020 Innsbruck, Austria\nE-mail: Achim.Zeileis@R-project.org\nURL: https://www.zeileis.org/",
              "The council met on Monday and\nagreed to extend the opening\nhours of the library from\nMarch."),
             ("Date: September 30, 2015\nStatement: September Transactions",
              "Two things matter: the dose\nand the time of day.")]
    for kept, prose in cases:
        rows = [{"label": "text", "text": t, "page_no": 1, "region_no": k} for k, t in enumerate((kept, prose))]
        md = render(rows)
        assert kept.replace("\n", "  \n") in md
        assert " ".join(prose.split()) in md


def _heading_over_text(heading: list[tuple[float, float, float, str]], body_top: float) -> bytes:
    """Heading lines in bold Helvetica (size, x, y from the top, text), the body paragraph from `body_top` down."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    for size, x, y, text in heading:
        c.setFont("Helvetica-Bold", size)
        c.drawString(x, H - y, text)
    c.setFont("Helvetica", 10)
    for k, line in enumerate(BODY):
        c.drawString(72, H - body_top - 13 * k, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_a_title_box_holding_the_first_line_of_the_text_under_it_gives_that_line_back_to_the_text():
    """Debian's FAQ: the model's title box held a two-line heading, its first line ending in a comma, and the first
    line of the paragraph under it in the body's type. The heading was read with that line; the line is now the
    paragraph's, and the heading is its two lines."""
    words = page_words(_heading_over_text([(16, 72, 80, "7.7 What is an Essential, Required, Important,"),
                                           (16, 100, 100, "or Extra package?")], 124))[0]
    regions = [Box(60, 60, 540, 128), Box(60, 129, 540, 170)]  # the title's box takes the paragraph's first line
    results = finish_document([PageBlocks(1, W, H, compose(words, regions, ["title", "text"]))])
    labelled = [(bt.label, bt.text.replace("\n", " ")) for bt in results[0] if bt.text]
    assert labelled[0] == ("title", "7.7 What is an Essential, Required, Important, or Extra package?")
    assert labelled[1][0] == "text" and labelled[1][1].startswith(BODY[0])


def test_a_titles_subtitle_in_smaller_type_stays_in_the_title():
    # "Row and Column Access Control" over "Support in IBM DB2 for i" in smaller type: one title, not a heading and
    # a line of text (a paragraph's first line runs across the column, a subtitle does not)
    words = page_words(_heading_over_text([(22, 72, 80, "Row and Column Access Control"),
                                           (16, 72, 102, "Support in IBM DB2 for i")], 140))[0]
    blocks = compose(words, [Box(60, 60, 540, 108), Box(60, 125, 540, 190)], ["title", "text"])
    assert [b.label for b in blocks][:2] == ["title", "text"]
    assert blocks[0].text.replace("\n", " ") == "Row and Column Access Control Support in IBM DB2 for i"


def test_listings_at_one_height_in_two_columns_of_text_stay_two_listings():
    """A newsletter's two columns, each with a listing that happens to stand at the same height: each listing
    stays in its column's flow, not one fence of both read row by row (a listing's comment column, with the
    same prose over both, is still one listing: see the test above)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    prose = ["The package allows you to say which", "input encoding your document uses,",
             "for example to use Latin-1, you type:"]
    for x, code in ((60, ["\\usepackage[latin1]{inputenc}"]),
                    (320, ["ftp://ftp.tex.ac.uk/tex-archive/", "ftp://ftp.dante.de/tex-archive/"])):
        c.setFont("Helvetica", 10)
        for k, line in enumerate(prose):
            c.drawString(x, H - 100 - 12 * k, line)
            c.drawString(x, H - 190 - 12 * k, line)
        c.setFont("Courier", 9)
        for k, line in enumerate(code):
            c.drawString(x + 10, H - 145 - 11 * k, line)
    c.showPage()
    c.save()
    words = page_words(buf.getvalue())[0]
    regions = [(Box(55, 90, 270, 230), "text"), (Box(315, 90, 560, 230), "text")]
    blocks = compose(words, [r[0] for r in regions], [r[1] for r in regions])
    code = [bt.text for bt in finish_document([PageBlocks(1, W, H, blocks)])[0] if bt.label == "code" and bt.text]
    assert code == ["\\usepackage[latin1]{inputenc}", "ftp://ftp.tex.ac.uk/tex-archive/\nftp://ftp.dante.de/tex-archive/"]


def test_a_listing_beside_a_text_column_under_a_caption_across_both_stays_apart():
    """An R vignette: under two figures' captions set across both columns, the left column is a listing of R output,
    the right one starts with a short piece of R output, then paragraphs. The caption is prose over both, so the
    pieces were taken for one listing and its comment column, read row by row. The right piece stands at the left
    edge of its column's paragraphs: a listing of that column, not the left one's comments."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("Times-Roman", 10)
    c.drawString(72, H - 80, "Figure 5: Procrustes rotation of LC scores in RDA    Figure 6: Procrustes rotation of WA")
    c.drawString(72, H - 92, "of the original and shuffled data.                  with the original and shuffled data.")
    left = ["Call: cca(formula = varespec ~ Al + K)", "", "        Inertia Proportion Rank",
            "Total          2.0832     1.0000", "Constrained    0.4760     0.2285    2",
            "Unconstrained  1.6072     0.7715   21", "Inertia is scaled Chi-square"]
    right = ["Eigenvalues for unconstrained axes:", "   CA1    CA2    CA3", "0.3983 0.3445 0.2325"]
    c.setFont("Courier", 8)
    for k, line in enumerate(left):
        c.drawString(72, H - 120 - 10 * k, line)
    for k, line in enumerate(right):
        c.drawString(302, H - 124 - 10 * k, line)
    c.setFont("Times-Roman", 10)
    for k, line in enumerate(["Similarly their WA scores will be (probably) very", "different, as the figure shows",
                              "once the data are shuffled and the analysis is run", "again on the shuffled data."]):
        c.drawString(302, H - 170 - 12 * k, line)
    c.showPage()
    c.save()
    words = page_words(buf.getvalue())[0]
    regions = [Box(60, 70, 540, 96), Box(60, 110, 290, 190), Box(296, 110, 540, 230)]
    blocks = compose(words, [r for r in regions], ["caption", "text", "text"])
    code = [bt.text for bt in finish_document([PageBlocks(1, W, H, blocks)])[0] if bt.label == "code" and bt.text]
    assert len(code) == 2 and code[0].startswith("Call: cca") and code[1].startswith("Eigenvalues"), code


def test_a_documents_own_asterisks_and_backticks_are_written_as_such_not_as_markup():
    """ "*right*" on the page is seven characters, not an emphasised word; "`x`" no code span; formulas keep
    their LaTeX as it is."""
    rows = [{"label": "text", "text": "Although never is often better than *right* now.\nRun `make` with $a*b$.",
             "page_no": 1, "region_no": 0},
            {"label": "title", "text": "Notes * and `ticks`", "heading_level": 2, "page_no": 1, "region_no": 1}]
    assert render(rows) == ("Although never is often better than \\*right\\* now. Run \\`make\\` with $a*b$.\n\n"
                            "## Notes \\* and \\`ticks\\`\n")


def test_a_register_table_in_courier_under_a_proportional_heading_is_code():
    # a simulator manual's page cut out alone: a heading, a lead-in and a closing note in proportional type (the
    # model took the note for a caption), the rest a table of registers in Courier with no brackets or operators.
    # The heading and the note are the document's proportional text as much as its paragraphs are: this is no
    # document typed all in Courier, so the table is code, every row of it
    registers = [f"{name:<18}{size:<12}{what}" for name, size, what in [
        ("RYCS", 16, "status"), ("RYBA", 16, "buffer address"), ("RYWC", 8, "word count"), ("RYDB", 16, "data buffer"),
        ("RYES", 12, "error status"), ("RYERR", 8, "error code"), ("RYTA", 8, "current track"),
        ("RYSA", 8, "current sector"), ("STAPTR", 4, "controller state"), ("INT", 1, "interrupt pending flag"),
        ("CTIME", 24, "command completion time"), ("STIME", 24, "seek time, per track"),
        ("XTIME", 24, "transfer ready delay"), ("STOP", 1, "stop on error"), ("DONE", 1, "device done flag")]]
    note = "RX02 data files are buffered in memory; therefore, end of file and OS I/O errors cannot occur."
    words = page_words(_lines_pdf(("Helvetica-Bold", 13, 80, 14, ["2.4.3 RXV21/RX02 Floppy Disk (RY)"]),
                                  ("Helvetica", 10, 104, 12, ["The RXV21 implements these registers:"]),
                                  ("Courier", 10, 124, 12, registers), ("Helvetica", 10, 340, 12, [note])))[0]
    regions = [Box(60, 60, 400, 84), Box(60, 326, 560, 350)]
    results = finish_document([PageBlocks(1, W, H, compose(words, regions, ["title", "caption"]))])
    code = [bt for bt in results[0] if bt.label == "code" and bt.text]
    assert len(code) == 1 and code[0].text.splitlines()[0].split() == ["RYCS", "16", "status"]
    assert len(code[0].text.splitlines()) == len(registers)



def test_a_listings_left_column_of_single_lines_joins_the_column_beside_it_row_by_row():
    # a table in Courier continued from the page before: the layout model boxed its right column, and each line of the
    # left one is a block of its own. Every piece is code and stands beside the others: one listing, row by row
    # (the first left line joined the right column, and the other left lines were read after it, column-first)
    rows = [("error", "processed as"), ("not attached", "disk not ready"),
            ("end of file", "assume rest of disk is zero"), ("OS I/O error", "report error and stop")]
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("Helvetica", 10)
    c.drawString(72, H - 60, "Error handling is as follows, for every unit of the controller and the disk:")
    c.setFont("Courier", 10)
    for k, (left, right) in enumerate(rows):
        c.drawString(102, H - 100 - 22 * k, left)
        c.drawString(210, H - 100 - 22 * k, right)
    c.showPage()
    c.save()
    words = page_words(buf.getvalue())[0]
    results = finish_document([PageBlocks(1, W, H, compose(words, [Box(205, 88, 400, 172)], ["text"]))])
    code = [bt.text for bt in results[0] if bt.label == "code" and bt.text]
    assert len(code) == 1 and [ln.split() for ln in code[0].splitlines() if ln.strip()] == [
        f"{a} {b}".split() for a, b in rows]


def test_a_typed_forms_field_with_a_hash_is_no_line_of_code():
    # a printer's banner page typed all in a fixed-pitch font: "Task #:" holds a code character in six, but one line in
    # a document typed in one type is its text, not a listing (a page of listing on its own has lines of them)
    fields = ["Task #:", "Task name:", "User:", "Printer name:", "Printer information:", "Task creation time:"]
    words = page_words(_lines_pdf(("Courier", 10, 100, 30, fields)))[0]
    regions = [Box(60, 90 + 30 * k, 400, 104 + 30 * k) for k in range(len(fields))]
    results = finish_document([PageBlocks(1, W, H, compose(words, regions, ["text"] * len(fields)))])
    assert [bt.label for bt in results[0] if bt.text.startswith("Task #")] == ["text"]
    listing = ["for (i = 0; i < n; i++) {", "    total += a[i];", "}"]
    words = page_words(_lines_pdf(("Courier", 10, 100, 12, listing)))[0]
    results = finish_document([PageBlocks(1, W, H, compose(words, [], []))])
    assert [bt.label for bt in results[0] if bt.text] == ["code"]
    # a listing's lines the layout model boxed one by one: each is code by its own brackets
    lines = ["\\inetwirefree(A.middle pax)", "\\inetwirefree(B.middle pax)", "}"]
    words = page_words(_lines_pdf(("Courier", 10, 100, 30, lines)))[0]
    regions = [Box(60, 90 + 30 * k, 400, 104 + 30 * k) for k in range(len(lines))]
    results = finish_document([PageBlocks(1, W, H, compose(words, regions, ["text"] * len(lines)))])
    code = [bt for bt in results[0] if bt.text]
    assert {bt.label for bt in code} == {"code"}
    assert "\n".join(bt.text for bt in code).split() == " ".join(lines).split()
