"""A table as a grid: row and column boundaries ("lanes") and the cells they enclose, whatever found them
(ruling lines or word alignment), and its conversion into the `TableStructure` the pipeline stores."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace

from ocr_resources.tables.cells import strip_fill
from ocr_resources.tables.lines import cell_lines, join_text, words_box
from ocr_resources.text.hyphens import Vocabulary
from ocr_resources.types import TableCell, TableStructure, Word


@dataclass
class Lane:
    """A row boundary (at y = pos) or a column boundary (at x = pos). A ruled lane holds where its rules
    run (`spans`, intervals along it); a virtual one (an open side, a boundary found in the text) holds
    everywhere except across its `cuts` (intervals where a phrase crosses it: a spanning cell)."""

    pos: float
    spans: list[tuple[float, float]] = field(default_factory=list)
    virtual: bool = False
    cuts: list[tuple[float, float]] = field(default_factory=list)

    def coverage(self, a: float, b: float) -> float:
        """Share of [a, b] this lane's rules cover."""
        if self.virtual:
            return 1.0
        if b <= a:
            return 0.0
        return sum(max(0.0, min(b, y) - max(a, x)) for x, y in self.spans) / (b - a)

    def separates(self, a: float, b: float) -> bool:
        """Is this a boundary along [a, b] (one grid row or column)?"""
        if any(a <= (x + y) / 2 <= b for x, y in self.cuts):
            return False
        return self.coverage(a, b) >= 0.5

    def merged(self, other: Lane) -> Lane:
        return Lane(self.pos, sorted(self.spans + other.spans), self.virtual or other.virtual,
                    self.cuts if self.virtual else other.cuts)


@dataclass
class GridCell:
    r0: int  # first row
    r1: int  # last row (inclusive)
    c0: int
    c1: int
    words: list[Word] = field(default_factory=list)


@dataclass
class Grid:
    n_rows: int
    n_cols: int
    cells: list[GridCell]  # rectangles that tile the grid; a cell covering several rows/columns spans them
    header_rows: int = 0  # the first rows hold column headings
    method: str = "alignment"  # 'rules' or 'alignment': what the structure came from


def _index(edges: list[float], v: float) -> int:
    """Band of `v` among sorted edges (clamped to the first/last band)."""
    return min(max(bisect_right(edges, v) - 1, 0), len(edges) - 2)


def text_map(points: list[tuple[float, float]], rows: list[Lane], cols: list[Lane]) -> list[list[bool]]:
    """Which grid cells hold text (`points`: the centres of the words or phrases)."""
    ys, xs = [r.pos for r in rows], [c.pos for c in cols]
    has = [[False] * (len(xs) - 1) for _ in range(len(ys) - 1)]
    for cx, cy in points:
        has[_index(ys, cy)][_index(xs, cx)] = True
    return has


def prune(rows: list[Lane], cols: list[Lane], words: list[Word]) -> tuple[list[Lane], list[Lane]]:
    """Boundaries that separate no text from text go: first those around empty grid rows or columns
    (double rules, a shaded cell's own frame), then inner ones that never have text on both sides in one
    row (column)."""
    points = [w.box.center for w in words]
    for _ in range(2):
        for axis in (0, 1):
            lanes = cols if axis else rows
            changed = True
            while changed and len(lanes) > 2:
                changed = False
                has = text_map(points, rows, cols)
                counts = ([sum(has[i][j] for i in range(len(has))) for j in range(len(cols) - 1)] if axis
                          else [sum(r) for r in has])
                for k, n in enumerate(counts):
                    if n == 0:
                        drop = k + 1 if k + 1 < len(lanes) - 1 else k  # keep the outer boundaries
                        keep = drop - 1 if drop == k + 1 else drop + 1
                        lanes[keep] = lanes[keep].merged(lanes[drop])
                        del lanes[drop]
                        changed = True
                        break
        _drop_idle(points, rows, cols, 1)
        _drop_idle(points, rows, cols, 0)
    return rows, cols


def _drop_idle(points: list[tuple[float, float]], rows: list[Lane], cols: list[Lane], axis: int) -> None:
    """Inner lanes (columns: axis 1) that have text on both sides nowhere they run go, one at a time: a
    value column beside an empty one (a write-in column with text only in a heading spanning both) has two
    such boundaries, and dropping both at once would join the values on either side."""
    while True:
        has = text_map(points, rows, cols)
        ys, xs = [r.pos for r in rows], [c.pos for c in cols]
        if axis:
            idle = (j for j in range(1, len(cols) - 1) if not any(
                has[i][j - 1] and has[i][j] and cols[j].separates(ys[i], ys[i + 1]) for i in range(len(rows) - 1)))
        else:
            idle = (i for i in range(1, len(rows) - 1) if not any(
                has[i - 1][j] and has[i][j] and rows[i].separates(xs[j], xs[j + 1]) for j in range(len(cols) - 1)))
        k = next(idle, None)
        if k is None:
            return
        del (cols if axis else rows)[k]


