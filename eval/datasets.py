"""The evaluation sets, read from ../shared/ (never copied into the repository), and the scanned twins
that the harness makes from them (cached under eval/cache/).

Every document belongs to one half of its set, fixed once by a stable hash of its name (`split_of`): the
*tune* half is the one to work against, the *report* half the one whose figures are published."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from html import unescape
from pathlib import Path

from eval.table_metrics import Cell, Table

ROOT = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("OCR_SHARED_DIR") or ROOT.parent.parent / "shared")
CACHE = ROOT / "cache"
TWIN_DPI = 150  # what a typical office scanner produces; the twins then test the OCR path, not the text layer
# Table images: each ICDAR table is rendered at one of these, fixed per table by a hash of its name (a table
# photographed or screenshotted from a paper arrives anywhere between screen and scanner resolution)
TABLE_IMAGE_DPIS = (72, 100, 150)
TABLE_IMAGE_MARGIN_PT = 8.0  # white around the table: ICDAR's boxes hug the text, ruling lines sit just outside
# Low-resolution scans: each `scanned` page downsampled to one of these, fixed per page by a hash of its name (a
# fax or a web-sized scan arrives at 72-100 dpi, where a body glyph is 4-6 px tall)
def drawn(quick: bool = False) -> list[Doc]:
    """Generated born-digital pages with a title set as vector outlines and words in a pasted picture above
    text-layer paragraphs (`eval.drawn`); truth: the Markdown each was drawn from. Cached under
    eval/cache/drawn/."""
    from eval.drawn import write_set

    docs = [Doc(name, pdf, md) for name, pdf, md in write_set(CACHE / "drawn")]
    return _pick(docs, QUICK["drawn"] if quick else None)


LOWRES_DPIS = (72, 100)

# Fixed subsets for `--quick`: a few of every kind (multi-column, tables, headings, scans of forms and
# tables), chosen once by kind, never re-chosen by score.
QUICK = {
    # redp5110_sampled (18 pages; pymupdf4llm alone took 40 s on it) left out when the third round's sets came
    # in, to keep `--quick` under 5 minutes; its kind (a book with headings) stays in multi_page
    "docling": ["code_and_formula", "2305.03393v1-pg9", "amt_handbook_sample", "multi_page"],
    "icdar": ["eu-001", "eu-003", "eu-013", "eu-027", "us-001", "us-012", "us-026", "us-036"],
    "scanned": ["table_01", "multicol_01", "form_01", "singlecol_01", "deposition_01", "receipt_03"],
    # a two-column paper page and a one-page handbook page (one of each half); multi_page's 5 pages left
    # out for time in the third round
    "twins": ["2305.03393v1-pg9", "amt_handbook_sample"],
    # text drawn as graphics (generated): one page of each half
    "drawn": ["drawn_01", "drawn_02"],
    # third round: two receipts at ~150-200 dpi and an A4 scan of one at 600 dpi
    "receipts": ["sroie_007", "sroie_150", "sroie_293"],
    # a page with footnotes, a table, captions and equations; a page of references (digital, and the same
    # pages as DocBank's own 200-dpi images)
    "docbank": ["docbank_135_1410_4804_mpk_2", "docbank_11_1401_6921_rad_lep_II_2_13"],
    # a ruled table with spanning cells (two tables on the page); an unruled (stream) voting record
    "tables_tabula": ["spanning_cells", "argentina_diputados_voting_record"],
    # two ruled tables on a page; two unruled tables with title and note lines as rows
    "tables_camelot": ["twotables_2", "12s0324"],
    # table images, two of the tune half and three of the report half: a small ruled 3x3 table at 72 dpi
    # and a text-heavy table from a rotated (landscape) page at 150 dpi; a 10x3 table at 150 dpi, a wide
    # 26x11 statistics table at 72 dpi, an 8x3 table at 100 dpi
    "table_images": ["eu-003@p1t1", "eu-015@p1t2", "eu-013@p4t2", "us-001@p1t1", "us-036@p2t1"],
}
# DocBank labels scored on their own (`footer` holds footnotes, which a reader keeps)
DOCBANK_LABELS = ("paragraph", "equation", "table", "caption", "reference", "footer")


@dataclass
class Doc:
    name: str
    pdf: Path
    truth: Path  # .md (docling, twins), .tables.json (icdar, table_images), .txt (scanned)
    source: str | None = None  # a document made from another (a table image): its source's name


def source_of(name: str) -> str:
    """The name of the document a made one was made from (`eu-003@p1t1` -> `eu-003`); else the name itself."""
    return name.partition("@")[0]


def doc_split(doc: Doc) -> str:
    """The document's half: a document made from another takes its source's half, so that tuning on a table
    image never tunes on a table of a report-half page."""
    return split_of(doc.source or doc.name)


def split_of(name: str) -> str:
    """`report` or `tune`, fixed by the document's name alone: the first byte of sha1(name, UTF-8) even ->
    report, odd -> tune. The same name is in the same half in every set (a docling page and its twin, a DocBank
    page and its render) and on every machine, run after run."""
    return "report" if hashlib.sha1(name.encode("utf-8")).digest()[0] % 2 == 0 else "tune"


@cache
def page_count(pdf: Path) -> int:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        return len(doc)
    finally:
        doc.close()


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


def scanned_lowres(quick: bool = False) -> list[Doc]:
    """Each `scanned` page downsampled to a dpi of `LOWRES_DPIS` (fixed by its name) and wrapped as an image-only
    PDF of the same size in points: scored against the same human words (the boxes scale with the page)."""
    return [Doc(doc.name, make_lowres(doc), doc.truth) for doc in scanned(quick)]


def lowres_dpi(name: str) -> int:
    """The dpi a low-resolution scan is made at: fixed by the page's name (second byte of its sha1)."""
    return LOWRES_DPIS[hashlib.sha1(name.encode("utf-8")).digest()[1] % len(LOWRES_DPIS)]


