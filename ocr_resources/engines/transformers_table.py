"""Table structure recognition with Table Transformer (TATR) structure checkpoints.

The model finds rows, columns, column-header rows and spanning cells as boxes; `cells_from_structure`
(pure, model-free) turns those boxes plus the crop's words into a grid of cells.
"""

from __future__ import annotations

import logging

import torch
from transformers import AutoImageProcessor, DetrImageProcessor, TableTransformerForObjectDetection

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import ModelIdentity, TableStructureRecognizer
from ocr_resources.engines.torch_runtime import (
    TorchRuntime,
    checkpoint_revision,
    inference_mode,
    run_batched,
    to_device,
)
from ocr_resources.types import Box, TableCell, TableCrop, TableStructure, Word

log = logging.getLogger(__name__)

# Two detections of the same row (column) are duplicates when they overlap by more than this fraction
# of the smaller one's extent along y (x).
DUPLICATE_OVERLAP = 0.5
# A row/column belongs to a header/spanning box when at least this fraction of its extent is covered.
COVER_FRACTION = 0.5


def _overlap_1d(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _dedupe(boxes: list[Box], axis: str) -> list[Box]:
    """Keep boxes in the given (score-descending) order unless they duplicate one already kept; return
    them sorted by position along `axis` ('y' for rows, 'x' for columns)."""
    kept: list[Box] = []
    for box in boxes:
        lo, hi = (box.y0, box.y1) if axis == "y" else (box.x0, box.x1)
        if hi <= lo:
            continue
        duplicate = False
        for other in kept:
            olo, ohi = (other.y0, other.y1) if axis == "y" else (other.x0, other.x1)
            if _overlap_1d(lo, hi, olo, ohi) > DUPLICATE_OVERLAP * min(hi - lo, ohi - olo):
                duplicate = True
                break
        if not duplicate:
            kept.append(box)
    return sorted(kept, key=lambda b: (b.y0 + b.y1) if axis == "y" else (b.x0 + b.x1))


def _covered(lo: float, hi: float, extents: list[tuple[float, float]]) -> list[int]:
    """Indices of the extents that [lo, hi] covers by at least COVER_FRACTION of their own length."""
    return [
        i
        for i, (a, b) in enumerate(extents)
        if b > a and _overlap_1d(lo, hi, a, b) >= COVER_FRACTION * (b - a)
    ]


def _nearest(value: float, extents: list[tuple[float, float]]) -> int | None:
    """The extent containing `value`, else the closest one (words in the gaps between rows)."""
    best, best_dist = None, float("inf")
    for i, (a, b) in enumerate(extents):
        dist = 0.0 if a <= value <= b else min(abs(value - a), abs(value - b))
        if dist < best_dist:
            best, best_dist = i, dist
    return best


def reading_order_text(words: list[Word]) -> str:
    """Join words line by line (top to bottom), left to right within a line."""
    if not words:
        return ""
    ordered = sorted(words, key=lambda w: w.box.center[1])
    lines: list[list[Word]] = []
    for word in ordered:
        cy = word.box.center[1]
        if lines:
            last = lines[-1]
            ref = sum(w.box.center[1] for w in last) / len(last)
            tol = 0.5 * max(1.0, min(word.box.height, max(w.box.height for w in last)))
            if abs(cy - ref) <= tol:
                last.append(word)
                continue
        lines.append([word])
    return " ".join(" ".join(w.text for w in sorted(line, key=lambda w: w.box.x0)) for line in lines).strip()


def cells_from_structure(
    rows: list[Box],
    cols: list[Box],
    headers: list[Box],
    spans: list[Box],
    words: list[Word],
) -> TableStructure:
    """Build the cell grid from detected row/column/header/spanning-cell boxes and fill it with words.

    Rows and columns are given highest score first; overlapping duplicates are dropped, then rows are
    sorted by y and columns by x. Grid cell (r, c) spans column c's x-extent and row r's y-extent.
    A row is a header row when a column-header box covers it. A spanning box merges the grid cells it
    covers (a contiguous rectangle, at least two cells) into one cell. A word goes to the cell holding
    its centre; words in gaps between rows/columns go to the nearest one.
    """
    rows = _dedupe(rows, "y")
    cols = _dedupe(cols, "x")
    if not rows or not cols:
        return TableStructure(0, 0, [])
    row_ext = [(r.y0, r.y1) for r in rows]
    col_ext = [(c.x0, c.x1) for c in cols]
    n_rows, n_cols = len(rows), len(cols)

    header_rows: set[int] = set()
    for h in headers:
        header_rows.update(_covered(h.y0, h.y1, row_ext))

    # owner[r][c] = index into `groups`: each group is (row0, col0, row_span, col_span)
    owner: list[list[int]] = [[-1] * n_cols for _ in range(n_rows)]
    groups: list[tuple[int, int, int, int]] = []
    for span in spans:
        rs = _covered(span.y0, span.y1, row_ext)
        cs = _covered(span.x0, span.x1, col_ext)
        if not rs or not cs:
            continue
        r0, r1, c0, c1 = min(rs), max(rs), min(cs), max(cs)
        if (r1 - r0 + 1) * (c1 - c0 + 1) < 2:
            continue  # a "spanning" cell over one grid cell is just that cell
        if any(owner[r][c] != -1 for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)):
            continue  # overlaps an earlier (higher-scored) spanning cell
        gid = len(groups)
        groups.append((r0, c0, r1 - r0 + 1, c1 - c0 + 1))
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                owner[r][c] = gid
    for r in range(n_rows):
        for c in range(n_cols):
            if owner[r][c] == -1:
                owner[r][c] = len(groups)
                groups.append((r, c, 1, 1))

    # table extent: words outside it (e.g. a caption in the crop) belong to no cell
    both = rows + cols
    table_box = Box(
        min(b.x0 for b in both), min(b.y0 for b in both), max(b.x1 for b in both), max(b.y1 for b in both)
    )
    group_words: list[list[Word]] = [[] for _ in groups]
    for word in words:
        cx, cy = word.box.center
        if not table_box.contains_point(cx, cy):
            continue
        r, c = _nearest(cy, row_ext), _nearest(cx, col_ext)
        if r is None or c is None:
            continue
        group_words[owner[r][c]].append(word)

    cells = []
    for gid, (r0, c0, rspan, cspan) in enumerate(groups):
        box = Box(cols[c0].x0, rows[r0].y0, cols[c0 + cspan - 1].x1, rows[r0 + rspan - 1].y1)
        cells.append(
            TableCell(
                row=r0,
                col=c0,
                row_span=rspan,
                col_span=cspan,
                is_header=r0 in header_rows,
                text=reading_order_text(group_words[gid]),
                box=box,
            )
        )
    cells.sort(key=lambda cell: (cell.row, cell.col))
    return TableStructure(n_rows, n_cols, cells)


