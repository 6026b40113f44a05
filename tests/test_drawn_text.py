"""Text drawn as graphics on a born-digital page (a title inside a pasted picture, a title set as vector
outlines) is found from the page's ink where the text layer has no characters, read by OCR and recorded with
its source and reason; the text layer's own text is not read twice."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pypdfium2
import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from eval.drawn import draw_outlines, words_image
from ocr_resources.engines import EngineSettings, engine_class
from ocr_resources.pipeline.page_store import PageStore, as_stored, stored_gray
from ocr_resources.pipeline.render import RenderTask, render_chunk, text_layer_words
from ocr_resources.store import ResultStore
from ocr_resources.text.drawn import drawn_text_areas
from ocr_resources.text.source import DRAWN
from ocr_resources.types import Box
from tests.test_text_source import run_text

pytestmark = pytest.mark.timeout(300)
W, H = 612, 792
BODY = ["The annual meeting of the society takes place in the spring of next year",
        "Members are asked to register before the end of the month at the office",
        "Tickets for the dinner are sold at the door while the supply lasts"]
PICTURE_AT = Box(72, 60, 400, 110)  # "THE VISION" inside a pasted picture
OUTLINE_AT = (72, 150)  # "FUTURE SKILLS" as filled vector paths, 36 pt tall, top-left corner
SUBTITLE_AT = (72, 205)  # a text-layer line right under the outlines


def drawn_page(drawn: bool = True) -> bytes:
    """The body's text-layer lines, under a pictured title and an outlined one (`drawn`) or nothing else."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    if drawn:
        c.drawImage(ImageReader(words_image("THE VISION", 120)), PICTURE_AT.x0, H - PICTURE_AT.y1,
                    PICTURE_AT.width, PICTURE_AT.height)
        draw_outlines(c, "FUTURE SKILLS", OUTLINE_AT, 36)
        c.setFont("Helvetica", 14)
        c.drawString(SUBTITLE_AT[0], H - SUBTITLE_AT[1] - 14, "by the planning committee")
    c.setFont("Helvetica", 11)
    for k, line in enumerate(BODY):
        c.drawString(72, H - 300 - 16 * k, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def text_layer(pdf: bytes) -> tuple[np.ndarray, list[Box]]:
    """The page rendered at 144 dpi (grey) and its text layer's character boxes (points, top-left origin)."""
    doc = pypdfium2.PdfDocument(pdf)
    page = doc[0]
    gray = np.asarray(page.render(scale=2).to_pil().convert("L"))
    tp = page.get_textpage()
    boxes = []
    for i in range(tp.count_chars()):
        x0, y0, x1, y1 = tp.get_charbox(i)
        if x1 > x0:
            boxes.append(Box(x0, H - y1, x1, H - y0))
    return gray, boxes


def test_drawn_text_areas_find_the_picture_and_the_outlines_only():
    gray, chars = text_layer(drawn_page())
    areas = drawn_text_areas(gray, 144, chars, [])
    assert len(areas) == 2
    picture, outlines = sorted(areas, key=lambda b: b.y0)
    assert picture.y0 >= PICTURE_AT.y0 - 2 and picture.y1 <= PICTURE_AT.y1 + 2
    assert outlines.y0 >= OUTLINE_AT[1] - 2 and outlines.y1 < SUBTITLE_AT[1]  # the text-layer line is not in it


def test_a_page_of_text_layer_text_has_no_drawn_areas():
    gray, chars = text_layer(drawn_page())
    blank = gray.copy()
    blank[: 2 * 260] = 255  # the drawn title and the subtitle gone: body text only
    assert drawn_text_areas(blank, 144, chars, []) == []
    # what another reader takes care of (a region OCR'd anyway, a table) is left out
    assert drawn_text_areas(gray, 144, chars, [Box(0, 0, W, 240)]) == []


@pytest.fixture(scope="module")
def ppocr():
    return engine_class("ocr", "ppocr")(EngineSettings(role="ocr", engine="ppocr"))


def test_drawn_text_is_read_once_with_its_source(tmp_path, ppocr):
    # layout: the outlines and the subtitle in one title region, the body a text region; the picture in none
    regions = [(Box(60, 140, 560, 230), "title"), (Box(60, 290, 560, 350), "text")]
    rows = run_text(tmp_path, drawn_page(), regions, ppocr)
    text = "\n".join(r["text"] for r in rows)
    assert text.count("VISION") == 1 and text.count("SKILLS") == 1
    assert text.count("planning committee") == 1 and text.count("annual meeting") == 1
    picture = next(r for r in rows if "VISION" in r["text"])
    assert (picture["text_source"], picture["text_source_reason"]) == ("ocr", DRAWN)
    # the outlines join the text-layer subtitle of their region: one title block, most of its words the layer's
    assert any(r["label"] == "title" and "SKILLS" in r["text"] and "committee" in r["text"] for r in rows)
    body = [r for r in rows if "annual meeting" in r["text"]]
    assert body[0]["text_source"] == "text_layer"


def test_the_stored_grey_page_is_what_the_page_store_decodes():
    # the render worker's grey (no PNG decode) must be OpenCV's decode of the stored PNG, pixel for pixel
    rng = np.random.default_rng(7)
    image = Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), "RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    decoded = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(stored_gray(image), decoded)