def build_grid(phrases: list[list[Word]], rows: list[Lane], cols: list[Lane], method: str) -> Grid:
    """Cells between the lanes: two neighbouring grid cells are one where the lane between them does not
    separate them there (a span). A phrase goes whole to the cell holding its centre, so a long label that
    reaches into the gap before the next column stays in its own."""
    ys, xs = [r.pos for r in rows], [c.pos for c in cols]
    nr, nc = len(ys) - 1, len(xs) - 1
    if nr < 1 or nc < 1:
        return Grid(0, 0, [], 0, method)
    # vb[i][j]: column j-1 and j are apart in row i; hb[i][j]: row i-1 and i are apart in column j
    vb = [[cols[j].separates(ys[i], ys[i + 1]) for j in range(nc + 1)] for i in range(nr)]
    hb = [[rows[i].separates(xs[j], xs[j + 1]) for j in range(nc)] for i in range(nr + 1)]
    owner: list[list[int]] = [[-1] * nc for _ in range(nr)]
    cells: list[GridCell] = []
    for i in range(nr):
        for j in range(nc):
            if owner[i][j] >= 0:
                continue
            j2 = j
            while j2 + 1 < nc and not vb[i][j2 + 1] and owner[i][j2 + 1] < 0:
                j2 += 1
            i2 = i
            while (i2 + 1 < nr and not any(hb[i2 + 1][k] for k in range(j, j2 + 1))
                   and not any(vb[i2 + 1][k] for k in range(j + 1, j2 + 1))
                   and all(owner[i2 + 1][k] < 0 for k in range(j, j2 + 1))):
                i2 += 1
            for a in range(i, i2 + 1):
                for b in range(j, j2 + 1):
                    owner[a][b] = len(cells)
            cells.append(GridCell(i, i2, j, j2))
    for phrase in phrases:
        cx, cy = words_box(phrase).center
        cells[owner[_index(ys, cy)][_index(xs, cx)]].words.extend(phrase)
    return Grid(nr, nc, cells, 0, method)


def _keep(n: int, has_text: list[bool]) -> dict[int, int]:
    """Old index -> new index for the rows (columns) that hold text; empty ones disappear."""
    kept = [i for i in range(n) if has_text[i]]
    return {old: new for new, old in enumerate(kept)}


def drop_empty(grid: Grid) -> Grid:
    """Rows and columns where no cell with text starts are removed (spacer rows, the margin between a
    frame and the text); cells that spanned them shrink."""
    row_text = [False] * grid.n_rows
    col_text = [False] * grid.n_cols
    for cell in grid.cells:
        if cell.words:
            row_text[cell.r0] = True
            col_text[cell.c0] = True
    rows, cols = _keep(grid.n_rows, row_text), _keep(grid.n_cols, col_text)

    def last(mapping: dict[int, int], lo: int, hi: int) -> int:
        return max(mapping[i] for i in range(lo, hi + 1) if i in mapping)

    cells = [GridCell(rows[c.r0], last(rows, c.r0, c.r1), cols[c.c0], last(cols, c.c0, c.c1), c.words)
             for c in grid.cells if c.r0 in rows and c.c0 in cols]
    header = sum(1 for r in range(grid.header_rows) if r in rows)
    return Grid(len(rows), len(cols), cells, header, grid.method)


def to_structure(grid: Grid, filled: set[int] = frozenset()) -> TableStructure:
    """Every grid position is covered by exactly one cell (empty ones included, as the HTML needs). `filled`:
    ids of words that had dot leaders or fill taken out (their cells are flagged)."""
    grid = drop_empty(grid)
    # the table's own words decide whether a word broken across a cell's lines keeps its hyphen
    vocab = Vocabulary("\n".join(cell_lines(c.words)) for c in grid.cells if c.words)
    covered: set[tuple[int, int]] = set()
    cells: list[TableCell] = []
    for c in sorted(grid.cells, key=lambda c: (c.r0, c.c0)):
        spots = {(r, k) for r in range(c.r0, c.r1 + 1) for k in range(c.c0, c.c1 + 1)}
        if spots & covered:  # overlapping rectangles should not happen; keep the first
            continue
        covered |= spots
        box = words_box(c.words) if c.words else None
        text, fill = strip_fill(join_text(c.words, vocab))
        cells.append(TableCell(c.r0, c.c0, c.r1 - c.r0 + 1, c.c1 - c.c0 + 1, c.r0 < grid.header_rows,
                               text, box, fill or any(id(w) in filled for w in c.words)))
    for r in range(grid.n_rows):
        for k in range(grid.n_cols):
            if (r, k) not in covered:
                cells.append(TableCell(r, k, 1, 1, r < grid.header_rows, "", None))
    cells.sort(key=lambda c: (c.row, c.col))
    return TableStructure(grid.n_rows, grid.n_cols, with_header_paths(cells), method=grid.method)


def with_header_paths(cells: list[TableCell]) -> list[TableCell]:
    """Each body cell with the headings over its columns, top heading row first: every header cell whose
    columns overlap the body cell's (a group heading spanning a year's two columns, then each column's own
    heading), one text per header row, empty headings and repeats of the heading above skipped."""
    heads = sorted((c for c in cells if c.is_header and c.text), key=lambda c: (c.row, c.col))
    out = []
    for c in cells:
        if c.is_header or not heads:
            out.append(c)
            continue
        path: list[str] = []
        for h in heads:
            if h.col < c.col + c.col_span and c.col < h.col + h.col_span and (not path or path[-1] != h.text):
                path.append(h.text)
        out.append(replace(c, header_path=tuple(path)))
    return out
