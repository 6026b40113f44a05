"""Stage 1: the container's PDFs, inspected (hash, pages, metadata); unreadable files become error rows."""

from __future__ import annotations

import time
from pathlib import Path

from ocr_resources.pipeline import containers, documents
from ocr_resources.pipeline.rows import buffers
from ocr_resources.pipeline.stages.base import (
    StageContext,
    StageOutput,
    _error,
    _lineage,
)


# -- 1. source documents -------------------------------------------------------------------------------------
def source_documents(ctx: StageContext, entry: Path) -> StageOutput:
    started = time.perf_counter()
    out = buffers("containers", "documents", "errors")
    files = containers.container_files(entry)
    for path in files:
        doc_id = containers.document_id_for(entry, path)
        row = {"container_id": ctx.container_id, "document_id": doc_id, "file_name": path.name,
               "source_path": str(path), **_lineage(ctx)}
        try:
            info = documents.inspect_pdf(path)
            meta = info.metadata
            row.update(sha256=info.sha256, size_bytes=info.size_bytes, page_count=info.page_count,
                       title=meta.get("Title"), author=meta.get("Author"), creator=meta.get("Creator"),
                       pdf_producer=meta.get("Producer"), created=meta.get("CreationDate"), status="ok")
        except documents.DocumentError as exc:
            row.update(sha256=documents.sha256_file(path), size_bytes=path.stat().st_size, page_count=0,
                       status="error")
            out["errors"].add(_error(ctx, "source_documents", doc_id, None, exc.error_type, str(exc)))
        out["documents"].add(row)
    if not files:
        out["errors"].add(_error(ctx, "source_documents", None, None, "empty_container",
                                 f"no PDF files found in {entry}"))
    out["containers"].add({"container_id": ctx.container_id, "source_path": str(entry), "document_count": len(files),
                           "fingerprint": containers.container_fingerprint(entry), **_lineage(ctx)})
    rows = {k: b.to_table() for k, b in out.items()}
    docs = rows["documents"]
    return StageOutput(rows, pages=sum(docs.column("page_count").to_pylist()), seconds=time.perf_counter() - started,
                       stats={"documents": docs.num_rows, "errors": rows["errors"].num_rows},
                       input_fingerprint=containers.container_fingerprint(entry))