class TableTransformerRecognizer(TorchRuntime, TableStructureRecognizer):
    def __init__(self, settings: EngineSettings) -> None:
        kwargs = self._init_runtime(settings)
        try:
            self.processor = AutoImageProcessor.from_pretrained(self.model_path, **self.hub_kwargs)
        except OSError:
            # the Microsoft TATR repos ship no preprocessor config; these are the values they were trained at
            log.info("no image processor saved with %s; using DETR defaults for TATR", settings.model)
            self.processor = DetrImageProcessor(size={"shortest_edge": 800, "longest_edge": 1000})
        self.model = TableTransformerForObjectDetection.from_pretrained(self.model_path, **kwargs)
        self.model.to(self.device).eval()
        self.id2label = {int(k): str(v).strip().lower() for k, v in self.model.config.id2label.items()}
        self.identity = ModelIdentity(
            engine="table_transformer",
            model_id=settings.model,
            revision=checkpoint_revision(settings.model, settings.revision),
            params={
                "score_threshold": settings.score_threshold,
                "dtype": str(self.dtype).removeprefix("torch."),
            },
        )

    def recognize(self, crops: list[TableCrop]) -> list[TableStructure]:
        return run_batched(crops, self.batch_size, self._recognize_batch, log, key=lambda c: c.image.size)

    def _recognize_batch(self, batch: list[TableCrop]) -> list[TableStructure]:
        images = [crop.image.convert("RGB") for crop in batch]
        with inference_mode():
            inputs = self.processor(images=images, return_tensors="pt")
            outputs = self.model(**to_device(inputs, self.device, self.dtype))
            outputs.logits = outputs.logits.float()
            outputs.pred_boxes = outputs.pred_boxes.float()
            target_sizes = torch.tensor([(im.height, im.width) for im in images], device=self.device)
            results = self.processor.post_process_object_detection(
                outputs, threshold=self.settings.score_threshold, target_sizes=target_sizes
            )
        return [self._structure(res, crop) for res, crop in zip(results, batch, strict=True)]

    def _structure(self, result: dict, crop: TableCrop) -> TableStructure:
        found: dict[str, list[tuple[float, Box]]] = {}
        for score, label_id, box in zip(
            result["scores"].tolist(), result["labels"].tolist(), result["boxes"].tolist(), strict=True
        ):
            label = self.id2label.get(int(label_id), "")
            found.setdefault(label, []).append((float(score), Box(*box)))

        def by_score(label: str) -> list[Box]:
            return [b for _, b in sorted(found.get(label, []), key=lambda t: -t[0])]

        # a projected row header (a section label across the table) is a cell spanning every column
        spans = by_score("table spanning cell") + by_score("table projected row header")
        return cells_from_structure(
            rows=by_score("table row"),
            cols=by_score("table column"),
            headers=by_score("table column header"),
            spans=spans,
            words=crop.words,
        )
