"""Page furniture on one-page documents (no second page to repeat on), decided from the label, the position,
the type and the patterns furniture has, on generated PDFs read by the real text-layer extraction; the
Markdown leaves furniture out (or keeps it as plain paragraphs), never as a heading, while the rows keep
their label and reason."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from reportlab.pdfgen import canvas

from ocr_resources.geometry.page import compose
from ocr_resources.pipeline.render import text_layer_words
from ocr_resources.text.document import PageBlocks, finish_document
from ocr_resources.text.furniture import furniture_pattern, is_page_number
from ocr_resources.text.markdown import render
from ocr_resources.types import Box, Word

W, H = 595, 842
BODY = ["The participants of the study were recruited from three hospitals over two years and followed",
        "for another year after their discharge, with visits every three months and a final interview",
        "at the end of the period, in which the outcomes of the treatment were recorded in full."]


def one_page(draw) -> list[Word]:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    draw(c)
    c.showPage()
    c.save()
    pdf = pdfium.PdfDocument(buf.getvalue())
    page = pdf[0]
    tp = page.get_textpage()
    words = [Word(t, Box(x0, y0, x1, y1), 1.0, size, bold, hidden)
             for t, x0, y0, x1, y1, size, bold, hidden, *_ in text_layer_words(tp, H)]
    tp.close()
    page.close()
    pdf.close()
    return words


def body(c, y: float, paragraphs: int = 3) -> float:
    c.setFont("Helvetica", 10)
    for _ in range(paragraphs):
        for line in BODY:
            c.drawString(72, y, line)
            y -= 13
        y -= 9
    return y


def finished(words: list[Word], regions: list[tuple[Box, str]] = ()):
    blocks = compose(words, [r[0] for r in regions], [r[1] for r in regions], page=Box(0, 0, W, H))
    page = PageBlocks(1, W, H, blocks)
    results = finish_document([page])[0]
    rows = [{"label": bt.label, "text": bt.text, "heading_level": bt.heading_level, "page_no": 1,
             "region_no": None} for bt in results]
    return results, rows


def holding(results, text: str):
    """The block whose text holds `text`."""
    return next(bt for bt in results if text in bt.text.replace("\n", " "))


def article(c) -> None:
    c.setFont("Helvetica", 8)
    c.drawString(72, H - 24, "PLOS ONE | www.plosone.org")  # journal line: pattern, small, apart
    c.setFont("Helvetica", 10)
    c.drawString(72, H - 52, "Quarterly Bulletin of the Example Society")  # the model calls it a header
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, H - 110, "Outcomes of a Treatment")
    c.setFont("Helvetica-Bold", 10)
    c.drawString(72, H - 140, "Methodology/Principal Findings: Clinical")
    y = body(c, H - 160)
    c.setFont("Helvetica", 10)
    c.drawString(72, 90, "March 2014 | Volume 8 | Issue 3 | e91234")
    c.setFont("Helvetica", 7)
    c.drawString(72, 70, "Downloaded from https://example.org/article/91234 on 3 March 2020")
    c.drawString(72, 60, "Download date: 12 Mar 2020")
    c.setFont("Helvetica-Bold", 10)
    c.drawString(400, 60, "Rev. C Part No. 4711-02")  # bold at body size: would be a heading if kept as text
    c.setFont("Helvetica", 10)
    c.drawString(W / 2, 36, "iii")
    assert y > 120


HEADER_BOX = Box(60, 40, 400, 58)  # around "Quarterly Bulletin ..."


def test_one_page_furniture_from_every_signal_is_labelled_with_its_reason():
    results, rows = finished(one_page(article), [(HEADER_BOX, "header")])
    furniture = {"PLOS ONE | www.plosone.org": "header", "Quarterly Bulletin of the Example Society": "header",
                 "March 2014 | Volume 8 | Issue 3 | e91234": "footer", "Download date: 12 Mar 2020": "footer",
                 "Downloaded from https://example.org/article/91234 on 3 March 2020": "footer",
                 "Rev. C Part No. 4711-02": "footer", "iii": "footer"}
    for text, label in furniture.items():
        block = holding(results, text)
        assert block.label == label, text
        assert block.reason and block.reason.startswith(f"furniture: {label} band"), text
    assert "label" in holding(results, "Quarterly Bulletin").reason  # set in body size, but the model and
    assert holding(results, "Quarterly Bulletin").size == 10.0  # the page's edge agree
    assert "download" in holding(results, "Download date").reason
    assert holding(results, "Outcomes of a Treatment").label == "title"
    md = render(rows)
    for text in furniture:
        assert text not in md
    assert md.startswith("# Outcomes of a Treatment\n\n## Methodology/Principal Findings: Clinical\n\n")
    kept = render(rows, keep_furniture=True)
    for text in furniture:
        assert text in kept, text
    assert "\n\nRev. C Part No. 4711-02\n" in kept  # a plain paragraph of its own, never a heading
    assert "#" not in kept.replace("# Outcomes", "").replace("## Methodology", "")


def court(c) -> None:
    c.setFont("Helvetica", 10)
    c.drawString(72, H - 40, "Case No. 1:20-cv-01234 Document 15 Filed 03/04/20")  # the filing's first line
    body(c, H - 53)
    c.drawString(W / 2, 36, "1")


def test_a_line_in_the_body_flow_is_never_furniture():
    """A court filing's case line, labelled header by the model, set in the body's type a line's spacing
    above the body text: readers need it, so it stays."""
    results, rows = finished(one_page(court), [(Box(60, 26, 400, 42), "header"), (Box(60, 43, 500, 300), "text")])
    case_line = holding(results, "Case No. 1:20-cv-01234 Document 15 Filed 03/04/20")
    assert case_line.label not in ("header", "footer")
    assert case_line.reason == "not furniture: in the flow of the body text"
    assert "Case No. 1:20-cv-01234 Document 15 Filed 03/04/20" in render(rows)
    assert next(bt for bt in results if bt.text == "1").label == "footer"


def test_furniture_patterns():
    assert all(is_page_number(t) for t in ("7", "xiv", "7-45", "- 3 -", "Page 3 of 10", "3 / 10", "p. 12"))
    for text in ("PLOS ONE | www.plosone.org", "March 2014 | Volume 8 | Issue 3", "www.example.org",
                 "Downloaded from https://x.org by guest on 3 March 2020", "Download date: 12 Mar 2020",
                 "Document No. 123-4", "Rev. 2.1", "Frontiers in Neuroscience | www.frontiersin.org", "12 | Report"):
        assert furniture_pattern(text), text
    for text in ("Results", "The study was downloaded by many.", "Table 3 shows the results of volume 8.",
                 "Methodology/Principal Findings: Clinical", "2 Related Work"):
        assert furniture_pattern(text) is None, text
    # a registration number in any language (a label and a long hyphenated code); a phone number or a date is not
    for text in ("발간등록번호 31-9735045-001338-14", "978-3-16-148410-0", "Reg. No. 11-1051000-000123-01"):
        assert furniture_pattern(text) == "revision, part or document number", text
    for text in ("02-788-4582", "Tel. 1-800-555-1234", "2020-04-02", "Call 02-788-4582 today"):
        assert furniture_pattern(text) is None, text
    # a receipt's amounts and a section number at the foot of a page are body text, not page numbers
    for text in ("40.00", "439.00", "0.30", "1,250.00", "3.2"):
        assert not is_page_number(text) and furniture_pattern(text) is None, text


def test_a_sentence_or_a_large_number_at_the_top_is_not_furniture():
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions
    from ocr_resources.text.structure import heading_levels

    def block(y, text, label="text", size=10.0, lines=1):
        return TextBlock(1, 600, 800, Box(100, y, 400, y + 12 * lines), label, text, size, False, lines)

    blocks = [block(30, "Table 3-2 lists the nine built-in global variables.", "header"),  # a table's lead-in
              block(60, "1", "text", 40.0),  # a chapter number
              block(300, " ".join(BODY), lines=3), block(400, " ".join(BODY), lines=3)]
    decided = furniture_decisions(blocks)
    assert decided[0].label == "text" and decided[0].reason == "not furniture: a sentence in the body's type"
    assert 1 not in decided and 1 in heading_levels(blocks)


def test_text_rows_carry_the_label_reason_into_duckdb(tmp_path):
    """The text stage's rows keep the reason (a furniture decision's, say) in a column the database has."""
    from ocr_resources.pipeline.rows import SCHEMAS
    from ocr_resources.store import ResultStore

    store = ResultStore(tmp_path / "r.duckdb")
    store.migrate()
    columns = {r["column_name"] for r in store.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'texts'")}
    assert "label_reason" in SCHEMAS["texts"].names and set(SCHEMAS["texts"].names) <= columns


def test_a_stamp_in_the_side_margin_beside_the_text_is_furniture():
    """A "Downloaded from" line set in the side margin (read as one line, by OCR say), beside the body."""
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions

    body_blocks = [TextBlock(1, 600, 800, Box(100, y, 500, y + 36), "text", " ".join(BODY), 10.0, False, 3)
                   for y in (200, 300, 400)]
    stamp = TextBlock(1, 600, 800, Box(20, 220, 40, 420), "text",
                      "Downloaded from https://x.org by guest on 3 May 2020", 7.0)
    decided = furniture_decisions([*body_blocks, stamp])
    assert decided == {3: decided[3]} and decided[3].label == "footer"
    assert decided[3].reason.startswith("furniture: side margin; pattern (download or print stamp)")


def test_a_running_title_beside_the_page_number_is_furniture():
    """A running foot in the body's type, on one page only (an odd page's chapter title), on the row of its
    page number: furniture because the page number beside it is. A line low on the page with no furniture on
    its row stays text."""
    def draw(c):
        body(c, H - 100)
        c.setFont("Helvetica", 9.5)
        c.drawString(230, 40, "Chapter 4. Implementing Access Control: Banking example")
        c.drawRightString(540, 40, "77")
        c.drawString(72, 100, "Contact the authors at the address given on the first page of this report")

    results, rows = finished(one_page(draw))
    foot = holding(results, "Chapter 4.")
    assert foot.label == "footer" and "beside a page number" in foot.reason, (foot.label, foot.reason)
    assert holding(results, "77").label == "footer"
    assert holding(results, "Contact the authors").label == "text"
    md = render(rows)
    assert "Chapter 4" not in md and "Contact the authors" in md
    assert furniture_pattern("ISSN 2005-744X") and furniture_pattern("ISBN 978-3-16-148410-0")


def test_a_sentence_repeated_at_the_foot_of_every_page_is_furniture():
    """A copyright line is furniture by its pattern; a sentence in the body's type at the same place at the
    foot of every page is furniture by repetition (the sentence veto is for a one-off lead-in); the same
    sentence once, on one page, in the body's type, stays text."""
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions

    def block(page, y, text, label="text", lines=1):
        return TextBlock(page, W, H, Box(72, y, 400, y + 10 * lines), label, text, 10.0, lines=lines)

    foot = "Our findings were checked by two independent reviewers in full."
    pages = [[block(p, 100, " ".join(BODY), lines=3), block(p, 200, " ".join(BODY), lines=3),
              block(p, 790, foot)] for p in (1, 2, 3)]
    decided = furniture_decisions([b for page in pages for b in page])
    assert [decided[k].label for k in (2, 5, 8)] == ["footer"] * 3 and "repeated" in decided[2].reason
    once = furniture_decisions([*pages[0][:2], block(1, 790, foot)])
    assert 2 not in once
    # a picture the model called a footer (a logo: no words) makes nothing beside it furniture
    logo = TextBlock(1, W, H, Box(450, 788, 540, 802), "footer", "")
    assert 3 not in furniture_decisions([*pages[0][:2], logo, block(1, 790, "Contact: Jane Doe, 02-788-4582")])
    assert furniture_pattern("© Copyright IBM Corp. 2014. All rights reserved.") == "copyright line"
    assert furniture_pattern("(c) 2020 Elsevier Ltd.") == "copyright line"
    assert furniture_pattern("The copyright of the images stays with their authors, who were asked.") is None