def make_lowres(doc: Doc) -> Path:
    """The scan's page(s) rendered at their own resolution, downsampled (Lanczos, as a scanner's optics blur) to
    `lowres_dpi`, wrapped as an image-only PDF; cached under eval/cache/scanned_lowres/."""
    import pypdfium2
    from PIL import Image

    target = CACHE / "scanned_lowres" / f"{doc.name}.pdf"
    if target.exists() and target.stat().st_mtime >= doc.pdf.stat().st_mtime:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    dpi = lowres_dpi(doc.name)
    wrap = doc.truth.with_name(doc.name + ".wrap.json")
    source_dpi = float(json.loads(wrap.read_text())["dpi"]) if wrap.exists() else 300.0
    document = pypdfium2.PdfDocument(str(doc.pdf))
    try:
        images = []
        for page in document:
            width_pt, height_pt = page.get_size()
            full = page.render(scale=source_dpi / 72).to_pil().convert("RGB")
            size = (max(1, round(width_pt * dpi / 72)), max(1, round(height_pt * dpi / 72)))
            images.append(full.resize(size, Image.Resampling.LANCZOS))
    finally:
        document.close()
    return write_image_pdf(images, target, dpi)


def write_image_pdf(images: list, target: Path, dpi: float) -> Path:
    """PIL page images as an image-only PDF at `target` (written beside it first: a killed run leaves no half file
    in the cache)."""
    tmp = target.with_suffix(".tmp")
    images[0].save(tmp, format="PDF", save_all=True, append_images=images[1:], resolution=float(dpi))
    tmp.replace(target)
    return target


def twins(quick: bool = False) -> list[Doc]:
    """Each digital docling document rendered to images and wrapped as an image-only PDF (same ground truth)."""
    out = []
    for doc in docling(quick=False):
        if quick and doc.name not in QUICK["twins"]:
            continue
        out.append(Doc(doc.name, make_twin(doc.pdf), doc.truth))
    return out


def table_images(quick: bool = False) -> list[Doc]:
    """Each ICDAR truth table cropped from its page (rendered at a dpi of `TABLE_IMAGE_DPIS` fixed by the
    table's name) with a small white margin, wrapped as a one-page image-only PDF: a table with nothing
    around it. Named `SOURCE@pPAGEtTABLE`; truth: that one table (`NAME.tables.json`, in the crop's page)."""
    out = []
    for doc in icdar(quick=False):
        for table in json.loads(doc.truth.read_text())["tables"]:
            name = f"{doc.name}@p{table['page']}t{table['table_id']}"
            if quick and name not in QUICK["table_images"]:
                continue
            pdf, truth = make_table_image(doc, table, name)
            out.append(Doc(name, pdf, truth, source=source_of(name)))
    return out


def table_image_dpi(name: str) -> int:
    """The dpi a table image is rendered at: fixed by the table's name (second byte of its sha1)."""
    return TABLE_IMAGE_DPIS[hashlib.sha1(name.encode("utf-8")).digest()[1] % len(TABLE_IMAGE_DPIS)]


