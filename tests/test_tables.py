"""Tables from generated PDFs: ruling lines read from the drawing, structure from rules and from word
alignment (multi-line cells, spanning headings), detection that does not rest on the layout label, and the
tables stage end to end with a layout model that calls the table a figure."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import LayoutDetector, ModelIdentity
from ocr_resources.engines.geometry_table import GeometryTableRecognizer
from ocr_resources.pipeline import render, stages
from ocr_resources.pipeline.stages.tables import crop_word, table_html, table_markdown
from ocr_resources.store import ResultStore
from ocr_resources.tables.cells import strip_fill
from ocr_resources.tables.detect import refine_regions, ruled_tables
from ocr_resources.tables.rules import Rule, pdf_page_rules
from ocr_resources.tables.structure import build_structure, in_reading_order
from ocr_resources.types import Box, DetectedRegion, Word
from tests.stage_runner import run_stage

PAGE_W, PAGE_H = A4


# -- generated pages -----------------------------------------------------------------------------------------
def _pdf(draw, rotate: int = 0) -> bytes:
    buf = io.BytesIO()
    # reportlab swaps the media box of a rotated page: ask for landscape to draw on portrait A4 user space
    c = canvas.Canvas(buf, pagesize=(PAGE_H, PAGE_W) if rotate in (90, 270) else A4)
    if rotate == 90:
        # content written along the long side, as a landscape page is: it reads upright once shown rotated
        c.setPageRotation(rotate)
        c.rotate(90)
        c.translate(0, -PAGE_H)
    draw(c)
    c.showPage()
    c.save()
    return buf.getvalue()


def _top(y: float) -> float:
    """reportlab draws from the bottom; the tests think from the top like the pipeline."""
    return PAGE_H - y


def ruled_table(c: canvas.Canvas) -> None:
    """A fully ruled 4 x 3 grid at the top of the page: the heading 'Results' spans columns 1-2 (no rule
    between them in row 0), and the 'Region' cell of row 2 holds two lines of text."""
    xs, ys = [72, 142, 192, 242], [100, 114, 128, 152, 166]  # from the top
    c.setFont("Helvetica", 9)
    for y in ys:
        c.line(xs[0], _top(y), xs[-1], _top(y))
    for k, x in enumerate(xs):
        if k == 2:  # the rule between the two result columns starts below the spanning heading
            c.line(x, _top(ys[1]), x, _top(ys[-1]))
        else:
            c.line(x, _top(ys[0]), x, _top(ys[-1]))
    for x, y, text in ((75, 110, "Region"), (146, 110, "Results"), (75, 124, "Unit"), (146, 124, "2023"),
                       (196, 124, "2024"), (75, 138, "North and"), (75, 148, "east coast"), (146, 138, "12.5"),
                       (196, 138, "13.1"), (75, 162, "South"), (146, 162, "9.0"), (196, 162, "9.4")):
        c.drawString(x, _top(y), text)


def unruled_table(c: canvas.Canvas) -> None:
    """No rules at all: a heading row, then rows whose labels wrap onto a second line (the continuation
    starts in lower case) with the numbers on the first line."""
    c.setFont("Helvetica", 10)
    rows = [("Country", "Imports", "Exports"), ("Austria", "86.2", "13.8"), ("Belgium and", "0.0", "100.0"),
            ("the Netherlands", None, None), ("Cyprus", "81.0", "15.2"), ("Denmark", "3.1", "86.7")]
    y = 100
    for label, a, b in rows:
        c.drawString(72, _top(y), label)
        if a is not None:
            c.drawRightString(260, _top(y), a)
            c.drawRightString(360, _top(y), b)
        y += 14


def booktabs_table(c: canvas.Canvas) -> None:
    """Rules above, under the heading and below, none between the body rows; a caption above the table."""
    c.setFont("Helvetica", 10)
    c.drawString(72, _top(85), "Table 1. Sample sizes by design effect and proportion of the population")
    for y in (92, 112, 178):
        c.setLineWidth(0.8)
        c.line(72, _top(y), 420, _top(y))
    c.drawString(76, _top(106), "Proportion")
    for x, head in ((240, "1.0"), (320, "1.1"), (400, "1.2")):
        c.drawRightString(x, _top(106), head)
    for k, (p, vals) in enumerate((("0.99", ("800", "880", "960")), ("0.95", ("160", "176", "192")),
                                   ("0.90", ("80", "88", "96")), ("0.85", ("53", "59", "64")))):
        y = 126 + 14 * k
        c.drawString(76, _top(y), p)
        for x, v in zip((240, 320, 400), vals, strict=True):
            c.drawRightString(x, _top(y), v)


def _page(draw, rotate: int = 0):
    pdf = pdfium.PdfDocument(_pdf(draw, rotate))
    page = pdf[0]
    display = render.display_matrix(page)
    words = [Word(w[0], Box(*w[1:5]), angle=w[8]) for w in render.text_layer_words(page.get_textpage(), display)]
    return pdf, page, words, pdf_page_rules(page, display)


def _cells(table) -> dict[tuple[int, int], tuple[str, int, int]]:
    return {(c.row, c.col): (c.text, c.row_span, c.col_span) for c in table.cells}


# -- ruling lines ----------------------------------------------------------------------------------------------
def test_rules_come_from_the_drawing_in_page_coordinates():
    _, _, _, rules = _page(ruled_table)
    hs = sorted((r for r in rules if r.horizontal), key=lambda r: r.pos)
    vs = sorted((r for r in rules if not r.horizontal), key=lambda r: r.pos)
    assert [round(r.pos) for r in hs] == [100, 114, 128, 152, 166]
    assert [round(r.pos) for r in vs] == [72, 142, 192, 242]
    assert all(r.kind == "line" for r in rules)
    inner = next(v for v in vs if round(v.pos) == 192)
    assert round(inner.y0) == 114 and round(inner.y1) == 166  # it starts under the spanning heading


def test_thin_filled_bars_are_rules_and_shaded_areas_give_edges():
    def draw(c):
        c.setFillColorRGB(0, 0, 0)
        c.rect(72, _top(101), 300, 1, stroke=0, fill=1)  # a rule drawn as a 1 pt bar
        c.setFillColorRGB(0.8, 0.8, 0.9)
        c.rect(72, _top(160), 300, 40, stroke=0, fill=1)  # a shaded row
        c.setFillColorRGB(1, 1, 1)
        c.rect(72, _top(260), 300, 40, stroke=0, fill=1)  # white on white: nothing to see

    _, _, _, rules = _page(draw)
    lines = [r for r in rules if r.kind == "line"]
    edges = [r for r in rules if r.kind == "edge"]
    assert len(lines) == 1 and round(lines[0].pos) == 100 and lines[0].horizontal
    assert sorted(round(r.pos) for r in edges if r.horizontal) == [120, 160]
    assert not any(r.y0 > 200 for r in rules)


def test_words_and_rules_follow_the_page_rotation():
    # a landscape page stored as portrait + /Rotate 90: words and rules land where the rendered image shows
    # them, exactly where the same table drawn on an upright page lands
    _, page, words, rules = _page(ruled_table, rotate=90)
    width, height = page.get_size()
    assert (round(width), round(height)) == (round(PAGE_H), round(PAGE_W))  # shown in landscape
    _, _, upright_words, upright_rules = _page(ruled_table)
    assert [w.text for w in words] == [w.text for w in upright_words]
    for a, b in zip(words, upright_words, strict=True):
        assert abs(a.box.x0 - b.box.x0) < 0.5 and abs(a.box.y0 - b.box.y0) < 0.5
    key = lambda r: (r.horizontal, round(r.pos), round(r.start))  # noqa: E731
    assert sorted(map(key, rules)) == sorted(map(key, upright_rules))
    assert _cells(build_structure(words, rules, Box(60, 90, 260, 175))) == _cells(
        build_structure(upright_words, upright_rules, Box(60, 90, 260, 175)))


def test_a_hyphen_that_breaks_a_word_at_a_line_end_reads_as_a_hyphen():
    def draw(c):
        c.drawString(72, _top(100), "Under\u00ad")  # pdfium reports a soft hyphen as U+FFFE
        c.drawString(72, _top(114), "graduate")

    _, _, words, _ = _page(draw)
    assert [w.text for w in words] == ["Under-", "graduate"]


# -- structure -------------------------------------------------------------------------------------------------
def test_ruled_table_grid_with_spanning_heading_and_multiline_cell():
    _, _, words, rules = _page(ruled_table)
    table = build_structure(words, rules, Box(60, 90, 260, 175))
    assert table.method == "rules"
    assert (table.n_rows, table.n_cols) == (4, 3)
    cells = _cells(table)
    assert cells[(0, 0)] == ("Region", 1, 1)
    assert cells[(0, 1)] == ("Results", 1, 2)  # spans both result columns: no rule between them there
    assert (0, 2) not in cells
    assert cells[(1, 1)][0] == "2023" and cells[(1, 2)][0] == "2024"
    assert cells[(2, 0)][0] == "North and east coast"  # two lines, one cell
    assert cells[(2, 2)][0] == "13.1"
    assert cells[(3, 0)][0] == "South" and cells[(3, 2)][0] == "9.4"
    assert all(c.is_header == (c.row == 0) for c in table.cells)


def test_a_right_to_left_table_numbers_its_columns_from_the_right():
    # a two-column Persian form: label on the right, value on the left, as on the page
    words = [Word("20300", Box(100, 100, 130, 110)), Word("شماره", Box(300, 100, 330, 110)),
             Word("ملی", Box(335, 100, 355, 110)), Word("بلی", Box(100, 120, 120, 130)),
             Word("اجباری", Box(300, 120, 340, 130))]
    table = in_reading_order(build_structure(words, [], Box(90, 95, 360, 135)), words)
    assert table.rtl and table.n_cols == 2
    cells = _cells(table)
    assert cells[(0, 0)][0] == "ملی شماره"  # the label (right) comes first, its words read right to left
    assert cells[(0, 1)][0] == "20300" and cells[(1, 1)][0] == "بلی"
    assert table_markdown(table).splitlines()[0].endswith("| 20300 |")
    assert table_html(table).startswith('<table dir="rtl">')
    latin_words = [Word("Year", Box(100, 100, 130, 110)), Word("2024", Box(300, 100, 330, 110))]
    latin = build_structure(latin_words, [], Box(90, 95, 360, 115))
    assert in_reading_order(latin, latin_words) is latin


def test_a_right_to_left_table_with_a_ruled_heading_splits_its_body_columns_by_white_space():
    # the heading row is ruled into cells (years), the body is not: the body's numbers still fall into the
    # year columns, numbered from the right as the table reads (label column first)
    years = ("2014", "2013", "2012", "2011")
    xs = [120, 160, 200, 240, 280, 400]  # column rules of the heading; the label column is at the right
    rules = [Rule(120, 100, 400, 100.5), Rule(120, 120, 400, 120.5), Rule(120, 220, 400, 220.5),
             Rule(120, 100, 120.5, 220), Rule(400, 100, 400.5, 220), Rule(280, 100, 280.5, 220)]
    rules += [Rule(x, 100, x + 0.5, 120) for x in xs[1:-2]]  # the years' own rules stop under the heading
    words = [Word(y, Box(x + 10, 105, x + 30, 113)) for y, x in zip(years, xs, strict=False)]
    labels = (("סך", "הכל"), ("בינוי",), ("יבוא", "ביטחוני"), ("אזרחית",), ("ביטחונית",))
    for r, label in enumerate(labels):
        y = 130 + 16 * r
        words += [Word(f"{r}.{k}", Box(x + 14, y, x + 26, y + 8)) for k, x in enumerate(xs[:-2])]
        words += [Word(w, Box(372 - 27 * i, y, 396 - 27 * i, y + 8)) for i, w in enumerate(label)]
    table = in_reading_order(build_structure(words, rules, Box(115, 95, 405, 225)), words)
    assert table.rtl and (table.n_rows, table.n_cols) == (6, 5)
    cells = _cells(table)
    assert [cells[(0, k)][0] for k in range(1, 5)] == ["2011", "2012", "2013", "2014"]
    assert [cells[(1, k)][0] for k in range(1, 5)] == ["0.3", "0.2", "0.1", "0.0"]
    assert cells[(5, 4)][0] == "4.0" and cells[(5, 0)][0] == "ביטחונית"


def test_unruled_table_joins_wrapped_labels_and_marks_the_header():
    _, _, words, rules = _page(unruled_table)
    table = build_structure(words, rules, Box(60, 85, 380, 180))
    assert table.method == "alignment"
    assert (table.n_rows, table.n_cols) == (5, 3)
    cells = _cells(table)
    assert cells[(0, 0)][0] == "Country" and cells[(0, 2)][0] == "Exports"
    assert cells[(2, 0)][0] == "Belgium and the Netherlands"
    assert cells[(2, 1)][0] == "0.0" and cells[(2, 2)][0] == "100.0"
    assert cells[(3, 0)][0] == "Cyprus" and cells[(4, 2)][0] == "86.7"
    assert [c.is_header for c in table.cells if c.col == 0] == [True, False, False, False, False]


def test_partly_ruled_table_splits_unruled_body_rows():
    _, _, words, rules = _page(booktabs_table)
    table = build_structure(words, rules, Box(60, 88, 430, 185))
    assert (table.n_rows, table.n_cols) == (5, 4)
    cells = _cells(table)
    assert cells[(0, 0)][0] == "Proportion" and cells[(0, 3)][0] == "1.2"
    assert cells[(1, 0)][0] == "0.99" and cells[(1, 3)][0] == "960"
    assert cells[(4, 0)][0] == "0.85" and cells[(4, 1)][0] == "53"


def test_alignment_heading_that_spans_columns():
    # a heading wider than its column, crossing the white space between two columns of numbers
    words = [Word(t, Box(x, y, x + w, y + 10)) for t, x, y, w in [
        ("Year", 10, 10, 30), ("Results", 100, 10, 60), ("of", 163, 10, 12), ("the", 178, 10, 18),
        ("survey", 199, 10, 40),
        ("2023", 10, 30, 30), ("12", 110, 30, 12), ("7", 220, 30, 8),
        ("2024", 10, 50, 30), ("15", 110, 50, 12), ("9", 220, 50, 8),
        ("2025", 10, 70, 30), ("18", 110, 70, 12), ("4", 220, 70, 8)]]
    table = build_structure(words, [], Box(0, 0, 260, 90))
    cells = _cells(table)
    assert (table.n_rows, table.n_cols) == (4, 3)
    assert cells[(0, 1)] == ("Results of the survey", 1, 2)
    assert cells[(3, 2)][0] == "4"


def leader_table(c: canvas.Canvas) -> None:
    """Labels followed by dot leaders that run up to the numbers (closer than a word gap)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    c.setFont("Helvetica", 10)
    c.drawString(72, _top(100), "Country")
    c.drawRightString(300, _top(100), "Imports")
    c.drawRightString(380, _top(100), "Exports")
    rows = (("Algeria", "12.0", "3.1"), ("Belgium", "7.5", "86.2"), ("Cyprus", "0.4", "1.0"))
    for k, (label, a, b) in enumerate(rows):
        y = 114 + 14 * k
        dots = int((300 - stringWidth(a, "Helvetica", 10) - 3 - 72 - stringWidth(label, "Helvetica", 10))
                   / stringWidth(".", "Helvetica", 10))
        c.drawString(72, _top(y), label + "." * dots)
        c.drawRightString(300, _top(y), a)
        c.drawRightString(380, _top(y), b)


