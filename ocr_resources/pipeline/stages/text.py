"""Stage 4: text per region, from the text layer on digital pages and from OCR elsewhere.

A page's words (text layer or OCR) and its layout regions are composed into blocks in reading order
(geometry.page). Decisions that need the whole document (hyphenation, page furniture, heading levels, lists)
are taken when all of a document's pages are back (text.document), so a document's rows are held until then;
only then are its pages recorded as done (a checkpoint never holds half a document's decisions)."""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ocr_resources.engines.base import FormulaRecognizer, TextRecognizer
from ocr_resources.geometry.boxes import inside
from ocr_resources.geometry.labels import OUTSIDE, LabelDecision, check_labels
from ocr_resources.geometry.page import Block, compose, region_words
from ocr_resources.pipeline.execution import image_size_class, stream_inference
from ocr_resources.pipeline.resume import Checkpoint, PageLedger
from ocr_resources.pipeline.stages.base import (
    _REGIONS_SQL,
    _RULES_SQL,
    TEXT_LAYER,
    Reader,
    StageContext,
    StageOutput,
    TimedCall,
    _box,
    _by_page,
    _crop,
    _error,
    _input_hash,
    _lineage,
    _page_chunks,
    _region_signature,
    _results,
    word_sources,
)
from ocr_resources.tables.detect import is_page_region, region_verdict
from ocr_resources.tables.rules import Rule
from ocr_resources.text.blocks import TextBlock
from ocr_resources.text.clean import clean_text
from ocr_resources.text.document import BlockText, PageBlocks, finish_document
from ocr_resources.text.quality import MIN_AGREEMENT, agreement, runs_words_together
from ocr_resources.text.source import drawn_requests
from ocr_resources.text.source import plan as source_plan
from ocr_resources.types import Box, Word

MIN_REGION_CONFIDENCE = 0.6  # OCR words read in a region of a text-layer page: below this, specks and lines

_WORDS_SQL = ("SELECT t.page_no, t.word_no, t.text, t.x0, t.y0, t.x1, t.y1, t.confidence, t.font_size, t.bold,"
              " t.hidden, t.angle, t.mono, t.unmapped FROM words t WHERE t.source IN (?, ?)")


def _words(rows: list[dict[str, Any]]) -> list[Word]:
    return [Word(w["text"], Box(w["x0"], w["y0"], w["x1"], w["y1"]), w["confidence"], w["font_size"],
                 bool(w["bold"]), bool(w["hidden"]), w["angle"] or 0, bool(w["mono"]), bool(w["unmapped"]))
            for w in rows]


