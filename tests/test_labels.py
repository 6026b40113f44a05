"""No text lost to a label: a layout label is checked against the page's words before it decides anything
(a "figure" full of text lines is text), words outside every region form regions of their own, a figure's
words follow its image marker, and every word of a generated page ends up in its Markdown exactly once.
Regions are given by hand (no model runs); words come from generated PDFs through the real text-layer
extraction, or are laid out synthetically where the test is about the rule itself."""

from __future__ import annotations

import io
from collections import Counter

from reportlab.pdfgen import canvas

from eval.words_lost import match, tokens
from ocr_resources.geometry.labels import MIN_AREA_SHARE, OUTSIDE, check_labels, text_cover
from ocr_resources.geometry.lines import lines
from ocr_resources.geometry.page import checked_regions, compose, region_words
from ocr_resources.text.document import PageBlocks, finish_document
from ocr_resources.text.markdown import IMAGE, render
from ocr_resources.types import Box, DetectedRegion, Word
from tests.test_text_document import page_words

W, H = 595, 842
ITEMS = [("KOPI O KOSONG", "2.50"), ("ROTI BAKAR KAYA", "3.20"), ("TEH TARIK", "2.80"), ("NASI LEMAK AYAM", "8.90"),
         ("MEE GORENG MAMAK", "7.50"), ("AIR SIRAP LIMAU", "2.20"), ("TELUR SEPARUH MASAK", "3.00"),
         ("ROTI CANAI", "1.60"), ("MILO AIS", "3.50"), ("CHAPATI DAL", "4.20")]
HEAD = ["WARUNG MAKAN SELERA", "NO 12 JALAN BUNGA RAYA", "TEL 03-5566 7788", "INVOICE 000123 CASHIER ALI"]
FOOT = ["TOTAL 39.40", "CASH 50.00", "CHANGE 10.60", "THANK YOU PLEASE COME AGAIN"]
RECEIPT = Box(220, 300, 380, 560)  # a small receipt in the middle of an A4 page: the model calls it a figure


