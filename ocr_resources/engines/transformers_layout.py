"""Layout detection with any DETR-family object-detection checkpoint on the hub or on disk.

Works with checkpoints loadable through AutoModelForObjectDetection + AutoImageProcessor: DETR,
Conditional/Deformable DETR, RT-DETR, Table Transformer detection, e.g. DocLayNet-trained models.
"""

from __future__ import annotations

import logging

import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForObjectDetection

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import LayoutDetector, ModelIdentity
from ocr_resources.engines.torch_runtime import (
    TorchRuntime,
    checkpoint_revision,
    inference_mode,
    run_batched,
    size_class,
    to_device,
)
from ocr_resources.types import CANONICAL_LABELS, Box, DetectedRegion

log = logging.getLogger(__name__)

# Model label (normalised: lower case, '-'/'_' -> ' ') -> canonical label. Covers DocLayNet, PubLayNet,
# DocStructBench-style names and the table-detection labels; anything else becomes "other".
LABEL_MAP: dict[str, str] = {
    # DocLayNet
    "text": "text",
    "title": "title",
    "section header": "title",
    "list item": "list",
    "table": "table",
    "picture": "figure",
    "caption": "caption",
    "page header": "header",
    "page footer": "footer",
    "formula": "formula",
    "footnote": "text",
    # PubLayNet
    "list": "list",
    "figure": "figure",
    # table detection (Table Transformer)
    "table rotated": "table",
    # other common names
    "paragraph": "text",
    "plain text": "text",
    "abstract": "text",
    "doc title": "title",
    "heading": "title",
    "image": "figure",
    "chart": "figure",
    "figure caption": "caption",
    "table caption": "caption",
    "table footnote": "text",
    "header": "header",
    "footer": "footer",
    "equation": "formula",
    "isolate formula": "formula",
    "reference": "reference",
    "references": "reference",
}


def canonical_label(model_label: str) -> str:
    """Map a model's label onto CANONICAL_LABELS ('other' when unknown)."""
    key = model_label.strip().lower().replace("-", " ").replace("_", " ")
    key = " ".join(key.split())
    label = LABEL_MAP.get(key, "other")
    return label if label in CANONICAL_LABELS else "other"


class TransformersLayoutDetector(TorchRuntime, LayoutDetector):
    def __init__(self, settings: EngineSettings) -> None:
        kwargs = self._init_runtime(settings)
        self.processor = AutoImageProcessor.from_pretrained(settings.model, revision=kwargs["revision"])
        self.model = AutoModelForObjectDetection.from_pretrained(settings.model, **kwargs)
        self.model.to(self.device).eval()
        self.id2label = {int(k): str(v) for k, v in self.model.config.id2label.items()}
        self.identity = ModelIdentity(
            engine=f"transformers_{self.model.config.model_type}",
            model_id=settings.model,
            revision=checkpoint_revision(settings.model, settings.revision),
            params={
                "score_threshold": settings.score_threshold,
                "dtype": str(self.dtype).removeprefix("torch."),
            },
        )

    def detect(self, images: list[Image.Image]) -> list[list[DetectedRegion]]:
        images = [im.convert("RGB") for im in images]
        return run_batched(images, self.batch_size, self._detect_batch, log, key=size_class)

    def _detect_batch(self, batch: list[Image.Image]) -> list[list[DetectedRegion]]:
        with inference_mode():
            inputs = self.processor(images=batch, return_tensors="pt")
            outputs = self.model(**to_device(inputs, self.device, self.dtype))
            # post-processing in fp32 (softmax/sigmoid of half logits loses small scores)
            for name in ("logits", "pred_boxes"):
                value = getattr(outputs, name, None)
                if isinstance(value, torch.Tensor):
                    setattr(outputs, name, value.float())
            target_sizes = torch.tensor([(im.height, im.width) for im in batch], device=self.device)
            results = self.processor.post_process_object_detection(
                outputs, threshold=self.settings.score_threshold, target_sizes=target_sizes
            )
        return [self._regions(res, im) for res, im in zip(results, batch, strict=True)]

    def _regions(self, result: dict, image: Image.Image) -> list[DetectedRegion]:
        w, h = image.size
        regions = []
        for score, label_id, box in zip(
            result["scores"].tolist(), result["labels"].tolist(), result["boxes"].tolist(), strict=True
        ):
            # predicted boxes may overhang the page; clip to pixel bounds
            x0, y0, x1, y1 = (min(max(v, 0.0), lim) for v, lim in zip(box, (w, h, w, h), strict=True))
            if x1 <= x0 or y1 <= y0:
                continue
            model_label = self.id2label.get(int(label_id), str(label_id))
            regions.append(
                DetectedRegion(Box(x0, y0, x1, y1), canonical_label(model_label), model_label, float(score))
            )
        regions.sort(key=lambda r: (r.box.y0, r.box.x0))
        return regions
