"""Tables on pages without a text layer that the layout model called a figure (issue 23): the layout stage
runs before OCR, so the figure is judged once OCR has read its words, by the same grid-or-prose decision a
digital page's figure gets."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import LayoutDetector, ModelIdentity, TextRecognizer
from ocr_resources.engines.geometry_table import GeometryTableRecognizer
from ocr_resources.geometry.labels import check_labels
from ocr_resources.pipeline import stages
from ocr_resources.store import ResultStore
from ocr_resources.tables.detect import scanned_figure_verdict, scanned_verdict, table_verdict
from ocr_resources.text.markdown import render
from ocr_resources.types import Box, DetectedRegion, OcrResult, Word
from tests.stage_runner import run_stage
from tests.test_tables import PAGE_W, _page, _pdf, _top, income_statement, numbered_list, ruled_table, unruled_table

TABLE_AREA = Box(60, 85, 380, 180)  # pt: round the generated tables at the top of the page


def test_a_figure_whose_ocr_words_form_a_grid_is_a_table_and_prose_is_not():
    # synthetic OCR words: those of the generated pages, as a perfect reader would give them
    grid = _page(unruled_table)[2]
    ok, why = scanned_figure_verdict(grid, TABLE_AREA)
    assert ok and why == "grid of 5 x 3 (aligned OCR words) in a figure region"
    ok, why = scanned_figure_verdict(_page(numbered_list)[2], Box(0, 0, 600, 840))
    assert not ok and why.startswith("not a table: ")
    # the text stage's label check: a table on a scan, never the figure-of-text-lines rule's text
    statement = _page(income_statement)[2]
    region = Box(60, 85, 560, 200)
    held = [w for w in statement if region.contains_point(*w.box.center)]
    decided = check_labels([region], ["figure"], [held], statement)
    assert decided[0].label == "table" and decided[0].reason == "grid of 7 x 3 (aligned OCR words) in a figure region"
    # without OCR words (a digital page: the layout stage decided with the text layer) the figure stands
    assert check_labels([region], ["figure"], [held])[0].label != "table"
    # prose in a figure is not made a table
    prose = _page(numbered_list)[2]
    assert check_labels([Box(0, 0, 600, 840)], ["figure"], [prose], prose)[0].label != "table"


def _image_only_pdf(draw) -> tuple[bytes, list[Word]]:
    """The page drawn, rendered at 144 dpi and wrapped as an image-only PDF; with its words in points."""
    pdf = pdfium.PdfDocument(_pdf(draw))
    image = pdf[0].render(scale=2).to_pil().convert("RGB")
    buf = io.BytesIO()
    image.save(buf, "PDF", resolution=144)
    return buf.getvalue(), _page(draw)[2]


class LayoutSays(LayoutDetector):
    """Gives the regions the test sets (PDF points), whatever the page shows: what the offline model does with
    some table images (calls the table a figure or a reference list, or finds nothing)."""

    def __init__(self, regions: list[tuple[Box, str, float]]):
        self.batch_size = 1
        self.identity = ModelIdentity("fake_layout", "fixed", "1")
        self.regions = regions

    def detect(self, images):
        k = images[0].width / PAGE_W
        return [[DetectedRegion(box.scaled(k), label, label, score) for box, label, score in self.regions]
                for _ in images]


def figure_over() -> LayoutSays:
    return LayoutSays([(TABLE_AREA, "figure", 0.8)])


class PerfectReader(TextRecognizer):
    """OCR that reads the drawn words exactly (the engine is not what is tested here)."""

    def __init__(self, words: list[Word]):
        self.batch_size = 1
        self.identity = ModelIdentity("fake_ocr", "fake", "1")
        self.words = words

    def recognize(self, images):
        k = images[0].width / PAGE_W
        words = [Word(w.text, w.box.scaled(k), 0.95) for w in self.words]
        return [OcrResult(" ".join(w.text for w in words), words, 0.95) for _ in images]


def _run_scan(tmp_path: Path, draw, detector: LayoutDetector | None = None) -> ResultStore:
    folder = tmp_path / "inbox" / "box"
    folder.mkdir(parents=True)
    pdf, words = _image_only_pdf(draw)
    (folder / "scan.pdf").write_bytes(pdf)
    store = ResultStore(tmp_path / "ocr.duckdb")
    runs = [0]

    def run(asset, fn):
        runs[0] += 1
        return run_stage(tmp_path, store, "box", asset, fn, run_id=f"run-{runs[0]}")

    run("source_documents", lambda ctx: stages.source_documents(ctx, folder))
    run("rendered_pages", lambda ctx: stages.rendered_pages(ctx, 144))
    run("layout_regions", lambda ctx: stages.layout_regions(ctx, detector or figure_over()))
    run("ocr_text", lambda ctx: stages.ocr_text(ctx, PerfectReader(words)))
    run("tables", lambda ctx: stages.tables(ctx, GeometryTableRecognizer(EngineSettings("table", "geometry"))))
    return store


def _markdown(store: ResultStore) -> str:
    texts = store.query("SELECT page_no, region_no, reading_order, label, text, heading_level, text_source,"
                        " text_source_reason, x0, y0, x1, y1 FROM texts ORDER BY reading_order")
    tables = {(t["page_no"], t["region_no"]): t["markdown"] for t in store.query("SELECT * FROM tables")}
    return render(texts, tables)


def test_a_scanned_table_the_layout_model_called_a_figure_is_one_table_in_the_markdown(tmp_path: Path):
    store = _run_scan(tmp_path, unruled_table)
    assert store.query("SELECT has_text_layer FROM pages")[0]["has_text_layer"] is False
    assert [r["label"] for r in store.query("SELECT label FROM regions")] == ["figure"]  # (before OCR)
    rows = store.query("SELECT label, label_reason FROM texts WHERE region_no IS NOT NULL")
    assert rows == [{"label": "table", "label_reason": "grid of 5 x 3 (aligned OCR words) in a figure region"}]
    table = store.query("SELECT n_rows, n_cols FROM tables")
    assert table == [{"n_rows": 5, "n_cols": 3}]
    cells = {(c["row_no"], c["col_no"]): c["text"] for c in store.query("SELECT * FROM table_cells")}
    assert cells[(1, 0)] == "Austria" and cells[(1, 2)] == "13.8"
    markdown = _markdown(store)
    assert markdown.count("Austria") == 1 and "| Austria |" in markdown  # the table once, not also as text
    assert "<!-- image -->" not in markdown


def test_a_ruled_scanned_table_called_a_figure_is_a_table(tmp_path: Path):
    store = _run_scan(tmp_path, ruled_table)
    assert store.query("SELECT label FROM texts WHERE region_no IS NOT NULL")[0]["label"] == "table"
    markdown = _markdown(store)
    assert markdown.count("Austria") == 0 and markdown.count("13.1") == 1 and "| South |" in markdown


def test_a_table_image_the_layout_model_found_nothing_on_is_a_table(tmp_path: Path):
    store = _run_scan(tmp_path, unruled_table, LayoutSays([]))
    region = store.query("SELECT label, model_label, x0, y0 FROM regions")  # the whole page, for OCR to decide
    assert region == [{"label": "text", "model_label": None, "x0": 0.0, "y0": 0.0}]
    rows = store.query("SELECT label, label_reason FROM texts WHERE region_no IS NOT NULL")
    assert rows == [{"label": "table", "label_reason":
                     "grid of 5 x 3 (aligned OCR words) on a page the layout model found no region on"}]
    cells = {(c["row_no"], c["col_no"]): c["text"] for c in store.query("SELECT * FROM table_cells")}
    assert cells[(1, 0)] == "Austria" and cells[(1, 2)] == "13.8"
    markdown = _markdown(store)
    assert markdown.count("Austria") == 1 and "| Austria |" in markdown


def test_a_table_image_the_layout_model_called_a_reference_list_is_a_table(tmp_path: Path):
    store = _run_scan(tmp_path, _sparse_table, LayoutSays([(Box(40, 60, 560, 400), "reference", 0.7)]))
    rows = store.query("SELECT label, label_reason FROM texts WHERE region_no IS NOT NULL")
    assert rows == [{"label": "table", "label_reason":
                     "grid of 7 x 4 (aligned OCR words, the page's whole content) in a reference region"}]
    cells = {(c["row_no"], c["col_no"]): c["text"] for c in store.query("SELECT * FROM table_cells")}
    assert cells[(0, 0)] == "Pollutant" and cells[(2, 2)] == "2 000"
    # a reference region beside other text on the page is left to the layout model
    words = _page(_sparse_table)[2]
    other = [Word(f"line{i}", Box(72, 500 + 14 * i, 300, 510 + 14 * i)) for i in range(40)]
    assert not scanned_verdict(words + other, Box(40, 60, 560, 400), "reference")[0]


def test_prose_on_a_page_the_layout_model_found_nothing_on_is_read_as_before(tmp_path: Path):
    store = _run_scan(tmp_path, numbered_list, LayoutSays([]))
    assert store.query("SELECT count(*) AS n FROM tables")[0]["n"] == 0
    assert store.query("SELECT count(*) AS n FROM texts WHERE region_no IS NOT NULL")[0]["n"] == 0
    assert "Calculate" in _markdown(store) and "|" not in _markdown(store)


def _sparse_table(c) -> None:
    """A numeric table with many cells not given (a release threshold per medium, most media blank)."""
    c.setFont("Helvetica", 10)
    rows = [("Pollutant", "to air", "to water", "to land"), ("Asbestos", "1", "1", "1"),
            ("Chlorides", None, "2 000", "2 000"), ("Cyanides", None, "50", "50"),
            ("Fluorides", None, "2 000", None), ("Nitrogen", "50", None, "50 000"), ("Phosphorus", None, "5 000", None)]
    for i, row in enumerate(rows):
        for x, text in zip((72, 220, 300, 380), row, strict=True):
            if text is not None:
                c.drawString(x, _top(100 + 14 * i), text)


def _receipt(c) -> None:
    """Items and prices in two columns under a shop's name: no table, even alone on its page."""
    c.setFont("Helvetica", 10)
    rows = [("CORNER SHOP SDN BHD", None), ("12 Jalan Besar", None), ("Tea (B)", "2.20"), ("Coffee", "3.10"),
            ("Herbal tea with lemon and", None), ("honey", "1.70"), ("Take away", "0.80"), ("Total", "7.80"),
            ("Cash", "10.00"), ("Change", "2.20"), ("Thank you, please come again", None)]
    for i, (label, price) in enumerate(rows):
        c.drawString(72, _top(100 + 14 * i), label)
        if price is not None:
            c.drawRightString(260, _top(100 + 14 * i), price)


