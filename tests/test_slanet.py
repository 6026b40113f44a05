"""SLANet-plus table structure (ocr_resources/engines/slanet.py): the model on a generated table image, its
token decoder, and the per-table choice against geometry."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.slanet import parse_tokens, prefer_slanet, slanet_structure, split_lines
from ocr_resources.pipeline import render
from ocr_resources.types import Box, TableCell, TableCrop, TableStructure, Word

pytest.importorskip("rapid_table")

ROWS = [["Item", "Qty", "Price", "Total"]] + [[f"Part {k}", str(k), f"{1.5 * k:.2f}", f"{1.5 * k * k:.2f}"]
                                              for k in range(1, 6)]


def _table_crop(ruled: bool, scale: float = 2.0) -> TableCrop:
    """A reportlab table rendered with pypdfium2 and cropped to it; words from the text layer, in crop pixels."""
    buf = io.BytesIO()
    table = Table(ROWS)
    if ruled:
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    SimpleDocTemplate(buf, pagesize=A4).build([table])
    page = pdfium.PdfDocument(buf.getvalue())[0]
    display = render.display_matrix(page)
    words = [Word(w[0], Box(*w[1:5])) for w in render.text_layer_words(page.get_textpage(), display)]
    x0, y0 = min(w.box.x0 for w in words) - 8, min(w.box.y0 for w in words) - 8
    x1, y1 = max(w.box.x1 for w in words) + 8, max(w.box.y1 for w in words) + 8
    image = page.render(scale=scale).to_pil().crop(tuple(round(v * scale) for v in (x0, y0, x1, y1)))
    local = [Word(w.text, w.box.shifted(-x0, -y0).scaled(scale)) for w in words]
    return TableCrop(image=image, words=local, rules=[], scale=scale)


@pytest.fixture(scope="module")
def engine():
    from ocr_resources.engines.slanet import SlanetTableRecognizer

    return SlanetTableRecognizer(EngineSettings("table", "slanet", options=(("choose", "slanet"), ("threads", 1))))


@pytest.mark.parametrize("ruled", [True, False])
def test_the_model_reads_rows_and_columns_of_a_rendered_table(engine, ruled):
    [table] = engine.recognize([_table_crop(ruled)])
    assert table.method == "slanet"
    assert (table.n_rows, table.n_cols) == (len(ROWS), len(ROWS[0]))
    grid = {(c.row, c.col): c.text for c in table.cells}
    assert [[grid.get((r, c), "") for c in range(4)] for r in range(len(ROWS))] == ROWS


def test_identity_names_the_bundled_weights_by_hash(engine):
    assert engine.identity.engine == "slanet"
    assert len(engine.identity.revision) == 16 and engine.identity.params == {"choose": "slanet"}


def test_tokens_give_spans_header_and_rowspan_slots():
    tokens = ["<thead>", "<tr>", "<td", ' colspan="2"', ">", "</td>", "<td></td>", "</tr>", "</thead>", "<tbody>",
              "<tr>", "<td", ' rowspan="2"', ">", "</td>", "<td></td>", "<td></td>", "</tr>",
              "<tr>", "<td></td>", "<td></td>", "</tr>", "</tbody>"]
    boxes = [Box(k, 0, k + 1, 1) for k in range(7)]
    cells = parse_tokens(tokens, boxes)
    assert [(c.row, c.col, c.row_span, c.col_span, c.is_header) for c in cells] == [
        (0, 0, 1, 2, True), (0, 2, 1, 1, True), (1, 0, 2, 1, False), (1, 1, 1, 1, False), (1, 2, 1, 1, False),
        (2, 1, 1, 1, False), (2, 2, 1, 1, False)]
    assert len(parse_tokens(tokens, boxes[:6])) == 6  # one box per cell token: a cell without one is dropped


def test_words_fill_the_cell_they_overlap_most_and_empty_rows_go():
    tokens = ["<tr>", "<td></td>", "<td></td>", "</tr>", "<tr>", "<td></td>", "<td></td>", "</tr>",
              "<tr>", "<td></td>", "<td></td>", "</tr>"]
    boxes = [Box(0, 0, 50, 10), Box(50, 0, 100, 10), Box(0, 10, 50, 20), Box(50, 10, 100, 20),
             Box(0, 20, 50, 30), Box(50, 20, 100, 30)]
    words = [Word("a", Box(5, 2, 15, 8)), Word("b", Box(45, 2, 70, 8)),  # b: mostly in the second cell
             Word("c", Box(5, 22, 15, 28)), Word("d", Box(120, 22, 130, 28))]  # d: outside every box
    table = slanet_structure(tokens, boxes, words)
    assert (table.n_rows, table.n_cols) == (2, 2)  # the middle row held no word
    assert {(c.row, c.col): c.text for c in table.cells} == {(0, 0): "a", (0, 1): "b", (1, 0): "c", (1, 1): "d"}


def _structure(method: str, grid: list[list[str]]) -> TableStructure:
    cells = [TableCell(r, c, 1, 1, r == 0, text) for r, row in enumerate(grid) for c, text in enumerate(row)]
    return TableStructure(len(grid), max(map(len, grid)), cells, method=method)


OCR_CROP = TableCrop(image=None, words=[], rules=[], scale=1.0, text_layer=False)
TEXT_CROP = TableCrop(image=None, words=[], rules=[], scale=1.0, text_layer=True)
GRID = [["Item", "Qty"], ["a", "1"], ["b", "2"], ["c", "3"]]
MERGED = [["Item", "Qty"], ["a b", "1 2"], ["c", "3"]]  # two rows whose OCR boxes touch, read as one


def test_choice_keeps_geometry_when_the_model_has_nothing_and_takes_the_model_when_geometry_has():
    geometry = _structure("alignment", GRID)
    assert prefer_slanet(geometry, TableStructure(0, 0, [], method="slanet"), OCR_CROP)[0] is False
    assert prefer_slanet(TableStructure(0, 0, [], method="alignment"), geometry, OCR_CROP)[0] is True


def test_choice_takes_the_model_where_it_keeps_apart_rows_geometry_merged_on_ocr_words_only():
    geometry, model = _structure("rules", MERGED), _structure("slanet", GRID)
    assert prefer_slanet(geometry, model, OCR_CROP)[0] is True
    assert prefer_slanet(geometry, model, TEXT_CROP)[0] is False  # a text layer's boxes are exact: geometry
    # fewer rows, or a different column count: geometry stays
    assert prefer_slanet(model, geometry, OCR_CROP)[0] is False
    wider = _structure("slanet", [row + [""] for row in GRID])
    assert prefer_slanet(geometry, wider, OCR_CROP)[0] is False


def test_choice_takes_the_model_over_an_unruled_grid_only_when_its_cells_are_fuller():
    split = _structure("alignment", [["It", "em", "Qty"], ["a", "", "1"], ["b", "", "2"], ["c", "", "3"]])
    model = _structure("slanet", GRID)
    assert prefer_slanet(split, model, OCR_CROP)[0] is True
    # a ruled grid the model only matches: geometry
    assert prefer_slanet(_structure("rules", GRID), _structure("slanet", GRID), OCR_CROP)[0] is False


def _lines_table(pitch: float, n_rows: int) -> tuple[list[str], list[Box]]:
    """SLANet-like output: n_rows rows of 3 cells, each row `pitch` tall from y=0, columns 0-60-120-180."""
    tokens = [t for _ in range(n_rows) for t in ("<tr>", "<td></td>", "<td></td>", "<td></td>", "</tr>")]
    boxes = [Box(60 * c, pitch * r, 60 * c + 55, pitch * r + pitch - 2) for r in range(n_rows) for c in range(3)]
    return tokens, boxes


def test_choice_keeps_geometry_where_the_model_rows_drift_across_the_text_lines():
    # six OCR text lines 26 px apart; column 0's word a little higher than the others (OCR boxes vary)
    words = [Word(f"{r}{c}", Box(60 * c + 5, 26 * r + 4 - (4 if c == 0 else 0), 60 * c + 45, 26 * r + 17))
             for r in range(6) for c in range(3)]
    crop = TableCrop(image=None, words=words, rules=[], scale=1.0, text_layer=False)
    merged = _structure("rules", [["00 10", "01 11", "02 12"], ["20", "21", "22"],
                                  ["30 40 50", "31 41 51", "32 42 52"]])
    # boxes on the text's pitch: every line in one row, and the model keeps apart what geometry merged
    aligned = slanet_structure(*_lines_table(26, 6), words)
    assert split_lines(aligned, words) == (0, 6)
    assert prefer_slanet(merged, aligned, crop)[0] is True
    # a pitch a little short (22 px for 26): further down, a row's boxes sit between two lines and a line's
    # words go to two rows (its first word, higher, to the row above); the shifted table is not taken
    drifted = slanet_structure(*_lines_table(22, 7), words)
    split, total = split_lines(drifted, words)
    assert total == 6 and split >= 1
    use, reason = prefer_slanet(merged, drifted, crop)
    assert use is False and "cut" in reason


def test_auto_keeps_geometry_on_a_text_layer_without_running_the_model(engine, monkeypatch):
    from ocr_resources.engines.slanet import SlanetTableRecognizer

    auto = SlanetTableRecognizer.__new__(SlanetTableRecognizer)
    auto.__dict__.update(engine.__dict__, choose="auto")
    monkeypatch.setattr(auto, "predict", lambda image: pytest.fail("the model ran on a text-layer table"))
    crop = _table_crop(ruled=True)
    crop.text_layer = True
    [table] = auto.recognize([crop])
    assert table.method != "slanet" and (table.n_rows, table.n_cols) == (len(ROWS), len(ROWS[0]))
