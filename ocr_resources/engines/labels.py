"""Layout models' own labels onto the canonical set (ocr_resources.types.CANONICAL_LABELS), shared by every
layout engine that reads a model's label names (DETR-family checkpoints, YOLO exports). Torch-free."""

from __future__ import annotations

from ocr_resources.types import CANONICAL_LABELS

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