def ocr_line(text: str, y: float, height: float, size: float | None = None) -> list[Word]:
    """A line as OCR gives it: ink-tight word boxes, no font size (unless `size`: a text layer's words)."""
    words, x = [], 72.0
    for t in text.split():
        words.append(Word(t, Box(x, y, x + 5.5 * len(t), y + height), 0.95, size))
        x += 5.5 * len(t) + 3.0
    return words


def scanned_page(foot: str, foot_height: float, size: float | None = None) -> list[Word]:
    words = []
    y = 100.0
    for _ in range(3):
        for line in BODY:
            words += ocr_line(line, y, 10.0, size)
            y += 13.0
        y += 9.0
    return words + ocr_line(foot, 800.0, foot_height, size and size * foot_height / 10.0)


def test_on_a_scan_ink_heights_are_not_type_sizes():
    """OCR's word boxes hug the ink: a line in capitals stands about 0.7 of a mixed line's height in the same
    font. A receipt's last line in capitals below the items is not 'small type' (it stays text), and a
    footer the layout model labels is not 'set larger than the body' for a few tenths of ink. The same
    heights as a text layer's font sizes still count."""
    closing = "GOODS SOLD ARE NOT RETURNABLE, THANK YOU"
    results, rows = finished(scanned_page(closing, 7.8))
    assert holding(results, "GOODS SOLD").label == "text"
    assert "GOODS SOLD ARE NOT RETURNABLE" in render(rows)
    results, _ = finished(scanned_page(closing, 7.8, size=10.0))  # 7.8-pt type: small and apart
    assert holding(results, "GOODS SOLD").label == "footer"

    journal = "Global Study on Legal Aid - Global Report"
    region = [(Box(60, 795, 400, 815), "footer")]
    results, rows = finished(scanned_page(journal, 11.5), region)
    foot = holding(results, "Global Study")
    assert foot.label == "footer" and "label" in foot.reason, (foot.label, foot.reason)
    assert "Global Study" not in render(rows)
    results, _ = finished(scanned_page(journal, 11.5, size=10.0), region)  # 11.5-pt type: larger, a title
    assert holding(results, "Global Study").label != "footer"