def test_dot_leaders_are_stripped_from_cells_and_flagged():
    _, _, words, rules = _page(leader_table)
    table = build_structure(words, rules, Box(60, 85, 400, 160))
    assert (table.n_rows, table.n_cols) == (4, 3)
    cells = {(c.row, c.col): c for c in table.cells}
    assert [cells[(r, 0)].text for r in range(4)] == ["Country", "Algeria", "Belgium", "Cyprus"]
    assert cells[(1, 1)].text == "12.0" and cells[(3, 2)].text == "1.0"
    assert cells[(1, 0)].fill and not cells[(0, 0)].fill and not cells[(1, 1)].fill
    # leaders typed into one text run with the words they separate
    assert strip_fill(".algeria.......-.algérie") == ("algeria -algérie", True)
    assert strip_fill("Total . . . . . 12") == ("Total 12", True)
    assert strip_fill("3.14") == ("3.14", False) and strip_fill("Inc.") == ("Inc.", False)
    # fewer than four dots is text (an ellipsis); a cell of dots alone marks a missing value
    assert strip_fill("Astra, ...)") == ("Astra, ...)", False) and strip_fill("..") == ("..", False)
    assert strip_fill("....") == ("....", False)


def test_a_leader_trimmed_off_a_word_keeps_the_way_the_word_runs():
    """A heading set bottom to top ("Total......", angle 90) loses its leader along its own run (the lower end
    of the page box, where it starts, is kept) and keeps its angle, size and boldness, so the cell is still
    read in its own orientation."""
    from ocr_resources.tables.cells import trim_fill_words

    turned = Word("Total......", Box(100, 200, 110, 310), size=9.0, bold=True, angle=90)
    (kept,), flagged = trim_fill_words([turned])
    assert kept.text == "Total" and kept.angle == 90 and kept.size == 9.0 and kept.bold and id(kept) in flagged
    assert (kept.box.x0, kept.box.x1) == (100, 110) and kept.box.y1 == pytest.approx(310)
    assert kept.box.y0 == pytest.approx(310 - 5 * 110 / 11)
    upright = Word("Total......", Box(100, 200, 210, 210))
    (kept,), _ = trim_fill_words([upright])
    assert kept.angle == 0 and (kept.box.x0, kept.box.y0, kept.box.y1) == (100, 200, 210)
    assert kept.box.x1 == pytest.approx(150)


