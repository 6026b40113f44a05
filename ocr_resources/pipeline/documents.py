"""Opening PDFs: hash, size, page count, metadata, or a clear error for the ones that cannot be read.

Inspection of untrusted files runs in supervised worker processes (see `workers`): a file that crashes
pdfium, hangs it or eats memory becomes an error row for itself and the container goes on."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium

from ocr_resources.pipeline.containers import display
from ocr_resources.pipeline.workers import Limits, run_jobs


class DocumentError(Exception):
    """A PDF that cannot be processed; its message is stored as an error row."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


@dataclass
class DocumentInfo:
    sha256: str
    size_bytes: int
    page_count: int
    metadata: dict[str, str]
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (type, message): kept, but worth knowing


def open_regular(path: Path):
    """`open(path, "rb")`, refusing anything but a regular file without blocking: a file swapped for a named
    pipe after the container was scanned would block a plain open until something writes to it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return os.fdopen(fd, "rb")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_PAGES_DICT = re.compile(rb"<<(?:(?!>>|<<).){0,400}?/Type\s*/Pages(?![A-Za-z])(?:(?!>>|<<).){0,400}?>>", re.S)
_COUNT = re.compile(rb"/Count\s*(\d+)")


def _looks_pageless(path: Path, window: int = 4 << 20) -> bool:
    """pdfium refuses a PDF whose page tree is empty without setting an error code of its own (the code it
    reports is 'Success' or a stale one): look for page-tree nodes, all with `/Count 0`."""
    with open_regular(path) as fh:
        data = fh.read(window)
        fh.seek(0, 2)
        if fh.tell() > window:
            fh.seek(max(window, fh.tell() - window))
            data += b"\n" + fh.read(window)
    counts = [int(m.group(1)) for d in _PAGES_DICT.finditer(data) for m in _COUNT.finditer(d.group(0))]
    return bool(counts) and not any(counts)


def open_pdf(path: Path) -> pdfium.PdfDocument:
    """Open with pypdfium2, turning its failures into DocumentErrors a user can act on."""
    name = display(path.name)
    with open_regular(path) as fh:
        head = fh.read(1024)
    if not head:
        raise DocumentError("empty_file", f"{name}: the file is empty (0 bytes)")
    if b"%PDF" not in head:
        raise DocumentError("not_a_pdf", f"{name}: not a PDF (no %PDF header in the first 1 KiB)")
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower() or "security" in text.lower():
            raise DocumentError("encrypted", f"{name}: encrypted PDF, a password is required ({text})") from exc
        if _looks_pageless(path):
            raise DocumentError("no_pages", f"{name}: the PDF has no pages (its page tree is empty)") from exc
        if "success" in text.lower():  # pdfium failed without saying why
            raise DocumentError("corrupt", f"{name}: cannot be opened as a PDF: its structure is damaged "
                                           "(pdfium gives no reason)") from exc
        raise DocumentError("corrupt", f"{name}: cannot be opened as a PDF ({text})") from exc


def _loads(pdf: pdfium.PdfDocument, index: int) -> bool:
    try:
        pdf[index].close()
        return True
    except pdfium.PdfiumError:
        return False


def pages_in_tree(pdf: pdfium.PdfDocument, claimed: int) -> int:
    """The page count the file can back up. pdfium takes the root's `/Count` on trust (up to a million), so a
    600-byte file can claim a million pages: when the last claimed page does not load, binary-search the last
    one that does (about 20 page loads)."""
    if claimed <= 0 or _loads(pdf, claimed - 1):
        return max(claimed, 0)
    if not _loads(pdf, 0):
        return 0
    good, bad = 0, claimed - 1
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if _loads(pdf, mid) else (good, mid)
    return good + 1


def inspect_pdf(path: Path) -> DocumentInfo:
    name = display(path.name)
    pdf = open_pdf(path)
    warnings: list[tuple[str, str]] = []
    try:
        claimed = len(pdf)
        pages = pages_in_tree(pdf, claimed)
        if pages == 0:
            detail = f" although it claims {claimed}" if claimed else ""
            raise DocumentError("no_pages", f"{name}: the PDF has no pages that can be loaded{detail}")
        if pages != claimed:
            warnings.append(("page_count_corrected", f"{name}: the PDF claims {claimed} pages but its page tree "
                                                     f"holds {pages}; processing {pages}"))
        try:
            metadata = {k: str(v) for k, v in pdf.get_metadata_dict(skip_empty=True).items()}
        except Exception:  # metadata is optional; a broken Info dict must not lose the document
            metadata = {}
    finally:
        pdf.close()
    # Metadata strings come from the file: keep them valid text for Arrow/DuckDB.
    metadata = {k: v.encode("utf-8", "replace").decode("utf-8").replace("\x00", "") for k, v in metadata.items()}
    return DocumentInfo(sha256_file(path), path.stat().st_size, pages, metadata, warnings)


@dataclass
class Inspected:
    path: Path
    info: DocumentInfo | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    error_type: str | None = None
    message: str | None = None


def _inspect(path: Path) -> Inspected:
    try:
        info = inspect_pdf(path)
        return Inspected(path, info, info.sha256, info.size_bytes)
    except DocumentError as exc:
        found = Inspected(path, error_type=exc.error_type, message=str(exc))
    except MemoryError:
        found = Inspected(path, error_type="resource_limit",
                          message=f"{display(path.name)}: opening it needs more memory than a worker may use")
    except OSError as exc:
        return Inspected(path, error_type="unreadable",
                         message=f"{display(path.name)}: cannot be read ({exc.strerror or exc})")
    return _with_file_facts(found)


def _with_file_facts(found: Inspected) -> Inspected:
    """A failed document still gets its hash and size where the file can be read (a rerun can then tell
    whether it changed)."""
    try:
        found.sha256, found.size_bytes = sha256_file(found.path), found.path.stat().st_size
    except OSError:
        pass
    return found


@dataclass
class InspectJob:
    units: list[Path]

    def run(self) -> Iterator[Inspected]:
        for path in self.units:
            yield _inspect(path)

    def rest(self, start: int) -> InspectJob | None:
        return InspectJob(self.units[start:]) if start < len(self.units) else None

    def failed(self, path: Path, reason: str) -> Inspected:
        return _with_file_facts(Inspected(path, error_type="resource_limit",
                                          message=f"{display(path.name)}: could not be opened safely: {reason}"))


def inspect_all(paths: list[Path], workers: int, limits: Limits | None = None) -> Iterator[Inspected]:
    """Inspect every file in worker processes; results come back in any order."""
    return run_jobs((InspectJob([p]) for p in paths), workers, limits)
