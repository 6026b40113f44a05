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
from ocr_resources.text.pdf_chars import PdfChar, chars_to_words

MIN_TEXT_LAYER_CHARS = 16  # fewer printable characters than this and the page goes to OCR
WordRecord = tuple[str, float, float, float, float, float | None, bool, bool]  # text, box, size, bold, hidden


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
    words: list[WordRecord] = field(default_factory=list)
    error: str | None = None


def text_layer_words(textpage, page_height: float) -> list[WordRecord]:
    """Clean words with boxes in PDF points (origin top-left), font size, boldness and visibility, from
    the page's characters (see text.pdf_chars for how characters become words)."""
    n = textpage.count_chars()
    if n <= 0:
        return []
    chars = _pdf_chars(textpage, n, page_height)
    return [(w.text, w.box.x0, w.box.y0, w.box.x1, w.box.y1, w.size, w.bold, w.hidden)
            for w in chars_to_words(chars)]


_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demi", "cmbx", "sfbx")


def _pdf_chars(textpage, n: int, page_height: float) -> list[PdfChar]:
    """Per-character facts pdfium knows: loose (font-metric) box, effective font size, font name and
    weight, render mode, whether pdfium generated the character or could not map it to Unicode (its soft
    hyphens and line-end hyphens come as U+FFFE). Font facts are read once per text object."""
    import ctypes

    import pypdfium2.raw as raw

    tp = textpage.raw
    map_error = getattr(raw, "FPDFText_HasUnicodeMapError", None)
    fonts: dict[int, tuple[str, bool, bool, float]] = {}  # per text object: font, bold, invisible, size
    rect, matrix = raw.FS_RECTF(), raw.FS_MATRIX()
    rect_ref, matrix_ref = ctypes.byref(rect), ctypes.byref(matrix)
    name_buf = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    void_p = ctypes.c_void_p
    out: list[PdfChar] = []
    for i in range(n):
        code = raw.FPDFText_GetUnicode(tp, i)  # one code point per index (text ranges shift at surrogates)
        # 2: pdfium's code for a soft hyphen (or for an unmapped glyph whose font code is 2)
        ch = "\ufffe" if code == 2 and raw.FPDFText_IsHyphen(tp, i) == 1 else chr(code)
        if ch.isspace() or ch == "\x00":
            out.append(PdfChar(ch, 0, 0, 0, 0, generated=raw.FPDFText_IsGenerated(tp, i) == 1))
            continue
        raw.FPDFText_GetLooseCharBox(tp, i, rect_ref)
        obj = raw.FPDFText_GetTextObject(tp, i)
        key = ctypes.cast(obj, void_p).value or 0
        font = fonts.get(key)
        if font is None:
            raw.FPDFText_GetFontInfo(tp, i, name_buf, len(name_buf), ctypes.byref(flags))
            name = name_buf.value.decode("latin-1", "replace")
            bold = raw.FPDFText_GetFontWeight(tp, i) >= 600 or any(b in name.lower() for b in _BOLD_NAMES)
            hidden = bool(key) and raw.FPDFTextObj_GetTextRenderMode(obj) == raw.FPDF_TEXTRENDERMODE_INVISIBLE
            size = raw.FPDFText_GetFontSize(tp, i)
            if raw.FPDFText_GetMatrix(tp, i, matrix_ref):
                size *= abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
            font = fonts[key] = (name, bold, hidden, size)
        out.append(PdfChar(ch, rect.left, page_height - rect.top, rect.right, page_height - rect.bottom, font[3],
                           font[1], False, ch in "\ufffe\u00ad", font[2],
                           map_error is not None and map_error(tp, i) == 1, font[0]))
    return out


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
                words = text_layer_words(textpage, height_pt)
                chars = sum(len(w[0]) for w in words)
                out.append(RenderedPage(task.document_id, page_no, width_pt, height_pt, task.dpi, image.width,
                                        image.height, sha, rel, chars, chars >= MIN_TEXT_LAYER_CHARS, words))
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
