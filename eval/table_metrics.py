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


def score_document(truths: list[Table], preds: list[Table], with_teds: bool = False) -> dict:
    """Per document: tables found, per-table cell F1 (best candidate), adjacency counts; with `with_teds`, TEDS
    with text and structure only of the same best candidate per table (0 where none is found)."""
    detected, f1s, adj = 0, [], [0, 0, 0]
    teds_text: list[float] = []
    teds_struct: list[float] = []
    for truth in truths:
        cands = candidates(truth, preds)
        if not cands:
            f1s.append(None)
            adj[2] += sum(adjacency(truth).values())
            teds_text.append(0.0)
            teds_struct.append(0.0)
            continue
        detected += 1
        best = max(cands, key=lambda p: cell_f1(p, truth))
        f1s.append(cell_f1(best, truth))
        for k, v in enumerate(adjacency_scores(best, truth)):
            adj[k] += v
        if with_teds:
            teds_text.append(teds(best, truth))
            teds_struct.append(teds(best, truth, structure_only=True))
    out = {"tables": len(truths), "detected": detected, "cell_f1": f1s, "adjacency": adj,
           "predicted_tables": len(preds)}
    if with_teds:
        out.update(teds=teds_text, teds_structure=teds_struct)
    return out


def f1(correct: int, predicted: int, truth: int) -> float | None:
    if not predicted and not truth:
        return None
    if not correct:
        return 0.0
    precision, recall = correct / predicted, correct / truth
    return 2 * precision * recall / (precision + recall)


# -- silver fixtures: cell-text recall and detection --------------------------------------------------------
MATCH_MIN_RECALL = 0.2  # a tool's table is a fixture table when it holds at least this share of its cell texts


def cell_texts(table: Table) -> Counter:
    return Counter(t for t in (cell_text(c.text) for c in table.cells) if t)


def cell_text_recall(pred: Table, truth: Table) -> float:
    """Share of the truth table's non-empty cell texts (a multiset, compared as `cell_text`) that the
    predicted table has in some cell, wherever it puts them: the fixtures' truth is a tool's own grid
    (often for a hand-set area or hand-set columns), so positions are not compared, only text."""
    t = cell_texts(truth)
    if not t:
        return 1.0
    return sum((cell_texts(pred) & t).values()) / sum(t.values())


def match_tables(truths: list[Table], preds: list[Table],
                 min_recall: float = MATCH_MIN_RECALL) -> list[Table | None]:
    """One predicted table per truth table at most, and each predicted table used once: pairs on the same
    page taken best cell-text recall first; a pair below `min_recall` is no match (the truth table is then
    not detected)."""
    pairs = sorted(((cell_text_recall(p, t), i, j) for i, t in enumerate(truths) for j, p in enumerate(preds)
                    if p.page == t.page), key=lambda x: (-x[0], x[1], x[2]))
    out: list[Table | None] = [None] * len(truths)
    used: set[int] = set()
    for recall, i, j in pairs:
        if recall < min_recall or out[i] is not None or j in used:
            continue
        out[i] = preds[j]
        used.add(j)
    return out


def score_fixture_document(truths: list[Table], preds: list[Table]) -> dict:
    """Per fixture document: tables, detected, per-table cell-text recall (0 where not detected), and TEDS
    (with text and structure only) per table with a full grid (`extra["partial"]` tables have none)."""
    matched = match_tables(truths, preds)
    recalls, teds_text, teds_struct = [], [], []
    for truth, pred in zip(truths, matched, strict=True):
        recalls.append(cell_text_recall(pred, truth) if pred is not None else 0.0)
        if truth.extra.get("partial"):
            continue
        teds_text.append(teds(pred, truth) if pred is not None else 0.0)
        teds_struct.append(teds(pred, truth, structure_only=True) if pred is not None else 0.0)
    return {"tables": len(truths), "detected": sum(p is not None for p in matched), "cell_recall": recalls,
            "teds": teds_text, "teds_structure": teds_struct, "predicted_tables": len(preds)}


