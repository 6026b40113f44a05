"""Rendering pages and reading their text layer, in worker processes (pdfium is not thread-safe).

Work is split into chunks of consecutive pages of one document; at most `2 x workers` chunks are
in flight, so memory stays bounded whatever the document's length. Workers write page images
straight into the content-addressed page store and send back only small records."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ocr_resources.pipeline.page_store import PageStore
from ocr_resources.tables.rules import image_rules, pdf_page_rules

MIN_TEXT_LAYER_CHARS = 16  # fewer printable characters than this and the page goes to OCR


@dataclass
class RenderTask:
    document_id: str
    path: str
    page_numbers: list[int]  # 1-based
    dpi: int
    store_root: str


@dataclass
class RenderedPage:
    document_id: str
    page_no: int
    width_pt: float
    height_pt: float
    dpi: int
    width_px: int
    height_px: int
    image_sha256: str
    image_path: str
    text_layer_chars: int
    has_text_layer: bool
    words: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    rules: list[tuple[float, float, float, float, str]] = field(default_factory=list)  # (x0, y0, x1, y1, kind)
    rules_source: str = "vector"  # 'vector' (the PDF's drawing) or 'image' (lines found in a scanned page)
    error: str | None = None


def display_matrix(page) -> tuple[float, float, float, float, float, float]:
    """PDF user space -> the page as rendered: points, origin top-left, the crop box's corner at 0 and the
    page's /Rotate applied (x' = a*x + c*y + e, y' = b*x + d*y + f)."""
    x0, y0, x1, y1 = page.get_cropbox()
    return {
        0: (1.0, 0.0, 0.0, -1.0, -x0, y1),
        90: (0.0, 1.0, 1.0, 0.0, -y0, -x0),
        180: (-1.0, 0.0, 0.0, 1.0, x1, -y0),
        270: (0.0, -1.0, -1.0, 0.0, y1, x1),
    }.get(page.get_rotation() % 360, (1.0, 0.0, 0.0, -1.0, -x0, y1))


def _to_display(m: tuple[float, ...], left: float, bottom: float, right: float, top: float) -> list[float]:
    a, b, c, d, e, f = m
    xs = (a * left + c * bottom + e, a * right + c * top + e)
    ys = (b * left + d * bottom + f, b * right + d * top + f)
    return [min(xs), min(ys), max(xs), max(ys)]


def text_layer_words(textpage, display: tuple[float, ...]) -> list[tuple[str, float, float, float, float]]:
    """Words with boxes in PDF points, origin top-left of the rendered page (`display`: see
    display_matrix). A word ends at whitespace, at a jump to another
    line, or at a horizontal gap wider than ~0.6 of its height (PDFs often place words without a space
    character). Loose (font-metric) boxes, so a '.' or a narrow '1' is not mistaken for a gap."""
    n = textpage.count_chars()
    if n <= 0:
        return []
    text = textpage.get_text_range(0, n)
    if len(text) != n:  # surrogate pairs or generated chars shift indices: read one by one
        text = "".join(textpage.get_text_range(i, 1) or " " for i in range(n))
    text = text.replace("\ufffe", "-")  # pdfium's mark for a hyphen that breaks a word at a line end
    words: list[tuple[str, float, float, float, float]] = []
    cur: list[str] = []
    box: list[float] = []  # x0, y0, x1, y1 on the rendered page (y down)

    def close() -> None:
        if cur:
            words.append(("".join(cur), *box))
            cur.clear()

    for i, ch in enumerate(text):
        if ch.isspace() or ch == "\x00":
            close()
            continue
        x0, y0, x1, y1 = _to_display(display, *textpage.get_charbox(i, loose=True))
        if cur:
            height = max(1.0, box[3] - box[1])
            same_line = min(y1, box[3]) - max(y0, box[1]) > 0.3 * height
            if not same_line or x0 - box[2] > 0.6 * height or x0 < box[0] - 0.5 * height:
                close()
        if not cur:
            box = [x0, y0, x1, y1]
        else:
            box = [min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1)]
        cur.append(ch)
    close()
    return words


def render_chunk(task: RenderTask) -> list[RenderedPage]:
    import pypdfium2 as pdfium

    store = PageStore(task.store_root)
    pdf = pdfium.PdfDocument(task.path)
    out = []
    try:
        for page_no in task.page_numbers:
            try:
                page = pdf[page_no - 1]
                width_pt, height_pt = page.get_size()
                image = page.render(scale=task.dpi / 72).to_pil().convert("RGB")
                sha, rel = store.put_image(image)
                textpage = page.get_textpage()
                display = display_matrix(page)
                words = text_layer_words(textpage, display)
                chars = sum(len(w[0]) for w in words)
                digital = chars >= MIN_TEXT_LAYER_CHARS
                # scanned pages have no drawing to read: their ruling lines come from the image
                rules = pdf_page_rules(page, display) if digital else image_rules(image, task.dpi)
                out.append(RenderedPage(task.document_id, page_no, width_pt, height_pt, task.dpi, image.width,
                                        image.height, sha, rel, chars, digital, words,
                                        [r.as_tuple() for r in rules], "vector" if digital else "image"))
                textpage.close()
                page.close()
            except Exception as exc:  # one bad page must not lose the rest of the document
                out.append(RenderedPage(task.document_id, page_no, 0, 0, task.dpi, 0, 0, "", "", 0, False,
                                        error=f"{type(exc).__name__}: {exc}"))
    finally:
        pdf.close()
    return out


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def render_pages(
    tasks: list[RenderTask], workers: int | None = None, inline_below_pages: int = 4
) -> Iterator[RenderedPage]:
    """Yield rendered pages as chunks finish (possibly out of order). At most `2 x workers` chunks are
    submitted at a time, so pages of a long document never pile up in the parent. Even one worker runs in
    its own process, so rendering overlaps with the parent's work on the pages already back."""
    total = sum(len(t.page_numbers) for t in tasks)
    workers = workers or default_workers()
    if total <= inline_below_pages:
        for task in tasks:  # small jobs: starting a worker process costs more than it saves
            yield from render_chunk(task)
        return
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded Dagster process
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
        pending: set[Future] = set()
        queue = iter(tasks)
        for task in queue:
            pending.add(pool.submit(render_chunk, task))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                nxt = next(queue, None)  # refill first: the worker is busy while the parent consumes
                if nxt is not None:
                    pending.add(pool.submit(render_chunk, nxt))
                yield from fut.result()


def chunk_tasks(document_id: str, path: Path, page_count: int, dpi: int, store_root: Path,
                chunk_pages: int = 8, pages: list[int] | None = None) -> list[RenderTask]:
    """Tasks of up to `chunk_pages` pages each; `pages` (1-based) limits them to some pages (resume)."""
    numbers = list(range(1, page_count + 1)) if pages is None else sorted(pages)
    return [RenderTask(document_id, str(path), numbers[i : i + chunk_pages], dpi, str(store_root))
            for i in range(0, len(numbers), chunk_pages)]
