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


# -- 7. document markdown ------------------------------------------------------------------------------------
def document_markdown(ctx: StageContext, export_dir: Path) -> StageOutput:
    """Reading-order Markdown, one document at a time (its inputs are read per document)."""
    started = time.perf_counter()
    docs = [d["document_id"] for d in ctx.store.query(
        "SELECT document_id FROM documents WHERE container_id = ? AND status = 'ok' ORDER BY document_id",
        [ctx.container_id])]
    out = ctx.buffers("document_markdown", "document_markdown", "errors")
    folder = export_dir / ctx.container_id
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for doc_id in docs:
        key = [ctx.container_id, doc_id]
        texts = ctx.store.query(
            "SELECT page_no, region_no, reading_order, label, text FROM texts WHERE container_id = ?"
            " AND document_id = ? ORDER BY page_no, reading_order, region_no NULLS LAST", key)
        table_md = {(t["page_no"], t["region_no"]): t["markdown"] for t in ctx.store.query(
            "SELECT page_no, region_no, markdown FROM tables WHERE container_id = ? AND document_id = ?", key)}
        figures = ctx.store.query(
            "SELECT page_no, region_no, reading_order FROM regions WHERE container_id = ? AND document_id = ?"
            " AND label = 'figure'", key)
        blocks: list[tuple[int, int, int, str]] = []
        for t in texts:
            digest.update(f"{doc_id}|{t['page_no']}|{t['region_no']}|{t['text']}\n".encode())
            if t["label"] in ("header", "footer"):
                continue  # running heads and page numbers are not body text
            if (t["page_no"], t["region_no"]) in table_md:
                body = table_md[(t["page_no"], t["region_no"])]
            elif t["label"] == "title":
                body = "## " + " ".join(t["text"].split())
            elif t["label"] == "caption":
                body = "*" + " ".join(t["text"].split()) + "*"
            else:
                body = " ".join(t["text"].split())  # re-flow lines into a paragraph
            if body:
                blocks.append((t["page_no"], t["reading_order"], t["region_no"] or 0, body))
        blocks += [(f["page_no"], f["reading_order"], f["region_no"], "<!-- image -->") for f in figures]
        markdown = "\n\n".join(b[3] for b in sorted(blocks)) + "\n"
        path = folder / export_name(doc_id)
        path.write_text(markdown, encoding="utf-8")
        out["document_markdown"].add({"container_id": ctx.container_id, "document_id": doc_id, "markdown": markdown,
                                      "export_path": str(path), **_lineage(ctx)})
    return StageOutput(_results(out), pages=0, seconds=time.perf_counter() - started,
                       stats={"documents": len(docs), "export_dir": str(folder)},
                       input_fingerprint=digest.hexdigest()[:16])
