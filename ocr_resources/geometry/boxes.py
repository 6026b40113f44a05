"""Relations between boxes, and the clean-up of a layout detector's regions before anything is read from them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ocr_resources.types import Box

# Labels whose regions hold running text (words are read into them); figures and tables hold other things.
TEXT_LABELS = frozenset({"text", "title", "list", "caption", "reference", "formula", "header", "footer", "other"})


def iou(a: Box, b: Box) -> float:
    inter = a.intersection(b)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def inside(a: Box, b: Box) -> float:
    """Share of `a`'s area that lies inside `b` (1.0 when a is within b)."""
    return a.intersection(b) / a.area if a.area > 0 else float(b.contains_point(*a.center))


def intersection_areas(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Areas shared by every pair of boxes of two (n, 4) arrays of (x0, y0, x1, y1): an (n, m) array; 0 where
    two boxes do not meet."""
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.maximum(0.0, w) * np.maximum(0.0, h)


def union(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    return Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes))


def x_overlap(a: Box, b: Box) -> float:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def y_overlap(a: Box, b: Box) -> float:
    return min(a.y1, b.y1) - max(a.y0, b.y0)


def gap(a: Box, b: Box) -> float:
    """Distance between two boxes (0 when they touch or overlap)."""
    dx = max(0.0, max(a.x0, b.x0) - min(a.x1, b.x1))
    dy = max(0.0, max(a.y0, b.y0) - min(a.y1, b.y1))
    return (dx * dx + dy * dy) ** 0.5


def suppress_duplicates(boxes: list[Box], scores: list[float], iou_threshold: float = 0.7) -> list[int]:
    """Indices to keep when a detector reports the same area twice under different labels (e.g. CDLA's
    title + header on one line): the higher score wins."""
    keep: list[int] = []
    for i in sorted(range(len(boxes)), key=lambda i: -scores[i]):
        if all(iou(boxes[i], boxes[j]) < iou_threshold for j in keep):
            keep.append(i)
    return sorted(keep)


def clean_regions(boxes: list[Box], labels: list[str], scores: list[float], iou_threshold: float = 0.7,
                  in_table: float = 0.8) -> list[int]:
    """Indices of the regions worth keeping: one of each pair of duplicates (the higher score), and no text
    region lying inside a table (the detector's view of a cell; the table reads its own words). Nested text
    regions are kept: words go to the innermost one (see `layout.compose`), the outer one keeps the rest."""
    keep = suppress_duplicates(boxes, scores, iou_threshold)
    tables = [i for i in keep if labels[i] == "table"]
    return [i for i in keep if labels[i] not in TEXT_LABELS or labels[i] in ("header", "footer")
            or not any(j != i and inside(boxes[i], boxes[j]) >= in_table for j in tables)]


Turn = Callable[[float, float], tuple[float, float]]
# A page point into the upright frame of text running at an angle (degrees anticlockwise; y grows downwards),
# and back: text read bottom to top (90) is made upright by turning the page a quarter clockwise.
UPRIGHT: dict[int, tuple[Turn, Turn]] = {
    90: (lambda x, y: (-y, x), lambda x, y: (y, -x)),
    180: (lambda x, y: (-x, -y), lambda x, y: (-x, -y)),
    270: (lambda x, y: (y, -x), lambda x, y: (-y, x)),
}


def turned_box(box: Box, turn: Turn) -> Box:
    (ax, ay), (bx, by) = turn(box.x0, box.y0), turn(box.x1, box.y1)
    return Box(min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))
