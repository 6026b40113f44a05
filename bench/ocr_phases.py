"""Where the OCR engine's CPU goes on scanned pages, phase by phase: the PP-OCR engine alone (no Dagster, no
store) on the first page of each PDF of a folder, rendered as the pipeline renders it (144 dpi, the scan's
source resolution read from the PDF), with one thread so that every phase's CPU is its own.

    python -m bench.ocr_phases --folder DIR        # a folder of image-only PDFs (e.g. the eval's scanned set)

Each phase is timed with `time.process_time` around the engine's own calls (the ONNX sessions, the steps of
ppocr_ops, the page's result); the figures are CPU ms per page, not wall seconds, so a shared machine's load
moves them little. Nothing is written: the table is printed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


class _Timed:
    """A stand-in for an ONNX session that times its `run` (everything else passes through)."""

    def __init__(self, session, name: str, acc: dict[str, float]):
        self._session, self._name, self._acc = session, name, acc

    def run(self, *args, **kwargs):
        started = time.process_time()
        try:
            return self._session.run(*args, **kwargs)
        finally:
            self._acc[self._name] = self._acc.get(self._name, 0.0) + time.process_time() - started

    def __getattr__(self, name: str):
        return getattr(self._session, name)


def _timed(fn, name: str, acc: dict[str, float]):
    def call(*args, **kwargs):
        started = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[name] = acc.get(name, 0.0) + time.process_time() - started
    return call


def first_pages(folder: Path, dpi: int) -> list[tuple]:
    """(image, the scan's own dpi, the dpi rendered at) of the first page of each PDF in `folder`, rendered as
    the pipeline renders it: what `PpOcrRecognizer.prepare_page` takes."""
    import pypdfium2 as pdfium

    from ocr_resources.pipeline import render

    pages = []
    for path in sorted(folder.glob("*.pdf")):
        pdf = pdfium.PdfDocument(str(path))
        try:
            page = pdf[0]
            render.page_box.normalise(page)
            width, height = page.get_size()
            source = render.source_image_dpi(page, width, height)
        finally:
            pdf.close()
        image, used = render.page_image(str(path), 1, dpi)
        pages.append((image, source, used))
    return pages


def phases(folder: Path, dpi: int = 144,
           second_precision: str = "auto") -> tuple[int, float, dict[str, float], int, int]:
    """(pages, engine CPU s, CPU s per phase, lines read, lines read again by the second recogniser)."""
    from ocr_resources.engines import EngineSettings, ppocr

    rec = ppocr.PpOcrRecognizer(EngineSettings(role="ocr", engine="ppocr", options=(
        ("threads", 1), ("second_precision", second_precision))))
    acc: dict[str, float] = {}
    names = ["recogniser (first)", "recogniser (second)"]
    for reader, name in zip(rec._readers, names, strict=False):
        reader.session = _Timed(reader.session, name, acc)
    rec._det = _Timed(rec._det, "detector", acc)
    if rec._cls is not None:
        rec._cls = _Timed(rec._cls, "orientation classifier", acc)
    patched = {"missed_marks": "missed marks", "db_boxes": "detector boxes", "crop_line": "line crops",
               "rec_input": "recogniser input", "ctc_decode": "CTC decode"}
    saved = {k: getattr(ppocr, k) for k in patched}
    for k, name in patched.items():
        setattr(ppocr, k, _timed(saved[k], name, acc))
    rec._result = _timed(rec._result, "words and boxes (_result)", acc)
    pages = first_pages(folder, dpi)
    lines = second = 0
    started = time.process_time()
    try:
        for image, source, used in pages:
            t = time.process_time()
            prepared = rec.prepare_page(image, source, used)
            acc["prepare (loader thread)"] = acc.get("prepare (loader thread)", 0.0) + time.process_time() - t
            [result] = rec.recognize([prepared])
            lines += len(result.text.splitlines())
            second += result.second_lines
    finally:
        for k, fn in saved.items():
            setattr(ppocr, k, fn)
    return len(pages), time.process_time() - started, acc, lines, second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, required=True, help="image-only PDFs (their first pages are read)")
    parser.add_argument("--dpi", type=int, default=144)
    parser.add_argument("--second-precision", default="auto", choices=("auto", "f32", "bf16"),
                        help="the second recogniser's arithmetic (engine option second_precision)")
    args = parser.parse_args()
    n, total, acc, lines, second = phases(args.folder, args.dpi, args.second_precision)
    if not n:
        raise SystemExit(f"no PDFs in {args.folder}")
    print(f"{n} pages of {args.folder} (second recogniser {args.second_precision}): {total / n * 1000:.0f} ms CPU"
          f" a page (one thread), {lines / n:.0f} lines"
          f" a page kept, {second / n:.1f} read again by the second recogniser")
    for name, seconds in sorted(acc.items(), key=lambda kv: -kv[1]):
        print(f"  {name:28s} {seconds / n * 1000:8.1f} ms/page  {seconds / total * 100:5.1f} %")


if __name__ == "__main__":
    main()
