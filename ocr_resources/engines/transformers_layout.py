"""Layout detection with any DETR-family object-detection checkpoint on the hub or on disk.

Works with checkpoints loadable through AutoModelForObjectDetection + AutoImageProcessor: DETR,
Conditional/Deformable DETR, RT-DETR, Table Transformer detection, e.g. DocLayNet-trained models.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForObjectDetection

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import LayoutDetector, ModelIdentity
from ocr_resources.engines.labels import LABEL_MAP, canonical_label  # noqa: F401 (re-exported)
from ocr_resources.engines.torch_runtime import (
    TorchRuntime,
    checkpoint_revision,
    inference_mode,
    run_batched,
    size_class,
    to_device,
)
from ocr_resources.types import Box, DetectedRegion

log = logging.getLogger(__name__)


@dataclass
class PreparedImage:
    """A page image and its model inputs (batch of one), made on a loader thread."""

    image: Image.Image
    inputs: dict[str, torch.Tensor]

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def _pad_and_stack(inputs: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Batch single-image processor outputs: pad pixel values bottom/right to the largest image (as the
    processor does for a batch) and mark the real pixels in `pixel_mask` when the model takes one."""
    pixels = [x["pixel_values"][0] for x in inputs]
    height = max(p.shape[-2] for p in pixels)
    width = max(p.shape[-1] for p in pixels)
    batch = pixels[0].new_zeros((len(pixels), pixels[0].shape[0], height, width))
    mask = torch.zeros((len(pixels), height, width), dtype=torch.long)
    for i, p in enumerate(pixels):
        batch[i, :, : p.shape[-2], : p.shape[-1]] = p
        mask[i, : p.shape[-2], : p.shape[-1]] = 1
    stacked = {"pixel_values": batch}
    if "pixel_mask" in inputs[0]:
        stacked["pixel_mask"] = mask
    return stacked


class TransformersLayoutDetector(TorchRuntime, LayoutDetector):
    def __init__(self, settings: EngineSettings) -> None:
        kwargs = self._init_runtime(settings)
        self.processor = AutoImageProcessor.from_pretrained(self.model_path, **self.hub_kwargs)
        self.model = AutoModelForObjectDetection.from_pretrained(self.model_path, **kwargs)
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

    def prepare(self, image: Image.Image) -> PreparedImage:
        """Resize and normalise on the caller's (loader) thread; `detect` only pads, stacks and runs the model."""
        image = image.convert("RGB")
        return PreparedImage(image, dict(self.processor(images=[image], return_tensors="pt")))

    def detect(self, images: list[Image.Image | PreparedImage]) -> list[list[DetectedRegion]]:
        items = [im if isinstance(im, PreparedImage) else self.prepare(im) for im in images]
        return run_batched(items, self.batch_size, self._detect_batch, log, key=size_class)

    def _detect_batch(self, batch: list[PreparedImage]) -> list[list[DetectedRegion]]:
        with inference_mode():
            inputs = _pad_and_stack([item.inputs for item in batch])
            outputs = self.model(**to_device(inputs, self.device, self.dtype))
            # post-processing in fp32 (softmax/sigmoid of half logits loses small scores)
            for name in ("logits", "pred_boxes"):
                value = getattr(outputs, name, None)
                if isinstance(value, torch.Tensor):
                    setattr(outputs, name, value.float())
            target_sizes = torch.tensor([(item.image.height, item.image.width) for item in batch], device=self.device)
            results = self.processor.post_process_object_detection(
                outputs, threshold=self.settings.score_threshold, target_sizes=target_sizes
            )
        return [self._regions(res, item.image) for res, item in zip(results, batch, strict=True)]

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
