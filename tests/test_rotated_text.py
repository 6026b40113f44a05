"""Text set turned on a digital page (issue 25): characters joined into words along their own baseline, each
word keeping its angle, and lines read in their own orientation."""

from __future__ import annotations

import dataclasses
import io

import pypdfium2 as pdfium
import pytest
from reportlab.pdfgen import canvas

from ocr_resources.geometry.lines import lines
from ocr_resources.pipeline import render
from ocr_resources.text.pdf_chars import PdfChar, char_angle, chars_to_words, oblique
from ocr_resources.types import Box, Word


def _words(draw) -> list[Word]:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(400, 400))
    c.setFont("Helvetica", 12)
    draw(c)
    c.save()
    page = pdfium.PdfDocument(buf.getvalue())[0]
    return [Word(w[0], Box(*w[1:5]), angle=w[8])
            for w in render.text_layer_words(page.get_textpage(), render.display_matrix(page))]


def _turned(angle: int, text: str = "Percentage of total"):
    def draw(c: canvas.Canvas) -> None:
        c.drawString(40, 370, "Upright words here")
        c.saveState()
        c.translate(200, 200)
        c.rotate(angle)
        c.drawString(0, 0, text)
        c.restoreState()
    return draw


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_a_turned_heading_is_whole_words_with_its_angle(angle):
    words = _words(_turned(angle))
    assert [(w.text, w.angle) for w in words] == [("Upright", 0), ("words", 0), ("here", 0),
                                                  ("Percentage", angle), ("of", angle), ("total", angle)]
    # the words lie along their baseline on the page: up the page for 90, down for 270, leftwards for 180
    a, b = words[3].box, words[5].box
    along = {90: a.y0 - b.y1, 270: b.y0 - a.y1, 180: a.x0 - b.x1}[angle]
    assert along > 10  # "of" and two spaces between


@pytest.mark.parametrize("angle", [90, 270])
def test_a_turned_heading_reads_as_one_line(angle):
    out = lines(_words(_turned(angle)))
    assert sorted(ln.text for ln in out) == ["Percentage of total", "Upright words here"]
    turned = next(ln for ln in out if ln.text.startswith("Percentage"))
    assert turned.box.height > 3 * turned.box.width  # the line's box stands on the page


def test_glyph_angles_quarter_turns_and_slants():
    assert [char_angle(1, 0), char_angle(0, -1), char_angle(-1, 0), char_angle(0, 1)] == [0, 90, 180, 270]
    # a slant keeps its own angle (to 5 degrees): read as upright text is, and told apart as oblique
    assert char_angle(1, -1) == 45 and char_angle(1, 1) == 315 and char_angle(1, -0.2) == 0
    assert oblique(45) and not any(oblique(a) for a in (0, 90, 180, 270))


def test_a_watermark_set_at_a_slant_across_the_page_is_furniture_kept_out_of_the_markdown():
    """"SCANNED COPY" in 120 pt type at 50 degrees over a page of 11 pt text: its words are kept with their
    angle and read apart as furniture with its reason, never joined to the lines they cross; a chart's
    slanted tick labels in small type stay words of the page."""
    from ocr_resources.geometry.page import WATERMARK, compose
    from ocr_resources.text.document import PageBlocks, finish_document
    from ocr_resources.text.markdown import render as markdown

    def draw(c: canvas.Canvas) -> None:
        c.setFont("Helvetica", 11)
        for k in range(12):
            c.drawString(30, 360 - 14 * k, f"Line {k} of the statement the student signs about the thesis.")
        c.saveState()
        c.translate(60, 60)
        c.rotate(50)
        c.setFont("Helvetica", 120)
        c.drawString(0, 0, "COPY")
        c.restoreState()
        c.saveState()
        c.translate(300, 20)
        c.rotate(45)
        c.setFont("Helvetica", 8)
        c.drawString(0, 0, "Q3")  # a tick label
        c.restoreState()

    words = _words(draw)
    assert {w.text: w.angle for w in words if w.text in ("COPY", "Q3")} == {"COPY": 50, "Q3": 45}
    words = [dataclasses.replace(w, size=120.0 if w.text == "COPY" else (8.0 if w.text == "Q3" else 11.0))
             for w in words]
    blocks = compose(words, [Box(20, 20, 380, 380)], ["text"], page=Box(0, 0, 400, 400))
    mark = next(b for b in blocks if b.reason == WATERMARK)
    assert mark.text == "COPY" and mark.label == "footer"
    results = finish_document([PageBlocks(1, 400, 400, blocks)])[0]
    rows = [{"label": bt.label, "text": bt.text, "heading_level": bt.heading_level, "page_no": 1, "region_no": None}
            for bt in results]
    md = markdown(rows)
    assert "COPY" not in md  # ("Q3", small and alone at the foot, is left to the furniture decision)
    assert "Line 0 of the statement the student signs about the thesis." in md


def test_chars_of_two_orientations_in_one_run_break_between_them():
    up = [PdfChar(ch, 10 + 6 * k, 100, 16 + 6 * k, 112, 10.0) for k, ch in enumerate("ab")]
    # "cd" read bottom to top: each glyph's advance runs up the page
    side = [PdfChar(ch, 40, 200 - 6 * (k + 1), 52, 200 - 6 * k, 10.0, angle=90) for k, ch in enumerate("cd")]
    words = chars_to_words(up + side)
    assert [(w.text, w.angle) for w in words] == [("ab", 0), ("cd", 90)]
    assert words[1].box == Box(40, 188, 52, 200)


