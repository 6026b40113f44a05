"""Stage 4: text per region, from the text layer on digital pages and from OCR elsewhere.

A page's words (text layer or OCR) and its layout regions are composed into blocks in reading order
(geometry.page). Decisions that need the whole document (hyphenation, page furniture, heading levels, lists)
are taken when all of a document's pages are back (text.document), so a document's rows are held until then;
only then are its pages recorded as done (a checkpoint never holds half a document's decisions)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ocr_resources.engines.base import TextRecognizer
from ocr_resources.geometry.page import Block, compose
from ocr_resources.pipeline.execution import image_size_class, stream_inference
from ocr_resources.pipeline.resume import Checkpoint, PageLedger
from ocr_resources.pipeline.stages.base import (
    _REGIONS_SQL,
    StageContext,
    StageOutput,
    _box,
    _by_page,
    _error,
    _input_hash,
    _lineage,
    _page_chunks,
    _region_signature,
    _results,
)
from ocr_resources.text.blocks import TextBlock
from ocr_resources.text.clean import clean_text
from ocr_resources.text.document import PageBlocks, finish_document
from ocr_resources.types import Box, Word

_WORDS_SQL = ("SELECT t.page_no, t.word_no, t.text, t.x0, t.y0, t.x1, t.y1, t.confidence, t.font_size, t.bold,"
              " t.hidden FROM words t WHERE t.source = ?")


def _words(rows: list[dict[str, Any]]) -> list[Word]:
    return [Word(w["text"], Box(w["x0"], w["y0"], w["x1"], w["y1"]), w["confidence"], w["font_size"],
                 bool(w["bold"]), bool(w["hidden"])) for w in rows]


@dataclass
class _PageText:
    page: dict[str, Any]
    blocks: list[Block]
    source: str
    reason: str
    confidence: float | None
    ocr_words: list[Word] = field(default_factory=list)


class _Documents:
    """Pages held per document until the document's last page is back. The page iterator (another thread)
    counts what it hands out and closes a document when it moves past it."""

    def __init__(self) -> None:
        self.handed: Counter[str] = Counter()
        self.closed: set[str] = set()
        self.back: Counter[str] = Counter()
        self.pages: dict[str, list[_PageText]] = {}
        self._current: str | None = None

    def hand_out(self, document_id: str) -> None:
        if self._current is not None and self._current != document_id:
            self.closed.add(self._current)
        self._current = document_id
        self.handed[document_id] += 1

    def end(self) -> None:
        if self._current is not None:
            self.closed.add(self._current)

    def add(self, document_id: str, page: _PageText | None) -> None:
        self.back[document_id] += 1
        if page is not None:
            self.pages.setdefault(document_id, []).append(page)

    def complete(self) -> list[str]:
        done = [d for d in list(self.back) if d in self.closed and self.back[d] == self.handed[d]]
        for d in done:
            del self.back[d]
        return done


# -- 4. OCR text ---------------------------------------------------------------------------------------------
def ocr_text(ctx: StageContext, recognizer: TextRecognizer) -> StageOutput:
    """Text per region: from the PDF text layer on digital pages, from OCR of the page image elsewhere.
    Words outside every region join the region they continue or form blocks of their own, so no text is
    lost. A page's input is its image and its regions: a new layout recomputes exactly the pages whose
    regions changed."""
    started = time.perf_counter()
    ledger = PageLedger(ctx, "ocr_text")
    out = ctx.buffers("ocr_text", "texts", "words", "errors")
    checkpoint = Checkpoint(ctx, "ocr_text", out, ledger)
    counts = {"characters": 0, "ocr_pages": 0, "text_layer_pages": 0}
    docs = _Documents()

    def page_text(page: dict[str, Any], words: list[Word], source: str, reason: str,
                  confidence: float | None, ocr_words: list[Word] | None = None) -> _PageText:
        regions = page["_regions"]
        blocks = compose(words, [_box(r) for r in regions], [r["label"] for r in regions])
        return _PageText(page, blocks, source, reason, confidence, ocr_words or [])

    def finish(document_id: str) -> None:
        pages = sorted(docs.pages.pop(document_id, []), key=lambda p: p.page["page_no"])
        if not pages:
            return
        done = {p.page["page_no"] for p in pages}
        context = _stored_blocks(ctx, document_id, done)
        results = finish_document([PageBlocks(p.page["page_no"], p.page["width_pt"], p.page["height_pt"], p.blocks)
                                   for p in pages], context)
        for pt, texts in zip(pages, results, strict=True):
            page, regions = pt.page, pt.page["_regions"]
            base = {"container_id": ctx.container_id, "document_id": page["document_id"], "page_no": page["page_no"]}
            order = 0
            for bt in texts:
                block = bt.block
                if not bt.text and block.label not in ("figure", "table"):
                    continue
                counts["characters"] += len(bt.text)
                words = block.words
                confidence = pt.confidence
                if pt.source == "ocr" and words:
                    confidence = sum(w.confidence for w in words) / len(words)
                out["texts"].add({
                    **base, "region_no": None if block.region is None else regions[block.region]["region_no"],
                    "reading_order": order, "label": bt.label, "text": bt.text, "text_source": pt.source,
                    "text_source_reason": pt.reason, "confidence": confidence, "x0": block.box.x0,
                    "y0": block.box.y0, "x1": block.box.x1, "y1": block.box.y1, "font_size": bt.size,
                    "bold": bt.bold, "heading_level": bt.heading_level, **_lineage(ctx)})
                order += 1
            if pt.ocr_words:
                out["words"].extend([{**base, "word_no": i, "source": "ocr", "text": w.text, "x0": w.box.x0,
                                      "y0": w.box.y0, "x1": w.box.x1, "y1": w.box.y1, "confidence": w.confidence,
                                      **_lineage(ctx)} for i, w in enumerate(pt.ocr_words)])
            ledger.record(page["document_id"], page["page_no"], page["_hash"], True)
            checkpoint.page_done()

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
                    p["_words"] = _words(words.get(p["page_no"], [])) if p["has_text_layer"] else []
            for p in needed:
                docs.hand_out(p["document_id"])
                yield p
        docs.end()

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
        doc = page["document_id"]
        if o.skipped:
            counts["text_layer_pages"] += 1
            docs.add(doc, page_text(page, page.get("_words", []), "text_layer", "text layer", 1.0))
        elif o.error is not None:
            counts["ocr_pages"] += 1
            out["errors"].add(_error(ctx, "ocr_text", doc, page["page_no"], type(o.error).__name__, str(o.error)))
            ledger.record(doc, page["page_no"], page["_hash"], False)
            checkpoint.page_done()
            docs.add(doc, None)
        else:
            counts["ocr_pages"] += 1
            to_pt = 72.0 / page["dpi"]
            if o.result.words:
                words = [Word(clean_text(w.text), w.box.scaled(to_pt), w.confidence) for w in o.result.words]
                words = [w for w in words if w.text]
            else:  # engines without geometry (GOT-OCR2): the page's text as one block
                text = clean_text(o.result.text)
                words = [Word(text, Box(0, 0, page["width_pt"], page["height_pt"]), o.result.confidence or 0.0)] \
                    if text else []
            docs.add(doc, page_text(page, words, "ocr", "no text layer", o.result.confidence, words))
        for d in docs.complete():
            finish(d)
    docs.end()
    for d in list(docs.pages):
        finish(d)
    cleanup = checkpoint.finish()
    rows = _results(out)
    results, live = ledger.tables()
    return StageOutput(rows, pages=len(ledger.computed), seconds=time.perf_counter() - started,
                       stats={"text_rows": len(out["texts"]), **counts,
                              "inference_seconds": round(infer_seconds, 3), **ledger.stats()},
                       input_fingerprint=ledger.fingerprint, page_results=results, live_pages=live,
                       cleanup_dirs=cleanup)


def _stored_blocks(ctx: StageContext, document_id: str, exclude: set[int]) -> list[TextBlock]:
    """Text rows already stored for the document's other pages (kept from an earlier run): context for
    repetition and type sizes when only some pages are recomputed."""
    rows = ctx.store.query(
        "SELECT t.page_no, t.label, t.text, t.x0, t.y0, t.x1, t.y1, t.font_size, t.bold, p.width_pt, p.height_pt"
        " FROM texts t JOIN pages p USING (container_id, document_id, page_no)"
        " WHERE t.container_id = ? AND t.document_id = ? AND t.x0 IS NOT NULL AND t.label NOT IN ('table', 'figure')",
        [ctx.container_id, document_id])
    return [TextBlock(r["page_no"], r["width_pt"], r["height_pt"], Box(r["x0"], r["y0"], r["x1"], r["y1"]), r["label"],
                      r["text"] or "", r["font_size"], bool(r["bold"]), max(1, (r["text"] or "").count("\n") + 1))
            for r in rows if r["page_no"] not in exclude]
