"""Per-region text source through the text stage, with the real offline OCR engine and a layout given by a
stub detector: a garbage or invisible text layer is replaced by OCR, a logo with words on a born-digital page
is read by OCR, a good text layer is kept; the choice and its reason are stored per row."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from ocr_assets.samples import SCANNED_LINES, _font, scanned_page_image
from ocr_resources.engines import EngineSettings, engine_class
from ocr_resources.engines.base import LayoutDetector, ModelIdentity
from ocr_resources.pipeline import stages
from ocr_resources.store import ResultStore
from ocr_resources.types import Box, DetectedRegion
from tests.stage_runner import run_stage

pytestmark = pytest.mark.timeout(300)
W, H = 612, 792
BODY = ["The annual meeting of the society takes place in the spring of next year",
        "Members are asked to register before the end of the month at the office"]


class BoxesDetector(LayoutDetector):
    """The layout of each page, given in PDF points (72 dpi renders), as the test sets it."""

    def __init__(self, regions: list[tuple[Box, str]], dpi: int):
        self.batch_size = 1
        self.identity = ModelIdentity("boxes", "boxes", "1")
        self.regions, self.scale = regions, dpi / 72

    def detect(self, images):
        return [[DetectedRegion(box.scaled(self.scale), label, label, 0.9) for box, label in self.regions]
                for _ in images]


@pytest.fixture(scope="module")
def ocr():
    return engine_class("ocr", "rapidocr")(EngineSettings(role="ocr", engine="rapidocr"))


def run_text(tmp_path: Path, pdf: bytes, regions: list[tuple[Box, str]], ocr, **context) -> list[dict]:
    folder = tmp_path / "inbox" / "box"
    folder.mkdir(parents=True)
    (folder / "page.pdf").write_bytes(pdf)
    store = ResultStore(tmp_path / "ocr.duckdb")
    dpi = 144

    def stage(asset, fn):
        run_stage(tmp_path, store, "box", asset, fn, run_id=f"run-{asset}")

    stage("source_documents", lambda c: stages.source_documents(c, folder))
    stage("rendered_pages", lambda c: stages.rendered_pages(c, dpi))
    stage("layout_regions", lambda c: stages.layout_regions(c, BoxesDetector(regions, dpi)))
    run_stage(tmp_path, store, "box", "ocr_text", lambda c: stages.ocr_text(c, ocr), run_id="run-ocr_text",
              **context)
    return store.query("SELECT label, text, text_source, text_source_reason FROM texts ORDER BY reading_order")


def page_with_image(image: Image.Image, at: Box, text_layer: list[str], mode: int, body: bool = False) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.drawImage(ImageReader(image), at.x0, H - at.y1, at.width, at.height)
    if body:
        c.setFont("Helvetica", 11)
        for k, line in enumerate(BODY):
            c.drawString(72, H - 100 - 16 * k, line)
    t = c.beginText(at.x0 + 20, H - at.y0 - 40)
    t.setTextRenderMode(mode)
    t.setFillColorRGB(1, 1, 1)  # drawn but not seen: what a wrong font encoding amounts to for a reader
    t.setFont("Helvetica", 12)
    for line in text_layer:
        t.textLine(line)
    c.drawText(t)
    c.showPage()
    c.save()
    return buf.getvalue()


GARBAGE = ["Ýè¥þ xqzþ¼ ÃÂ¤ ñ#ß§ wrtzkq", "ÐØ¬ Ãº¿ zxcvbqw Ýþ¥ ×÷¤ Ã¼ber", "qwrtp Ýè¥ ÃÂ©® þþ¤ hjklmnb"]


def scan_crop() -> Image.Image:
    page = scanned_page_image(dpi=150)
    return page.crop((100, 150, 1150, 450))


@pytest.mark.parametrize("mode", [0, 3], ids=["garbage-text-layer", "invisible-garbage-text-layer"])
def test_a_garbage_text_layer_is_replaced_by_ocr(tmp_path, ocr, mode):
    at = Box(60, 60, 560, 203)
    pdf = page_with_image(scan_crop(), at, GARBAGE * 2, mode)
    rows = run_text(tmp_path, pdf, [(Box(55, 55, 565, 210), "text")], ocr)
    text = " ".join(r["text"] for r in rows)
    assert "Invoice" in text and "service desk" in text
    assert "Ýè¥þ" not in text
    assert {r["text_source"] for r in rows if r["text"]} == {"ocr"}
    reason = " ".join(r["text_source_reason"] for r in rows)
    assert ("invisible" in reason) if mode == 3 else ("quality" in reason)


def test_a_logo_on_a_digital_page_is_read_by_ocr(tmp_path, ocr):
    logo = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(logo).text((40, 50), "ACME TOOLS", fill="navy", font=_font(90))
    at = Box(72, 200, 372, 300)
    pdf = page_with_image(logo, at, [], 0, body=True)
    rows = run_text(tmp_path, pdf, [(Box(66, 80, 560, 125), "text"), (Box(68, 196, 376, 304), "figure")], ocr)
    by_label = {r["label"]: r for r in rows}
    assert by_label["text"]["text_source"] == "text_layer"
    assert "annual meeting" in by_label["text"]["text"]
    assert by_label["figure"]["text_source"] == "ocr"
    assert "ACME" in by_label["figure"]["text"].upper()
    assert "image region" in by_label["figure"]["text_source_reason"]


def test_a_good_text_layer_is_kept(tmp_path, ocr):
    pdf = page_with_image(Image.new("RGB", (10, 10), "white"), Box(500, 700, 510, 710), [], 0, body=True)
    rows = run_text(tmp_path, pdf, [(Box(66, 80, 560, 125), "text")], ocr)
    assert [r["text_source"] for r in rows] == ["text_layer"]
    assert rows[0]["text"] == "\n".join(BODY)
    assert SCANNED_LINES[0] not in rows[0]["text"]


def test_an_invisible_text_layer_that_lost_its_word_spaces_gives_way_to_ocr(tmp_path, ocr):
    """An old OCR layer under a scan, letter for letter what the page shows but with its word spaces lost
    ("Invoicenumber4471waspaidinfull"): it agrees with OCR (spaces are not compared), yet OCR finds eight times
    its words, so OCR's spaced reading is the text."""
    at = Box(60, 60, 560, 203)
    joined = ["".join(line.split()) for line in SCANNED_LINES]
    pdf = page_with_image(scan_crop(), at, joined, 3)
    rows = run_text(tmp_path, pdf, [(Box(55, 55, 565, 210), "text")], ocr)
    text = " ".join(r["text"] for r in rows)
    assert "Invoice number" in text and "service desk" in text and joined[0] not in text
    assert {r["text_source"] for r in rows if r["text"]} == {"ocr"}
    assert "runs its words together" in " ".join(r["text_source_reason"] for r in rows)


def test_a_text_layer_of_speckle_over_a_page_without_text_is_no_text(tmp_path, ocr):
    """Graph paper scanned with an old OCR layer of its speckle: the layer fails the quality test, and OCR finds
    no text on the page, so the page has none (it kept the speckle before)."""
    paper = Image.new("RGB", (1000, 1400), "white")
    draw = ImageDraw.Draw(paper)
    for k in range(0, 1400, 28):
        draw.line((0, k, 1000, k), fill=(200, 200, 200))
        draw.line((k, 0, k, 1400), fill=(200, 200, 200))
    specks = [":., dP . . .. ? i, . .i ' » 14", "e. .. : r P . LIL Nsr • ki ., k", "1 s .. 2 Y. g , sa % , . . , I '"]
    pdf = page_with_image(paper, Box(0, 0, W, H), specks, 0)
    rows = run_text(tmp_path, pdf, [(Box(0, 0, W, H), "figure")], ocr)
    assert "".join(r["text"] for r in rows).strip() == ""
    assert any("stray marks" in r["text_source_reason"] and "OCR read nothing" in r["text_source_reason"] for r in rows)