def value_table(c: canvas.Canvas) -> None:
    """Values set with wide gaps inside them: a mean and its ± error, a number and its unit, a count and
    its parenthesised share, an amount and its currency sign."""
    c.setFont("Helvetica", 9)
    for x, head in ((72, "Group"), (170, "Age"), (280, "Weight"), (350, "Samples"), (520, "Cost")):
        c.drawString(x, _top(100), head)
    for r, group in enumerate(("Control", "Treated", "Placebo")):
        y = 114 + 12 * r
        c.drawString(72, _top(y), group)
        c.drawString(170, _top(y), f"6{r}.3")
        c.drawString(200, _top(y), "±")
        c.drawString(216, _top(y), f"1{r}.7")
        c.drawString(280, _top(y), f"7{r}")
        c.drawString(302, _top(y), "kg")
        c.drawString(350, _top(y), f"5{r}6")
        c.drawString(378, _top(y), f"(4{r}.462% of total samples)")
        c.drawString(520, _top(y), "$")
        c.drawRightString(560, _top(y), f"1,{r}78")


def test_a_value_keeps_its_error_unit_share_and_currency_in_one_cell():
    _, _, words, rules = _page(value_table)
    table = build_structure(words, rules, Box(60, 85, 580, 160))
    assert (table.n_rows, table.n_cols) == (4, 5)
    cells = _cells(table)
    assert cells[(1, 1)][0] == "60.3 ± 10.7" and cells[(3, 1)][0] == "62.3 ± 12.7"
    assert cells[(1, 2)][0] == "70 kg"
    assert cells[(2, 3)][0] == "516 (41.462% of total samples)"
    assert cells[(1, 4)][0] == "$ 1,078"
    # a bare number in parentheses (a negative amount) is a value of its own
    from ocr_resources.tables.cells import binds

    assert not binds([Word("566", Box(0, 0, 10, 10))], Word("(1,234)", Box(40, 0, 60, 10)))


def group_heading_table(c: canvas.Canvas) -> None:
    """Years centred over two columns each (number and percent), a second heading row under them, and a
    stub heading beside both."""
    c.setFont("Helvetica", 9)
    c.drawString(72, _top(100), "State")
    for k, year in enumerate(("2007", "2006", "2005")):
        x = 200 + 100 * k
        c.drawCentredString(x + 25, _top(100), year)
        c.drawRightString(x + 10, _top(112), "Number")
        c.drawRightString(x + 50, _top(112), "%")
    for r, state in enumerate(("Alabama", "Alaska", "Arizona", "Arkansas")):
        y = 126 + 12 * r
        c.drawString(72, _top(y), state)
        for k in range(3):
            x = 200 + 100 * k
            c.drawRightString(x + 10, _top(y), str(1000 + 37 * r + k))
            c.drawRightString(x + 50, _top(y), f"{10 + r}.{k}")


def test_group_headings_span_their_columns_and_body_cells_keep_their_heading_path():
    _, _, words, rules = _page(group_heading_table)
    table = build_structure(words, rules, Box(60, 85, 500, 180))
    assert (table.n_rows, table.n_cols) == (6, 7)
    cells = {(c.row, c.col): c for c in table.cells}
    assert (cells[(0, 1)].text, cells[(0, 1)].col_span) == ("2007", 2)
    assert (cells[(0, 5)].text, cells[(0, 5)].col_span) == ("2005", 2)
    # the stub beside both heading rows keeps to its own row: human truth (ICDAR) does not span it down
    assert (cells[(0, 0)].text, cells[(0, 0)].row_span) == ("State", 1)
    assert [cells[(1, k)].text for k in range(1, 7)] == ["Number", "%"] * 3  # the heading rows kept apart
    assert all(c.is_header == (c.row < 2) for c in table.cells)
    assert cells[(2, 1)].text == "1000" and cells[(2, 1)].header_path == ("2007", "Number")
    assert cells[(5, 6)].text == "13.2" and cells[(5, 6)].header_path == ("2005", "%")
    assert cells[(3, 0)].header_path == ("State",)
    html = table_html(table)
    assert '<th>State</th><th colspan="2">2007</th>' in html


def test_a_short_name_in_a_wide_column_is_that_columns_not_a_group_heading():
    # codes right-aligned, names left-aligned after them: a short name looks centred over both columns' gap
    rows = (("0094", "Granja Adelita"), ("0106", "Arellano"), ("0141", "Cobos"), ("0162", "Ejido Cienega Grande"),
            ("0182", "Los Caldera de la Sierra Alta"))
    words = [Word("State", Box(20, 10, 50, 20)), Word("Code", Box(100, 10, 124, 20)),
             Word("Name", Box(140, 10, 166, 20))]
    for r, (code, name) in enumerate(rows):
        y = 30 + 14 * r
        words += [Word("Aguascalientes", Box(20, y, 80, y + 10)), Word(code, Box(104, y, 124, y + 10))]
        x = 140
        for part in name.split():
            words.append(Word(part, Box(x, y, x + 5.5 * len(part), y + 10)))
            x += 5.5 * len(part) + 3
    table = build_structure(words, [], Box(10, 5, 320, 110))
    cells = _cells(table)
    assert table.n_cols == 3
    assert cells[(2, 1)] == ("0106", 1, 1) and cells[(2, 2)] == ("Arellano", 1, 1)
    assert cells[(3, 2)] == ("Cobos", 1, 1)


