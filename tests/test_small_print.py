"""Small print on a scan is read again from the PDF at a finer resolution (`stages.text.small_print_dpi`,
`render.page_image`)."""

from __future__ import annotations

from PIL import Image, ImageDraw

from ocr_resources.pipeline.render import page_image
from ocr_resources.pipeline.stages.text import MAX_ZOOM_DPI, small_print_dpi
from ocr_resources.types import Box, Word


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