# -- TEDS: tree edit distance similarity (PubTabNet, Zhong et al. 2020) --------------------------------------
class TableNode:
    """A node of a table's HTML tree (table > tr > td), as PubTabNet's TEDS compares them."""

    def __init__(self, tag: str, colspan: int = 1, rowspan: int = 1, content: str = "",
                 children: list[TableNode] | None = None):
        self.tag, self.colspan, self.rowspan, self.content = tag, colspan, rowspan, content
        self.children = children or []

    def size(self) -> int:
        return 1 + sum(c.size() for c in self.children)

    def bracket(self) -> str:  # for reading a tree in a failing test
        inner = "".join(c.bracket() for c in self.children)
        return f"{{{self.tag}{'' if self.tag != 'td' else f'[{self.colspan}x{self.rowspan}]{self.content}'}{inner}}}"


def _is_td(node: TableNode) -> bool:
    return node.tag == "td"


def tree_edit_distance(a: TableNode, b: TableNode, structure_only: bool = False) -> float:
    """The tree edit distance between two table trees of the shape table > tr > td, with PubTabNet's costs:
    insert and delete 1; rename 1 between different tags or spans, else for two cells the normalized edit
    distance of their text (0 when structure only), else 0.

    Exact for this shape, and O(n * m) where the general algorithm (APTED, what PubTabNet's code runs) takes
    seconds per pair of 500-cell tables in Python: the trees are written out in preorder (tr, its tds, the next
    tr, ...) and aligned by dynamic programming in two modes. Inside a row mapped to a row (tr to tr, cost 0)
    its cells align only with that row's cells; outside ("flat"), rows are unmapped (1 each) and their cells
    align with the cells of the other side's unmapped rows, so a row split in two or two rows merged cost what
    they cost in the tree; a cell renamed to an unmapped row (or a row to a cell) costs 1 plus the row's cells,
    which then have nothing to map to. The roots always map (cost 0). tests/test_eval_metrics.py checks it
    against APTED on random tables."""
    import numpy as np
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    def tokens(root: TableNode) -> tuple[list[TableNode | None], list[int]]:
        seq: list[TableNode | None] = []  # None: a tr
        row_start: list[int] = []  # per token: the index of its row's tr
        for tr in root.children:
            start = len(seq)
            seq.append(None)
            row_start.append(start)
            for td in tr.children:
                seq.append(td)
                row_start.append(start)
        return seq, row_start

    sa, ra = tokens(a)
    sb, rb = tokens(b)
    la, lb = len(sa), len(sb)
    # rename costs of every cell pair (1 where a side is a tr: never used)
    ren = np.ones((la, lb))
    ia = [i for i, t in enumerate(sa) if t is not None]
    ib = [j for j, t in enumerate(sb) if t is not None]
    if ia and ib:
        if structure_only:
            text = np.zeros((len(ia), len(ib)))
        else:
            text = cdist([sa[i].content for i in ia], [sb[j].content for j in ib],
                         scorer=Levenshtein.normalized_distance, dtype=np.float64)
        span_a = np.array([(sa[i].colspan, sa[i].rowspan) for i in ia])
        span_b = np.array([(sb[j].colspan, sb[j].rowspan) for j in ib])
        same = (span_a[:, None, 0] == span_b[None, :, 0]) & (span_a[:, None, 1] == span_b[None, :, 1])
        ren[np.ix_(ia, ib)] = np.where(same, text, 1.0)
    # Row by row over A's tokens, each row of the table vectorized over B's tokens: an insertion chain
    # X[q] = min(Y[q], X[q-1] + 1) is q + the running minimum of Y[k] - k (within a mapped row for M).
    inf = np.inf
    qs = np.arange(lb + 1, dtype=np.float64)
    b_td = np.array([t is not None for t in sb], dtype=bool)
    end_b = np.array([q == lb or sb[q] is None for q in range(lb + 1)], dtype=bool)
    bound_q = np.array([q for q in range(1, lb + 1) if end_b[q]], dtype=np.int64)  # a row of B ends here
    bound_s = np.array([rb[q - 1] for q in bound_q], dtype=np.int64)  # ... and starts (its tr) here
    segments = [q for q in range(lb + 1) if q == 0 or not b_td[q - 1]] + [lb + 1]  # M's chains
    F = np.full((la + 1, lb + 1), inf)
    F[0] = qs  # insert everything
    M_prev = np.full(lb + 1, inf)
    for p in range(1, la + 1):
        Fm = F[p - 1]
        a_td = sa[p - 1] is not None
        Z = np.full(lb + 1, inf)
        if a_td:
            Z[1:] = np.where(b_td, M_prev[:-1] + ren[p - 1], inf)  # cell to cell in the mapped rows
            np.minimum(Z, M_prev + 1, out=Z)  # a cell of A's mapped row deleted
        else:
            Z[1:] = np.where(b_td, inf, Fm[:-1])  # tr to tr: the rows map (cost 0)
        M = np.empty(lb + 1)
        shifted = Z - qs
        for s0, s1 in zip(segments, segments[1:], strict=False):
            M[s0:s1] = np.minimum.accumulate(shifted[s0:s1]) + qs[s0:s1]
        Y = Fm + 1  # delete A's token (an unmapped tr, or a cell of an unmapped row)
        if a_td:
            np.minimum(Y[1:], np.where(b_td, Fm[:-1] + ren[p - 1], inf), out=Y[1:])  # cells of unmapped rows
            if len(bound_q):  # A's cell renamed to B's row (its cells inserted)
                Y[bound_q] = np.minimum(Y[bound_q], Fm[bound_s] + (bound_q - bound_s))
        if p == la or sa[p] is None:  # p ends a row of A
            r = ra[p - 1]
            np.minimum(Y[1:], np.where(b_td, F[r][:-1] + (p - r), inf), out=Y[1:])  # A's row renamed to a cell
            Y = np.where(end_b, np.minimum(Y, M), Y)  # leave the mapped rows
        F[p] = np.minimum.accumulate(Y - qs) + qs
        M_prev = M
    return float(F[la][lb])