def test_negative_amounts_marked_with_a_triangle_are_body_rows():
    # Japanese statements mark a negative amount with a triangle (△669): a row of them is data, not heading
    xs = (100, 150, 200, 250, 300)
    words = [Word("Item", Box(10, 10, 40, 20))] + [Word(f"H{k}", Box(x - 12, 10, x, 20)) for k, x in enumerate(xs)]
    rows = (("△669", "△61", "△109", "246", "17"), ("12", "5", "7", "30", "54"), ("3", "40", "8", "11", "62"),
            ("9", "14", "2", "71", "5"), ("6", "1", "20", "4", "33"), ("8", "16", "5", "12", "7"),
            ("2", "9", "31", "6", "18"))
    for r, values in enumerate(rows):
        y = 30 + 14 * r
        words.append(Word(f"Row{r}", Box(10, y, 40, y + 10)))
        words += [Word(v, Box(x - 6 * len(v), y, x, y + 10)) for v, x in zip(values, xs, strict=True)]
    table = build_structure(words, [], Box(5, 5, 310, 140))
    assert [c.is_header for c in table.cells if c.col == 0] == [True] + [False] * 7
    assert all(c.row_span == 1 for c in table.cells)


def ruled_block_table(c: canvas.Canvas) -> None:
    """Rules round every row and at the outer edges and before the last column, none between the label and
    the first numbers: those two columns are told apart by white space only."""
    c.setFont("Helvetica", 9)
    xs, ys = [72, 300, 380], [100, 114, 128, 142, 156, 170]
    for y in ys:
        c.line(xs[0], _top(y), xs[-1], _top(y))
    for x in xs:
        c.line(x, _top(ys[0]), x, _top(ys[-1]))
    c.drawString(75, _top(110), "Age")
    c.drawRightString(290, _top(110), "Persons")
    c.drawRightString(375, _top(110), "Share")
    for k, (label, n, share) in enumerate((("Under 1 year", "3,533,692", "1.2"), ("1 to 4 years", "14,373,220", "4.9"),
                                           ("5 to 9 years", "19,996,051", "6.8"),
                                           ("10 to 14 years", "20,366,612", "7.0"))):
        y = 124 + 14 * k
        c.drawString(75, _top(y), label)
        c.drawRightString(290, _top(y), n)
        c.drawRightString(375, _top(y), share)


def test_columns_inside_a_ruled_block_come_from_white_space_too():
    _, _, words, rules = _page(ruled_block_table)
    table = build_structure(words, rules, Box(60, 90, 400, 180))
    assert (table.n_rows, table.n_cols) == (5, 3)
    cells = _cells(table)
    assert cells[(1, 0)][0] == "Under 1 year" and cells[(1, 1)][0] == "3,533,692" and cells[(1, 2)][0] == "1.2"
    assert cells[(0, 1)][0] == "Persons" and cells[(4, 0)][0] == "10 to 14 years"


def sideways_heading_table(angle: int):
    def draw(c: canvas.Canvas) -> None:
        """A ruled table whose column headings are set sideways (turned by `angle` degrees)."""
        c.setFont("Helvetica", 9)
        xs, ys = [72, 160, 200, 240], [100, 190, 204, 218]
        for y in ys:
            c.line(xs[0], _top(y), xs[-1], _top(y))
        for x in xs:
            c.line(x, _top(ys[0]), x, _top(ys[-1]))
        c.drawString(75, _top(186), "Precinct")
        for x, head in zip(xs[1:], ("Registered voters", "Poll Book Totals"), strict=False):
            c.saveState()
            c.translate(x + 24, _top(186) if angle == 90 else _top(104))
            c.rotate(angle)
            c.drawString(0, 0, head)
            c.restoreState()
        for k, (place, a, b) in enumerate((("Bay 1", "963", "439"), ("Bay 2", "812", "402"))):
            y = 200 + 14 * k
            c.drawString(75, _top(y), place)
            c.drawRightString(195, _top(y), a)
            c.drawRightString(235, _top(y), b)

    return draw


def _as_glyphs(words: list[Word]) -> list[Word]:
    """Turned words as a reader without the glyphs' rotation sees them: a glyph each, stacked along the word
    (as OCR or an older text layer gives them), with no angle."""
    out = []
    for w in words:
        if w.angle not in (90, 270):
            out.append(w)
            continue
        n, b = len(w.text), w.box
        step = b.height / n
        for k, ch in enumerate(w.text if w.angle == 270 else w.text[::-1]):
            out.append(Word(ch, Box(b.x0, b.y0 + k * step, b.x1, b.y0 + (k + 1) * step)))
    return out


@pytest.mark.parametrize("glyphs", [False, True])
@pytest.mark.parametrize("angle", [90, -90])
def test_headings_set_sideways_read_as_text_not_glyph_soup(angle, glyphs):
    _, _, words, rules = _page(sideways_heading_table(angle))
    # the text layer joins the sideways glyphs into words along their own baseline, each with its angle
    assert {(w.text, w.angle) for w in words if w.angle} == {
        (t, angle % 360) for t in ("Registered", "voters", "Poll", "Book", "Totals")}
    if glyphs:
        words = _as_glyphs(words)
    table = build_structure(words, rules, Box(60, 95, 250, 225))
    cells = _cells(table)
    assert [cells[(0, k)][0] for k in range(3)] == ["Precinct", "Registered voters", "Poll Book Totals"]
    assert cells[(1, 1)][0] == "963" and cells[(2, 2)][0] == "402"


def sideways_table(angle: int):
    def draw(c: canvas.Canvas) -> None:
        """The ruled table printed sideways on an upright page (no /Rotate: the drawing itself is turned)."""
        c.saveState()
        if angle == 90:  # turned anticlockwise: its text reads bottom to top
            c.translate(PAGE_W, 0)
        else:
            c.translate(0, PAGE_H)
        c.rotate(angle)
        c.translate(0, PAGE_W - PAGE_H)  # the table's own frame is a landscape page
        ruled_table(c)
        c.restoreState()

    return draw


@pytest.mark.parametrize("glyphs", [False, True])
@pytest.mark.parametrize("angle", [90, -90])
def test_a_table_printed_sideways_reads_in_its_own_orientation(angle, glyphs):
    _, _, words, rules = _page(sideways_table(angle))
    assert all(w.angle == angle % 360 for w in words) and "Region" in {w.text for w in words}  # whole words
    if glyphs:  # one glyph at a time, stacked down the page, as a reader without the rotation sees them
        words = _as_glyphs(words)
    boxes = [w.box for w in words] + [Box(r.x0, r.y0, r.x1, r.y1) for r in rules]
    area = Box(min(b.x0 for b in boxes) - 5, min(b.y0 for b in boxes) - 5, max(b.x1 for b in boxes) + 5,
               max(b.y1 for b in boxes) + 5)
    # the layout model calls it a figure; the rules and the words turned upright say table
    out = refine_regions([DetectedRegion(area, "figure", "figure", 0.8)], words, rules)
    assert [(r.label, r.table_reason) for r in out] == [("table", "grid of 4 x 3 (ruled grid) in a figure region")]
    _, _, upright_words, upright_rules = _page(ruled_table)
    table = build_structure(words, rules, out[0].box)
    assert _cells(table) == _cells(build_structure(upright_words, upright_rules, Box(60, 90, 260, 175)))
    assert all(area.contains_point(*c.box.center) for c in table.cells if c.box)  # boxes back on the page


# -- detection -------------------------------------------------------------------------------------------------
def test_a_ruled_table_the_layout_model_calls_a_figure_becomes_a_table():
    _, _, words, rules = _page(ruled_table)
    regions = [DetectedRegion(Box(65, 95, 250, 172), "figure", "figure", 0.8),
               DetectedRegion(Box(70, 20, 300, 40), "title", "title", 0.9)]
    out = refine_regions(regions, words, rules)
    tables = [r for r in out if r.label == "table"]
    assert len(tables) == 1
    assert tables[0].model_label == "figure"  # what the model said is kept
    box = tables[0].box
    assert abs(box.x0 - 72) < 2 and abs(box.y0 - 100) < 2 and abs(box.x1 - 242) < 2 and abs(box.y1 - 166) < 2
    assert [r.label for r in out if r.label != "table"] == ["title"]