@dataclass
class _PageText:
    page: dict[str, Any]
    blocks: list[Block]
    source: str  # where most of the page's text came from
    reason: str
    confidence: float | None
    ocr_words: list[Word] = field(default_factory=list)
    # regions read by OCR on a text-layer page (None: drawn text read outside every region)
    region_reasons: dict[int | None, str] = field(default_factory=dict)
    label_reasons: dict[int, str] = field(default_factory=dict)  # regions whose label the words overrode
    formula_reasons: dict[int, str] = field(default_factory=dict)  # id(block) -> read by the formula engine


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
def ocr_text(ctx: StageContext, recognizer: TextRecognizer, formulas: FormulaRecognizer | None = None
             ) -> StageOutput:
    """Text per region: from the PDF text layer where it passes the quality test, from OCR elsewhere (pages
    without a text layer, pages or regions whose text layer fails the test or is missing, image regions of
    born-digital pages); the choice and its reason are recorded per row. Words outside every region join the
    region they continue or form blocks of their own, so no text is lost. A page's input is its image and
    its regions: a new layout recomputes exactly the pages whose regions changed. With a formula engine
    (the formula role), formula regions of pages without a text layer are read as LaTeX (`_read_formulas`)."""
    started = time.perf_counter()
    ledger = PageLedger(ctx, "ocr_text")
    out = ctx.buffers("ocr_text", "texts", "words", "formulas", "errors")
    checkpoint = Checkpoint(ctx, "ocr_text", out, ledger)
    counts = {"characters": 0, "ocr_pages": 0, "text_layer_pages": 0, "ocr_regions": 0, "formulas_read": 0,
              "second_recogniser_lines": 0}
    docs = _Documents()
    crops: dict[tuple[str, int], list[tuple[dict[str, Any], list[Word] | None]]] = {}
    # pages with text rows from an earlier run, per document: the rows of those not recomputed now are context
    # for the pages that are (`_stored_blocks`). Read once, on the first chunk's connection (`load`).
    stored_pages: dict[str, set[int]] | None = None

    def page_text(page: dict[str, Any], words: list[Word], source: str, reason: str, confidence: float | None,
                  ocr_words: list[Word] | None = None, region_reasons: dict[int, str] | None = None) -> _PageText:
        scanned = source == "ocr" and not page["has_text_layer"]
        # a page the layout model found nothing on stands as one region: the page's table where its OCR words
        # form a grid (the tables stage asks the same), else gone (read as a page without regions)
        verdicts = {id(r): region_verdict(words, r) if scanned else (False, "")
                    for r in page["_regions"] if is_page_region(r)}
        regions = page["_regions"] = [r for r in page["_regions"] if verdicts.get(id(r), (True,))[0]]
        whole = {i: verdicts[id(r)][1] for i, r in enumerate(regions) if id(r) in verdicts}
        boxes = [_box(r) for r in regions]
        labels = ["table" if i in whole else r["label"] for i, r in enumerate(regions)]
        # labels checked against the words read (OCR's on a scan, which the layout stage did not have)
        # (on a scan, a figure whose OCR words form a grid is a table: the tables stage builds it)
        decided = check_labels(boxes, labels, region_words(words, boxes, labels)[0], words if scanned else None,
                               page.get("_rules", []))
        decided = [LabelDecision("table") if i in whole else d for i, d in enumerate(decided)]  # (judged above)
        label_reasons = {i: d.reason for i, d in enumerate(decided) if d.reason} | whole
        text_figures = {i: r["label_reason"] for i, r in enumerate(regions) if r.get("label_reason")
                        and r["model_label"] == "figure" and r["label"] == "text"} | {
            i: d.reason for i, d in enumerate(decided) if d.reason and d.label == "text"}
        blocks = compose(words, boxes, [d.label for d in decided],
                         page=Box(0, 0, page["width_pt"], page["height_pt"]),
                         keep_whole=frozenset(k for k in region_reasons or () if k is not None),
                         text_figures=text_figures)
        return _PageText(page, blocks, source, reason, confidence, ocr_words or [], region_reasons or {},
                         label_reasons)

    def finish(document_id: str) -> None:
        pages = sorted(docs.pages.pop(document_id, []), key=lambda p: p.page["page_no"])
        if not pages:
            return
        # a document recomputed whole (a forced run, a new layout model) has no other pages to read
        kept = (stored_pages or {}).get(document_id, set()) - {p.page["page_no"] for p in pages}
        context = _stored_blocks(ctx, document_id, kept) if kept else []
        results = finish_document([PageBlocks(p.page["page_no"], p.page["width_pt"], p.page["height_pt"], p.blocks)
                                   for p in pages], context)
        for pt, texts in zip(pages, results, strict=True):
            if formulas is not None:
                texts = _read_formulas(ctx, formulas, out, pt, texts, counts)
            _emit_page(ctx, out, pt, texts, counts)
            ledger.record(pt.page["document_id"], pt.page["page_no"], pt.page["_hash"], pt.page.get("_ok", True))
            checkpoint.page_done()

    def todo() -> Iterator[dict[str, Any]]:
        # Inputs (regions, text-layer words) are read per chunk of pages and travel with their page.
        def load(read: Reader, pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
            """The pages to compute, with their regions; text-layer words only where such a page has them."""
            nonlocal stored_pages
            if stored_pages is None:
                stored_pages = defaultdict(set)
                for r in read("SELECT DISTINCT document_id, page_no FROM texts WHERE container_id = ?",
                              [ctx.container_id]):
                    stored_pages[r["document_id"]].add(r["page_no"])
            regions = _by_page(ctx, read, _REGIONS_SQL, "t.page_no, t.region_no", pages)
            needed = []
            for p in pages:
                p["_regions"] = regions.get(p["page_no"], [])
                p["_hash"] = _input_hash(p["image_sha256"], p["has_text_layer"], _region_signature(p["_regions"]))
                if ledger.needed(p["document_id"], p["page_no"], p["_hash"]):
                    needed.append(p)
            # a page without a usable text layer may still have a few words in it: kept for when OCR reads
            # nothing (a strip one word high, a blank stand-in image of a page that could not be rendered)
            words = _by_page(ctx, read, _WORDS_SQL, "t.page_no, t.word_no", pages, word_sources(TEXT_LAYER)) \
                if any(p["text_layer_chars"] for p in needed) else {}
            for p in needed:
                p["_words"] = _words(words.get(p["page_no"], []))
            # a scan's ruling lines (found in its pixels), where a table region is to be judged by its OCR words
            judged = [p for p in needed
                      if not p["has_text_layer"] and any(r["label"] == "table" for r in p["_regions"])]
            rules = _by_page(ctx, read, _RULES_SQL, "t.page_no, t.rule_no", judged) if judged else {}
            for p in judged:
                p["_rules"] = [Rule(r["x0"], r["y0"], r["x1"], r["y1"], r["kind"])
                               for r in rules.get(p["page_no"], [])]
            return needed

        for _, needed in _page_chunks(ctx, load):
            for p in needed:
                docs.hand_out(p["document_id"])
                p["_requests"] = [] if not p["has_text_layer"] else _requests(ctx, p)
                if p["_requests"] and not p["_requests"][0].whole_page:
                    for req in p["_requests"]:  # region crops of a text-layer page
                        yield {"_crop": req, "_page": p}
                else:
                    yield p
        docs.end()


    infer = TimedCall(recognizer.recognize)

    def load(item: dict[str, Any]):
        if "_crop" in item:
            page = item["_page"]
            image, box = _crop(ctx, {**_region_box(page, item["_crop"]), "image_path": page["image_path"],
                                     "dpi": page["dpi"]})
            item["_offset"] = box[:2]
            return recognizer.prepare(image)
        # a scan's source resolution: the recogniser judges a line's size in the scan's own pixels
        return recognizer.prepare_page(ctx.page_store.open(item["image_path"]), item.get("source_dpi"), item["dpi"])

    def skip(item: dict[str, Any]) -> bool:
        return "_crop" not in item and bool(item["has_text_layer"]) and not item["_requests"]

    # OCR a page once (detection finds the lines) and give each line to its region: one model call per page
    # instead of one per region, and text outside regions is not lost. Text-layer pages ride the same bounded
    # stream; they skip loading and the model, or send only the crops of regions to read by OCR.
    outcomes = stream_inference(todo(), load, infer, recognizer.batch_size, ctx.max_in_flight, ctx.loader_threads,
                                image_size_class, skip=skip)
    for o in outcomes:
        item = o.item
        page = item.get("_page", item)
        doc = page["document_id"]
        if o.error is not None:
            out["errors"].add(_error(ctx, "ocr_text", doc, page["page_no"], type(o.error).__name__, str(o.error)))
        if "_crop" in item:
            key = (doc, page["page_no"])
            got = crops.setdefault(key, [])
            got.append((item, None if o.error is not None else _ocr_words(o.result, page, item["_offset"])))
            if len(got) == len(page["_requests"]):
                del crops[key]
                page["_ok"] = all(w is not None for _, w in got)
                counts["text_layer_pages"] += 1
                docs.add(doc, _with_regions(page, got, page_text))
        elif o.skipped:
            counts["text_layer_pages"] += 1
            docs.add(doc, page_text(page, page.get("_words", []), "text_layer", "text layer", 1.0))
        elif o.error is not None:
            counts["ocr_pages"] += 1
            ledger.record(doc, page["page_no"], page["_hash"], False)
            checkpoint.page_done()
            docs.add(doc, None)
        else:
            counts["ocr_pages"] += 1
            counts["second_recogniser_lines"] += o.result.second_lines
            words = _ocr_words(o.result, page, (0, 0))
            if page["has_text_layer"]:
                req = page["_requests"][0]
                docs.add(doc, _checked_page(page, words, req, o.result.confidence, page_text))
            elif not words and page["_words"]:
                docs.add(doc, page_text(page, page["_words"], "text_layer",
                                        "OCR read nothing; the page's short text layer is kept", 1.0))
            else:
                reason = "no text layer" + (f"; {o.result.reader}" if o.result.reader else "")
                result = o.result
                if finer := _read_small_print(ctx, recognizer, page, words, result.confidence, out):
                    words, result, why = finer
                    reason = f"{reason}; {why}"
                docs.add(doc, page_text(page, words, "ocr", reason, result.confidence, words))
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
                              "inference_seconds": round(infer.seconds, 3), **ledger.stats()},
                       input_fingerprint=ledger.fingerprint, page_results=results, live_pages=live,
                       cleanup_dirs=cleanup)


