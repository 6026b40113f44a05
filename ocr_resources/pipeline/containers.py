"""Containers: one folder of PDFs (or one PDF) in the inbox = one dynamic partition."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

PDF_SUFFIXES = {".pdf"}


def partition_key_for(name: str) -> str:
    """A key safe for paths and SQL, derived from the inbox entry's name: `Q3 Reports.pdf` -> `q3-reports`."""
    stem = name[: -len(Path(name).suffix)] if Path(name).suffix.lower() in PDF_SUFFIXES else name
    key = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return key or "container-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def inbox_entries(inbox: Path) -> dict[str, Path]:
    """Partition key -> inbox entry (a folder or a single PDF). Hidden and partial files are ignored;
    two names that map to the same key are told apart by a short hash of the name."""
    if not inbox.is_dir():
        return {}
    entries: dict[str, Path] = {}
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith((".", "_")) or entry.name.endswith((".part", ".tmp")):
            continue
        if entry.is_file() and entry.suffix.lower() not in PDF_SUFFIXES:
            continue
        key = partition_key_for(entry.name)
        if key in entries:
            key = f"{key}-{hashlib.sha1(entry.name.encode()).hexdigest()[:6]}"
        entries[key] = entry
    return entries


def container_files(entry: Path) -> list[Path]:
    """The PDFs of a container, in a stable order. Files that merely claim to be PDFs are included:
    the source stage records the ones that cannot be opened as errors."""
    if entry.is_file():
        return [entry]
    return sorted(p for p in entry.rglob("*") if p.is_file() and p.suffix.lower() in PDF_SUFFIXES)


def document_id_for(entry: Path, path: Path) -> str:
    return path.name if entry.is_file() else path.relative_to(entry).as_posix()


def container_fingerprint(entry: Path, sample_bytes: int = 64 * 1024) -> str:
    """Changes when a file is added, removed or rewritten, not when the same files are copied in again:
    name, size and the bytes at both ends of each file (cheap enough for a sensor that ticks often)."""
    digest = hashlib.sha256()
    for path in container_files(entry):
        size = path.stat().st_size
        digest.update(f"{document_id_for(entry, path)}|{size}|".encode())
        with open(path, "rb") as fh:
            digest.update(fh.read(sample_bytes))
            if size > 2 * sample_bytes:
                fh.seek(-sample_bytes, 2)
                digest.update(fh.read(sample_bytes))
    return digest.hexdigest()[:16]
