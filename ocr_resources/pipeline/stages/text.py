"""Stage 4: text per region, from the text layer on digital pages and from OCR elsewhere."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ocr_resources.engines.base import TextRecognizer
from ocr_resources.pipeline.execution import image_size_class, stream_inference
from ocr_resources.pipeline.geometry import (
    assign_words,
    line_segments,
    words_to_text,
)
from ocr_resources.pipeline.resume import Checkpoint, PageLedger
from ocr_resources.pipeline.stages.base import (
    _REGIONS_SQL,
    _WORDS_SQL,
    StageContext,
    StageOutput,
    _as_words,
    _box,
    _by_page,
    _error,
    _input_hash,
    _lineage,
    _page_chunks,
    _region_signature,
    _results,
)
from ocr_resources.types import Box, Word


# -- 4. OCR text ---------------------------------------------------------------------------------------------
def ocr_text(ctx: StageContext, recognizer: TextRecognizer) -> StageOutput:
    """Text per region: from the PDF text layer on digital pages, from OCR of the page image elsewhere.
    Words outside every region are kept as a row with region_no NULL, so no text is lost. A page's input is
    its image and its regions: a new layout recomputes exactly the pages whose regions changed."""
    started = time.perf_counter()
    ledger = PageLedger(ctx, "ocr_text")
    out = ctx.buffers("ocr_text", "texts", "words", "errors")
    checkpoint = Checkpoint(ctx, "ocr_text", out, ledger)
    counts = {"characters": 0, "ocr_pages": 0, "text_layer_pages": 0}

    def emit(page: dict[str, Any], words: list[Word], source: str, confidence: float | None) -> None:
        page_regions = page["_regions"]
        words = line_segments(words)
        owner = assign_words(words, [_box(r) for r in page_regions])
        grouped: dict[int | None, list[Word]] = defaultdict(list)
        for word, idx in zip(words, owner, strict=True):
            grouped[idx].append(word)
        base = {"container_id": ctx.container_id, "document_id": page["document_id"], "page_no": page["page_no"],
                **_lineage(ctx)}
        for idx, region in enumerate(page_regions):
            text = words_to_text(grouped.get(idx, []))
            if region["label"] in ("figure",) and not text:
                continue
            counts["characters"] += len(text)
            out["texts"].add({**base, "region_no": region["region_no"], "reading_order": region["reading_order"],
                              "label": region["label"], "text": text, "text_source": source,
                              "confidence": confidence})
        if grouped.get(None):
            text = words_to_text(grouped[None])
            counts["characters"] += len(text)
            out["texts"].add({**base, "region_no": None, "reading_order": len(page_regions), "label": "unassigned",
                              "text": text, "text_source": source, "confidence": confidence})

    def todo() -> Iterator[dict[str, Any]]:
        # Inputs (regions, text-layer words) are read per chunk of pages and travel with their page.
        for chunk in _page_chunks(ctx):
            doc, first, last = chunk[0]["document_id"], chunk[0]["page_no"], chunk[-1]["page_no"]
            regions = _by_page(ctx, _REGIONS_SQL, "t.page_no, t.region_no", doc, first, last)
            needed = []
            for p in chunk:
                p["_regions"] = regions.get(p["page_no"], [])
                p["_hash"] = _input_hash(p["image_sha256"], p["has_text_layer"], _region_signature(p["_regions"]))
                if ledger.needed(p["document_id"], p["page_no"], p["_hash"]):
                    needed.append(p)
            if any(p["has_text_layer"] for p in needed):
                words = _by_page(ctx, _WORDS_SQL, "t.page_no, t.word_no", doc, first, last, ["text_layer"])
                for p in needed:
                    p["_words"] = _as_words(words.get(p["page_no"], [])) if p["has_text_layer"] else []
            yield from needed

    infer_seconds = 0.0

    def infer(images):
        nonlocal infer_seconds
        t0 = time.perf_counter()
        try:
            return recognizer.recognize(images)
        finally:
            infer_seconds += time.perf_counter() - t0

    # OCR the whole page once (detection finds the lines) and give each line to its region:
    # one model call per page instead of one per region, and text outside regions is not lost.
    # Pages with a text layer ride the same bounded stream but skip loading and the model.
    outcomes = stream_inference(todo(), lambda p: recognizer.prepare(ctx.page_store.open(p["image_path"])), infer,
                                recognizer.batch_size, ctx.max_in_flight, ctx.loader_threads, image_size_class,
                                skip=lambda p: bool(p["has_text_layer"]))
    for o in outcomes:
        page = o.item
        ledger.record(page["document_id"], page["page_no"], page["_hash"], o.error is None)
        if o.skipped:
            counts["text_layer_pages"] += 1
            emit(page, page.get("_words", []), "text_layer", 1.0)
        elif o.error is not None:
            counts["ocr_pages"] += 1
            out["errors"].add(_error(ctx, "ocr_text", page["document_id"], page["page_no"], type(o.error).__name__,
                                     str(o.error)))
        else:
            counts["ocr_pages"] += 1
            to_pt = 72.0 / page["dpi"]
            if o.result.words:
                words = [Word(w.text, w.box.scaled(to_pt), w.confidence) for w in o.result.words]
            else:  # engines without geometry (GOT-OCR2): the page's text as one block
                words = [Word(o.result.text, Box(0, 0, page["width_pt"], page["height_pt"]),
                              o.result.confidence or 0.0)]
            base = {"container_id": ctx.container_id, "document_id": page["document_id"], "page_no": page["page_no"]}
            out["words"].extend([{**base, "word_no": i, "source": "ocr", "text": w.text, "x0": w.box.x0,
                                  "y0": w.box.y0, "x1": w.box.x1, "y1": w.box.y1, "confidence": w.confidence,
                                  **_lineage(ctx)} for i, w in enumerate(words)])
            emit(page, words, "ocr", o.result.confidence)
        checkpoint.page_done()
    cleanup = checkpoint.finish()
    rows = _results(out)
    results, live = ledger.tables()
    return StageOutput(rows, pages=len(ledger.computed), seconds=time.perf_counter() - started,
                       stats={"text_rows": len(out["texts"]), **counts,
                              "inference_seconds": round(infer_seconds, 3), **ledger.stats()},
                       input_fingerprint=ledger.fingerprint, page_results=results, live_pages=live,
                       cleanup_dirs=cleanup)