def receipt_pdf() -> bytes:
    """A receipt set small in the middle of an A4 page (about 8% of it), as a scanner makes of one: a head,
    items with their prices at the right edge, a foot."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("Helvetica", 7)
    y = H - 310
    for line in HEAD:
        c.drawString(230, y, line)
        y -= 10
    for item, price in ITEMS:
        c.drawString(230, y, item)
        c.drawRightString(370, y, price)
        y -= 10
    for line in FOOT:
        c.drawString(230, y, line)
        y -= 10
    c.showPage()
    c.save()
    return buf.getvalue()


def _markdown(words: list[Word], regions: list[DetectedRegion]) -> tuple[str, list]:
    """The page through what the pipeline does with it: labels checked (the layout stage), blocks composed
    (the text stage), document decisions, Markdown."""
    checked = checked_regions(regions, words)
    boxes, labels = [r.box for r, _ in checked], [r.label for r, _ in checked]
    text_figures = {i: reason for i, (r, reason) in enumerate(checked) if reason and r.model_label == "figure"}
    blocks = compose(words, boxes, labels, page=Box(0, 0, W, H), text_figures=text_figures)
    results = finish_document([PageBlocks(1, W, H, blocks)])
    rows = [{"label": bt.label, "text": bt.text, "heading_level": bt.heading_level, "page_no": 1,
             "region_no": bt.block.region} for bt in results[0]]
    return render(rows), checked


def _all_words_once(words: list[Word], markdown: str) -> None:
    total, found = match([w.text for w in words], Counter(tokens(markdown)))
    assert found == total, (found, total, markdown)
    assert Counter(tokens(markdown)) == Counter(t for w in words for t in tokens(w.text)), markdown


def test_receipt_labelled_figure_is_text_and_exports_every_line():
    words = page_words(receipt_pdf())[0]
    figure = DetectedRegion(RECEIPT, "figure", "figure", 0.9, "not a table: no columns")
    md, checked = _markdown(words, [figure])
    (region, reason), = checked
    assert region.label == "text" and region.model_label == "figure"
    assert region.table_reason == "not a table: no columns"  # the table decision's reason kept beside it
    assert reason.startswith("figure mostly text lines")
    assert IMAGE not in md
    _all_words_once(words, md)
    # each item read with its price, not all items and then all prices (form rows: geometry.paragraphs)
    at = [(md.index(item), md.index(price)) for item, price in ITEMS]
    assert all(i < p < next_i for (i, p), (next_i, _) in zip(at, at[1:], strict=False))
    assert md.index(HEAD[0]) < md.index(ITEMS[0][0]) < md.index(ITEMS[-1][0]) < md.index(FOOT[-1])


def test_words_outside_every_region_form_a_region():
    words = page_words(receipt_pdf())[0]
    head_only = DetectedRegion(Box(225, 300, 375, 345), "title", "title", 0.8)  # the model found the head alone
    md, checked = _markdown(words, [head_only])
    missed = [(r, reason) for r, reason in checked if r.model_label is None]
    assert missed and all(r.label == "text" and reason == OUTSIDE for r, reason in missed)
    # every word now has a region (its own, or the one whose column it continues): no loose line is left
    assert region_words(words, [r.box for r, _ in checked], [r.label for r, _ in checked])[1] == []
    assert region_words(words, [head_only.box], [head_only.label])[1], "the head region alone leaves loose lines"
    _all_words_once(words, md)


def _synthetic_lines(box: Box, n: int, gap: float, height: float = 8.0, widths: tuple[float, ...] = (0.9,),
                     word: str = "word") -> list[Word]:
    """`n` lines of words down a box, `gap` points between lines, each line a share `widths[k % len]` of its
    width cut into words of 30 points."""
    out = []
    for k in range(n):
        y = box.y0 + 4 + k * (height + gap)
        right = box.x0 + widths[k % len(widths)] * box.width
        x = box.x0 + 4
        while x + 30 <= right:
            out.append(Word(f"{word}{k}", Box(x, y, x + 28, y + height), 1.0))
            x += 32
    return out


def test_relabel_rule_on_synthetic_regions():
    receipt = Box(100, 100, 300, 400)  # 25 lines stacked at 12 pt: text lines fill it
    chart = Box(100, 450, 500, 750)  # a chart: an axis of five numbers and a title
    short = Box(350, 100, 500, 160)  # a logo with three words in it: too few lines to be text
    words = (_synthetic_lines(receipt, 24, 4.0, widths=(0.9, 0.5, 0.7))
             + _synthetic_lines(Box(100, 450, 140, 750), 5, 50.0, widths=(1.0,), word="tick")
             + _synthetic_lines(Box(200, 455, 400, 470), 1, 0.0, word="title")
             + _synthetic_lines(Box(350, 100, 500, 160), 1, 0.0, word="logo"))
    regions = [receipt, chart, short]
    labels = ["figure", "figure", "figure"]
    owned = region_words(words, regions, labels)[0]
    decided = check_labels(regions, labels, owned)
    assert [d.label for d in decided] == ["text", "figure", "figure"]
    assert decided[0].reason and "lines" in decided[0].reason
    assert decided[1].reason is None and decided[2].reason is None
    # a photo of the receipt, with a wide margin round it: its text is judged where it lies
    photo = Box(20, 20, 580, 820)
    assert sum(ln.box.area for ln in lines(owned[0])) / photo.area < MIN_AREA_SHARE  # of the whole photo: little
    assert text_cover(photo, lines(owned[0]))[0] >= MIN_AREA_SHARE
    assert [d.label for d in check_labels([photo], ["figure"], [owned[0]])] == ["text"]
    # a region the model did not call a figure is left alone, whatever it holds
    assert [d.label for d in check_labels([receipt], ["table"], [owned[0]])] == ["table"]



def test_a_bar_chart_with_value_labels_on_its_tick_rows_stays_a_figure():
    """A bar chart read by OCR (the words as PP-OCR gave them for a chart image of the docling corpus): ten tick
    numbers down its left edge, its bars' values level with some ticks at the far right, slanted category names
    under it. The wide tick rows and the slanted names' tall boxes covered a quarter of its area, so it was taken
    for text, each tick number a paragraph. Lines of numbers alone are a chart's."""
    chart = Box(124, 301, 491, 512)
    found = [("100", 151.6, 305.6, 165.3, 312.3), ("90", 155.6, 319.3, 165.3, 326.0),
             ("80", 155.5, 333.2, 165.3, 340.0), ("70", 155.4, 338.7, 165.1, 353.3),
             ("60", 156.2, 360.7, 165.5, 367.6), ("50", 157.1, 374.3, 165.4, 380.9),
             ("4", 459.4, 375.5, 474.0, 383.6), ("40", 156.8, 387.7, 164.9, 394.5), ("30", 156.2, 400.8, 166.1, 409.0),
             ("3", 459.7, 394.6, 473.7, 403.1), ("20", 156.3, 414.9, 165.4, 421.7), ("12", 463.4, 414.3, 472.8, 421.0),
             ("10", 156.3, 428.4, 165.4, 435.8), ("1", 459.0, 431.2, 473.9, 443.3),
             ("Institutional", 153.3, 455.3, 194.8, 496.5), ("residential", 191.7, 455.3, 228.2, 491.8),
             ("commercial", 221.3, 455.0, 261.6, 495.4), ("community", 240.2, 470.3, 281.2, 511.0),
             ("park", 276.7, 454.8, 296.5, 474.4), ("municipal", 280.8, 470.6, 314.1, 503.8),
             ("park", 311.7, 454.7, 328.7, 471.6), ("woodlot", 332.8, 455.1, 362.8, 483.3),
             ("roadside", 363.6, 454.9, 396.1, 486.1), ("riverside", 397.1, 455.0, 429.2, 486.1)]
    words = [Word(t, Box(x0, y0, x1, y1), 0.9) for t, x0, y0, x1, y1 in found]
    owned = region_words(words, [chart], ["figure"])[0]
    area, rows = text_cover(chart, lines(owned[0]))
    assert len(lines(owned[0])) >= 5 and area >= MIN_AREA_SHARE and rows >= 0.5  # as text lines cover text
    assert [d.label for d in check_labels([chart], ["figure"], owned)] == ["figure"]
    # a table of figures the model boxed as a figure: rows of several numbers are text lines, read as such
    table = Box(100, 100, 400, 220)
    figures = [Word(v, Box(110 + 40 * c, 104 + 14 * r, 140 + 40 * c, 112 + 14 * r), 0.9)
               for r in range(8) for c, v in enumerate(["12.5", "1,382.7", "954.7", "-728", "52.94"])]
    assert [d.label for d in check_labels([table], ["figure"], region_words(figures, [table], ["figure"])[0])] \
        == ["text"]


