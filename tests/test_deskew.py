"""Crooked scans straightened in the render stage (pipeline.deskew, pages.deskew_degrees): a page of two columns
scanned 2.5 degrees off square is levelled before layout and OCR read it (its tilted lines' upright boxes would
overlap across the gutter), a straight scan and a text-layer page are left as they are, and a page rendered
again for its small print is turned as its first rendering was."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from ocr_resources.pipeline.deskew import MIN_SKEW, skew_angle, straighten
from ocr_resources.pipeline.render import RenderTask, page_image, render_chunk

W, H = 612, 792
LINE = "the results of the survey were read again by the second team"


def _two_columns() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("Times-Bold", 16)
    c.drawString(72, H - 72, "A Report of Two Columns")
    c.setFont("Times-Roman", 10)
    for k in range(40):
        c.drawString(72, H - 110 - 14 * k, LINE[: 40 + k % 9])
        c.drawString(320, H - 110 - 14 * k, LINE[: 38 + k % 7])
    c.save()
    return buf.getvalue()


def _page(dpi: int = 150) -> Image.Image:
    pdf = pdfium.PdfDocument(_two_columns())
    try:
        return pdf[0].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        pdf.close()


def _scan(path: Path, degrees: float, dpi: int = 150) -> Path:
    """The two-column page scanned `degrees` off square (anticlockwise: its lines rise to the right)."""
    image = _page(dpi).rotate(degrees, resample=Image.BICUBIC, fillcolor=255)
    c = canvas.Canvas(str(path), pagesize=(W, H))
    c.drawImage(ImageReader(image), 0, 0, width=W, height=H)
    c.save()
    return path


@pytest.mark.parametrize("degrees", [2.5, -1.2, 6.0])
def test_the_angle_of_a_crooked_page_is_found(degrees):
    crooked = _page().rotate(degrees, resample=Image.BICUBIC, fillcolor=255)
    assert skew_angle(crooked) == pytest.approx(degrees, abs=0.1)
    straight, turned = straighten(crooked)
    assert turned == pytest.approx(-degrees, abs=0.1)
    assert abs(skew_angle(straight)) < MIN_SKEW


def test_a_straight_or_blank_page_is_left_as_it_is():
    page = _page()
    assert straighten(page) == (page, 0.0)
    blank = Image.new("L", (1275, 1650), 255)
    assert straighten(blank) == (blank, 0.0)


def test_the_render_stage_straightens_a_crooked_scan_and_says_so(tmp_path):
    (page,) = render_chunk(RenderTask("doc", str(_scan(tmp_path / "crooked.pdf", 2.5)), [1], 144,
                                      str(tmp_path / "store")))
    assert page.error is None and not page.has_text_layer
    assert page.deskew_degrees == pytest.approx(-2.5, abs=0.1)
    assert "scanned 2.5" in page.warning and "straightened" in page.warning
    stored = Image.open(tmp_path / "store" / page.image_path)
    assert abs(skew_angle(stored)) < MIN_SKEW
    # rendered again finer (small print), the page is turned as it was the first time
    again, dpi = page_image(str(tmp_path / "crooked.pdf"), 1, 288, turn=page.deskew_degrees)
    assert dpi == 288 and abs(skew_angle(again)) < MIN_SKEW

    (straight,) = render_chunk(RenderTask("doc", str(_scan(tmp_path / "straight.pdf", 0.0)), [1], 144,
                                          str(tmp_path / "store")))
    assert straight.deskew_degrees == 0.0 and straight.warning is None


def test_a_text_layer_page_is_never_turned(tmp_path):
    path = tmp_path / "digital.pdf"
    path.write_bytes(_two_columns())
    (page,) = render_chunk(RenderTask("doc", str(path), [1], 144, str(tmp_path / "store")))
    assert page.has_text_layer and page.deskew_degrees is None
