"""Table structure from geometry: the page's ruling lines and the words' alignment (text layer or OCR
boxes). The offline default for when no table model is configured; the algorithms live in
`ocr_resources.tables`, this engine only adapts the crop's pixel coordinates to PDF points."""

from __future__ import annotations

import dataclasses

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import ModelIdentity, TableStructureRecognizer
from ocr_resources.tables.rules import Rule
from ocr_resources.tables.structure import build_structure
from ocr_resources.types import Box, TableCrop, TableStructure, Word

CODE_REVISION = "geometry-v3"  # 3: fill stripped, values kept whole, header paths


def build_table(words: list[Word], rules: list[Box] = (), region: Box | None = None) -> TableStructure:
    """Cells from words and ruling lines (boxes), all in one unit; `region` defaults to the words' extent."""
    words = [w for w in words if w.text.strip()]
    if region is None:
        boxes = [w.box for w in words] + list(rules)
        if not boxes:
            return TableStructure(0, 0, [], method="alignment")
        region = Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes),
                     max(b.y1 for b in boxes))
    return build_structure(words, [Rule(b.x0, b.y0, b.x1, b.y1) for b in rules], region)


class GeometryTableRecognizer(TableStructureRecognizer):
    def __init__(self, settings: EngineSettings):
        self.batch_size = max(1, settings.batch_size)
        self.identity = ModelIdentity(engine="geometry", model_id="word-geometry", revision=CODE_REVISION)

    def recognize(self, crops: list[TableCrop]) -> list[TableStructure]:
        return [self._one(crop) for crop in crops]

    @staticmethod
    def _one(crop: TableCrop) -> TableStructure:
        # thresholds are in points and text heights: work in PDF points, hand the cell boxes back in pixels
        k = 1.0 / crop.scale
        words = [dataclasses.replace(w, box=w.box.scaled(k)) for w in crop.words]  # the way each runs kept
        rules = [r.scaled(k) for r in crop.rules]
        width, height = crop.image.size
        table = build_table(words, rules, Box(0, 0, width * k, height * k))
        cells = [dataclasses.replace(c, box=c.box.scaled(crop.scale) if c.box else None) for c in table.cells]
        return TableStructure(table.n_rows, table.n_cols, cells, table.method)