def test_a_ruled_table_the_model_missed_is_added_and_one_region_over_two_tables_is_split():
    def two_tables(c):
        ruled_table(c)
        c.translate(0, -200)
        ruled_table(c)

    _, _, words, rules = _page(two_tables)
    # the model saw nothing at the first table and one table region over the second... and beyond
    missed = refine_regions([], words, rules)
    assert sorted(round(r.box.y0) for r in missed if r.label == "table") == [100, 300]
    merged = refine_regions([DetectedRegion(Box(60, 90, 260, 380), "table", "table", 0.7)], words, rules)
    assert sorted(round(r.box.y0) for r in merged if r.label == "table") == [100, 300]
    assert all(r.model_label == "table" for r in merged)


def test_a_page_border_round_two_tables_is_a_frame_not_one_page_sized_table():
    def framed(c):
        for inset in (20, 24):  # a double border round the page, as forms and official letters have
            c.rect(inset, inset, PAGE_W - 2 * inset, PAGE_H - 2 * inset)
        c.setFont("Helvetica", 11)
        c.drawString(72, _top(80), "2.5 Product standard")
        ruled_table(c)
        c.drawString(72, _top(270), "3. Admission")
        c.translate(0, -200)
        ruled_table(c)

    _, _, words, rules = _page(framed)
    # the layout model took the whole framed page for one table
    whole = DetectedRegion(Box(30, 30, PAGE_W - 30, PAGE_H - 30), "table", "table", 0.8)
    for regions in ([whole], []):
        out = refine_regions(regions, words, rules)
        assert sorted(round(r.box.y0) for r in out if r.label == "table") == [100, 300]


def test_before_ocr_one_table_region_over_two_ruled_grids_is_the_two_grids():
    def framed(c):
        for inset in (20, 24):
            c.rect(inset, inset, PAGE_W - 2 * inset, PAGE_H - 2 * inset)
        ruled_table(c)
        c.translate(0, -200)
        ruled_table(c)

    _, _, _, rules = _page(framed)
    # a scan before OCR: the rules only (found in the image), no words; the model took the page for a table
    whole = DetectedRegion(Box(30, 30, PAGE_W - 30, PAGE_H - 30), "table", "table", 0.8)
    out = refine_regions([whole], [], rules)
    assert [round(r.box.y0) for r in out] == [100, 300] and {r.model_label for r in out} == {"table"}
    # one grid: rows round it without rules may belong to the table, which only words could tell
    one = [r for r in rules if r.y1 < 200]
    assert refine_regions([whole], [], one) == [whole]


def test_a_chart_with_gridlines_stays_a_figure():
    def chart(c):
        c.setFont("Helvetica", 8)
        for k in range(6):  # horizontal gridlines with tick labels at the left, nothing in the cells
            y = 100 + 30 * k
            c.line(100, _top(y), 400, _top(y))
            c.drawRightString(95, _top(y + 3), str(100 - 20 * k))
        for x in (100, 400):
            c.line(x, _top(100), x, _top(250))
        c.setLineWidth(2)
        c.lines([(110, _top(240), 200, _top(150)), (200, _top(150), 300, _top(200)), (300, _top(200), 390, _top(110))])
        for k, label in enumerate(("2019", "2020", "2021", "2022")):
            c.drawString(120 + 80 * k, _top(262), label)

    _, _, words, rules = _page(chart)
    out = refine_regions([DetectedRegion(Box(70, 90, 410, 270), "figure", "figure", 0.9)], words, rules)
    assert [r.label for r in out] == ["figure"]


def test_without_words_regions_are_left_alone():
    regions = [DetectedRegion(Box(10, 10, 100, 100), "figure", "figure", 0.9)]
    assert refine_regions(regions, [], [Rule(10, 10, 100, 10)]) == regions


def numbered_list(c: canvas.Canvas) -> None:
    """Numbered steps: the number, a gap, a line of running text."""
    c.setFont("Helvetica", 10)
    items = ("Calculate the trip distance from the odometer readings at both ends.",
             "Divide the distance by the fuel used to find the consumption per litre.",
             "Compare the result with the figure the maker states for the model.",
             "Record the result in the log book with the date and the name of the driver.")
    for k, text in enumerate(items):
        c.drawString(72, _top(100 + 14 * k), f"{k + 1}.")
        c.drawString(100, _top(100 + 14 * k), text)


def two_text_columns(c: canvas.Canvas) -> None:
    """Two columns of running text side by side; the first flows into the second."""
    c.setFont("Helvetica", 9)
    text = ("The committee met twice during the year to review the budget and the plans of each department "
            "before the annual report was drafted and sent to the members for their comments and approval. "
            "Members asked that future reports show the spending of each project separately so that the costs "
            "of the new building can be followed from one year to the next without any doubt at all.").split()
    half = len(text) // 2
    for x, column in ((72, text[:half]), (310, text[half:])):
        line: list[str] = []
        y = 100
        for word in column:
            if len(" ".join([*line, word])) > 45:
                c.drawString(x, _top(y), " ".join(line))
                line, y = [word], y + 12
            else:
                line.append(word)
        c.drawString(x, _top(y), " ".join(line))


def income_statement(c: canvas.Canvas) -> None:
    """No rules; dollar signs at the left of each amount column; a heading over two dated columns."""
    c.setFont("Helvetica", 9)
    c.drawString(300, _top(100), "Year Ended")
    c.drawRightString(360, _top(112), "Jan 26, 2025")
    c.drawRightString(440, _top(112), "Jan 28, 2024")
    rows = (("Revenue", "130,497", "60,922"), ("Cost of revenue", "32,639", "16,621"),
            ("Gross profit", "97,858", "44,301"), ("Research and development", "12,914", "8,675"),
            ("Total operating expenses", "16,405", "11,329"))
    for k, (label, a, b) in enumerate(rows):
        y = 126 + 12 * k
        c.drawString(72, _top(y), label)
        c.drawString(300, _top(y), "$")
        c.drawRightString(360, _top(y), a)
        c.drawString(380, _top(y), "$")
        c.drawRightString(440, _top(y), b)


@pytest.mark.parametrize("draw, reason", [(numbered_list, "list items"), (two_text_columns, "columns of running text")])
def test_prose_the_layout_model_calls_a_table_is_text_and_says_why(draw, reason):
    _, _, words, rules = _page(draw)
    out = refine_regions([DetectedRegion(Box(60, 85, 560, 200), "table", "table", 0.8)], words, rules)
    assert [(r.label, r.model_label) for r in out] == [("text", "table")]
    assert out[0].table_reason.startswith("not a table: prose") and reason in out[0].table_reason
    # a real table the model calls a table stays one, with its reason; so does a table of text (a label
    # column beside long descriptions, wrapped)
    for table_page in (unruled_table, text_table):
        _, _, words, rules = _page(table_page)
        kept = refine_regions([DetectedRegion(Box(60, 85, 560, 200), "table", "table", 0.8)], words, rules)
        assert [r.label for r in kept] == ["table"] and kept[0].table_reason == "layout table, words not prose"


def text_table(c: canvas.Canvas) -> None:
    """Terms and their descriptions: long phrases beside short labels, descriptions wrapped."""
    c.setFont("Helvetica", 9)
    rows = (("Tuition", ("The cost of taking a course varies from school to school and from year to",
                         "year, so look it up for the colleges you are thinking about.")),
            ("Room and board", ("The cost of lodging and food varies from school to school as well.",)),
            ("Fees", ("Fees depend on the school you attend and include activity and parking fees.",)),
            ("Travel", ("If you live on campus you will probably need to travel during school breaks.",)))
    y = 100
    for label, lines in rows:
        c.drawString(72, _top(y), label)
        for line in lines:
            c.drawString(170, _top(y), line)
            y += 11
        y += 4