def teds_trees(pred: TableNode, truth: TableNode, structure_only: bool = False) -> float:
    """1 - tree edit distance / the larger tree's node count under <table> (PubTabNet's TEDS), in [0, 1]."""
    nodes = max(pred.size(), truth.size()) - 1
    if nodes <= 0:
        return 1.0
    distance = tree_edit_distance(pred, truth, structure_only)
    return max(0.0, min(1.0, 1.0 - distance / nodes))


def table_tree(table: Table) -> TableNode:
    """A table's HTML tree from its cells: rows and columns that no cell covers are dropped (a truth that
    leaves out empty leading rows and one that lists them read alike), every grid position no cell covers
    becomes an empty cell, each row lists the cells that start in it, left to right. Cell text as the other
    table figures compare it (`cell_text`: no whitespace, lower case)."""
    cells = [c for c in table.cells if c.row >= 0 and c.col >= 0]
    rows = sorted({r for c in cells for r in range(c.row, c.row + max(1, c.row_span))})
    cols = sorted({k for c in cells for k in range(c.col, c.col + max(1, c.col_span))})
    row_no, col_no = {r: i for i, r in enumerate(rows)}, {k: i for i, k in enumerate(cols)}
    starts: dict[tuple[int, int], TableNode] = {}
    covered: set[tuple[int, int]] = set()
    for c in sorted(cells, key=lambda c: (c.row, c.col)):
        r0, c0 = row_no[c.row], col_no[c.col]
        span_r = sum(1 for r in range(c.row, c.row + max(1, c.row_span)) if r in row_no)
        span_c = sum(1 for k in range(c.col, c.col + max(1, c.col_span)) if k in col_no)
        spots = {(r0 + dr, c0 + dc) for dr in range(span_r) for dc in range(span_c)}
        if spots & covered:  # a cell over another one's place: keep the first
            continue
        covered |= spots
        starts[(r0, c0)] = TableNode("td", span_c, span_r, cell_text(c.text))
    for r in range(len(rows)):
        for k in range(len(cols)):
            if (r, k) not in covered:
                starts[(r, k)] = TableNode("td")
    trs = [TableNode("tr", children=[starts[(r, k)] for k in range(len(cols)) if (r, k) in starts])
           for r in range(len(rows))]
    return TableNode("table", children=trs)


