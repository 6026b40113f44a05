"""The document-level view of a text block that furniture and heading decisions work on."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ocr_resources.types import Box


@dataclass
class TextBlock:
    page_no: int
    page_width: float
    page_height: float
    box: Box
    label: str
    text: str
    size: float | None = None  # font size (text layer) or line height (OCR), median over its words
    bold: bool = False
    lines: int = 1
    form_row: bool = False  # a form's label with its value
    figure_labels: bool = False  # a chart's or drawing's labels (never a heading)
    ink_size: bool = False  # `size` measured from OCR ink boxes (line heights), not a font size

    @property
    def words(self) -> int:
        return len(self.text.split())


def sizes_differ(a: float | None, b: float | None) -> bool:
    """Two font sizes both known and more than a tenth apart (another type)."""
    return bool(a and b) and not 0.9 <= a / b <= 1.1


def body_size(blocks: list[TextBlock]) -> float | None:
    """The size most of the document's text is set in (weighted by characters)."""
    weights: dict[float, int] = {}
    for b in blocks:  # running text: not a form's labels and values
        if b.size and b.label in ("text", "list", "reference") and not b.form_row:
            key = round(b.size * 2) / 2
            weights[key] = weights.get(key, 0) + len(b.text)
    if not weights:
        sizes = [b.size for b in blocks if b.size]
        return statistics.median(sizes) if sizes else None
    return max(weights, key=lambda k: weights[k])