def test_a_table_labelled_otherwise_or_in_no_region_is_a_table_with_its_reason():
    _, _, words, rules = _page(income_statement)
    out = refine_regions([DetectedRegion(Box(60, 85, 560, 200), "reference", "reference", 0.8)], words, rules)
    assert [(r.label, r.model_label) for r in out] == [("table", "reference")]
    assert out[0].table_reason == "grid of 7 x 3 (aligned words) in a reference region"
    table = build_structure(words, rules, out[0].box)
    assert [c.text for c in table.cells if c.row == 2] == ["Revenue", "$ 130,497", "$ 60,922"]
    # no region at all over the table (only a title elsewhere): the words' grid is found all the same
    _, _, words, rules = _page(unruled_table)
    title = DetectedRegion(Box(60, 20, 300, 40), "title", "title", 0.9)
    out = refine_regions([title], words, rules)
    tables = [r for r in out if r.label == "table"]
    assert len(tables) == 1 and tables[0].model_label is None
    assert tables[0].table_reason == "grid of 5 x 3 (aligned words) outside every region"
    # a paragraph outside every region is not a table
    assert [r.label for r in refine_regions([title], _page(numbered_list)[2], [])] == ["title"]


# -- the stages, end to end ------------------------------------------------------------------------------------
class FigureDetector(LayoutDetector):
    """Calls the whole table area of the generated page a figure."""

    def __init__(self):
        self.batch_size = 1
        self.identity = ModelIdentity("fake_layout", "fake", "1")

    def detect(self, images):
        out = []
        for im in images:
            k = im.width / PAGE_W
            out.append([DetectedRegion(Box(65 * k, 95 * k, 250 * k, 172 * k), "figure", "figure", 0.8)])
        return out


def test_tables_stage_fills_a_table_the_layout_model_called_a_figure(tmp_path: Path):
    folder = tmp_path / "inbox" / "box"
    folder.mkdir(parents=True)
    (folder / "ruled.pdf").write_bytes(_pdf(ruled_table))
    store = ResultStore(tmp_path / "ocr.duckdb")
    runs = [0]

    def run(asset, fn):
        runs[0] += 1
        return run_stage(tmp_path, store, "box", asset, fn, run_id=f"run-{runs[0]}")

    run("source_documents", lambda ctx: stages.source_documents(ctx, folder))
    run("rendered_pages", lambda ctx: stages.rendered_pages(ctx, 72))
    assert store.query("SELECT count(*) AS n FROM page_rules WHERE kind = 'line'")[0]["n"] == 9
    run("layout_regions", lambda ctx: stages.layout_regions(ctx, FigureDetector()))
    regions = store.query("SELECT label, model_label, table_reason FROM regions")
    assert regions == [{"label": "table", "model_label": "figure",
                        "table_reason": "grid of 4 x 3 (ruled grid) in a figure region"}]
    out = run("tables", lambda ctx: stages.tables(ctx, GeometryTableRecognizer(EngineSettings("table", "geometry"))))
    assert out.stats["structure_sources"] == {"rules": 1}
    table = store.query("SELECT n_rows, n_cols, structure_source, html FROM tables")[0]
    assert (table["n_rows"], table["n_cols"], table["structure_source"]) == (4, 3, "rules")
    assert '<th colspan="2">Results</th>' in table["html"]
    cells = {(c["row_no"], c["col_no"]): c for c in store.query("SELECT * FROM table_cells")}
    assert cells[(2, 0)]["text"] == "North and east coast"
    assert cells[(0, 1)]["col_span"] == 2 and cells[(0, 1)]["is_header"]
    assert cells[(3, 2)]["text"] == "9.4" and not cells[(3, 2)]["is_header"]
    assert cells[(3, 2)]["header_path"] == ["Results"] and cells[(0, 1)]["header_path"] is None
    assert cells[(3, 2)]["fill_stripped"] is False


@pytest.mark.parametrize("rotate", [0, 90])
def test_image_rules_find_the_lines_of_a_scanned_grid(rotate):
    pdf = pdfium.PdfDocument(_pdf(ruled_table, rotate))
    page = pdf[0]
    image = page.render(scale=2).to_pil()
    from ocr_resources.tables.rules import image_rules

    rules = image_rules(image, 144)
    vector = pdf_page_rules(page, render.display_matrix(page))
    # every drawn line is found in the image, within a point or two
    for v in vector:
        assert any(r.horizontal == v.horizontal and abs(r.pos - v.pos) < 2 and abs(r.start - v.start) < 3
                   and abs(r.end - v.end) < 3 for r in rules), v


def _row_words(y: float, cells: list[tuple[float, str]], height: float = 9.0) -> list[Word]:
    """One text line of words at the given x positions (5 pt a character)."""
    out = []
    for x, text in cells:
        for k, word in enumerate(text.split()):
            x0 = x + 5 * sum(len(t) + 1 for t in text.split()[:k])
            out.append(Word(word, Box(x0, y, x0 + 5 * len(word), y + height)))
    return out


def test_a_cell_centred_on_two_lines_does_not_merge_them():
    # a ruled table whose county spans two plans: "Sacramento" sits half on each plan's line
    # (font boxes taller than the line pitch, as pdfium gives them: consecutive lines overlap a little)
    words = (_row_words(60, [(10, "Type"), (80, "County"), (200, "Plan"), (340, "Members")], 12.5)
             + _row_words(72, [(200, "Health Net"), (340, "126,547")], 12.5)
             + [Word("Sacramento", Box(80, 77.75, 130, 90.25))]
             + _row_words(83.5, [(200, "Kaiser Foundation"), (340, "74,620")], 12.5)
             + _row_words(95, [(80, "Yolo"), (200, "Partnership"), (340, "52,674")], 12.5))
    rules = ([Rule(5, y, 400, y) for y in (58, 72, 108)] + [Rule(195, 83.5, 400, 83.5), Rule(75, 95, 400, 95)]
             + [Rule(x, 58, x, 108) for x in (5, 75, 195, 335, 400)])
    table = build_structure(words, rules, Box(0, 50, 420, 115))
    texts = {c.text for c in table.cells}
    assert {"Health Net", "Kaiser Foundation", "126,547", "74,620"} <= texts
    county = next(c for c in table.cells if c.text == "Sacramento")
    assert county.row_span == 2  # still spans the two plans


def test_a_sum_line_under_the_numbers_ends_a_row_across_the_table():
    # a rule under the value column only (a sum line) between "Costs" and the total: two rows, not one
    words = (_row_words(86, [(10, "(all amounts in EUR)"), (230, "Financial year 2016")])
             + _row_words(100, [(10, "Revaluation"), (300, "2,076,667")])
             + _row_words(114, [(10, "Costs"), (300, "(106,870)")])
             + _row_words(134, [(10, "Total investment result for the period"), (300, "1,969,797")]))
    # (rules over and under the heading; sum lines over and under the total, under the numbers only)
    rules = [Rule(5, 80, 400, 80), Rule(5, 97, 400, 97), Rule(310, 127, 350, 127), Rule(310, 147, 350, 147)]
    table = build_structure(words, rules, Box(0, 75, 420, 155))
    texts = {c.text for c in table.cells}
    assert {"Costs", "(106,870)", "Total investment result for the period", "1,969,797"} <= texts