def test_a_registration_number_at_the_foot_of_a_scanned_page_is_furniture():
    """A publication's registration number the layout model called a title, alone at the foot of a scanned
    page (OCR ink sizes): furniture by its pattern; the same words between paragraphs stay."""
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions

    body_blocks = [TextBlock(1, 600, 860, Box(72, y, 520, y + 36), "text", " ".join(BODY), 9.0, False, 3,
                             ink_size=True) for y in (100, 200, 300)]
    code = TextBlock(1, 600, 860, Box(72, 790, 300, 807), "title", "발간등록번호 31-9735045-001338-14", 10.5,
                     ink_size=True)
    decided = furniture_decisions([*body_blocks, code])
    assert decided[3].label == "footer" and "pattern" in decided[3].reason, decided
    code.box = Box(72, 260, 300, 277)  # between paragraphs
    assert 3 not in furniture_decisions([*body_blocks, code])


def test_a_running_head_set_large_that_the_model_calls_a_header_on_several_pages_is_furniture():
    """A section's name set large and bold at the top of every other page, labelled header by the layout
    model: furniture by label and repetition, whatever its size; the same line on one page only is a title."""
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions

    def block(page, y, text, label="text", lines=1, size=10.0):
        return TextBlock(page, W, H, Box(72, y, 400, y + 1.2 * size * lines), label, text, size, lines=lines)

    head = "INFORMATION ON SPECIFIC ZOONOSES"
    pages = [[block(p, 40, head, "header", size=12.0)] if p != 2 else [] for p in (1, 2, 3)]
    pages = [page + [block(p, 100, " ".join(BODY), lines=3), block(p, 200, " ".join(BODY), lines=3)]
             for p, page in zip((1, 2, 3), pages, strict=True)]
    decided = furniture_decisions([b for page in pages for b in page])
    assert decided[0].label == "header" and "repeated" in decided[0].reason
    once = furniture_decisions(pages[0])
    assert once[0].label == "text" and "larger" in once[0].reason
    # the same in the body's type, a line's spacing above the body text: in the flow on one page, furniture
    # where it recurs
    near = [[block(p, 88, head, "header")] if p != 2 else [] for p in (1, 2, 3)]
    near = [page + [block(p, 100, " ".join(BODY), lines=3), block(p, 200, " ".join(BODY), lines=3)]
            for p, page in zip((1, 2, 3), near, strict=True)]
    decided = furniture_decisions([b for page in near for b in page])
    assert decided[0].label == "header"
    assert "in the flow" in furniture_decisions(near[0])[0].reason