def test_a_grey_page_is_stored_as_one_channel_and_read_back_as_the_same_pixels(tmp_path):
    # most pages are black on white: one channel is a third of the bytes to encode and decode; every reader
    # (the models' RGB, OpenCV's grey, the render worker's grey) must see the pixels the renderer made
    rng = np.random.default_rng(11)
    grey = rng.integers(0, 256, (120, 90), dtype=np.uint8)
    page = Image.fromarray(np.repeat(grey[..., None], 3, axis=2), "RGB")
    colour = np.repeat(grey[..., None], 3, axis=2)
    colour[5, 7, 2] ^= 1  # one pixel not grey: the page stays RGB
    store = PageStore(tmp_path)
    stored = {}
    for name, image in (("grey", page), ("colour", Image.fromarray(colour, "RGB"))):
        _, rel = store.put_image(image)
        stored[name] = rel
        assert np.array_equal(np.asarray(store.open(rel)), np.asarray(image)) and store.open(rel).mode == "RGB"
        assert np.array_equal(store.open_gray(rel), stored_gray(image))
        assert np.array_equal(store.open_gray(rel), stored_gray(as_stored(image)))  # as the render worker has it
    with Image.open(tmp_path / stored["grey"]) as img, Image.open(tmp_path / stored["colour"]) as img2:
        assert (img.mode, img2.mode) == ("L", "RGB")


def test_the_render_worker_finds_the_drawn_areas_the_ocr_stage_would(tmp_path):
    # the areas stored with the page are drawn_text_areas of the stored page image and its text-layer words
    pdf = tmp_path / "drawn.pdf"
    pdf.write_bytes(drawn_page())
    page = render_chunk(RenderTask("d", str(pdf), [1], 144, str(tmp_path / "pages")))[0]
    gray = PageStore(tmp_path / "pages").open_gray(page.image_path)
    expected = drawn_text_areas(gray, 144, [Box(*w[1:5]) for w in page.words], [])
    assert len(expected) == 2 and page.drawn_areas == [(b.x0, b.y0, b.x1, b.y1) for b in expected]


def test_a_page_without_drawn_text_is_not_decoded_by_the_ocr_stage(tmp_path, ppocr, monkeypatch):
    decoded = []  # counts, and reads as before: the stage must not need the pixels of this page
    open_gray = PageStore.open_gray
    monkeypatch.setattr(PageStore, "open_gray", lambda self, rel: decoded.append(rel) or open_gray(self, rel))
    rows = run_text(tmp_path, drawn_page(drawn=False), [(Box(60, 290, 560, 350), "text")], ppocr)
    assert decoded == [] and rows and all(r["text_source"] == "text_layer" for r in rows)
    assert ResultStore(tmp_path / "ocr.duckdb").query("SELECT drawn_areas FROM pages") == [{"drawn_areas": []}]


