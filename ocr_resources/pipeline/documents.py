"""Opening PDFs: hash, size, page count, metadata, or a clear error for the ones that cannot be read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def open_pdf(path: Path) -> pdfium.PdfDocument:
    """Open with pypdfium2, turning its failures into DocumentErrors a user can act on."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if not head:
        raise DocumentError("empty_file", f"{path.name}: the file is empty (0 bytes)")
    if b"%PDF" not in head:
        raise DocumentError("not_a_pdf", f"{path.name}: not a PDF (no %PDF header in the first 1 KiB)")
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower() or "security" in text.lower():
            raise DocumentError("encrypted", f"{path.name}: encrypted PDF, a password is required ({text})") from exc
        raise DocumentError("corrupt", f"{path.name}: cannot be opened as a PDF ({text})") from exc


def inspect_pdf(path: Path) -> DocumentInfo:
    pdf = open_pdf(path)
    try:
        pages = len(pdf)
        if pages == 0:
            raise DocumentError("no_pages", f"{path.name}: the PDF has no pages")
        try:
            metadata = {k: str(v) for k, v in pdf.get_metadata_dict(skip_empty=True).items()}
        except Exception:  # metadata is optional; a broken Info dict must not lose the document
            metadata = {}
    finally:
        pdf.close()
    return DocumentInfo(sha256_file(path), path.stat().st_size, pages, metadata)