def test_a_running_foot_on_the_row_of_its_page_number_is_furniture_close_under_the_text():
    """A manual's foot: page number, title and date on one row in the bottom band, the body ending just above it
    (not set apart): the title and the date are furniture because the page number on their row is."""
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions

    body_blocks = [TextBlock(1, 612, 792, Box(57, y, 550, y + 60), "text", " ".join(BODY), 10.0, False, 5)
                   for y in (500, 580, 645)]
    foot = [TextBlock(1, 612, 792, Box(57, 722, 63, 735), "footer", "6", 10.0),
            TextBlock(1, 612, 792, Box(235, 722, 377, 735), "text", "Gutenprint 5.2 User's Manual", 10.0),
            TextBlock(1, 612, 792, Box(501, 722, 555, 735), "text", "06/01/2012", 10.0)]
    decided = furniture_decisions(body_blocks + foot)
    assert [decided[k].label for k in (3, 4, 5)] == ["footer"] * 3
    assert "beside a page number" in decided[4].reason and 0 not in decided


def test_a_formula_beside_its_equation_number_low_on_the_page_is_not_furniture():
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions

    body_blocks = [TextBlock(1, 612, 792, Box(57, y, 550, y + 60), "text", " ".join(BODY), 10.0, False, 5)
                   for y in (500, 580)]
    formula = TextBlock(1, 612, 792, Box(114, 705, 238, 726), "formula", r"$$\chi_{l}=Z\Lambda_{l}$$", 10.0)
    number = TextBlock(1, 612, 792, Box(281, 711, 299, 721), "text", "(28)", 10.0)
    decided = furniture_decisions([*body_blocks, formula, number])
    assert decided.get(2) is None or decided[2].label not in ("header", "footer")