def _requests(ctx: StageContext, page: dict[str, Any]) -> list:
    """What to OCR on a text-layer page: `source.plan`'s regions (or the whole page), and the areas where text
    is drawn as graphics (`source.drawn_requests`, from the page image's ink)."""
    boxes, labels = [_box(r) for r in page["_regions"]], [r["label"] for r in page["_regions"]]
    requests = source_plan(page["_words"], boxes, labels, Box(0, 0, page["width_pt"], page["height_pt"]))
    if requests and requests[0].whole_page:
        return requests
    if page.get("drawn_areas") == []:
        # the render worker found no drawn text on the page with only the text layer's words cleared: the page
        # image is not decoded (None: not looked for). Clearing the areas left out here as well could only add
        # lines made of a graphic's pieces cut at an area's edge (a table grid's stubs under a figure box),
        # which are not text.
        return requests
    gray = ctx.page_store.open_gray(page["image_path"])
    return requests + drawn_requests(gray, page["dpi"], page["_words"], boxes, labels, requests)


def _region_box(page: dict[str, Any], request) -> dict[str, float]:
    if request.box is not None:  # an area of drawn text, grown so the detector sees its whole first and last glyph
        pad = 0.5 * min(request.box.height, 24.0)
        b = request.box
        return {"x0": max(0.0, b.x0 - pad), "y0": max(0.0, b.y0 - pad), "x1": min(page["width_pt"], b.x1 + pad),
                "y1": min(page["height_pt"], b.y1 + pad)}
    r = page["_regions"][request.region] if request.region is not None else {
        "x0": 0, "y0": 0, "x1": page["width_pt"], "y1": page["height_pt"]}
    return {k: r[k] for k in ("x0", "y0", "x1", "y1")}