def crop_box_px(region_bbox: tuple[float, float, float, float], page_height_pt: float, scale: float,
                margin_pt: float = TABLE_IMAGE_MARGIN_PT) -> tuple[int, int, int, int]:
    """The crop (left, top, right, bottom) in pixels of the page rendered at `scale` (pixels per point; origin
    top-left) for a box in PDF points with origin bottom-left as ICDAR gives it (x0, y0, x1, y1), grown by the
    margin on every side. It may reach past the page: the caller pads with white."""
    x0, y0, x1, y1 = region_bbox
    return (int((x0 - margin_pt) * scale), int((page_height_pt - y1 - margin_pt) * scale),
            int(round((x1 + margin_pt) * scale)), int(round((page_height_pt - y0 + margin_pt) * scale)))


def box_in_crop(region_bbox: tuple[float, float, float, float], page_height_pt: float, scale: float,
                crop: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """The table's box in the crop's own PDF page (points, origin bottom-left, as ICDAR's), where the crop's
    pixels are wrapped at `scale` pixels per point."""
    x0, y0, x1, y1 = region_bbox
    left, top, _, bottom = crop
    height_pt = (bottom - top) / scale
    # top-left pixel coordinates in the crop, then back to points with the origin at the bottom
    tx0, tx1 = x0 * scale - left, x1 * scale - left
    ty0, ty1 = (page_height_pt - y1) * scale - top, (page_height_pt - y0) * scale - top
    return (round(tx0 / scale, 2), round(height_pt - ty1 / scale, 2), round(tx1 / scale, 2),
            round(height_pt - ty0 / scale, 2))


def make_table_image(doc: Doc, table: dict, name: str) -> tuple[Path, Path]:
    """(image-only PDF, truth JSON) of one ICDAR table, cached under eval/cache/table_images/."""
    import pypdfium2
    from PIL import Image

    folder = CACHE / "table_images"
    target, truth = folder / f"{name}.pdf", folder / f"{name}.tables.json"
    newest = max(doc.pdf.stat().st_mtime, doc.truth.stat().st_mtime)
    if target.exists() and truth.exists() and min(target.stat().st_mtime, truth.stat().st_mtime) >= newest:
        return target, truth
    folder.mkdir(parents=True, exist_ok=True)
    dpi = table_image_dpi(name)
    scale = dpi / 72
    document = pypdfium2.PdfDocument(str(doc.pdf))
    try:
        page = document[table["page"] - 1]
        # ICDAR's boxes are in the page as displayed (a /Rotate page's too): render as displayed
        image = page.render(scale=scale).to_pil().convert("RGB")
    finally:
        document.close()
    page_height_pt = image.height / scale
    crop = crop_box_px(tuple(table["region_bbox"]), page_height_pt, scale)
    canvas = Image.new("RGB", (crop[2] - crop[0], crop[3] - crop[1]), "white")
    canvas.paste(image.crop((max(0, crop[0]), max(0, crop[1]), min(image.width, crop[2]),
                             min(image.height, crop[3]))), (max(0, -crop[0]), max(0, -crop[1])))
    write_image_pdf([canvas], target, dpi)
    bbox = box_in_crop(tuple(table["region_bbox"]), page_height_pt, scale, crop)
    data = {"source": f"{doc.name} page {table['page']} table {table['table_id']}", "dpi": dpi,
            "coords": "PDF user space points of this one-page PDF, origin bottom-left, y up; bbox=[x1,y1,x2,y2]",
            "tables": [{**table, "page": 1, "region_bbox": list(bbox)}]}
    truth.write_text(json.dumps(data, indent=1))
    return target, truth


def receipts(quick: bool = False) -> list[Doc]:
    """SROIE receipts (image-only PDFs); truth: `NAME.txt`, one human line per line, top to bottom."""
    folder = SHARED / "benchmark" / "sroie_receipts"
    docs = [Doc(p.stem, p, p.with_suffix(".txt")) for p in sorted(folder.glob("*.pdf"))
            if p.with_suffix(".txt").exists()]
    return _pick(docs, QUICK["receipts"] if quick else None)


def _docbank(folder_name: str, quick: bool) -> list[Doc]:
    folder = SHARED / "benchmark" / folder_name
    docs = [Doc(p.stem, p, p.with_name(p.stem + ".words.json")) for p in sorted(folder.glob("*.pdf"))
            if p.with_name(p.stem + ".words.json").exists()]
    return _pick(docs, QUICK["docbank"] if quick else None)


def docbank_digital(quick: bool = False) -> list[Doc]:
    """Born-digital arXiv pages of DocBank; truth: `NAME.words.json` (tokens with layout labels)."""
    return _docbank("docbank_digital", quick)


def docbank_render(quick: bool = False) -> list[Doc]:
    """The same pages as DocBank's own 200-dpi images wrapped as image-only PDFs; the same tokens."""
    return _docbank("docbank_render", quick)


def _fixtures(folder_name: str, quick: bool) -> list[Doc]:
    folder = SHARED / "benchmark" / folder_name
    docs = [Doc(p.stem, p, p.with_name(p.stem + ".tables.json")) for p in sorted(folder.glob("*.pdf"))
            if p.with_name(p.stem + ".tables.json").exists()]
    return _pick(docs, QUICK[folder_name] if quick else None)


def tables_tabula(quick: bool = False) -> list[Doc]:
    """tabula-java's test fixtures. Silver: the truth is tabula-java's own expected output."""
    return _fixtures("tables_tabula", quick)


def tables_camelot(quick: bool = False) -> list[Doc]:
    """camelot's test fixtures. Silver: the truth is camelot's own expected output."""
    return _fixtures("tables_camelot", quick)


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
    return write_image_pdf(images, target, dpi)


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
    # beside the truth, not the PDF: a made page (scanned_lowres) is scored against its source's words
    hocr = doc.truth.with_name(doc.name + ".truth.hocr")
    wrap = doc.truth.with_name(doc.name + ".wrap.json")
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


def receipt_truth(doc: Doc) -> list[str]:
    """The receipt's human lines, top to bottom (blank lines dropped)."""
    return [line.strip() for line in doc.truth.read_text(encoding="utf-8").splitlines() if line.strip()]


def receipt_lines(doc: Doc) -> list[tuple[tuple[float, float, float, float], list[str]]] | None:
    """The receipt's truth lines as (box in PDF points, origin top-left; words), the shape `hocr_lines` gives,
    for scoring OCR words by position. None where `NAME.lines.json` is missing."""
    path = doc.pdf.with_name(doc.name + ".lines.json")
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    to_pt = 72.0 / float(data["wrap"]["dpi"])
    out = []
    for line in data["lines"]:
        words = (line.get("text") or "").split()
        if words:
            x0, y0, x1, y1 = (float(v) * to_pt for v in line["bbox_px"])
            out.append(((x0, y0, x1, y1), words))
    return out


# DocBank's stand-ins for drawn objects that pdfminer met ("##LTLine##" for each ruling or tick mark of a plot,
# "##LTFigure##"): labelled like the text around them, but no word of the page; one plot of ticks gave a page
# 704 'paragraph' tokens of 942, which every word figure then counted as lost
_DOCBANK_PLACEHOLDER = re.compile(r"^##\w+##$")


def is_docbank_placeholder(text: str) -> bool:
    return bool(_DOCBANK_PLACEHOLDER.match((text or "").strip()))


def docbank_words(data: dict) -> list[dict]:
    """A DocBank truth file's (parsed `NAME.words.json`) tokens that are words: blank tokens and the
    placeholders for drawn objects left out."""
    return [w for w in data["words"] if (w.get("text") or "").strip() and not is_docbank_placeholder(w["text"])]


def docbank_tokens(doc: Doc) -> list[tuple[str, str, tuple[float, float, float, float]]]:
    """The page's DocBank tokens as (text, label, box in PDF points, origin top-left), in DocBank's order
    (line order across columns, not reading order); placeholders of drawn objects left out."""
    data = json.loads(doc.truth.read_text(encoding="utf-8"))
    return [(w["text"], w.get("label") or "", tuple(float(v) for v in w["bbox_pt"])) for w in docbank_words(data)]


def fixture_truth(doc: Doc) -> list[Table]:
    """A fixture's tables (silver: the tool's own expected output). `extra["partial"]`: only some cells are
    asserted (no full grid: cell recall only, no TEDS). No position: the fixtures' areas are in each tool's own
    conventions, so tables are matched by page and content (`table_metrics.match_tables`)."""
    data = json.loads(doc.truth.read_text(encoding="utf-8"))
    tables = []
    for t in data["tables"]:
        cells = [Cell(int(r), int(c), text or "") for r, c, text in t["cells"]]
        tables.append(Table(int(t["page"]), cells, None, {"partial": bool(t.get("partial"))}))
    return tables