def test_a_running_head_in_capitals_ending_in_a_section_number_is_furniture():
    """A book's running head in capitals, the chapter's on the left and the section's on the right of one row, the
    left one ending in its number ("CHAPTER 7. BASICS OF THE DEBIAN PACKAGE… 7.3."): not a sentence of the body,
    furniture as the half beside it is; a sentence in the body's type there still is none."""
    def draw(c):
        c.setFont("Helvetica-Oblique", 10)  # the body's size
        c.drawString(72, H - 40, "CHAPTER 7. BASICS OF THE DEBIAN PACKAGE\u2026 7.3.")
        c.drawRightString(565, H - 40, "WHY ARE DEBIAN PACKAGE FILE NAMES\u2026")
        body(c, H - 100)

    # the model boxed the two halves apart, and called only the right one a header
    results, rows = finished(one_page(draw), [(Box(60, 30, 335, 50), "text"), (Box(345, 30, 570, 50), "header")])
    left = holding(results, "CHAPTER 7.")
    assert left.label == "header", (left.label, left.reason)
    assert "CHAPTER" not in render(rows) and "participants" in render(rows)


def cv_top(c) -> None:
    c.setFont("Helvetica-Bold", 16)
    c.drawString(40, H - 40, "Jean Dupont")
    c.setFont("Helvetica", 10)
    for i, line in enumerate(["3, rue de la Liberte", "33000 Bordeaux", "contact@example.org"]):
        c.drawString(40, H - 62 - 12 * i, line)
    for i, line in enumerate(["37 years", "Married, two children", "French nationality"]):  # the model's header
        c.drawRightString(W - 40, H - 30 - 12 * i, line)
    body(c, H - 150)