def test_row_labels_left_of_a_ruled_grid_are_the_tables_first_column():
    # a ruled grid of numbers whose row names stand outside it, left of its first rule, one per row
    names = ["Alcona", "Caledonia", "Curtis", "Greenbush"]
    words = _row_words(100, [(120, "Voters"), (200, "Ballots")])
    for i, name in enumerate(names):
        words += _row_words(120 + 20 * i, [(30, name), (120, str(900 + i)), (200, str(400 + i))])
    rules = ([Rule(100, y, 260, y) for y in (95, 115, 135, 155, 175, 195)]
             + [Rule(x, 95, x, 195) for x in (100, 180, 260)])
    found = ruled_tables(words, rules)
    assert len(found) == 1 and found[0].box.x0 < 30  # grown over the names
    table = build_structure(words, rules, found[0].box)
    rows = {c.row: [] for c in table.cells}
    for c in sorted(table.cells, key=lambda c: c.col):
        rows[c.row].append(c.text)
    assert ["Alcona", "900", "400"] in rows.values() and ["Greenbush", "903", "403"] in rows.values()
    # a column of prose beside a ruled table (long lines) is not taken in
    prose = _row_words(100, [(120, "Voters"), (200, "Ballots")])
    for i in range(4):
        prose += _row_words(120 + 20 * i, [(-60, "the text of a paragraph set"), (120, str(900 + i)), (200, "1")])
    assert ruled_tables(prose, rules)[0].box.x0 >= 99


def test_a_cell_keeps_the_characters_the_formula_finder_wrote_as_latex():
    from ocr_resources.tables.cells import plain_math

    assert plain_math("$\\geq18$") == "≥18" and plain_math("($\\geq18$") == "(≥18"
    assert plain_math("$\\alpha\\pm0.5$,") == "α±0.5," and plain_math("$10\\,\\mathrm{mg}$") == "10 mg"
    assert plain_math("$x^{2}$") == "x2" and plain_math("$\\{a\\}$") == "{a}"
    # layout commands are drawn, not written (a link's underline read as one); function names are words
    assert plain_math("$\\underline{[11]}$") == "[11]"
    assert plain_math("$\\overline{\\underline{〈100〉}}$,") == "〈100〉,"
    assert plain_math("$\\log x$") == "log x" and plain_math("$\\hat{a}$") == "a"
    # a currency is no formula
    assert plain_math("$5") == "$5" and plain_math("US$") == "US$" and plain_math("$5-$10") == "$5-$10"


def test_column_headings_just_above_the_top_rule_are_the_tables_heading_row():
    # rules above and under each row; the headings stand over the columns just above the top rule
    words = _row_words(80, [(60, "Animal"), (140, "Action"), (220, "Result")])
    for i, (a, b, c) in enumerate([("Cat", "Says", "Meow"), ("Dog", "Says", "Woof"), ("Cow", "Says", "Moo")]):
        words += _row_words(100 + 20 * i, [(60, a), (140, b), (220, c)])
    rules = [Rule(55, y, 300, y) for y in (95, 115, 135, 155)]
    found = ruled_tables(words, rules)
    assert len(found) == 1 and found[0].box.y0 < 80
    table = build_structure(words, rules, found[0].box)
    assert [c.text for c in table.cells if c.row == 0] == ["Animal", "Action", "Result"]
    # a caption above the top rule stays out, as does the last row of values of a table above
    caption = _row_words(80, [(60, "Table 2 Animal sounds")]) + words[3:]
    assert ruled_tables(caption, rules)[0].box.y0 > 90
    values = _row_words(80, [(60, "Pig"), (140, "12"), (220, "14.5")]) + words[3:]
    assert ruled_tables(values, rules)[0].box.y0 > 90


def test_a_word_broken_across_a_cells_lines_is_joined_as_body_text_joins_it():
    # ruled cells of two lines each: "Preva-"/"lence" is one word; "Jean-"/"Paul" and "pa-pa-" + "pa-pow"
    # (the table writes "pa" on its own elsewhere) keep their real hyphens
    words = (_row_words(60, [(10, "Preva-"), (110, "Jean-"), (210, "Wa-pa-pa-")])
             + _row_words(72, [(10, "lence"), (110, "Paul"), (210, "pa-pow")])
             + _row_words(90, [(10, "12.5"), (110, "Ann"), (210, "pa")]))
    rules = ([Rule(5, y, 300, y) for y in (58, 86, 102)] + [Rule(x, 58, x, 102) for x in (5, 105, 205, 300)])
    texts = {c.text for c in build_structure(words, rules, Box(0, 50, 310, 110)).cells}
    assert {"Prevalence", "Jean-Paul", "Wa-pa-pa-pa-pow"} <= texts


def test_values_either_side_of_an_empty_write_in_column_stay_apart():
    # each value column has an empty (write-in) column on its right; the first heading's centre lies in the
    # first write-in column, above where its left rule begins: both rules round that column separate text
    # nowhere by themselves, but dropping both would join "111" and "268"
    words = (_row_words(60, [(45, "Senator")]) + _row_words(80, [(10, "111"), (85, "268")])
             + _row_words(95, [(10, "103"), (85, "244")]))
    rules = ([Rule(5, y, 155, y) for y in (58, 75, 92, 108)] + [Rule(x, 58, x, 108) for x in (5, 80, 130, 155)]
             + [Rule(55, 75, 55, 108)])
    texts = [c.text for c in build_structure(words, rules, Box(0, 50, 160, 115)).cells]
    assert {"111", "268", "103", "244"} <= set(texts)


def test_two_group_headings_over_one_rule_keep_their_own_columns():
    # one rule runs under both group headings (adjoining shaded heading cells): each heading spans its own
    # two columns, the boundary in the gap between them is kept
    words = (_row_words(60, [(130, "Revenue"), (250, "Capital")])
             + _row_words(75, [(100, "Medical"), (160, "Family"), (220, "Medical"), (280, "Family")])
             + [w for k, y in enumerate((92, 106, 120)) for w in _row_words(y, [
                 (10, f"State{k}"), (100, f"{k}1,824"), (160, f"{k}9,967"), (220, f"{k}2,750"), (280, f"{k}5,000")])])
    rules = [Rule(5, y, 320, y) for y in (58, 88, 103, 117, 131)] + [Rule(95, 72, 315, 72)]
    cells = {c.text: c for c in build_structure(words, rules, Box(0, 50, 330, 140)).cells}
    assert cells["Revenue"].col_span == 2 and cells["Capital"].col_span == 2
    assert cells["Capital"].col == cells["Revenue"].col + 2
    assert cells["01,824"].header_path == ("Revenue", "Medical")


def test_a_word_moved_into_a_table_crop_keeps_the_way_it_runs():
    # the tables stage hands the structure crop-pixel words: a turned heading's words must stay turned
    word = crop_word(Word("Calley", Box(146, 205, 157, 229), angle=90), 2.0, 100, 200)
    assert (word.text, word.angle) == ("Calley", 90)
    assert word.box == Box(192, 210, 214, 258)


def _printed_matrix(mono: bool) -> list[Word]:
    """R's coefficient matrix as it prints it: a header row and three rows of a name and four values."""
    rows = [["", "Estimate", "Std.", "Error", "z", "value", "Pr(>|z|)"],
            ["(Intercept)", "833", "461", "1.81", "0.071"], ["Income", "-1834", "1243", "-1.48", "0.140"],
            ["I(Income^2)", "1587", "830", "1.91", "0.056"]]
    xs = [[90, 160, 210, 240, 290, 310, 350], [90, 170, 230, 290, 350], [90, 165, 225, 285, 350],
          [90, 170, 230, 290, 350]]
    words = []
    for k, (row, x) in enumerate(zip(rows, xs, strict=True)):
        for text, x0 in zip(row, x, strict=True):
            if text:
                words.append(Word(text, Box(x0, 300 + 12 * k, x0 + 6 * len(text), 309 + 12 * k), size=10.0, mono=mono))
    return words


