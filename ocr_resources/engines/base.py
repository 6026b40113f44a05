"""The small per-role interfaces every engine implements.

An engine is built from a config and holds a loaded model; the resources in `ocr_resources.models`
build engines lazily and cache them per process, so every asset and partition of a run shares one.
All methods are synchronous and batched: callers hand over a list and get a list back in the same
order. Inference is compute-bound; it is never wrapped in `async` (see shared/seeds/000).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from ocr_resources.types import ChartData, DetectedRegion, OcrResult, TableCrop, TableStructure


@dataclass(frozen=True)
class ModelIdentity:
    """What produced a result: goes into lineage (producers table) and asset code versions."""

    engine: str  # e.g. "rapid_layout", "transformers_detr"
    model_id: str  # hub id, local path or bundled model name
    revision: str  # hub revision, or a hash of the weights file(s)
    params: dict[str, Any] = field(default_factory=dict)  # thresholds etc. that change results


class Engine(ABC):
    identity: ModelIdentity
    batch_size: int = 1

    def prepare(self, image: Image.Image) -> Any:
        """CPU preprocessing of one input (resize, normalise, to tensor). The pipeline calls it on its loader
        threads, so the accelerator never waits for it; the batched method then takes what it returns
        (anything with the image's `.size`). The default hands the image over unchanged."""
        return image


class LayoutDetector(Engine):
    @abstractmethod
    def detect(self, images: list[Image.Image]) -> list[list[DetectedRegion]]:
        """Regions per image, boxes in that image's pixel coordinates."""


class TextRecognizer(Engine):
    @abstractmethod
    def recognize(self, images: list[Image.Image]) -> list[OcrResult]:
        """Text per image (a page or a region crop); word boxes in that image's pixel coordinates."""

    def prepare_page(self, image: Image.Image, source_dpi: float | None, render_dpi: float) -> Any:
        """`prepare` for a whole page rendered at `render_dpi` from a scan of `source_dpi` (None: not known, or
        not a scan): engines that judge a line by its size in the source's pixels override it."""
        return self.prepare(image)


class FormulaRecognizer(Engine):
    @abstractmethod
    def read(self, images: list[Image.Image]) -> list[str]:
        """LaTeX per formula image, without math delimiters ('' where nothing was read)."""


class TableStructureRecognizer(Engine):
    @abstractmethod
    def recognize(self, crops: list[TableCrop]) -> list[TableStructure]:
        """Cell structure per table crop; cells filled with the crop's words."""


class ChartExtractor(Engine):
    @abstractmethod
    def extract(self, images: list[Image.Image]) -> list[ChartData]:
        """Data table per chart image."""
