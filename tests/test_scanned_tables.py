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
from ocr_resources.pipeline.page_store import PageStore
from ocr_resources.store import Producer, ResultStore
from ocr_resources.tables.detect import scanned_figure_verdict
from ocr_resources.text.markdown import render
from ocr_resources.types import Box, DetectedRegion, OcrResult, Word
from tests.test_tables import PAGE_W, _page, _pdf, income_statement, numbered_list, ruled_table, unruled_table

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


class FigureOver(LayoutDetector):
    """Calls the table area a figure (what the offline model does with a table image)."""

    def __init__(self):
        self.batch_size = 1
        self.identity = ModelIdentity("fake_layout", "fake", "1")

    def detect(self, images):
        k = images[0].width / PAGE_W
        return [[DetectedRegion(TABLE_AREA.scaled(k), "figure", "figure", 0.8)] for _ in images]


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


def _run_scan(tmp_path: Path, draw) -> ResultStore:
    folder = tmp_path / "inbox" / "box"
    folder.mkdir(parents=True)
    pdf, words = _image_only_pdf(draw)
    (folder / "scan.pdf").write_bytes(pdf)
    store = ResultStore(tmp_path / "ocr.duckdb")
    runs = [0]

    def run(asset, fn):
        runs[0] += 1
        producer = Producer(asset, "test", "m", "1", "1")
        ctx = stages.StageContext(container_id="box", run_id=f"run-{runs[0]}", producer_id=producer.producer_id,
                                  store=store, page_store=PageStore(tmp_path / "pages"), render_workers=1,
                                  spill_root=tmp_path / "spill")
        out = fn(ctx)
        stages.commit(ctx, asset, out, producer)
        return out

    run("source_documents", lambda ctx: stages.source_documents(ctx, folder))
    run("rendered_pages", lambda ctx: stages.rendered_pages(ctx, 144))
    run("layout_regions", lambda ctx: stages.layout_regions(ctx, FigureOver()))
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