def test_a_header_block_beside_the_pages_own_title_is_text_read_after_it():
    # a CV's details at the top right, beside the name: three lines the model calls a header, no pattern, one
    # page. A running head has only furniture beside it; this one has the page's title and address
    results, rows = finished(one_page(cv_top), [(Box(W - 160, 20, W - 35, 60), "header"),
                                                (Box(35, 25, 200, 45), "title"), (Box(35, 50, 200, 95), "text")])
    details = holding(results, "Married, two children")
    assert details.label == "text" and details.reason == "not furniture: beside the page's own text"
    md = render(rows)
    assert "37 years" in md and "French nationality" in md
    assert md.index("Jean Dupont") < md.index("Bordeaux") < md.index("37 years")  # not first, as a header is


def filing(c) -> None:
    c.setFont("Helvetica", 10)
    for i, line in enumerate(["USCA11 Case: 23-12263", "Document: 28-1", "Date Filed: 08/16/2024", "Page: 4 of 8",
                              "Appeal from the United States District Court"]):
        c.drawString(72, H - 30 - 12 * i, line)  # the court's stamp: five lines the model calls a header
    c.drawString(72, H - 110, "4")
    c.drawString(250, H - 110, "Opinion of the Court")  # the running head, under the stamp
    c.drawString(450, H - 110, "23-12263")
    body(c, H - 140)


def test_a_header_block_that_is_text_keeps_its_place_above_the_running_head():
    # the stamp is too long for furniture: text again, read where it stands (first), not after the running head
    # that the reading order puts first as furniture (a scanned filing's text moved from first to fourth)
    results, rows = finished(one_page(filing), [(Box(60, 20, 400, 95), "header"), (Box(60, 98, 560, 118), "header")])
    stamp = holding(results, "USCA11 Case")
    assert stamp.label == "text" and stamp.reason == "not furniture: too long"
    assert results.index(stamp) == 0
    assert render(rows).startswith("USCA11 Case: 23-12263")


def test_the_only_line_of_a_page_is_its_text_even_where_the_model_calls_it_a_header():
    """A one-line page (a note, a form's only field, an example file) whose line sits in the top band and
    was called a header: there is no body for it to run above, so it is the page's text; the page number
    under it stays furniture."""
    def note(c) -> None:
        c.setFont("Times-Roman", 10)
        c.drawString(72, H - 80, "PDF/X Example")
        c.drawString(W / 2, 36, "1")

    results, rows = finished(one_page(note), [(Box(60, 70, 200, 86), "header")])
    line = holding(results, "PDF/X Example")
    assert line.label == "text" and line.reason == "not furniture: the page's only text"
    assert holding(results, "1").label == "footer"
    assert render(rows).strip() == "PDF/X Example"


def test_an_unlabelled_line_on_the_row_of_a_figure_pages_footers_stays_furniture():
    """A page that holds a figure and, in its bands, lines the model called header and footer, with one line
    of the footer's row it left unlabelled: that line is furniture beside furniture, not the page's only text."""
    def plate(c) -> None:
        c.setFont("Times-Roman", 12)
        for x, text in ((57, "Top Left"), (276, "Centered"), (491, "Top Right")):
            c.drawString(x, H - 70, text)
        for x, text in ((57, "Bottom Left"), (276, "Centered"), (473, "Bottom Right")):
            c.drawString(x, H - 750, text)

    heads = [(Box(x, 58, x + 60, 72), "header") for x in (55, 274, 489)]
    feet = [(Box(x, 738, x + 68, 752), "footer") for x in (55, 471)]
    results, rows = finished(one_page(plate), heads + feet)
    assert all(bt.label in ("header", "footer") for bt in results), [(bt.text, bt.label) for bt in results]
    assert render(rows).strip() == ""