def _ocr_words(result, page: dict[str, Any], offset: tuple[int, int]) -> list[Word]:
    """An OCR result's words, clean, in PDF points on the page (`offset`: the crop's corner in pixels)."""
    to_pt = 72.0 / page["dpi"]
    if result.words:
        words = [Word(clean_text(w.text), w.box.shifted(*offset).scaled(to_pt), w.confidence) for w in result.words]
        return [w for w in words if w.text]
    text = clean_text(result.text)  # engines without geometry (GOT-OCR2): the text as one block
    if not text:
        return []
    if offset == (0, 0):
        return [Word(text, Box(0, 0, page["width_pt"], page["height_pt"]), result.confidence or 0.0)]
    return [Word(text, Box(offset[0] * to_pt, offset[1] * to_pt, offset[0] * to_pt + 1, offset[1] * to_pt + 1),
                 result.confidence or 0.0)]


# Small print on a scan (a receipt photographed on a large sheet, a fine-print form): lines under SMALL_PRINT_PX
# high at the render are too few pixels for the recogniser (PP-OCR misreads most of them). Such a page is
# rendered again from its PDF so its median line is about TARGET_LINE_PX high (at most MAX_ZOOM_DPI) and read
# again; the finer read is kept unless it is less sure. Measured on 40 SROIE receipts rendered at 144 dpi: the
# three with small print have median lines of 5-8 px, all others 11-20 px; reading every page at 300 dpi gained
# most on those three (+0.11 to +0.46 line recall) and was mixed on the rest (-0.14 to +0.06: large glyphs lose
# their spaces), so only small print is read again.
SMALL_PRINT_PX = 9.0
TARGET_LINE_PX = 16.0
MAX_ZOOM_DPI = 400
MIN_SMALL_PRINT_WORDS = 5  # a page with fewer OCR words has no print to measure


