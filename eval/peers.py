"""The tools a user would pick instead, run on the same inputs in the same run. Each returns what the tool
gives a user (text, Markdown, tables), never a score: eval/run.py scores every tool with the same code.

Peers come from the optional `eval` extra of pyproject.toml and Debian's tesseract-ocr; the pipeline
packages (ocr_assets, ocr_resources) never import them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from eval.table_metrics import Table, from_grid, from_markdown

TESSERACT_DPI = 300


@dataclass
class Output:
    """One tool's output for one document."""

    text: str | None = None  # plain text or Markdown, the whole document in the tool's reading order
    markdown: bool = False  # whether `text` is Markdown (headings are then scored)
    tables: list[Table] | None = None
    pages_text: list[str] = field(default_factory=list)
    words: list[tuple[str, float, float, float, float]] | None = None  # OCR words, PDF points, top-left origin
    error: str | None = None


# -- text ------------------------------------------------------------------------------------------------
def pypdfium2_text(pdf: Path) -> Output:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        pages = []
        for page in doc:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        doc.close()
    return Output(text="\n\n".join(pages), pages_text=pages)


def pdfplumber_text(pdf: Path) -> Output:
    import pdfplumber

    with pdfplumber.open(str(pdf)) as doc:
        pages = [page.extract_text() or "" for page in doc.pages]
    return Output(text="\n\n".join(pages), pages_text=pages)


def pymupdf4llm_markdown(pdf: Path) -> Output:
    import pymupdf4llm
    import pypdfium2

    chunks = pymupdf4llm.to_markdown(str(pdf), page_chunks=True, show_progress=False)
    doc = pypdfium2.PdfDocument(str(pdf))
    heights = [doc[i].get_height() for i in range(len(doc))]
    doc.close()
    pages = [c["text"] for c in chunks]
    tables = []
    for n, chunk in enumerate(chunks, start=1):
        # Its layout boxes say where each table's Markdown sits in the page text, and where it is on the page.
        for box in chunk.get("page_boxes") or []:
            if box.get("class") != "table":
                continue
            x0, top, x1, bottom = box["bbox"]
            bbox = (x0, heights[n - 1] - bottom, x1, heights[n - 1] - top)
            for table in from_markdown(chunk["text"][box["pos"][0]:box["pos"][1]], n):
                table.bbox = bbox
                tables.append(table)
    return Output(text="\n\n".join(pages), markdown=True, tables=tables, pages_text=pages)


# -- tables ----------------------------------------------------------------------------------------------
def pdfplumber_tables(pdf: Path) -> Output:
    import pdfplumber

    tables: list[Table] = []
    with pdfplumber.open(str(pdf)) as doc:
        for n, page in enumerate(doc.pages, start=1):
            height = float(page.height)
            for found in page.find_tables():
                x0, top, x1, bottom = found.bbox
                tables.append(from_grid(n, found.extract(), (x0, height - bottom, x1, height - top)))
    return Output(tables=tables)


def _camelot(pdf: Path, flavor: str) -> Output:
    import camelot

    found = camelot.read_pdf(str(pdf), pages="all", flavor=flavor)
    tables = []
    for t in found:
        x0, y0, x1, y1 = t._bbox  # PDF points, origin bottom-left (camelot's own coordinates)
        tables.append(from_grid(int(t.page), t.df.values.tolist(), (x0, y0, x1, y1)))
    return Output(tables=tables)


def camelot_lattice(pdf: Path) -> Output:
    return _camelot(pdf, "lattice")


def camelot_stream(pdf: Path) -> Output:
    return _camelot(pdf, "stream")


# -- OCR -------------------------------------------------------------------------------------------------
def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


# pdfium is not thread-safe: one document at a time is opened and rendered in this process
_PDFIUM = threading.Lock()


def tesseract_pages(pdf: Path, workers: int | None = None) -> Output:
    """Tesseract 5 as users run it (OCRmyPDF's way): pages rendered at 300 dpi, one process per core,
    OMP_THREAD_LIMIT=1."""
    import pypdfium2

    workers = workers or len(os.sched_getaffinity(0))
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        with _PDFIUM:  # (the eval runs documents on threads; two renders at once crashed pdfium)
            doc = pypdfium2.PdfDocument(str(pdf))
            try:
                for n, page in enumerate(doc, start=1):
                    path = Path(tmp) / f"p{n:04d}.png"
                    page.render(scale=TESSERACT_DPI / 72).to_pil().convert("L").save(path)
                    paths.append(path)
            finally:
                doc.close()

        def ocr(path: Path) -> tuple[str, list]:
            # One call gives both the text (its reading order) and the word boxes (the TSV).
            base = path.with_suffix("")
            subprocess.run(["tesseract", str(path), str(base), "--dpi", str(TESSERACT_DPI), "-l", "eng",
                            "txt", "tsv"], capture_output=True, text=True, env=env, check=True)
            return base.with_suffix(".txt").read_text(), _tsv_words(base.with_suffix(".tsv").read_text())

        with ThreadPoolExecutor(workers) as pool:
            done = list(pool.map(ocr, paths))
    pages = [text for text, _ in done]
    words = [w for _, page_words in done[:1] for w in page_words]  # word boxes of the first page (scans are 1 page)
    return Output(text="\n\n".join(pages), pages_text=pages, words=words)


def _tsv_words(tsv: str) -> list[tuple[str, float, float, float, float]]:
    to_pt = 72.0 / TESSERACT_DPI
    words = []
    for line in tsv.splitlines()[1:]:
        f = line.split("\t")
        if len(f) == 12 and f[0] == "5" and f[11].strip():
            x, y, w, h = (int(v) for v in f[6:10])
            words.append((f[11].strip(), x * to_pt, y * to_pt, (x + w) * to_pt, (y + h) * to_pt))
    return words


TEXT_PEERS = {"pypdfium2": pypdfium2_text, "pdfplumber": pdfplumber_text, "pymupdf4llm": pymupdf4llm_markdown}
TABLE_PEERS = {"pdfplumber": pdfplumber_tables, "camelot_lattice": camelot_lattice, "camelot_stream": camelot_stream,
               "pymupdf4llm": pymupdf4llm_markdown}
ALL_PEERS = ("pypdfium2", "pdfplumber", "camelot_lattice", "camelot_stream", "pymupdf4llm", "tesseract")