def test_a_long_copyright_notice_in_small_type_at_the_foot_is_furniture():
    """A guideline's foot: one line of 6-pt type, 33 words, a copyright and reuse notice. Its length alone does not
    put it in the body; a line of the body's type that long still would not be furniture."""
    notice = ("Version 2.2020 © 2020 National Comprehensive Cancer Network® (NCCN®), All rights reserved. NCCN "
              "Guidelines® and this illustration may not be reproduced in any form without the express written "
              "permission of NCCN and its affiliates.")

    def guideline(c) -> None:
        body(c, H - 80, paragraphs=6)
        c.setFont("Helvetica", 5)
        c.drawString(24, 40, notice)

    results, rows = finished(one_page(guideline))
    foot = holding(results, "All rights reserved")
    assert foot.label == "footer" and "copyright" in foot.reason
    assert "All rights reserved" not in render(rows)


def statement(c) -> None:
    c.setFont("Times-Roman", 12)
    c.drawString(57, H - 67, "ACME Bank")  # the issuer, top left
    c.drawRightString(555, H - 82, "Date: September 30, 2015")  # the statement's fields, top right
    c.drawRightString(555, H - 96, "Statement: September Transactions")
    c.line(57, H - 120, 555, H - 120)
    y = H - 140
    for line in ["Opening balance carried over from the statement of August", "Transfer to savings account",
                 "Card payment at the grocery store on the corner", "Salary for the month of September"]:
        c.drawString(57, y, line)
        y -= 14
    c.drawRightString(555, y - 20, "Balance: $1,438.20")


def test_a_statements_top_matter_with_its_fields_is_text():
    # a one-page bank statement: the issuer's name and the statement's date and subject stand in the top band, in
    # the body's type, and the model calls both headers. A field with a value ("Date: September 30, 2015") is the
    # document's own matter, not a running head; nor is the issuer's name beside it
    regions = [(Box(50, 55, 130, 72), "header"), (Box(380, 70, 560, 100), "header"), (Box(50, 128, 400, 190), "text")]
    results, rows = finished(one_page(statement), regions)
    for text in ("ACME Bank", "Date: September 30, 2015", "Statement: September Transactions"):
        block = holding(results, text)
        assert block.label == "text" and block.reason == "not furniture: the page's top matter (a field and its value)"
    md = render(rows)
    assert md.index("ACME Bank") < md.index("Date: September 30, 2015") < md.index("Opening balance")
    # a running head without a field stays furniture, on the same page's band (the name alone, nothing beside it)
    def header_only(c) -> None:
        c.setFont("Times-Roman", 12)
        c.drawString(57, H - 67, "ACME Bank Quarterly Review")
        c.drawString(57, H - 140, "Opening balance carried over from the statement of August")
        c.drawString(57, H - 154, "Transfer to savings account")

    results, _ = finished(one_page(header_only), [(Box(50, 55, 230, 72), "header")])
    assert holding(results, "ACME Bank Quarterly Review").label == "header"


def test_a_field_is_a_short_label_of_words_with_a_value_that_holds_a_number():
    from ocr_resources.text.furniture import holds_field

    for text in ("Date: September 30, 2015", "Invoice No.: 4711", "Case No.: 23-12263", "Account #: 12-3456"):
        assert holds_field(text), text
    for text in ("Statement: September Transactions", "Smith et al.: A study of outcomes", "Chapter 3: Results",
                 "Page: 4 of 8", "https://example.org/7", "Printed: 12 March 2020", "10:30 am", "Vol. 3: 12-20"):
        assert not holds_field(text), text