def teds(pred: Table, truth: Table, structure_only: bool = False) -> float:
    return teds_trees(table_tree(pred), table_tree(truth), structure_only)


def tree_from_html(html: str) -> TableNode:
    """The first <table> of an HTML string as a TEDS tree (thead/tbody are read through: table > tr > td;
    th reads as td; cell text as `cell_text`)."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__()
            self.root: TableNode | None = None
            self.row: TableNode | None = None
            self.cell: TableNode | None = None
            self.text: list[str] = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "table" and self.root is None:
                self.root = TableNode("table")
            elif tag == "tr" and self.root is not None:
                self.row = TableNode("tr")
                self.root.children.append(self.row)
            elif tag in ("td", "th") and self.row is not None:
                self.cell = TableNode("td", int(a.get("colspan") or 1), int(a.get("rowspan") or 1))
                self.row.children.append(self.cell)
                self.text = []

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None:
                self.cell.content = cell_text("".join(self.text))
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.text.append(data)

    parser = Parser()
    parser.feed(html)
    return parser.root or TableNode("table")


def teds_html(pred_html: str, truth_html: str, structure_only: bool = False) -> float:
    return teds_trees(tree_from_html(pred_html), tree_from_html(truth_html), structure_only)


def to_markdown(table: Table) -> str:
    """A table as a Markdown pipe table (each cell at its start position; spans leave the rest empty)."""
    if not table.cells:
        return ""
    n_rows = max(c.row for c in table.cells) + 1
    n_cols = max(c.col for c in table.cells) + 1
    grid = [[""] * n_cols for _ in range(n_rows)]
    for c in table.cells:
        if c.row >= 0 and c.col >= 0:
            grid[c.row][c.col] = " ".join((c.text or "").split()).replace("|", "\\|")
    lines = ["| " + " | ".join(row) + " |" for row in grid]
    lines.insert(1, "|" + "---|" * n_cols)
    return "\n".join(lines)


# -- prose pages turned into tables -------------------------------------------------------------------------
FALSE_TABLE_SHARE = 0.5  # a predicted table with less of its words among the truth's table words is not one


def _table_words(text: str) -> list[str]:
    """Words compared as `cell_text` compares cells (NFKC, case folded), outer punctuation off."""
    text = unicodedata.normalize("NFKC", normalize(text or "", markdown=False)).casefold()
    return [w for w in (t.strip(".,;:!?()[]{}\"'*|") for t in text.split()) if w]


def table_words(texts: list[str]) -> set[str]:
    """The words of the truth's tables (their cells' texts, or DocBank's tokens labelled `table`)."""
    return {w for t in texts for w in _table_words(t)}


def prose_table_pages(preds: list[Table], truth_table_words: dict[int, set[str]] | set[str]) -> list[int]:
    """Pages where a tool made a table the truth does not have: a predicted table less than
    `FALSE_TABLE_SHARE` of whose words are words of the truth's tables on that page (`truth_table_words`: by
    page, or one set for every page where the truth has no pages, as docling's Markdown). A page whose truth
    has no table counts as soon as the tool puts a table on it."""
    out = set()
    for t in preds:
        words = [w for c in t.cells for w in _table_words(c.text)]
        if not words:
            continue
        truth = truth_table_words if isinstance(truth_table_words, set) else truth_table_words.get(t.page, set())
        if sum(w in truth for w in words) < FALSE_TABLE_SHARE * len(words):
            out.add(t.page)
    return sorted(out)