def test_a_turned_axis_title_in_a_figure_read_row_by_row_stays_one_line():
    from ocr_resources.geometry.page import compose

    # a chart read as text rows (not running text): tick labels beside a y-axis title read bottom to top
    ticks = [Word(t, Box(40, 20 + 20 * k, 52, 28 + 20 * k), 0.9) for k, t in enumerate(("30", "20", "10", "0"))]
    title = [Word(t, Box(10, y0, 18, y1), 0.9, angle=90)
             for t, y0, y1 in (("Percentage", 60, 110), ("of", 50, 58), ("total", 20, 48))]
    legend = [Word(t, Box(x, 100, x + 30, 108), 0.9) for x, t in ((70, "North"), (110, "South"), (150, "East"))]
    blocks = compose(ticks + title + legend, [Box(5, 15, 200, 115)], ["figure"], page=Box(0, 0, 240, 400),
                     text_figures={0: "figure mostly text lines"})
    texts = [b.text for b in blocks if b.text]
    assert "Percentage of total" in texts and not {"Percentage", "of", "total"} & set(texts)


def test_a_figure_of_turned_words_is_measured_in_their_orientation():
    from ocr_resources.geometry.labels import check_labels

    # a chart's five labels of three words each, reading bottom to top, with wide gaps between them: each is a
    # line standing over the figure's whole height, yet they cover a third of the figure across their rows,
    # as the same labels set upright (and the figure turned) do: a figure both ways, not text
    def label(k: int, angle: int) -> list[Word]:
        if angle:
            return [Word(t, Box(20 + 40 * k, 150 - 50 * j, 32 + 40 * k, 190 - 50 * j), angle=90)
                    for j, t in enumerate(("axis", "label", "text"))]
        return [Word(t, Box(40 + 50 * j, 20 + 40 * k, 80 + 50 * j, 32 + 40 * k)) for j, t in
                enumerate(("axis", "label", "text"))]

    turned = [w for k in range(5) for w in label(k, 90)]
    upright = [w for k in range(5) for w in label(k, 0)]
    assert check_labels([Box(10, 20, 300, 200)], ["figure"], [turned])[0].label == "figure"
    assert check_labels([Box(20, 10, 200, 300)], ["figure"], [upright])[0].label == "figure"


@pytest.mark.parametrize("angle", [90, -90])
def test_the_table_engine_reads_a_sideways_table_from_its_turned_words(angle):
    from PIL import Image

    from ocr_resources.engines import EngineSettings
    from ocr_resources.engines.geometry_table import GeometryTableRecognizer
    from ocr_resources.types import TableCrop
    from tests.test_tables import _cells, _page, ruled_table, sideways_table

    _, _, words, rules = _page(sideways_table(angle))
    scale = 2.0  # the engine gets words and rules in the crop's pixels, as the tables stage hands them
    crop = TableCrop(Image.new("L", (int(612 * scale), int(792 * scale)), 255),
                     [dataclasses.replace(w, box=w.box.scaled(scale)) for w in words],
                     [Box(r.x0, r.y0, r.x1, r.y1).scaled(scale) for r in rules], scale, text_layer=True)
    table = GeometryTableRecognizer(EngineSettings("table", "geometry")).recognize([crop])[0]
    _, _, upright_words, upright_rules = _page(ruled_table)
    from ocr_resources.tables.structure import build_structure

    assert _cells(table) == _cells(build_structure(upright_words, upright_rules, Box(60, 90, 260, 175)))


@pytest.mark.parametrize("angle", [90, -90])
def test_a_page_whose_text_is_set_sideways_is_read_turned_upright(tmp_path, angle):
    """A sideways table on a portrait page (no /Rotate: the drawing is turned): the page is read as a reader holding
    it turned does, so layout, reading order and tables see upright words on a landscape page, and the stored image
    is the turned page; a warning row says so. The words and rules are those of the same table printed upright."""
    from ocr_resources.pipeline.render import RenderTask, render_chunk
    from tests.test_tables import _page, _pdf, ruled_table, sideways_table

    pdf = tmp_path / "sideways.pdf"
    pdf.write_bytes(_pdf(sideways_table(angle)))
    (page,) = render_chunk(RenderTask("doc", str(pdf), [1], 72, str(tmp_path / "store")))
    assert page.width_pt > page.height_pt and page.width_px > page.height_px
    assert "set sideways" in page.warning and f"turned {angle % 360} degrees" in page.warning
    words = {w[0]: Box(*w[1:5]) for w in page.words}
    assert all(w[8] == 0 for w in page.words)
    _, _, upright, rules = _page(ruled_table)
    dx, dy = words["Region"].x0 - next(w.box.x0 for w in upright if w.text == "Region"), \
        words["Region"].y0 - next(w.box.y0 for w in upright if w.text == "Region")
    for w in upright:  # the same layout, shifted by where the turned page puts the table
        assert abs(words[w.text].x0 - w.box.x0 - dx) < 1 and abs(words[w.text].y0 - w.box.y0 - dy) < 1
    assert len(page.rules) == len(rules)


def test_a_few_sideways_words_do_not_turn_a_page():
    from ocr_resources.pipeline.render import sideways_turn

    def record(text: str, angle: int, hidden: bool = False):
        return (text, 0.0, 0.0, 10.0, 10.0, 10.0, False, hidden, angle, False, False)

    body = [record("upright body text of the page", 0)] * 4
    assert sideways_turn(body + [record("an axis title set sideways", 90)] * 2) == 0
    assert sideways_turn(body + [record("a sideways table's many words", 90)] * 12) == 90
    assert sideways_turn([record("a sideways table's many words", 270)] * 12) == 270
    assert sideways_turn([record("hidden OCR text turned", 90, hidden=True)] * 12) == 0  # no reader sees it
    assert sideways_turn([record("short", 90)]) == 0
