"""Wiring tests for the transformers engines, on tiny random checkpoints saved to disk.

The checkpoints are built locally (tests/tiny_models.py) and loaded through the engines' normal
`from_pretrained(path)` path, so no hub access is needed. Outputs of random weights are meaningless; the
tests check shapes, coordinates, label mapping, lineage identity, batching and the pure parsers.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

try:
    from tests import tiny_models  # noqa: E402
except ImportError:  # tests/ is not a package: import the module from its directory
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import tiny_models  # noqa: E402

from ocr_resources.engines import EngineSettings, engine_class  # noqa: E402
from ocr_resources.engines.torch_runtime import (  # noqa: E402
    checkpoint_revision,
    local_checkpoint_hash,
    resolve_device,
    resolve_dtype,
    run_batched,
    size_class,
)
from ocr_resources.types import (  # noqa: E402
    CANONICAL_LABELS,
    Box,
    ChartData,
    OcrResult,
    TableCrop,
    TableStructure,
    Word,
)


def _settings(role: str, engine: str, model: str, **kw) -> EngineSettings:
    return EngineSettings(role=role, engine=engine, model=model, device="cpu", dtype="auto", **kw)


def _noise_images(sizes: list[tuple[int, int]], seed: int = 0) -> list[Image.Image]:
    """Random RGB images of the given (width, height): uniform images make every DETR query coincide."""
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in sizes]


# ---------------------------------------------------------------- checkpoints (built once per session)


@pytest.fixture(scope="session")
def detr_dir(tmp_path_factory) -> str:
    return tiny_models.build_detr_layout(tmp_path_factory.mktemp("detr"))


@pytest.fixture(scope="session")
def tatr_dir(tmp_path_factory) -> str:
    return tiny_models.build_table_transformer(tmp_path_factory.mktemp("tatr"))


@pytest.fixture(scope="session")
def trocr_dir(tmp_path_factory) -> str:
    return tiny_models.build_trocr(tmp_path_factory.mktemp("trocr"))


@pytest.fixture(scope="session")
def got_dir(tmp_path_factory) -> str:
    return tiny_models.build_got_ocr2(tmp_path_factory.mktemp("got"))


@pytest.fixture(scope="session")
def pix2struct_dir(tmp_path_factory) -> str:
    return tiny_models.build_pix2struct(tmp_path_factory.mktemp("pix2struct"))


# ---------------------------------------------------------------- torch_runtime


def test_device_and_dtype_resolution():
    cpu = torch.device("cpu")
    assert resolve_device("cpu") == cpu
    assert resolve_device("auto").type in {"cuda", "mps", "cpu"}
    assert resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype("fp16", cpu) == torch.float16
    assert resolve_dtype("bf16", cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        resolve_dtype("int3", cpu)


def test_run_batched_groups_by_size_and_restores_order():
    sizes = [(500, 700), (100, 50), (510, 690), (90, 60), (505, 705)]
    images = [Image.new("RGB", s) for s in sizes]
    batches: list[list[tuple[int, int]]] = []

    def fn(batch):
        batches.append([im.size for im in batch])
        return [im.size for im in batch]

    out = run_batched(images, 2, fn, key=size_class)
    assert out == sizes  # input order restored
    # the two small images share a batch; large ones are grouped together
    assert sorted(batches[0]) == [(90, 60), (100, 50)]
    assert all(min(s[0] for s in b) > 400 for b in batches[1:])
    assert run_batched([], 4, fn) == []


def test_run_batched_halves_batch_on_oom(caplog):
    seen: list[int] = []

    def fn(batch):  # fault injection: the "GPU" only fits two items at once
        seen.append(len(batch))
        if len(batch) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [x * 10 for x in batch]

    with caplog.at_level(logging.WARNING):
        out = run_batched(list(range(7)), 8, fn, logger=logging.getLogger("test.oom"))
    assert out == [x * 10 for x in range(7)]
    assert seen == [7, 4, 2, 2, 2, 1]  # 8 -> 4 -> 2, and 2 is kept for the rest
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("batch size 8" in m and "batch size 4" in m for m in warnings)
    assert any("batch size 4" in m and "batch size 2" in m for m in warnings)


def test_run_batched_gives_up_at_batch_size_one():
    def fn(batch):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(torch.cuda.OutOfMemoryError):
        run_batched([1, 2, 3], 4, fn)


def test_run_batched_does_not_swallow_other_errors():
    calls = []

    def fn(batch):
        calls.append(len(batch))
        raise ValueError("bad input")

    with pytest.raises(ValueError):
        run_batched([1, 2, 3, 4], 4, fn)
    assert calls == [4]


def test_checkpoint_revision_hashes_local_weights(detr_dir, tmp_path):
    first = checkpoint_revision(detr_dir)
    assert first == checkpoint_revision(detr_dir, "main") == local_checkpoint_hash(detr_dir)
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 16
    # a changed weight file gives a different revision
    copy = tmp_path / "copy"
    shutil.copytree(detr_dir, copy)
    weights = next(copy.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert checkpoint_revision(str(copy)) != first
    # hub ids: a pinned commit is kept; an uncached id falls back to the configured revision
    commit = "0123456789abcdef0123456789abcdef01234567"
    assert checkpoint_revision("nobody/not-a-cached-model", commit) == commit
    assert checkpoint_revision("nobody/not-a-cached-model", "v1.0") == "v1.0"


# ---------------------------------------------------------------- layout


def test_canonical_label_mapping():
    from ocr_resources.engines.transformers_layout import canonical_label

    expected = {
        "Text": "text", "Title": "title", "Section-header": "title", "List-item": "list", "Table": "table",
        "Picture": "figure", "Caption": "caption", "Page-header": "header", "Page-footer": "footer",
        "Formula": "formula", "Footnote": "text", "figure": "figure", "list": "list",
        "table rotated": "table", "section_header": "title", "N/A": "other", "something new": "other",
    }
    assert {name: canonical_label(name) for name in expected} == expected


def test_layout_detector_boxes_and_labels(detr_dir):
    engine = engine_class("layout", "transformers")(
        _settings("layout", "transformers", detr_dir, score_threshold=0.0, batch_size=2)
    )
    sizes = [(200, 300), (120, 80), (210, 290)]
    images = _noise_images(sizes)
    regions = engine.detect(images)
    assert len(regions) == len(images)
    for (w, h), found in zip(sizes, regions, strict=True):
        assert found, "threshold 0 keeps every query"
        for region in found:
            assert 0 <= region.box.x0 < region.box.x1 <= w
            assert 0 <= region.box.y0 < region.box.y1 <= h
            assert region.label in CANONICAL_LABELS
            assert region.model_label in tiny_models.DOCLAYNET_LABELS
            assert 0.0 <= region.score <= 1.0
    # boxes are in each image's own pixel space: the small image's boxes fit in 120x80 although the
    # batch it was processed in was padded
    assert max(r.box.x1 for r in regions[1]) <= 120
    assert engine.identity.revision == local_checkpoint_hash(detr_dir)
    assert engine.identity.model_id == detr_dir
    assert engine.identity.params["score_threshold"] == 0.0
    assert engine.detect([]) == []


# ---------------------------------------------------------------- table


def _grid_words() -> list[Word]:
    def w(text, x0, y0, x1, y1):
        return Word(text, Box(x0, y0, x1, y1))

    return [
        w("Name", 5, 5, 40, 15), w("Q1", 110, 5, 130, 15), w("Q2", 210, 5, 230, 15),
        w("apples", 5, 35, 50, 45), w("10", 110, 35, 125, 45), w("12", 210, 35, 225, 45),
        w("pears", 5, 65, 45, 75), w("no", 120, 65, 140, 75), w("data", 150, 65, 180, 75),
        w("yet", 230, 65, 250, 75),
        # two lines inside one cell, given out of order: reading order is line by line
        w("total", 5, 92, 40, 98), w("fruit", 5, 82, 40, 88),
        w("22", 110, 85, 125, 95), w("caption", 5, 130, 60, 140),  # below the table: in no cell
    ]


def test_cells_from_structure_grid_headers_spans_and_words():
    from ocr_resources.engines.transformers_table import cells_from_structure

    rows = [Box(0, 30, 300, 50), Box(0, 0, 300, 20), Box(0, 60, 300, 80), Box(0, 80, 300, 100),
            Box(0, 31, 300, 49)]  # last: a duplicate of row 1 with a lower score
    cols = [Box(100, 0, 200, 100), Box(0, 0, 100, 100), Box(200, 0, 300, 100)]
    headers = [Box(0, 0, 300, 20)]
    spans = [Box(100, 60, 300, 80)]  # row 2, columns 1-2
    table = cells_from_structure(rows, cols, headers, spans, _grid_words())

    assert isinstance(table, TableStructure)
    assert (table.n_rows, table.n_cols) == (4, 3)
    by_pos = {(c.row, c.col): c for c in table.cells}
    assert len(table.cells) == 4 * 3 - 1  # the spanning cell replaces two grid cells
    assert [by_pos[(0, c)].text for c in range(3)] == ["Name", "Q1", "Q2"]
    assert all(by_pos[(0, c)].is_header for c in range(3))
    assert not any(c.is_header for c in table.cells if c.row > 0)
    assert [by_pos[(1, c)].text for c in range(3)] == ["apples", "10", "12"]
    span = by_pos[(2, 1)]
    assert (span.row_span, span.col_span, span.text) == (1, 2, "no data yet")
    assert span.box == Box(100, 60, 300, 80)
    assert (2, 2) not in by_pos
    assert by_pos[(3, 0)].text == "fruit total"
    assert by_pos[(3, 2)].text == ""
    assert all(c.row_span == 1 and c.col_span == 1 for c in table.cells if c is not span)
    assert "caption" not in " ".join(c.text for c in table.cells)
    assert [(c.row, c.col) for c in table.cells] == sorted((c.row, c.col) for c in table.cells)


def test_cells_from_structure_multirow_span_and_empty():
    from ocr_resources.engines.transformers_table import cells_from_structure

    rows = [Box(0, 0, 100, 10), Box(0, 10, 100, 20), Box(0, 20, 100, 30)]
    cols = [Box(0, 0, 50, 30), Box(50, 0, 100, 30)]
    words = [Word("A", Box(5, 2, 15, 8)), Word("B", Box(5, 22, 15, 28)), Word("x", Box(60, 12, 70, 18))]
    table = cells_from_structure(rows, cols, [], [Box(0, 0, 50, 30)], words)
    first = next(c for c in table.cells if (c.row, c.col) == (0, 0))
    assert (first.row_span, first.col_span, first.text) == (3, 1, "A B")
    assert len(table.cells) == 4  # one 3x1 span + three plain cells in column 1
    assert cells_from_structure([], cols, [], [], words) == TableStructure(0, 0, [])
    assert cells_from_structure(rows, [], [], [], words) == TableStructure(0, 0, [])


@pytest.fixture(scope="module")
def table_engine(tatr_dir):
    return engine_class("table", "table_transformer")(
        _settings("table", "table_transformer", tatr_dir, score_threshold=0.0, batch_size=2)
    )


def test_table_engine_maps_model_labels_to_grid(table_engine):
    # the engine's own post-processing step, on detections shaped like post_process_object_detection's
    ids = {name: i for i, name in enumerate(tiny_models.TABLE_STRUCTURE_LABELS)}
    detections = [
        (0.9, "table", (0, 0, 300, 100)),
        (0.9, "table row", (0, 0, 300, 20)), (0.8, "table row", (0, 30, 300, 50)),
        (0.9, "table row", (0, 60, 300, 80)), (0.9, "table row", (0, 80, 300, 100)),
        (0.9, "table column", (0, 0, 100, 100)), (0.9, "table column", (100, 0, 200, 100)),
        (0.9, "table column", (200, 0, 300, 100)),
        (0.9, "table column header", (0, 0, 300, 20)),
        (0.7, "table spanning cell", (100, 60, 300, 80)),
        (0.6, "table projected row header", (0, 80, 300, 100)),
    ]
    result = {
        "scores": torch.tensor([d[0] for d in detections]),
        "labels": torch.tensor([ids[d[1]] for d in detections]),
        "boxes": torch.tensor([d[2] for d in detections], dtype=torch.float32),
    }
    table = table_engine._structure(result, TableCrop(Image.new("RGB", (300, 100)), _grid_words()))
    assert (table.n_rows, table.n_cols) == (4, 3)
    by_pos = {(c.row, c.col): c for c in table.cells}
    assert by_pos[(0, 1)].is_header and by_pos[(0, 1)].text == "Q1"
    assert by_pos[(2, 1)].col_span == 2
    prh = by_pos[(3, 0)]  # the projected row header spans the whole row
    assert (prh.col_span, sorted(prh.text.split())) == (3, ["22", "fruit", "total"])


def test_table_engine_batches_crops(table_engine, tatr_dir):
    images = _noise_images([(160, 100), (90, 60), (170, 110)], seed=1)
    crops = [TableCrop(im, [Word("x", Box(10, 10, 20, 20))]) for im in images]
    tables = table_engine.recognize(crops)
    assert len(tables) == len(crops)
    for table in tables:
        assert isinstance(table, TableStructure)
        # every grid position is covered by exactly one cell
        covered = [(r, c) for cell in table.cells for r in range(cell.row, cell.row + cell.row_span)
                   for c in range(cell.col, cell.col + cell.col_span)]
        assert sorted(covered) == [(r, c) for r in range(table.n_rows) for c in range(table.n_cols)]
    assert table_engine.identity.revision == local_checkpoint_hash(tatr_dir)


# ---------------------------------------------------------------- OCR


def test_trocr_generates_text_per_image(trocr_dir):
    settings = _settings("ocr", "trocr", trocr_dir, max_new_tokens=6, batch_size=2)
    engine = engine_class("ocr", "trocr")(settings)
    images = _noise_images([(384, 64), (200, 40), (300, 50)])
    results = engine.recognize(images)
    assert len(results) == 3
    assert all(isinstance(r, OcrResult) and isinstance(r.text, str) and r.words == [] for r in results)
    assert engine.identity.engine == "trocr"
    assert engine.identity.revision == local_checkpoint_hash(trocr_dir)


def test_got_ocr2_generates_text_per_image(got_dir):
    engine = engine_class("ocr", "got_ocr2")(
        _settings("ocr", "got_ocr2", got_dir, max_new_tokens=4, batch_size=2, options=(("format", True),))
    )
    assert engine.num_image_tokens == 4  # 64 px / 8 px patches / 4 (projector) -> 2x2
    images = _noise_images([(120, 90), (64, 64), (300, 200)])
    results = engine.recognize(images)
    assert len(results) == 3
    assert all(isinstance(r, OcrResult) and isinstance(r.text, str) for r in results)
    # random weights babble from the tiny vocabulary; the prompt/template tokens are stripped
    assert all("<|im_start|>" not in r.text and "<imgpad>" not in r.text for r in results)
    assert engine.identity.params["format"] is True
    assert engine.identity.revision == local_checkpoint_hash(got_dir)


# ---------------------------------------------------------------- chart


def test_parse_deplot_table_realistic():
    from ocr_resources.engines.transformers_chart import parse_deplot_table

    text = (
        "TITLE | Revenue by year <0x0A> Year | Revenue | Profit <0x0A> 2019 | 10.5 | 2 <0x0A> 2020 | 12 | 3 "
    )
    data = parse_deplot_table(text)
    assert data == ChartData(
        title="Revenue by year",
        columns=["Year", "Revenue", "Profit"],
        rows=[["2019", "10.5", "2"], ["2020", "12", "3"]],
        raw=text,
    )
    # newlines, no title, ragged rows (short and long)
    ragged = parse_deplot_table("Country | 2010 | 2020\nFrance | 1\nSpain | 2 | 3 | 4\n\n")
    assert ragged.title is None
    assert ragged.columns == ["Country", "2010", "2020", "column_4"]
    assert ragged.rows == [["France", "1", "", ""], ["Spain", "2", "3", "4"]]
    # empty title and title only
    assert parse_deplot_table("TITLE |  <0x0A> a | b <0x0A> 1 | 2").title is None
    only = parse_deplot_table("TITLE | Just a title")
    assert (only.title, only.columns, only.rows) == ("Just a title", [], [])
    assert parse_deplot_table("") == ChartData(None, [], [], "")


def test_deplot_extracts_per_image(pix2struct_dir):
    engine = engine_class("chart", "deplot")(
        _settings("chart", "deplot", pix2struct_dir, max_new_tokens=6, batch_size=2)
    )
    assert engine.is_vqa and engine.font_path  # prompt header rendered with a local font, no download
    images = _noise_images([(160, 120), (100, 80), (200, 150)])
    charts = engine.extract(images)
    assert len(charts) == 3
    assert all(isinstance(c, ChartData) and isinstance(c.raw, str) for c in charts)
    assert engine.identity.params["prompt"].startswith("Generate underlying data table")
    assert engine.identity.revision == local_checkpoint_hash(pix2struct_dir)


def test_layout_prepare_then_batch_matches_the_processors_own_batching(detr_dir):
    """`prepare` runs per image on the pipeline's loader threads; padding and stacking those in `detect` must
    give the model exactly what the processor gives for the whole batch at once."""
    import torch

    from ocr_resources.engines.transformers_layout import _pad_and_stack

    engine = engine_class("layout", "transformers")(_settings("layout", "transformers", detr_dir, score_threshold=0.0,
                                                              batch_size=4))
    images = [Image.new("RGB", (300, 420), "white"), Image.new("RGB", (420, 300), "white")]
    prepared = [engine.prepare(im) for im in images]
    assert prepared[0].size == images[0].size
    ours = _pad_and_stack([p.inputs for p in prepared])
    theirs = engine.processor(images=images, return_tensors="pt")
    assert torch.equal(ours["pixel_values"], theirs["pixel_values"])
    assert torch.equal(ours["pixel_mask"], theirs["pixel_mask"].long())
    assert len(engine.detect(prepared)) == 2
