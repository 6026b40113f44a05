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
from ocr_resources.engines.slanet import parse_tokens, prefer_slanet, slanet_structure
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
    boxes = [Box(k, 0, k + 1, 1) for k in range(6)]
    cells = parse_tokens(tokens, boxes)
    assert [(c.row, c.col, c.row_span, c.col_span, c.is_header) for c in cells] == [
        (0, 0, 1, 2, True), (0, 2, 1, 1, True), (1, 0, 2, 1, False), (1, 1, 1, 1, False), (1, 2, 1, 1, False),
        (2, 1, 1, 1, False), (2, 2, 1, 1, False)][:len(cells)]
    assert len(cells) == 6  # one box per cell token; the seventh token has none


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


def test_choice_keeps_geometry_when_the_model_has_nothing():
    crop = TableCrop(image=None, words=[], rules=[], scale=1.0)
    geometry = _structure("alignment", [["a", "b"], ["1", "2"]])
    assert prefer_slanet(geometry, TableStructure(0, 0, [], method="slanet"), crop)[0] is False
    assert prefer_slanet(TableStructure(0, 0, [], method="alignment"), geometry, crop)[0] is True
