"""Crooked and sideways scans turned upright in the render stage (pipeline.deskew, pages.deskew_degrees): a page
of two columns scanned 2.5 degrees off square is levelled before layout and OCR read it (its tilted lines'
upright boxes would overlap across the gutter), a page lying sideways or upside down is turned upright, a
straight scan and a text-layer page are left as they are, and a page rendered again for its small print is
turned as its first rendering was."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from ocr_resources.pipeline.deskew import MIN_SKEW, page_turn, skew_angle, straighten
from ocr_resources.pipeline.render import RenderTask, page_image, render_chunk

W, H = 612, 792
WORDS = ("the results of a survey were read again by the second team before its report was printed and sent "
         "out to all members of the board who had asked for it").split()


def _two_columns(offset: float = 0.0) -> bytes:
    """A page of two columns; `offset`: the right column's lines that many points lower than the left's."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("Times-Bold", 16)
    c.drawString(72, H - 72, "A Report of Two Columns")
    c.setFont("Times-Roman", 10)
    rng = random.Random(7)  # (words in another order on every line, so their spaces do not line up)
    for k in range(40):
        c.drawString(72, H - 110 - 14 * k, " ".join(rng.sample(WORDS, 8)))
        c.drawString(320, H - 110 - offset - 14 * k, " ".join(rng.sample(WORDS, 8)))
    c.save()
    return buf.getvalue()


def _page(dpi: int = 150, offset: float = 0.0) -> Image.Image:
    pdf = pdfium.PdfDocument(_two_columns(offset))
    try:
        return pdf[0].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        pdf.close()


def _scan(path: Path, degrees: float, dpi: int = 150) -> Path:
    """The two-column page scanned `degrees` off square (anticlockwise: its lines rise to the right); a quarter
    turn makes a landscape page of it, as a page fed into the scanner sideways is."""
    sideways = round(degrees / 90) % 2 == 1
    image = _page(dpi).rotate(degrees, resample=Image.BICUBIC, fillcolor=255, expand=sideways)
    size = (H, W) if sideways else (W, H)
    c = canvas.Canvas(str(path), pagesize=size)
    c.drawImage(ImageReader(image), 0, 0, width=size[0], height=size[1])
    c.save()
    return path


@pytest.mark.parametrize("degrees", [2.5, -1.2, 6.0])
def test_the_angle_of_a_crooked_page_is_found(degrees):
    crooked = _page().rotate(degrees, resample=Image.BICUBIC, fillcolor=255)
    assert skew_angle(crooked) == pytest.approx(degrees, abs=0.1)
    straight, turned = straighten(crooked)
    assert turned == pytest.approx(-degrees, abs=0.1)
    assert abs(skew_angle(straight)) < MIN_SKEW


def test_two_straight_columns_whose_lines_stand_at_different_heights_are_not_taken_for_a_crooked_page():
    """Sheared by a degree and a half, the right column's lines (half a line lower) meet the left's, and the
    page's profile is sharper than upright; but neither column on its own is."""
    page = _page(offset=7.0)
    assert skew_angle(page) == 0.0 and straighten(page) == (page, 0.0)
    assert skew_angle(page.rotate(2.0, resample=Image.BICUBIC, fillcolor=255)) == pytest.approx(2.0, abs=0.1)


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


@pytest.mark.parametrize(("lying", "crooked"), [(90, 0.0), (270, 0.0), (180, 0.0), (0, 1.5)])
def test_a_scan_lying_sideways_or_upside_down_is_read_upright(tmp_path, lying, crooked):
    """A page fed into the scanner sideways or upside down (or only crooked): turned a quarter (half) round by
    its letters' ascenders, or levelled; its stored image is the upright portrait page. (A page both sideways
    and crooked may be left as it is: its lines are level neither way, and their lean is not read.)"""
    path = _scan(tmp_path / "sideways.pdf", lying + crooked)
    (page,) = render_chunk(RenderTask("doc", str(path), [1], 144, str(tmp_path / "store")))
    assert page.error is None and not page.has_text_layer
    assert page.deskew_degrees % 360 == pytest.approx((360 - lying - crooked) % 360, abs=0.1)
    assert (page.width_pt, page.height_pt) == (W, H)
    assert ("read turned" in page.warning) == bool(lying) and ("straightened" in page.warning) == bool(crooked)
    stored = Image.open(tmp_path / "store" / page.image_path)
    assert stored.width < stored.height and page_turn(stored) == 0 and abs(skew_angle(stored)) < MIN_SKEW
    again, _ = page_image(str(path), 1, 200, turn=page.deskew_degrees)
    assert again.width < again.height and page_turn(again) == 0 and abs(skew_angle(again)) < MIN_SKEW


def test_a_chart_with_upright_bars_is_not_taken_for_a_page_lying_sideways():
    """Bars and grid lines standing up the page are no text lines: too few, and they lean no way."""
    from PIL import ImageDraw

    chart = Image.new("L", (1100, 500), 255)
    draw = ImageDraw.Draw(chart)
    for k in range(10):
        draw.rectangle((60 + 100 * k, 480 - 35 * k, 100 + 100 * k, 480), fill=0)
    for y in range(40, 481, 55):
        draw.line((40, y, 1080, y), fill=128)
    assert page_turn(chart) == 0


def test_a_table_of_figures_is_not_taken_for_a_page_lying_sideways():
    """A scanned table of right-aligned numbers: its columns, seen sideways, are bands of ink that lean (their
    ragged left edges), and its digits give its rows no lean. Its rows are lines across the page all the same,
    so it is left upright."""
    from PIL import ImageDraw

    from ocr_assets.samples import _font

    table = Image.new("L", (1100, 780), 255)
    draw, font = ImageDraw.Draw(table), _font(18)
    rng = random.Random(3)
    for r in range(30):
        draw.text((20, 20 + 25 * r), str(1996 + r), fill=0, font=font)
        for c in range(6):
            value = f"{rng.randint(1, 4999):,}"
            right = 300 + 150 * c
            draw.text((right - draw.textlength(value, font=font), 20 + 25 * r), value, fill=0, font=font)
    assert page_turn(table) == 0