def small_print_dpi(words: list[Word], dpi: int) -> int | None:
    """The dpi to read a scanned page again at, when its OCR words (in points, read at `dpi`) are small
    print; None when they are not."""
    if len(words) < MIN_SMALL_PRINT_WORDS:
        return None
    heights = sorted(w.box.height * dpi / 72.0 for w in words)
    median = heights[len(heights) // 2]
    if median <= 0 or median >= SMALL_PRINT_PX:
        return None
    finer = min(MAX_ZOOM_DPI, int(dpi * TARGET_LINE_PX / median))
    return finer if finer >= 1.25 * dpi else None


def _read_small_print(ctx: StageContext, recognizer: TextRecognizer, page: dict[str, Any], words: list[Word],
                      confidence: float | None, out) -> tuple[list[Word], Any, str] | None:
    """(words, OCR result, why) of a scanned page read again finer where its print is small
    (`small_print_dpi`); None where it is not, or the finer read is not better. The page is rendered again in a
    render worker (pdfium under its limits): where that fails, a warning row says why and the first read stands."""
    from ocr_resources.pipeline.render import render_page_image

    dpi = small_print_dpi(words, page["dpi"])
    if dpi is None:
        return None
    row = ctx.store.query("SELECT source_path, path_bytes FROM documents WHERE container_id = ? AND document_id = ?",
                          [ctx.container_id, page["document_id"]])
    if not row:
        return None
    path = os.fsdecode(row[0]["path_bytes"]) if row[0]["path_bytes"] is not None else row[0]["source_path"]
    got = render_page_image(path, page["page_no"], dpi, ctx.limits, turn=page.get("deskew_degrees") or 0.0)
    result = None
    if got.error is None:
        try:
            result = recognizer.recognize([recognizer.prepare_page(got.image, page.get("source_dpi"), got.dpi)])[0]
        except Exception as exc:  # noqa: BLE001 - the finer read is a bonus: the first read stands
            got.error = f"{type(exc).__name__}: {exc}"
    if result is None:
        out["errors"].add(_error(ctx, "ocr_text", page["document_id"], page["page_no"], "small_print",
                                 f"small print not read again at {dpi} dpi: {got.error}; the first read stands",
                                 "warning"))
        return None
    finer = _ocr_words(result, {**page, "dpi": got.dpi}, (0, 0))
    if not finer or (confidence is not None and (result.confidence or 0.0) < confidence):
        return None
    return finer, result, f"small print read again at {got.dpi} dpi"


def _checked_page(page: dict[str, Any], ocr: list[Word], req, confidence, page_text) -> _PageText:
    """A text-layer page read by OCR as a whole: OCR replaces the text layer, unless the text layer only
    had to be checked and OCR agrees with it."""
    layer = page["_words"]
    if layer and not ocr and not req.verify:  # a layer of garbage over a page OCR finds no text on: no text
        return page_text(page, [], "ocr", f"{req.reason}; OCR read nothing", None)
    if layer and not ocr:  # OCR read nothing (a blank stand-in image, a strip): the text layer is all there is
        return page_text(page, layer, "text_layer", f"{req.reason}; OCR read nothing, text layer kept", 1.0)
    if req.verify:
        score = agreement(layer, ocr, [_box(r) for r in page["_regions"]])
        if score >= MIN_AGREEMENT and runs_words_together(layer, ocr):
            return page_text(page, ocr, "ocr", f"{req.reason}, agrees with OCR ({score:.2f}) but runs its words "
                             f"together ({len(layer)} words against OCR's {len(ocr)})", confidence, ocr)
        if score >= MIN_AGREEMENT:
            return page_text(page, layer, "text_layer", f"{req.reason}, agrees with OCR ({score:.2f})", 1.0, ocr)
        return page_text(page, ocr, "ocr", f"{req.reason}, disagrees with OCR ({score:.2f})", confidence, ocr)
    return page_text(page, ocr, "ocr", req.reason, confidence, ocr)


def _with_regions(page: dict[str, Any], got: list, page_text) -> _PageText:
    """A text-layer page with some regions read by OCR: in each, OCR words replace the text layer's (or,
    for a region only to be checked, when OCR disagrees with it)."""
    regions = [_box(r) for r in page["_regions"]]
    words = list(page["_words"])
    ocr_all: list[Word] = []
    reasons: dict[int | None, str] = {}
    # a drawn-text area may reach over a region read on its own: that region's words are its own request's
    asked = [regions[item["_crop"].region] for item, ocr in got
             if item["_crop"].box is None and item["_crop"].region is not None and ocr is not None]
    for item, ocr in got:
        req = item["_crop"]
        if ocr is None:
            continue
        if req.box is not None:  # text drawn as graphics: OCR words where the text layer has none, added
            drawn = [w for w in _drawn_words(ocr, req.box, page["_words"])
                     if not any(inside(w.box, b) >= 0.5 for b in asked)]
            ocr_all.extend(drawn)
            words.extend(drawn)
            for w in drawn:  # the reason goes with the region the words land in (None: outside every region)
                into = next((i for i, r in enumerate(regions) if inside(w.box, r) >= 0.5), None)
                reasons.setdefault(into, req.reason)
            continue
        ocr = [w for w in ocr if inside(w.box, regions[req.region]) >= 0.5 and w.confidence >= MIN_REGION_CONFIDENCE]
        ocr_all.extend(ocr)
        layer = [w for w in words if inside(w.box, regions[req.region]) >= 0.5]
        reason = req.reason
        if req.verify:
            score = agreement(layer, ocr)
            if score >= MIN_AGREEMENT and not runs_words_together(layer, ocr):
                continue
            reason = (f"{req.reason}, agrees with OCR ({score:.2f}) but runs its words together"
                      if score >= MIN_AGREEMENT else f"{req.reason}, disagrees with OCR ({score:.2f})")
        if not ocr:
            continue
        held = {id(w) for w in layer}
        words = [w for w in words if id(w) not in held] + ocr
        reasons[req.region] = reason
    return page_text(page, words, "text_layer", "text layer", 1.0, ocr_all, reasons)


def _drawn_words(ocr: list[Word], area: Box, layer: list[Word]) -> list[Word]:
    """OCR words of a drawn-text area: sure ones, in the area, none on a text-layer word (the crop's margin
    may reach text the layer holds: it is not read twice)."""
    def on_layer(w: Word) -> bool:
        return any(inside(w.box, t.box) >= 0.3 or inside(t.box, w.box) >= 0.5 for t in layer)

    return [w for w in ocr if w.confidence >= MIN_REGION_CONFIDENCE and inside(w.box, area) >= 0.5
            and not on_layer(w)]


def _emit_page(ctx: StageContext, out, pt: _PageText, texts, counts: dict[str, int]) -> None:
    page, regions = pt.page, pt.page["_regions"]
    base = {"container_id": ctx.container_id, "document_id": page["document_id"], "page_no": page["page_no"]}
    ocr_ids = {id(w) for w in pt.ocr_words}
    order = 0
    for bt in texts:
        block = bt.block
        if not bt.text and block.region is None:
            continue  # (every layout region keeps a row, even an empty one: the page's coverage is checked)
        counts["characters"] += len(bt.text)
        words = block.words
        source, reason, confidence = pt.source, pt.reason, pt.confidence
        from_ocr = sum(1 for w in words if id(w) in ocr_ids)
        if pt.source == "text_layer" and words and from_ocr * 2 > len(words):
            source = "ocr"
            reason = pt.region_reasons.get(block.region)  # (None: drawn text outside every region)
            reason = reason or next(iter(pt.region_reasons.values()), "ocr")
        if source == "ocr" and words:
            confidence = sum(w.confidence for w in words) / len(words)
        reason = pt.formula_reasons.get(id(block), reason)
        out["texts"].add({
            **base, "region_no": None if block.region is None else regions[block.region]["region_no"],
            "reading_order": order, "label": bt.label, "text": bt.text, "text_source": source,
            "text_source_reason": reason, "confidence": confidence, "x0": block.box.x0, "y0": block.box.y0,
            "x1": block.box.x1, "y1": block.box.y1, "font_size": bt.size, "bold": bt.bold,
            "heading_level": bt.heading_level, "label_reason": bt.reason or _label_reason(pt, block, regions),
            **_lineage(ctx)})
        order += 1
    if pt.ocr_words:
        out["words"].extend([{**base, "word_no": i, "source": "ocr", "text": w.text, "x0": w.box.x0,
                              "y0": w.box.y0, "x1": w.box.x1, "y1": w.box.y1, "confidence": w.confidence,
                              **_lineage(ctx)} for i, w in enumerate(pt.ocr_words)])
    counts["ocr_regions"] += sum(k is not None for k in pt.region_reasons)


def _read_formulas(ctx: StageContext, reader: FormulaRecognizer, out, pt: _PageText, texts: list[BlockText],
                   counts: dict[str, int]) -> list[BlockText]:
    """On a page without a text layer, each formula block read by the formula engine from its crop of the page
    image: its text becomes `$$LaTeX$$` (the Markdown writes it as it is) and it gets a formulas row with the
    engine as its source. A formula the engine reads nothing of, or a failed call, stays as it was (the
    Markdown then keeps an image marker with its box, never OCR's glyphs)."""
    page = pt.page
    if pt.source != "ocr" or page["has_text_layer"]:
        return texts  # born-digital formulas come from the text layer (rendered_pages, text.page_formulas)
    wanted = [i for i, bt in enumerate(texts) if bt.label == "formula" and bt.block.box.x1 > bt.block.box.x0
              and bt.block.box.y1 > bt.block.box.y0]
    if not wanted:
        return texts
    boxes = [texts[i].block.box for i in wanted]
    try:
        crops = [_crop(ctx, {"x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1, "image_path": page["image_path"],
                             "dpi": page["dpi"]})[0] for b in boxes]
        latex = reader.read(crops)
    except Exception as exc:  # the page keeps its text; its formulas stay image markers
        out["errors"].add(_error(ctx, "ocr_text", page["document_id"], page["page_no"], type(exc).__name__,
                                 f"formula engine: {exc}"))
        return texts
    ident = reader.identity
    why = f"formula region on a page without a text layer, read by {ident.engine} ({ident.model_id or 'builtin'})"
    texts = list(texts)
    for n, (i, box, tex) in enumerate(zip(wanted, boxes, latex, strict=True)):
        if not tex:
            continue
        texts[i] = replace(texts[i], text=f"$${tex}$$")
        pt.formula_reasons[id(texts[i].block)] = why
        out["formulas"].add({"container_id": ctx.container_id, "document_id": page["document_id"],
                             "page_no": page["page_no"], "formula_no": n, "x0": box.x0, "y0": box.y0, "x1": box.x1,
                             "y1": box.y1, "latex": tex, "kind": "display", "source": ident.engine, "reason": why,
                             **_lineage(ctx)})
        counts["formulas_read"] += 1
    return texts


def _label_reason(pt: _PageText, block: Block, regions: list[dict[str, Any]]) -> str | None:
    """Why a text row's label is not its region's stored label (None when it is, or when a document-wide
    decision, furniture or a heading, changed it: those are the text's own, not the layout's)."""
    if block.region is None:
        return block.reason or OUTSIDE
    return block.reason or pt.label_reasons.get(block.region) or regions[block.region].get("label_reason")


def _stored_blocks(ctx: StageContext, document_id: str, kept: set[int]) -> list[TextBlock]:
    """Text rows already stored for the document's `kept` pages (from an earlier run, not recomputed now):
    context for repetition and type sizes when only some pages are recomputed."""
    rows = ctx.store.query(
        "SELECT t.page_no, t.label, t.text, t.x0, t.y0, t.x1, t.y1, t.font_size, t.bold, t.text_source,"
        " p.width_pt, p.height_pt"
        " FROM texts t JOIN pages p USING (container_id, document_id, page_no)"
        " WHERE t.container_id = ? AND t.document_id = ? AND t.x0 IS NOT NULL AND t.label NOT IN ('table', 'figure')",
        [ctx.container_id, document_id])
    return [TextBlock(r["page_no"], r["width_pt"], r["height_pt"], Box(r["x0"], r["y0"], r["x1"], r["y1"]), r["label"],
                      r["text"] or "", r["font_size"], bool(r["bold"]), max(1, (r["text"] or "").count("\n") + 1),
                      ink_size=r["text_source"] == "ocr")  # OCR's sizes are its ink heights
            for r in rows if r["page_no"] in kept]
