"""Stage 7: reading-order Markdown per document, stored and exported."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from ocr_resources.pipeline.containers import export_name
from ocr_resources.pipeline.stages.base import (
    StageContext,
    StageOutput,
    _lineage,
    _results,
)
from ocr_resources.text.markdown import render


# -- 7. document markdown ------------------------------------------------------------------------------------
def document_markdown(ctx: StageContext, export_dir: Path, keep_furniture: bool = False) -> StageOutput:
    """Reading-order Markdown, one document at a time (its inputs are read per document): the text rows in
    their order, page furniture left out unless `keep_furniture` (it stays in `texts` with its label and
    reason either way), tables from `tables`."""
    started = time.perf_counter()
    docs = [d["document_id"] for d in ctx.store.query(
        "SELECT document_id FROM documents WHERE container_id = ? AND status = 'ok' ORDER BY document_id",
        [ctx.container_id])]
    out = ctx.buffers("document_markdown", "document_markdown", "errors")
    folder = export_dir / ctx.container_id
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(b"furniture kept\n" if keep_furniture else b"")
    for doc_id in docs:
        key = [ctx.container_id, doc_id]
        with ctx.store.reading() as read:
            texts = read(
                "SELECT page_no, region_no, reading_order, label, text, heading_level, text_source, text_source_reason,"
                " x0, y0, x1, y1, font_size"
                " FROM texts WHERE container_id = ?"
                " AND document_id = ? ORDER BY page_no, reading_order, region_no NULLS LAST", key)
            table_md = {(t["page_no"], t["region_no"]): t["markdown"] for t in read(
                "SELECT page_no, region_no, markdown FROM tables WHERE container_id = ? AND document_id = ?", key)}
        for t in texts:
            digest.update(f"{doc_id}|{t['page_no']}|{t['region_no']}|{t['label']}|{t['heading_level']}|{t['text']}"
                          f"|{t['text_source']}|{t['text_source_reason']}|{t['font_size']}\n".encode())
        markdown = render(texts, table_md, keep_furniture)
        path = folder / export_name(doc_id)
        path.write_text(markdown, encoding="utf-8")
        out["document_markdown"].add({"container_id": ctx.container_id, "document_id": doc_id, "markdown": markdown,
                                      "export_path": str(path), **_lineage(ctx)})
    return StageOutput(_results(out), pages=0, seconds=time.perf_counter() - started,
                       stats={"documents": len(docs), "export_dir": str(folder)},
                       input_fingerprint=digest.hexdigest()[:16])
