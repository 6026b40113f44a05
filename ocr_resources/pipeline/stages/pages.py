"""Stage 2: pages rendered in worker processes, with the text layer's words and the page's ruling lines."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ocr_resources.pipeline import render
from ocr_resources.pipeline.resume import PageLedger
from ocr_resources.pipeline.stages.base import (
    BULLET,
    DRAWING,
    TEXT_LAYER,
    StageContext,
    StageOutput,
    _error,
    _fingerprint,
    _lineage,
    _results,
)


# -- 2. rendered pages ---------------------------------------------------------------------------------------
def rendered_pages(ctx: StageContext, dpi: int, max_pixels: int = render.MAX_PAGE_PIXELS) -> StageOutput:
    """Render pages in supervised worker processes as they stream back. On resume a page is rendered again only
    when its document's bytes changed (input hash = the PDF's sha256; the dpi is in the producer). A page
    larger than `max_pixels` at `dpi` renders at a lower dpi (recorded per page, with a warning row)."""
    started = time.perf_counter()
    docs = ctx.store.query(
        "SELECT document_id, source_path, path_bytes, page_count, sha256 FROM documents"
        " WHERE container_id = ? AND status = 'ok' ORDER BY document_id", [ctx.container_id])
    ledger = PageLedger(ctx, "rendered_pages")
    tasks = []
    for d in docs:
        todo = [n for n in range(1, d["page_count"] + 1) if ledger.needed(d["document_id"], n, d["sha256"])]
        path = Path(os.fsdecode(d["path_bytes"])) if d["path_bytes"] is not None else Path(d["source_path"])
        tasks += render.chunk_tasks(d["document_id"], path, d["page_count"], dpi, ctx.page_store.root, pages=todo,
                                    max_pixels=max_pixels)
    doc_hash = {d["document_id"]: d["sha256"] for d in docs}
    out = ctx.buffers("rendered_pages", "pages", "words", "page_rules", "formulas", "errors")
    rendered = digital = 0
    for page in render.render_pages(tasks, workers=ctx.render_workers, limits=ctx.limits):
        # a text-only page (rendering failed, its text layer kept) is rendered again by the next run
        ok = page.error is None and page.text_only is None
        ledger.record(page.document_id, page.page_no, doc_hash[page.document_id], ok)
        key = {"container_id": ctx.container_id, "document_id": page.document_id, "page_no": page.page_no}
        if page.error:
            out["errors"].add(_error(ctx, "rendered_pages", page.document_id, page.page_no, "render", page.error))
            out["words"].extend(_word_rows(ctx, key, page.words))  # read before rendering failed: kept
            continue
        if page.warning:
            out["errors"].add(_error(ctx, "rendered_pages", page.document_id, page.page_no, "render_warning",
                                     page.warning, "warning"))
        if page.text_only:
            out["errors"].add(_error(ctx, "rendered_pages", page.document_id, page.page_no, "text_only",
                                     page.text_only, "warning"))
        rendered += 1
        digital += bool(page.has_text_layer)
        if rendered % 500 == 0:  # long documents are rendered in chunks: say how far it got
            ctx.logger.info("rendered_pages[%s]: %d pages rendered", ctx.container_id, rendered)
        out["pages"].add({**key, "width_pt": page.width_pt, "height_pt": page.height_pt, "dpi": page.dpi,
                          "width_px": page.width_px, "height_px": page.height_px, "image_sha256": page.image_sha256,
                          "image_path": page.image_path, "has_text_layer": page.has_text_layer,
                          "text_layer_chars": page.text_layer_chars, "source_dpi": page.source_dpi,
                          "drawn_areas": page.drawn_areas, "deskew_degrees": page.deskew_degrees,
                          **_lineage(ctx)})
        out["words"].extend(_word_rows(ctx, key, page.words))
        # a list's bullets drawn as pictures or paths (`text.drawn.drawn_bullets`): words "•" after the text layer's
        bullets = [(BULLET, *b, None, False, False, 0, False, False) for b in page.drawn_bullets]
        out["words"].extend(_word_rows(ctx, key, bullets, DRAWING, first=len(page.words)))
        out["page_rules"].extend([{**key, "rule_no": i, "x0": r[0], "y0": r[1], "x1": r[2], "y1": r[3], "kind": r[4],
                                   "source": page.rules_source, **_lineage(ctx)} for i, r in enumerate(page.rules)])
        out["formulas"].extend([{**key, "formula_no": i, "x0": f[0], "y0": f[1], "x1": f[2], "y1": f[3], "latex": f[4],
                                 "kind": f[5], "source": "text_layer", "reason": f[6], **_lineage(ctx)}
                                for i, f in enumerate(page.formulas)])
    results, live = ledger.tables()
    return StageOutput(_results(out), pages=rendered, seconds=time.perf_counter() - started,
                       stats={"pages": rendered, "text_layer_pages": digital, "image_only_pages": rendered - digital,
                              "dpi": dpi, **ledger.stats()},
                       input_fingerprint=_fingerprint(f"{d['document_id']}:{d['sha256']}:{dpi}" for d in docs),
                       page_results=results, live_pages=live)




def _word_rows(ctx: StageContext, key: dict, words: list[render.WordRecord], source: str = TEXT_LAYER,
               first: int = 0) -> list[dict]:
    return [{**key, "word_no": first + i, "source": source, "text": w[0], "x0": w[1], "y0": w[2], "x1": w[3],
             "y1": w[4], "confidence": 1.0, "font_size": w[5], "bold": w[6], "hidden": w[7],
             "angle": w[8], "mono": w[9], "unmapped": w[10], **_lineage(ctx)}
            for i, w in enumerate(words)]
