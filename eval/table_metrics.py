"""Table metrics: detection, cell F1 on (row, column, text) with one best offset per table, and the
ICDAR-2013 competition's cell adjacency F1. Tables from every tool are brought to one shape first."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from eval.text_metrics import normalize, strip_inline

Bbox = tuple[float, float, float, float]  # PDF points, origin bottom-left: x0, y0, x1, y1


@dataclass
class Cell:
    row: int
    col: int
    text: str
    row_span: int = 1
    col_span: int = 1


@dataclass
class Table:
    page: int  # 1-based
    cells: list[Cell]
    bbox: Bbox | None = None  # None where the tool gives no position (then any table on the page may match)
    extra: dict = field(default_factory=dict)


def cell_text(text: str) -> str:
    """Cell text compared without whitespace and case: a multi-line cell joined with or without a space,
    or a header in small caps, is still the same cell."""
    text = unicodedata.normalize("NFKC", normalize(text or "", markdown=False))
    return re.sub(r"\s+", "", text).lower()


def from_grid(page: int, rows: list[list[str | None]], bbox: Bbox | None = None) -> Table:
    """A table given as a list of rows of strings (pdfplumber, camelot, Markdown)."""
    cells = [Cell(r, c, text or "") for r, row in enumerate(rows) for c, text in enumerate(row)]
    return Table(page, cells, bbox)


_SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$")


def from_markdown(markdown: str, page: int) -> list[Table]:
    """Markdown pipe tables in a page's text (each run of lines starting with '|')."""
    tables, current = [], []
    for line in [*markdown.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|"):
            if not _SEPARATOR.match(stripped):
                body = stripped.strip("|")
                current.append([strip_inline(c.replace("\\|", "\x00")).replace("\x00", "|").strip()
                                for c in re.split(r"(?<!\\)\|", body)])
        elif current:
            tables.append(from_grid(page, current))
            current = []
    return tables


def overlap(a: Bbox, b: Bbox) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / smaller if smaller > 0 else 0.0


def cell_f1(pred: Table, truth: Table, max_offset: int = 4) -> float:
    """F1 of non-empty cells matched on (row, column, text), under the one (row, column) offset that matches
    most: the ground truth counts some empty leading rows and columns, and a tool may add or drop a title row."""
    p = Counter((c.row, c.col, cell_text(c.text)) for c in pred.cells if cell_text(c.text))
    t = Counter((c.row, c.col, cell_text(c.text)) for c in truth.cells if cell_text(c.text))
    if not p or not t:
        return 0.0
    best = 0
    for dr in range(-max_offset, max_offset + 1):
        for dc in range(-max_offset, max_offset + 1):
            shifted = Counter({(r + dr, c + dc, x): n for (r, c, x), n in p.items()})
            best = max(best, sum((shifted & t).values()))
    return 2 * best / (sum(p.values()) + sum(t.values()))


def adjacency(table: Table) -> Counter:
    """The competition's adjacency relations: each non-empty cell with its nearest non-empty neighbour to
    the right and below (spanning cells occupy every grid position they cover)."""
    grid: dict[tuple[int, int], int] = {}
    texts = [cell_text(c.text) for c in table.cells]
    for i, c in enumerate(table.cells):
        for r in range(c.row, c.row + max(1, c.row_span)):
            for col in range(c.col, c.col + max(1, c.col_span)):
                grid.setdefault((r, col), i)
    if not grid:
        return Counter()
    max_row = max(r for r, _ in grid)
    max_col = max(c for _, c in grid)
    relations: set[tuple[int, int, str]] = set()

    def nearest(i: int, cells: list[tuple[int, int]], direction: str) -> None:
        for pos in cells:  # positions beyond the cell, nearest first: the first non-empty one is the neighbour
            j = grid.get(pos)
            if j is not None and j != i and texts[j]:
                relations.add((i, j, direction))
                return

    for i, c in enumerate(table.cells):
        if not texts[i]:
            continue
        rows = range(c.row, c.row + max(1, c.row_span))
        cols = range(c.col, c.col + max(1, c.col_span))
        for r in rows:
            nearest(i, [(r, col) for col in range(cols.stop, max_col + 1)], "h")
        for col in cols:
            nearest(i, [(r, col) for r in range(rows.stop, max_row + 1)], "v")
    return Counter((texts[i], texts[j], d) for i, j, d in relations)


def adjacency_scores(pred: Table, truth: Table) -> tuple[int, int, int]:
    """(correct, predicted, truth) adjacency relation counts, summed over tables for micro-averaged F1."""
    p, t = adjacency(pred), adjacency(truth)
    return sum((p & t).values()), sum(p.values()), sum(t.values())


def candidates(truth: Table, preds: list[Table], min_overlap: float = 0.2) -> list[Table]:
    """The tool's tables that may be this ground-truth table: same page and overlapping (or, for tools that
    give no position, any table on the page)."""
    same_page = [p for p in preds if p.page == truth.page]
    return [p for p in same_page
            if p.bbox is None or truth.bbox is None or overlap(p.bbox, truth.bbox) >= min_overlap]


def score_document(truths: list[Table], preds: list[Table]) -> dict:
    """Per document: tables found, per-table cell F1 (best candidate), adjacency counts."""
    detected, f1s, adj = 0, [], [0, 0, 0]
    for truth in truths:
        cands = candidates(truth, preds)
        if not cands:
            f1s.append(None)
            adj[2] += sum(adjacency(truth).values())
            continue
        detected += 1
        best = max(cands, key=lambda p: cell_f1(p, truth))
        f1s.append(cell_f1(best, truth))
        for k, v in enumerate(adjacency_scores(best, truth)):
            adj[k] += v
    return {"tables": len(truths), "detected": detected, "cell_f1": f1s, "adjacency": adj,
            "predicted_tables": len(preds)}


def f1(correct: int, predicted: int, truth: int) -> float | None:
    if not predicted and not truth:
        return None
    if not correct:
        return 0.0
    precision, recall = correct / predicted, correct / truth
    return 2 * precision * recall / (precision + recall)