def test_a_sparse_table_alone_on_an_image_only_page_is_a_table():
    # a table image: the figure holds all of the page's words; its empty cells are values not given
    words = _page(_sparse_table)[2]
    ok, why = scanned_figure_verdict(words, Box(0, 0, 600, 840))
    assert ok and why.endswith("(aligned OCR words, the page's whole content) in a figure region")
    # the same grid beside other text on the page stays held to the dense-grid rule (a chart's tick labels)
    other = [Word(f"word{i}", Box(72 + 40 * (i % 10), 500 + 14 * (i // 10), 100 + 40 * (i % 10), 510 + 14 * (i // 10)))
             for i in range(40)]
    ok, why = scanned_figure_verdict(words + other, Box(0, 0, 600, 400))
    assert not ok and why.startswith("not a table: sparse grid")
    # a receipt alone on its page: items and prices in two columns are not a table by the page-of-its-own rule
    ok, why = table_verdict(_page(_receipt)[2], [], Box(0, 0, 600, 840), strict=True, whole_page=True)
    assert not ok and why.endswith("with numbers or gaps on a page of its own")
    # nor a numbered list or prose alone on its page
    assert not scanned_figure_verdict(_page(numbered_list)[2], Box(0, 0, 600, 840))[0]


def test_a_scanned_spread_of_two_pages_of_justified_text_is_no_table():
    """A scan of two facing pages of justified text, OCR'd at low resolution: the word spaces are as wide as the
    phrase test's gap, so every word is a phrase of its own, and the two pages made a grid of two columns whose
    cells were paragraphs. Every column of long cells is running text, not a table; a table of terms and their
    descriptions, whose term column is short, still is one."""
    import random

    rng = random.Random(5)
    vocab = ("the game disk drive button select menu position slot save restore pointer screen text speed "
             "option appears when you release press hold data format name list").split()

    def column(x0: float, y0: float) -> list[Word]:
        out = []
        for k in range(20):
            x, y = x0, y0 + 12 * k
            for _ in range(9):  # justified: word spaces of about a text height (the phrase gap is 0.6 of one)
                text = rng.choice(vocab) + ("." if rng.random() < 0.1 else "")
                w = 5.0 * len(text)
                out.append(Word(text, Box(x, y, x + w, y + 7)))
                x += w + 7.5
        return out

    words = column(20, 20) + column(400, 23)
    box = Box(0, 0, 760, 300)
    assert not scanned_figure_verdict(words, box)[0]
    ok, why = table_verdict(words, [], box, strict=True, whole_page=True)
    assert not ok and "running text" in why, why
    terms = [w for k in range(8) for w in (
        Word(f"TERM{k}:", Box(20, 20 + 24 * k, 70, 27 + 24 * k)),
        *[Word(rng.choice(vocab), Box(120 + 40 * j, 20 + 24 * k, 150 + 40 * j, 27 + 24 * k)) for j in range(9)])]
    assert table_verdict(terms, [], Box(0, 0, 600, 300), strict=True, whole_page=True)[0]