def test_a_numbered_listing_is_no_table_on_a_page_of_code_or_of_prose():
    """docstrip's numbered source: line numbers in roman type, each leading a line of code; the model boxed the page
    as a reference list (or a table) and the number and code columns made a grid of 54 x 2. The page is nearly all
    code, so it counts as typewritten, where typewritten tables stay tables; a listing is not one. A table whose rows
    are numbered beside cells in roman type stays a table."""
    code = ["\\pgfkeysvalueof{/tikz/highlighter/initial offset})", "coordinate (start);", "%", "\\path (#3)",
            "++(-1*\\pgfkeysvalueof{/tikz/highlighter/final depth},", "coordinate (end);", "\\else", "\\fi"]
    box = Box(130, 120, 440, 230)

    def listing(mono: bool) -> list[Word]:
        words = []
        for k, line in enumerate(code):
            y = 125 + 12 * k
            words.append(Word(str(1515 + k), Box(135, y, 152, y + 8), size=8.0))
            x = 165.0
            for part in line.split(" "):
                words.append(Word(part, Box(x, y, x + 5 * len(part), y + 8), size=8.0, mono=mono))
                x += 5 * len(part) + 5
        return words

    for label in ("reference", "table"):
        found = refine_regions([DetectedRegion(box, label, label, 0.9)], listing(True), [])
        assert [r.label for r in found] == ["text" if label == "table" else label], found
    found = refine_regions([DetectedRegion(box, "table", "table", 0.9)], listing(False), [])
    assert [r.label for r in found] == ["table"]
    # a footnote mark leading its row is a digit to str.isdigit() but no number: no line number, and no crash
    marks = [Word("\u00b2" if w.text.isdigit() else w.text, w.box, size=8.0, mono=w.mono) for w in listing(True)]
    assert [r.label for r in refine_regions([DetectedRegion(box, "table", "table", 0.9)], marks, [])] == ["table"]


def test_a_programs_printed_matrix_in_typewriter_type_is_no_table():
    """R vignettes print a coefficient matrix under the call that made it, in typewriter type; the model boxed it
    as text (or as a table) and its aligned columns made a table of it ("Estimate Std. | Error z | value"). Nearly
    all of its characters in a fixed-pitch font on a page set in proportional type: a program's printed output,
    read as code by the text stage with its columns as printed. The same grid in proportional type is a table, and
    so is a typewritten page's (ICDAR-2013's US reports)."""
    box, prose_box = Box(80, 295, 420, 350), Box(80, 100, 520, 250)
    prose = [Word(f"word{k}", Box(80 + 45 * (k % 10), 100 + 12 * (k // 10), 120 + 45 * (k % 10), 109 + 12 * (k // 10)),
                  size=10.0) for k in range(120)]  # the page's text, in proportional type
    for label in ("text", "table"):
        regions = [DetectedRegion(prose_box, "text", "text", 0.9), DetectedRegion(box, label, label, 0.9)]
        typewriter = refine_regions(regions, prose + _printed_matrix(mono=True), [])
        assert [r.label for r in typewriter] == ["text", "text"], typewriter
    regions = [DetectedRegion(prose_box, "text", "text", 0.9), DetectedRegion(box, "table", "table", 0.9)]
    set_in_roman = refine_regions(regions, prose + _printed_matrix(mono=False), [])
    assert [r.label for r in set_in_roman] == ["text", "table"]
    # a typewritten page (a government report typed on a typewriter): its tables are typewritten like its text
    typed = [Word(w.text, w.box, size=10.0, mono=True) for w in prose]
    assert [r.label for r in refine_regions(regions, typed + _printed_matrix(mono=True), [])] == ["text", "table"]


def test_underlined_headings_over_paragraphs_are_no_table():
    # a manual's underlined headings (each underline as wide as its heading) over paragraphs and listings whose
    # lines run on far past the underline: cut at the underline's ends, the paragraphs' lines were short phrases
    # and the listing's first two columns a grid, so the underlines stacked one over the other framed a "table"
    # that took the left end of every line on the page
    sentence = "the controller used the same instruction set as the type forty but fixed one problem"
    words: list[Word] = []
    rules = []
    y = 100.0
    for heading in ("CR01B Controller", "CR01E Controller", "CR02B Controller"):
        words += _row_words(y, [(90, heading)])
        rules.append(Rule(90, y + 10, 90 + 5 * len(heading), y + 10))
        for k in range(3):
            words += _row_words(y + 20 + 12 * k, [(90, sentence)])
        for k in range(5):
            words += _row_words(y + 60 + 12 * k, [(90, f"RCS{k}"), (135, f"70670{k}"), (270, "skip if card done")])
        y += 130
    assert ruled_tables(words, rules) == []
    # a table under such rules still is one: short cells in columns between them
    table = []
    for i, y in enumerate((100.0, 120.0, 140.0)):
        table += _row_words(y, [(90, f"RCS{i}"), (140, f"70670{i}")])
    assert ruled_tables(table, [Rule(85, y - 5, 185, y - 5) for y in (100.0, 120.0, 140.0, 160.0)])


def test_a_shaded_listing_under_the_running_heads_rule_is_no_table():
    """A manual's console output on a shaded band, in URW's Courier, under the rule of the page's running head: the
    band's frame and the rule above made a ruled grid of its lines ("22:28:18 | FINISHED ...", "eval | CC=..."). A
    listing in typewriter type with no rule between its lines is code, not a table; NimbusMonL is fixed pitch. (The
    drawing is generated; the listing's words are placed as the manual's text layer gives them: 9 pt, glyph boxes
    6.9 pt tall, which the standard Courier's are not.)"""
    lines = ["22:28:18  FINISHED with exit-code 0 cmd:  ( [ -x configure ] || exit; \\",
             "    eval  CC=clang-9 CXX=clang++-9 CPP=clang-cpp-9 CFLAGS='-std=c11 -m64' \\",
             "    CXXFLAGS='-std=c++11 -m64' LDFLAGS='-m64' time ./configure )"]

    def draw(c):
        c.setFont("Times-Roman", 10)
        c.drawString(57, _top(46), "Network UPS Tools Developer Guide")
        c.line(54, _top(50), 570, _top(50))
        c.setFillGray(0.8)  # the band's frame, four bars 3 pt wide
        for x, y, w, h in ((54, 87, 516, 3), (54, 123, 516, 3), (54, 90, 3, 33), (567, 90, 3, 33)):
            c.rect(x, _top(y + h), w, h, stroke=0, fill=1)
        c.setFillGray(0.93)  # its shading, one rectangle a line
        for k in range(3):
            c.rect(57, _top(101 + 11 * k), 510, 11, stroke=0, fill=1)
        c.setFillGray(0)
        c.setFont("Times-Roman", 10)
        for k in range(4):
            c.drawString(57, _top(150 + 12 * k), "To re-run such a scenario locally, you can copy the line from eval, "
                                                 "up to and including the executed script.")

    pdf = pdfium.PdfDocument(_pdf(draw))
    page = pdf[0]
    display = render.display_matrix(page)
    words = [Word(w[0], Box(*w[1:5]), size=w[5], mono=w[9])
             for w in render.text_layer_words(page.get_textpage(), display)]
    for k, line in enumerate(lines):
        for m in re.finditer(r"\S+", line):
            x0, y0 = 56.7 + 5.38 * m.start(), 92.0 + 11 * k
            words.append(Word(m.group(), Box(x0, y0, x0 + 5.38 * len(m.group()), y0 + 6.9), size=9.0, mono=True))
    rules = pdf_page_rules(page, display)
    regions = [DetectedRegion(Box(54, 88, 570, 125), "reference", "reference", 0.7),
               DetectedRegion(Box(54, 140, 570, 190), "text", "text", 0.9)]
    assert [r.label for r in refine_regions(regions, words, rules)] == ["reference", "text"]
    assert render._fixed_pitch(0, "ABCDEF+NimbusMonL-Regu") and not render._fixed_pitch(0, "NimbusRomNo9L-Regu")
