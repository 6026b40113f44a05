"""Stage 3: layout regions per page, in reading order."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ocr_resources.engines.base import LayoutDetector
from ocr_resources.geometry.boxes import clean_regions
from ocr_resources.geometry.page import checked_regions
from ocr_resources.geometry.reading_order import reading_order
from ocr_resources.pipeline.execution import image_size_class, stream_inference
from ocr_resources.pipeline.resume import Checkpoint, PageLedger
from ocr_resources.pipeline.stages.base import (
    _RULES_SQL,
    _WORDS_SQL,
    TEXT_LAYER,
    Reader,
    StageContext,
    StageOutput,
    TimedCall,
    _as_words,
    _by_page,
    _error,
    _input_hash,
    _lineage,
    _page_chunks,
    _results,
    word_sources,
)
from ocr_resources.tables.detect import page_region, refine_regions
from ocr_resources.tables.rules import Rule
from ocr_resources.types import DetectedRegion


# -- 3. layout regions ---------------------------------------------------------------------------------------
def layout_regions(ctx: StageContext, detector: LayoutDetector) -> StageOutput:
    started = time.perf_counter()
    ledger = PageLedger(ctx, "layout_regions")
    out = ctx.buffers("layout_regions", "regions", "errors")
    checkpoint = Checkpoint(ctx, "layout_regions", out, ledger)
    labels: dict[str, int] = defaultdict(int)

    def todo() -> Iterator[dict[str, Any]]:
        # the text layer's words and the ruling lines travel with their page: tables are checked against them
        def load(read: Reader, pages: list[dict[str, Any]]) -> tuple[dict, dict]:
            return (_by_page(ctx, read, _WORDS_SQL, "t.page_no, t.word_no", pages, word_sources(TEXT_LAYER)),
                    _by_page(ctx, read, _RULES_SQL, "t.page_no, t.rule_no", pages))

        for chunk, (words, rules) in _page_chunks(ctx, load):
            for p in chunk:
                p["_words"] = _as_words(words.get(p["page_no"], []))
                p["_rules"] = [Rule(r["x0"], r["y0"], r["x1"], r["y1"], r["kind"]) for r in rules.get(p["page_no"], [])]
                p["_hash"] = _input_hash(p["image_sha256"], len(p["_words"]), tuple(r.as_tuple() for r in p["_rules"]))
                if ledger.needed(p["document_id"], p["page_no"], p["_hash"]):
                    yield p

    infer = TimedCall(detector.detect)

    # Decoding and the engine's own preprocessing run on the loader threads, off the inference thread.
    outcomes = stream_inference(todo(), lambda p: detector.prepare(ctx.page_store.open(p["image_path"])), infer,
                                detector.batch_size, ctx.max_in_flight, ctx.loader_threads, image_size_class)
    for o in outcomes:
        page = o.item
        ledger.record(page["document_id"], page["page_no"], page["_hash"], o.error is None)
        if o.error is not None:
            out["errors"].add(_error(ctx, "layout_regions", page["document_id"], page["page_no"],
                                     type(o.error).__name__, str(o.error)))
        else:
            to_pt = 72.0 / page["dpi"]
            keep = clean_regions([r.box for r in o.result], [r.label for r in o.result], [r.score for r in o.result])
            found = [DetectedRegion(r.box.scaled(to_pt), r.label, r.model_label, r.score) for r in
                     (o.result[i] for i in keep)]
            # tables the page's rules and word alignment show, whatever the model called them
            found = refine_regions(found, page["_words"], page["_rules"])
            # labels checked against the text layer's words; words outside every region make regions (on a
            # scan there are no words yet: the text stage checks the labels against OCR's)
            checked = checked_regions(found, page["_words"])
            found = [r for r, _ in checked]
            # a scan the model found nothing on: the whole page, for OCR's words to decide (a table image); a
            # scan's images have a resolution (pages.source_dpi), a blank page has none
            scan = not page["has_text_layer"] and bool(page.get("source_dpi"))
            if not found and scan and page["width_pt"] > 0 and page["height_pt"] > 0:
                found = [page_region(page["width_pt"], page["height_pt"])]
                checked = [(found[0], None)]
            boxes = [r.box for r in found]
            # The layout's own order; the text stage refines it with the words' boxes (texts.reading_order).
            order = {idx: rank for rank, idx in enumerate(reading_order(boxes, [r.label for r in found]))}
            for i, (region, box) in enumerate(zip(found, boxes, strict=True)):
                labels[region.label] += 1
                # why the label is not the model's: the label check's reason, else the table decision's
                reason = checked[i][1] or (region.table_reason if region.label != region.model_label else None)
                out["regions"].add({"container_id": ctx.container_id, "document_id": page["document_id"],
                                    "page_no": page["page_no"], "region_no": i, "label": region.label,
                                    "model_label": region.model_label, "label_reason": reason,
                                    "score": region.score, "x0": box.x0,
                                    "y0": box.y0, "x1": box.x1, "y1": box.y1, "reading_order": order[i],
                                    "table_reason": region.table_reason, **_lineage(ctx)})
        checkpoint.page_done()
    cleanup = checkpoint.finish()
    results, live = ledger.tables()
    return StageOutput(_results(out), pages=len(ledger.computed), seconds=time.perf_counter() - started,
                       stats={"regions": sum(labels.values()), "regions_by_label": dict(labels),
                              "inference_seconds": round(infer.seconds, 3), **ledger.stats()},
                       input_fingerprint=ledger.fingerprint, page_results=results, live_pages=live,
                       cleanup_dirs=cleanup)


