"""Table structure from the geometry of words (text layer or OCR boxes): the offline default for
when no table model is configured. Rows are bands of vertically overlapping words, columns the
x-intervals that the table's typical rows agree on; a phrase that covers several columns spans them."""

from __future__ import annotations

import statistics
from collections import Counter

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import ModelIdentity, TableStructureRecognizer
from ocr_resources.types import Box, TableCell, TableCrop, TableStructure, Word

CODE_REVISION = "geometry-v1"


def group_rows(words: list[Word]) -> list[list[Word]]:
    """Words grouped into rows by vertical overlap, top to bottom, each row left to right."""
    rows: list[list[Word]] = []
    bands: list[tuple[float, float]] = []
    for word in sorted(words, key=lambda w: w.box.center[1]):
        for i, (top, bottom) in enumerate(bands):
            overlap = min(bottom, word.box.y1) - max(top, word.box.y0)
            if overlap > 0.5 * min(bottom - top, word.box.height):
                rows[i].append(word)
                bands[i] = (min(top, word.box.y0), max(bottom, word.box.y1))
                break
        else:
            rows.append([word])
            bands.append((word.box.y0, word.box.y1))
    order = sorted(range(len(rows)), key=lambda i: bands[i][0])
    return [sorted(rows[i], key=lambda w: w.box.x0) for i in order]


def merge_phrases(row: list[Word], gap_factor: float = 0.9) -> list[Word]:
    """Adjacent words closer than ~one text height belong to the same cell."""
    if not row:
        return []
    height = statistics.median(w.box.height for w in row) or 1.0
    phrases = [row[0]]
    for word in row[1:]:
        last = phrases[-1]
        if word.box.x0 - last.box.x1 < gap_factor * height:
            box = Box(last.box.x0, min(last.box.y0, word.box.y0), word.box.x1, max(last.box.y1, word.box.y1))
            phrases[-1] = Word(f"{last.text} {word.text}", box, min(last.confidence, word.confidence))
        else:
            phrases.append(word)
    return phrases


def column_intervals(rows: list[list[Word]]) -> list[tuple[float, float]]:
    """Column x-intervals from the rows with the most common (largest, on ties) number of cells."""
    counts = Counter(len(r) for r in rows)
    typical = max(counts, key=lambda n: (counts[n] >= max(2, len(rows) // 3), n, counts[n]))
    spans = sorted((p.box.x0, p.box.x1) for r in rows if len(r) == typical for p in r)
    merged: list[list[float]] = []
    for x0, x1 in spans:
        if merged and x0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], x1)
        else:
            merged.append([x0, x1])
    return [(a, b) for a, b in merged]


def build_table(words: list[Word]) -> TableStructure:
    rows = [merge_phrases(r) for r in group_rows([w for w in words if w.text.strip()])]
    rows = [r for r in rows if r]
    if not rows:
        return TableStructure(0, 0, [])
    columns = column_intervals(rows)
    cells: list[TableCell] = []
    for r, phrases in enumerate(rows):
        taken: dict[int, TableCell] = {}
        for phrase in phrases:
            covered = [c for c, (x0, x1) in enumerate(columns) if min(x1, phrase.box.x1) - max(x0, phrase.box.x0) > 0]
            if not covered:  # in a gap: nearest column by centre
                cx = phrase.box.center[0]
                covered = [min(range(len(columns)), key=lambda c: abs((columns[c][0] + columns[c][1]) / 2 - cx))]
            first = covered[0]
            if first in taken:  # two phrases in one column: join them
                prev = taken[first]
                taken[first] = TableCell(r, first, 1, prev.col_span, prev.is_header, f"{prev.text} {phrase.text}",
                                         prev.box)
                continue
            taken[first] = TableCell(r, first, 1, covered[-1] - first + 1, r == 0 and len(rows) > 1,
                                     phrase.text, phrase.box)
        covered_cols = {c for cell in taken.values() for c in range(cell.col, cell.col + cell.col_span)}
        for c in range(len(columns)):
            if c not in covered_cols:
                taken[c] = TableCell(r, c, 1, 1, r == 0 and len(rows) > 1, "", None)
        cells.extend(taken[c] for c in sorted(taken))
    return TableStructure(len(rows), len(columns), cells)


class GeometryTableRecognizer(TableStructureRecognizer):
    def __init__(self, settings: EngineSettings):
        self.batch_size = max(1, settings.batch_size)
        self.identity = ModelIdentity(engine="geometry", model_id="word-geometry", revision=CODE_REVISION)

    def recognize(self, crops: list[TableCrop]) -> list[TableStructure]:
        return [build_table(crop.words) for crop in crops]