def test_figure_words_follow_its_image_marker():
    words = _synthetic_lines(Box(100, 450, 140, 750), 5, 50.0, widths=(1.0,), word="tick")
    chart = DetectedRegion(Box(90, 440, 500, 760), "figure", "figure", 0.9)
    md, checked = _markdown(words, [chart])
    assert checked[0][0].label == "figure" and checked[0][1] is None
    assert md.startswith(IMAGE + "\n\n")
    _all_words_once(words, md)


def test_words_lost_counts_hyphen_joins_and_duplicates():
    available = Counter(tokens("The exam-\nple is an example.\n\n<!-- image -->\n\nAn example"))
    # "exam-" + "ple" found joined as "example"; "lost" is nowhere
    assert match(["The", "exam-", "ple", "is", "an", "lost"], available) == (6, 5)
    # what one page took is gone for the next: a word the Markdown holds once is found once
    assert match(["is", "is"], available) == (2, 0)
    assert tokens("TAX\\_ID 東京") == ["tax_id", "東", "京"]


def test_region_rows_carry_the_label_reason_into_duckdb(tmp_path):
    """The layout stage's rows keep why a label is not the model's in a column the database has."""
    from ocr_resources.pipeline.rows import SCHEMAS
    from ocr_resources.store import ResultStore

    store = ResultStore(tmp_path / "r.duckdb")
    store.migrate()
    columns = {r["column_name"] for r in store.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'regions'")}
    assert "label_reason" in SCHEMAS["regions"].names and set(SCHEMAS["regions"].names) <= columns


def test_a_formula_on_a_scan_that_reads_as_prose_is_text():
    """On a scan a formula is written as an image marker, so a paragraph the model took for one would be lost;
    a real formula's OCR (symbols, single letters, digits) stays a formula."""
    def ocr(texts: list[str], y: float) -> list[Word]:
        return [Word(t, Box(60 + 40 * i, y, 95 + 40 * i, y + 10)) for i, t in enumerate(texts)]

    prose = ocr("the boundary layer grows with the distance from the leading edge as expected".split(), 100)
    formula = ocr(["λg", "=", "∑", "ζ", "n", "s∈S", "k", "=", "exp", "(", "x", ")"], 200)
    regions, labels = [Box(50, 95, 600, 115), Box(50, 195, 600, 215)], ["formula", "formula"]
    decided = check_labels(regions, labels, [prose, formula], ocr_words=prose + formula)
    assert [d.label for d in decided] == ["text", "formula"]
    assert "prose" in decided[0].reason and decided[1].reason is None
    # on a digital page the formula finder reads the text layer's glyphs: no OCR words, the label stands
    assert [d.label for d in check_labels(regions, labels, [prose, formula])] == ["formula", "formula"]


def test_words_lost_leaves_out_a_scanned_formula_written_as_its_image_marker():
    from eval.words_lost import page_words

    def word(text: str, x: float, y: float) -> dict:
        return {"text": text, "source": "ocr", "x0": x, "y0": y, "x1": x + 20, "y1": y + 10}

    words = [word("Then", 50, 100), word("we", 80, 100), word("λg", 60, 200), word("=", 90, 200)]
    rows = [{"label": "text", "text": "Then we", "text_source": "ocr", "x0": 40, "y0": 95, "x1": 300, "y1": 115},
            {"label": "formula", "text": "λg =", "text_source": "ocr", "x0": 40, "y0": 195, "x1": 300, "y1": 215}]
    assert page_words({"has_text_layer": False}, words, rows, []) == ["Then", "we"]
    # on a digital page the formula's words are written (as LaTeX or text): they count
    layer = [{**w, "source": "text_layer"} for w in words]
    digital = [{**r, "text_source": "text_layer"} for r in rows]
    assert page_words({"has_text_layer": True}, layer, digital, []) == ["Then", "we", "λg", "="]


def chart_page_pdf(inside: bool = False) -> bytes:
    """A heading, a paragraph and a bar chart whose tick numbers (left) and category names (below, set
    larger than the body) stick out of the box the layout model draws round its bars (or, `inside`, lie in
    it)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, H - 80, "Quarterly Results")
    c.setFont("Helvetica", 10)
    for k in range(5):
        c.drawString(72, H - 120 - 13 * k, "Sales rose in every region this year and the outlook for the next is good")
    for k, tick in enumerate(("100", "75", "50", "25", "0")):
        c.drawRightString(144 if not inside else 170, H - 310 - 45 * k, tick)
    c.setFont("Helvetica", 14)
    for k, name in enumerate(("North", "South", "East", "West")):
        c.drawString(180 + 70 * k, H - 516 if not inside else H - 490, name)
    for k in range(4):
        c.rect(180 + 70 * k, H - 500, 40, 40 + 30 * k, fill=1)
    if inside:
        c.setFont("Helvetica", 10)
        c.drawString(W / 2, 30, "7")  # the page number
    c.showPage()
    c.save()
    return buf.getvalue()


def test_a_charts_labels_outside_its_box_are_its_words_never_a_heading():
    words = page_words(chart_page_pdf())[0]
    regions = [DetectedRegion(Box(70, 60, 300, 85), "title", "title", 0.9),
               DetectedRegion(Box(70, 110, 500, 185), "text", "text", 0.9),
               DetectedRegion(Box(150, 300, 450, 502), "figure", "figure", 0.9)]
    md, checked = _markdown(words, regions)
    assert len(checked) == 3, checked  # no region of its own for the ticks or the names
    assert md.startswith("# Quarterly Results\n"), md
    assert md.count("#") == 1, md
    chart = md[md.index(IMAGE):]
    assert all(t in chart for t in ("100", "75", "0", "North", "West")), md
    _all_words_once(words, md)


def test_a_chart_taken_for_a_text_page_keeps_its_numbers_and_makes_no_heading():
    words = page_words(chart_page_pdf(inside=True))[0]
    chart = DetectedRegion(Box(20, 20, 575, 830), "figure", "figure", 0.9)  # the whole page, the prose too
    md, _ = _markdown(words, [chart])
    # the heading alone on its row stays a heading; the names in a row along the axis and the numbers do not
    assert "\n# Quarterly Results\n" in md and md.count("#") == 1, md
    assert IMAGE + "\n\n100 75 50 25\n" in md, md
    # a lone number is no axis: the page number is left to the furniture decision (out of the Markdown)
    _all_words_once([w for w in words if w.text != "7"], md)