def test_a_word_processors_foot_with_the_page_count_is_furniture_on_a_page_of_tables():
    """A word processor's running foot: the document's title beside "Page N of M" (one line, in bold, the body's
    size), the author and date right under it in small type, on a page a table fills. The title line is furniture
    by its page count (it was a heading: the small foot outweighed the page's little text and made the title line
    "larger than the body"), the line under it because it stands outside that furniture; a footnote over a page
    number stays text, and "see page 4" is no page number."""
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions

    def draw(c):
        c.setFont("Helvetica", 9)
        for k in range(40):  # a table of types and names
            for x, cell in ((72, "USHORT"), (150, f"field{k}"), (260, "Offset of the entry")):
                c.drawString(x, H - 80 - 14 * k, cell)
        c.setFont("Helvetica", 11)
        c.drawString(72, H - 680, "Each level has attributes.")
        c.setFont("Helvetica-Bold", 11)
        c.drawString(72, H - 770, "Graphite Table Format, Page 7 of 14")
        c.setFont("Helvetica", 6)
        c.drawString(72, H - 778, "Martin Hosken and Sharon Correll September 25, 2019, for SIL International")

    words = one_page(draw)
    table = Box(70, 70, 400, 80 + 14 * 40)
    results, rows = finished(words, [(table, "table")])
    for line in ("Graphite Table Format", "Martin Hosken"):
        assert holding(results, line).label == "footer", (line, holding(results, line).reason)
    assert "Page 7 of 14" not in render(rows) and "Each level" in render(rows)
    assert furniture_pattern("Report - page 4") == "page number" and furniture_pattern("see page 4") is None

    body_blocks = [TextBlock(1, 612, 792, Box(57, y, 550, y + 60), "text", " ".join(BODY), 10.0, False, 5)
                   for y in (400, 480)]
    note = TextBlock(1, 612, 792, Box(57, 700, 550, 708), "text", "1 The trial was registered in 2019.", 7.0)
    number = TextBlock(1, 612, 792, Box(300, 740, 310, 750), "footer", "4", 10.0)
    decided = furniture_decisions([*body_blocks, note, number])
    assert 2 not in decided and decided[3].label == "footer"


def test_a_page_number_in_dashes_set_large_in_a_banner_is_furniture():
    """A game manual's page number "- 4 -" in display type on a banner at the foot (1.3 times the body's size): set
    off by dashes it is no chapter's number, and furniture; a bare number as large at the top (a chapter's) is
    not."""
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions

    body_blocks = [TextBlock(1, 626, 891, Box(44, y, 573, y + 60), "text", " ".join(BODY), 13.5, False, 4)
                   for y in (200, 300)]
    number = TextBlock(1, 626, 891, Box(290, 842, 336, 858), "list", "- 4 -", 18.0)
    chapter = TextBlock(1, 626, 891, Box(290, 40, 336, 70), "text", "4", 18.0)
    decided = furniture_decisions([*body_blocks, number, chapter])
    assert decided[2].label == "footer" and 3 not in decided


def test_a_running_head_in_two_halves_and_a_large_page_number_at_the_foot_are_furniture():
    """A manual's running head in display type, the section's title at the left and the chapter's at the right of
    one row (1.2 times the body's size), and its page number at the foot in large bold type (1.7 times): the halves
    are a running head's, not a title's, and no chapter's number stands at a page's foot. A title alone at the top
    that the model called a header, as large, stays text."""
    from ocr_resources.text.blocks import TextBlock
    from ocr_resources.text.furniture import furniture_decisions

    body_blocks = [TextBlock(1, 612, 792, Box(67, y, 558, y + 27), "text", " ".join(BODY), 12.0, False, 2)
                   for y in (81, 200)]
    left = TextBlock(1, 612, 792, Box(54, 43, 237, 56), "header", "13.6 Other Randomizing Commands", 14.3)
    right = TextBlock(1, 612, 792, Box(490, 43, 559, 56), "header", "Randomizing", 14.3)
    number = TextBlock(1, 612, 792, Box(531, 759, 560, 778), "footer", "106", 20.7)
    decided = furniture_decisions([*body_blocks, left, right, number])
    assert [decided[k].label for k in (2, 3, 4)] == ["header", "header", "footer"]
    title = TextBlock(1, 612, 792, Box(200, 43, 400, 56), "header", "Other Randomizing Commands", 14.3)
    assert furniture_decisions([*body_blocks, title])[2].label == "text"