ITEMS = ["Apply the patches from the maintainer before the release",
         "Prevent an integer overflow in the coordinates",
         "Remove the old allocation code from the program"]


def bullets_page() -> bytes:
    """A list whose bullets are drawn as filled circles (paths, as a browser prints them), one whose bullets are
    pictures (an HTML converter's ball), a numbered list and a paragraph in the text layer, a line beside an icon as
    tall as two lines and a drawing's point beside its label (no bullets)."""
    ball = Image.new("RGB", (24, 24), "white")
    cv2.circle(arr := np.asarray(ball).copy(), (12, 12), 10, (40, 60, 200), -1)
    ball = Image.fromarray(arr)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFont("Helvetica", 11)
    for k, item in enumerate(ITEMS):
        y = H - 100 - 16 * k
        c.circle(76, y + 3.5, 2.2, stroke=0, fill=1)
        c.drawString(84, y, item)
    for k, item in enumerate(ITEMS):
        y = H - 200 - 16 * k
        c.drawImage(ImageReader(ball), 72, y - 0.5, 6, 6)
        c.drawString(84, y, item)
    for k, item in enumerate(ITEMS):
        c.drawString(72, H - 300 - 16 * k, f"{k + 1}. {item}")
    c.drawImage(ImageReader(ball), 72, H - 420, 24, 24)
    c.drawString(102, H - 410, "The icon beside this line is no bullet")
    for k, line in enumerate(BODY):
        c.drawString(72, H - 470 - 16 * k, line)
    c.circle(300, H - 596.5, 2.2, stroke=0, fill=1)  # a drawing's point beside its label: a lone mark
    c.drawString(308, H - 600, "origin")
    c.showPage()
    c.save()
    return buf.getvalue()


def test_bullets_drawn_as_paths_or_pictures_are_found_left_of_their_items():
    from ocr_resources.text.drawn import drawn_bullets

    gray, _ = text_layer(bullets_page())
    page = pypdfium2.PdfDocument(bullets_page())[0]
    tp = page.get_textpage()
    words = [Box(x0, y0, x1, y1) for _, x0, y0, x1, y1, *_ in text_layer_words(tp, H)]
    found = sorted(drawn_bullets(gray, 144, words), key=lambda b: b.y0)
    assert len(found) == 6, found  # three circles, three pictures; not the numbers, the icon, the point, the text
    assert all(70 <= b.x0 and b.x1 <= 80 and b.height < 7 for b in found)
    tops = [H - 100 - 16 * k for k in range(3)] + [H - 200 - 16 * k for k in range(3)]
    assert all(abs((H - top - 3.5) - (b.y0 + b.y1) / 2) < 2 for top, b in zip(tops, found, strict=True))


def test_drawn_bullets_are_stored_as_drawing_words_and_make_list_items(tmp_path, ppocr):
    regions = [(Box(60, 80, 560, 340), "text"), (Box(60, 360, 560, 420), "text")]
    rows = run_text(tmp_path, bullets_page(), regions, ppocr)
    store = ResultStore(tmp_path / "ocr.duckdb")
    drawn = store.query("SELECT text, source FROM words WHERE source = 'drawing'")
    assert len(drawn) == 6 and {r["text"] for r in drawn} == {"\u2022"}
    listed = [r for r in rows if r["label"] == "list"]
    items = [ln for r in listed for ln in r["text"].split("\n") if ln.startswith("\u2022")]
    assert len(items) == 6 and all(any(i in ln for ln in items) for i in ITEMS)
    assert not any("\u2022" in r["text"] for r in rows if "icon beside" in r["text"] or "annual" in r["text"])
