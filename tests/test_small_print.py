"""Small print on a scan is read again from the PDF at a finer resolution (`stages.text.small_print_dpi`,
`render.page_image`)."""

from __future__ import annotations

import io
import os
import re
import signal

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ocr_assets.samples import _font
from ocr_resources.engines import EngineSettings, engine_class
from ocr_resources.pipeline import render
from ocr_resources.pipeline.render import PageImageJob, page_image, render_page_image
from ocr_resources.pipeline.stages.text import MAX_ZOOM_DPI, small_print_dpi
from ocr_resources.pipeline.workers import Limits
from ocr_resources.store import ResultStore
from ocr_resources.types import Box, Word
from tests.test_text_source import run_text

pytestmark = pytest.mark.timeout(300)


def _words(height_pt: float, n: int = 8) -> list[Word]:
    return [Word(f"w{i}", Box(10.0, 10.0 + 2 * i * height_pt, 40.0, 10.0 + (2 * i + 1) * height_pt), 0.9)
            for i in range(n)]


def test_small_print_is_read_again_so_its_lines_are_legible():
    # 3 pt lines at 144 dpi are 6 px: read again at 144 * 16 / 6 = 384 dpi
    assert small_print_dpi(_words(3.0), 144) == 384
    assert small_print_dpi(_words(1.0), 144) == MAX_ZOOM_DPI  # capped
    assert small_print_dpi(_words(6.0), 144) is None  # 12 px lines: the first read stands
    assert small_print_dpi(_words(3.0, n=3), 144) is None  # too few words to measure
    assert small_print_dpi(_words(1.0), 360) is None  # already near the cap: no second read worth its cost


def test_a_page_is_rendered_again_at_the_dpi_asked_within_the_pixel_cap(tmp_path):
    image = Image.new("RGB", (600, 900), "white")
    ImageDraw.Draw(image).text((20, 20), "TOTAL 8.20", fill="black")
    pdf = tmp_path / "scan.pdf"
    image.save(pdf, format="PDF", resolution=300.0)  # 2 x 3 in
    got, dpi = page_image(str(pdf), 1, 300)
    assert dpi == 300 and abs(got.width - 600) <= 1 and abs(got.height - 900) <= 1 and got.mode == "RGB"
    got, dpi = page_image(str(pdf), 1, 300, max_pixels=100_000)
    assert dpi < 300 and got.width * got.height <= 100_000


# -- the page rendered again in a render worker (pdfium under its limits), and what a fault there costs ---------
RECEIPT = ["COFFEE LATTE 4.50", "BAGEL CREAM 3.20", "ORANGE JUICE 2.80", "SUBTOTAL 10.50", "TAX 0.84", "TOTAL 11.34",
           "CASH 20.00", "CHANGE 8.66", "THANK YOU", "VISIT AGAIN"]


def receipt_pdf(px: int = 24) -> bytes:
    """A 3 x 4 in receipt scanned at 400 dpi in `px` print (24 px: 4.3 pt, 6-7 px lines rendered at 144 dpi)."""
    image = Image.new("RGB", (1200, 1600), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(RECEIPT):
        draw.text((60, 60 + i * 52), line, fill="black", font=_font(px))
    buf = io.BytesIO()
    image.save(buf, format="PDF", resolution=400.0)
    return buf.getvalue()


class SegfaultingJob(PageImageJob):
    """The fault injected: pdfium crashing the process that renders the page again."""

    def run(self):
        os.kill(os.getpid(), signal.SIGSEGV)
        yield from super().run()


class MemoryBombJob(PageImageJob):
    """The fault injected: a page whose rendering takes memory without end."""

    def run(self):
        hoard = []
        while True:
            hoard.append(np.ones(64 << 20, np.uint8))  # touched, so resident
        yield from super().run()


@pytest.fixture(scope="module")
def ppocr():
    return engine_class("ocr", "ppocr")(EngineSettings(role="ocr", engine="ppocr"))


def _small_print_run(tmp_path, ppocr, limits: Limits) -> tuple[list[dict], list[dict]]:
    run_text(tmp_path, receipt_pdf(), [], ppocr, limits=limits)
    store = ResultStore(tmp_path / "ocr.duckdb")
    return (store.query("SELECT text, text_source_reason FROM texts ORDER BY reading_order"),
            store.query("SELECT stage, error_type, message, severity FROM errors"))


def test_small_print_is_rendered_again_in_a_render_worker(tmp_path):
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(receipt_pdf())
    got = render_page_image(str(pdf), 1, 350, Limits())
    assert got.error is None and got.dpi == 350 and got.image.mode == "RGB"
    assert abs(got.image.width - 3 * 350) <= 1 and abs(got.image.height - 4 * 350) <= 1
    assert np.array_equal(np.asarray(got.image), np.asarray(page_image(str(pdf), 1, 350)[0]))  # as in-process
    gone = render_page_image(str(tmp_path / "gone.pdf"), 1, 350, Limits())
    assert gone.image is None and gone.error.startswith("FileNotFoundError")  # the file vanished: why, no raise


@pytest.mark.parametrize("job, why", [(SegfaultingJob, "killed by signal 11, SIGSEGV"),
                                      (MemoryBombJob, "memory")])
def test_a_crash_rendering_small_print_again_costs_the_finer_read_not_the_run(tmp_path, ppocr, monkeypatch, job,
                                                                             why):
    monkeypatch.setattr(render, "PageImageJob", job)  # only the fault is injected: the rest is the real stage
    texts, errors = _small_print_run(tmp_path, ppocr, Limits(memory_mb=1024, unit_timeout_s=60))
    assert texts and not any("read again" in t["text_source_reason"] for t in texts)  # the first read stands
    assert "TOTAL" in "\n".join(t["text"] for t in texts)
    assert len(errors) == 1 and errors[0]["error_type"] == "small_print" and errors[0]["severity"] == "warning"
    assert re.match(r"small print not read again at \d+ dpi: rendering ", errors[0]["message"])
    assert why.lower() in errors[0]["message"].lower()
