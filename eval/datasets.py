"""The evaluation sets, read from ../shared/ (never copied into the repository), and the scanned twins
that the harness makes from them (cached under eval/cache/)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from html import unescape
from pathlib import Path

from eval.table_metrics import Cell, Table

ROOT = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("OCR_SHARED_DIR") or ROOT.parent.parent / "shared")
CACHE = ROOT / "cache"
TWIN_DPI = 150  # what a typical office scanner produces; the twins then test the OCR path, not the text layer

# Fixed subsets for `--quick`: a few of every kind (multi-column, tables, headings, scans of forms and
# tables), chosen once by kind, never re-chosen by score.
QUICK = {
    "docling": ["code_and_formula", "2305.03393v1-pg9", "amt_handbook_sample", "redp5110_sampled", "multi_page"],
    "icdar": ["eu-001", "eu-003", "eu-013", "eu-027", "us-001", "us-012", "us-026", "us-036"],
    "scanned": ["table_01", "multicol_01", "form_01", "singlecol_01", "deposition_01", "receipt_03"],
    "twins": ["2305.03393v1-pg9", "multi_page"],
}


@dataclass
class Doc:
    name: str
    pdf: Path
    truth: Path  # .md (docling, twins), .tables.json (icdar), .txt (scanned)


def _pick(docs: list[Doc], names: list[str] | None) -> list[Doc]:
    if names is None:
        return docs
    wanted = set(names)
    return [d for d in docs if d.name in wanted]


def docling(quick: bool = False) -> list[Doc]:
    folder = SHARED / "corpus" / "docling"
    docs = [Doc(p.stem, p, p.with_suffix(".md")) for p in sorted(folder.glob("*.pdf"))
            if p.with_suffix(".md").exists() and p.stem != "ocr_test"]  # ocr_test is image-only: scanned set
    return _pick(docs, QUICK["docling"] if quick else None)


def icdar(quick: bool = False) -> list[Doc]:
    docs = []
    for folder in (SHARED / "corpus" / "icdar2013", SHARED / "benchmark" / "icdar2013"):
        for p in sorted(folder.glob("*.pdf")):
            truth = p.with_name(p.stem + ".tables.json")
            if truth.exists():
                docs.append(Doc(p.stem, p, truth))
    return _pick(sorted(docs, key=lambda d: d.name), QUICK["icdar"] if quick else None)


def scanned(quick: bool = False) -> list[Doc]:
    folder = SHARED / "benchmark" / "scanned"
    docs = [Doc(p.stem, p, p.with_suffix(".txt")) for p in sorted(folder.glob("*.pdf"))]
    ocr_test = SHARED / "corpus" / "docling" / "ocr_test.pdf"
    if ocr_test.exists():
        docs.append(Doc("ocr_test", ocr_test, ocr_test.with_suffix(".md")))
    return _pick(docs, QUICK["scanned"] + ["ocr_test"] if quick else None)


def twins(quick: bool = False) -> list[Doc]:
    """Each digital docling document rendered to images and wrapped as an image-only PDF (same ground truth)."""
    out = []
    for doc in docling(quick=False):
        if quick and doc.name not in QUICK["twins"]:
            continue
        out.append(Doc(doc.name, make_twin(doc.pdf), doc.truth))
    return out


def make_twin(pdf: Path, dpi: int = TWIN_DPI) -> Path:
    import pypdfium2

    target = CACHE / "twins" / f"{pdf.stem}.pdf"
    if target.exists() and target.stat().st_mtime >= pdf.stat().st_mtime:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        images = [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in document]
    finally:
        document.close()
    tmp = target.with_suffix(".tmp")
    images[0].save(tmp, format="PDF", save_all=True, append_images=images[1:], resolution=float(dpi))
    tmp.replace(target)
    return target


def icdar_truth(doc: Doc) -> list[Table]:
    data = json.loads(doc.truth.read_text())
    tables = []
    for t in data["tables"]:
        cells = [Cell(c["start_row"], c["start_col"], c.get("text") or "", c["end_row"] - c["start_row"] + 1,
                      c["end_col"] - c["start_col"] + 1) for c in t["cells"]]
        tables.append(Table(t["page"], cells, tuple(t["region_bbox"])))
    return tables


def scanned_truth(doc: Doc) -> str:
    """The page's words in the ground truth's line order (.txt), or its Markdown (ocr_test.md), as one string."""
    return doc.truth.read_text(encoding="utf-8")


_LINE = re.compile(r"<span class='ocr_line'[^>]*title=\"bbox ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)[^>]*>"
                   r"(.*?)(?=<span class='ocr_line'|$)", re.S)
_WORD = re.compile(r"<span class='ocrx_word'[^>]*>(.*?)</span>", re.S)


def hocr_lines(doc: Doc) -> list[tuple[tuple[float, float, float, float], list[str]]] | None:
    """Ground-truth lines of a scanned page: (box in PDF points, origin top-left; words). None where the
    page has no hOCR truth."""
    hocr = doc.pdf.with_name(doc.name + ".truth.hocr")
    wrap = doc.pdf.with_name(doc.name + ".wrap.json")
    if not hocr.exists() or not wrap.exists():
        return None
    to_pt = 72.0 / float(json.loads(wrap.read_text())["dpi"])
    lines = []
    for x0, y0, x1, y1, body in _LINE.findall(hocr.read_text(encoding="utf-8")):
        words = [unescape(re.sub(r"<[^>]+>", "", w)).strip() for w in _WORD.findall(body)]
        words = [w for w in words if w]
        if words:
            lines.append(((float(x0) * to_pt, float(y0) * to_pt, float(x1) * to_pt, float(y1) * to_pt), words))
    return lines
