"""A scanned page's source resolution (render.source_image_dpi, pages.source_dpi) and the PP-OCR rule that
sends a line to the second recogniser by its pixels of detail (ppocr.small_line), not its rendered height."""

from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from ocr_resources.engines.ppocr import DEFAULTS, small_line
from ocr_resources.pipeline.render import RenderTask, render_chunk, source_image_dpi

PAGE_IN = (8.5, 11.0)


def _scan(path: Path, dpi: int, cover: float = 1.0) -> Path:
    """An image-only page: a letter page scanned at `dpi`, drawn over `cover` of the page's width/height."""
    w_in, h_in = PAGE_IN[0] * cover, PAGE_IN[1] * cover
    image = Image.new("L", (round(w_in * dpi), round(h_in * dpi)), 255)
    ImageDraw.Draw(image).text((dpi // 2, dpi // 2), "A scanned line of text", fill=0)
    c = canvas.Canvas(str(path), pagesize=(PAGE_IN[0] * 72, PAGE_IN[1] * 72))
    c.drawImage(ImageReader(image), 0, 0, width=w_in * 72, height=h_in * 72)
    c.save()
    return path


def _dpi(path: Path) -> float | None:
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[0]
        return source_image_dpi(page, *page.get_size())
    finally:
        pdf.close()


def test_source_dpi_of_image_only_pages(tmp_path):
    assert _dpi(_scan(tmp_path / "72.pdf", 72)) == 72
    assert _dpi(_scan(tmp_path / "300.pdf", 300)) == 300
    assert _dpi(_scan(tmp_path / "logo.pdf", 300, cover=0.3)) is None  # a small picture: no scan


def test_rendered_page_carries_source_dpi(tmp_path):
    pdf = _scan(tmp_path / "72.pdf", 72)
    (page,) = render_chunk(RenderTask("doc", str(pdf), [1], 144, str(tmp_path / "store")))
    assert page.error is None and not page.has_text_layer
    assert page.source_dpi == 72 and page.dpi == 144


def test_small_line_in_pixels_of_detail():
    under = float(DEFAULTS["second_under_px"])
    body = 22  # a 10-pt line's crop height in the 144-dpi render (px)
    # a 72-dpi scan: 22 render px are 11 pixels of the source: small, the second recogniser reads it
    assert small_line(body, 144 / 72, under)
    assert small_line(body, 144 / 100, under)  # 100 dpi: 15 source px
    # a 300-dpi scan: the render's 22 px are all the detail the recogniser gets, enough
    assert not small_line(body, 144 / 300, under)
    assert not small_line(body, None, under)  # source unknown: the rendered height decides
    # small print (a receipt's 7 pt, 14 px rendered) goes whatever the source
    assert small_line(14, 144 / 300, under) and small_line(14, None, under)
