"""Stage 1: the container's PDFs (hash, pages, metadata); unreadable files become error rows."""

from __future__ import annotations

import time
from pathlib import Path

from ocr_resources.pipeline import containers, documents
from ocr_resources.pipeline.render import default_workers
from ocr_resources.pipeline.rows import buffers
from ocr_resources.pipeline.stages.base import (
    StageContext,
    StageOutput,
    _error,
    _lineage,
)
from ocr_resources.pipeline.workers import prestart


# -- 1. source documents -------------------------------------------------------------------------------------
def source_documents(ctx: StageContext, entry: Path, follow_symlinks: bool = False) -> StageOutput:
    """Files are opened in supervised worker processes (memory and time limits), so a hostile file becomes an
    error row for itself. Names of any bytes are stored as safe ids, with their exact bytes in `path_bytes`.
    Symbolic links become error rows unless `follow_symlinks` (a trusted inbox)."""
    started = time.perf_counter()
    out = buffers("containers", "documents", "errors")
    files, refused = containers.scan_container(entry, follow_symlinks)
    ids = {path: containers.document_id_for(entry, path) for path in files}
    workers = ctx.render_workers or default_workers()
    # The render workers of the next stage start now, importing beside this stage's one worker, not each
    # when first needed (in a fresh run process, that second of start-up was paid twice in a row).
    prestart(workers, ctx.limits)
    found = {i.path: i for i in documents.inspect_all(files, workers, ctx.limits)}
    for path in files:
        doc_id, inspected = ids[path], found[path]
        row = {"container_id": ctx.container_id, "document_id": doc_id, "file_name": containers.display(path.name),
               "source_path": containers.display(path), "path_bytes": containers.raw_name(path),
               "sha256": inspected.sha256, "size_bytes": inspected.size_bytes, **_lineage(ctx)}
        info = inspected.info
        if info is not None:
            meta = info.metadata
            row.update(page_count=info.page_count, title=meta.get("Title"), author=meta.get("Author"),
                       creator=meta.get("Creator"), pdf_producer=meta.get("Producer"),
                       created=meta.get("CreationDate"), status="ok")
            for kind, message in info.warnings:
                out["errors"].add(_error(ctx, "source_documents", doc_id, None, kind, message, "warning"))
        else:
            row.update(page_count=0, status="error")
            out["errors"].add(_error(ctx, "source_documents", doc_id, None, inspected.error_type, inspected.message))
        out["documents"].add(row)
    for r in refused:  # symbolic links, unreadable folders: named, never followed
        where = containers.display(r.path.relative_to(entry) if r.path != entry else r.path.name)
        out["errors"].add(_error(ctx, "source_documents", None if r.path == entry else where, None, "refused",
                                 f"{where}: {r.reason}"))
    if not files and not refused:
        out["errors"].add(_error(ctx, "source_documents", None, None, "empty_container",
                                 f"no PDF files found in {containers.display(entry)}"))
    fingerprint = containers.container_fingerprint(entry, follow_symlinks=follow_symlinks)
    out["containers"].add({"container_id": ctx.container_id, "source_path": containers.display(entry),
                           "path_bytes": containers.raw_name(entry), "document_count": len(files),
                           "fingerprint": fingerprint, **_lineage(ctx)})
    rows = {k: b.to_table() for k, b in out.items()}
    docs = rows["documents"]
    return StageOutput(rows, pages=sum(docs.column("page_count").to_pylist()), seconds=time.perf_counter() - started,
                       stats={"documents": docs.num_rows, "errors": rows["errors"].num_rows},
                       input_fingerprint=fingerprint)
