"""One function per stage: read inputs from the store, run the engine, return rows for the store.

Each stage is Dagster-free (the assets in `ocr_assets` wrap them; the benchmark calls them directly).
A stage never holds a DuckDB connection while a model runs: it reads its inputs first, computes, and
hands back Arrow tables that the caller commits for the whole partition in one transaction."""

from __future__ import annotations

import html
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ocr_resources.engines.base import ChartExtractor, LayoutDetector, TableStructureRecognizer, TextRecognizer
from ocr_resources.pipeline import containers, documents, render
from ocr_resources.pipeline.execution import image_size_class, stream_inference
from ocr_resources.pipeline.geometry import (
    assign_words,
    line_segments,
    reading_order,
    suppress_duplicates,
    words_to_text,
)
from ocr_resources.pipeline.page_store import PageStore
from ocr_resources.pipeline.rows import buffers
from ocr_resources.store import ResultStore
from ocr_resources.types import Box, TableCrop, TableStructure, Word

log = logging.getLogger(__name__)


@dataclass
class StageContext:
    container_id: str
    run_id: str
    producer_id: str
    store: ResultStore
    page_store: PageStore
    logger: logging.Logger = log
    max_in_flight: int = 32
    loader_threads: int = 2
    render_workers: int | None = None


@dataclass
class StageOutput:
    rows: dict[str, pa.Table]
    pages: int = 0
    seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    input_fingerprint: str = ""

    def count(self, table: str) -> int:
        return self.rows[table].num_rows if table in self.rows else 0


def _lineage(ctx: StageContext) -> dict[str, str]:
    return {"run_id": ctx.run_id, "producer_id": ctx.producer_id}


def _error(ctx: StageContext, stage: str, document_id: str | None, page_no: int | None, kind: str, message: str):
    ctx.logger.warning("%s: %s page %s: %s", stage, document_id, page_no, message)
    return {"container_id": ctx.container_id, "document_id": document_id, "page_no": page_no, "stage": stage,
            "error_type": kind, "message": message, **_lineage(ctx)}


def _fingerprint(values) -> str:
    import hashlib

    digest = hashlib.sha256()
    for v in values:
        digest.update(str(v).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


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


# -- 2. rendered pages ---------------------------------------------------------------------------------------
def rendered_pages(ctx: StageContext, dpi: int) -> StageOutput:
    started = time.perf_counter()
    docs = ctx.store.query(
        "SELECT document_id, source_path, page_count, sha256 FROM documents"
        " WHERE container_id = ? AND status = 'ok' ORDER BY document_id", [ctx.container_id])
    tasks = [t for d in docs for t in render.chunk_tasks(d["document_id"], Path(d["source_path"]), d["page_count"],
                                                         dpi, ctx.page_store.root)]
    out = buffers("pages", "words", "errors")
    for page in render.render_pages(tasks, workers=ctx.render_workers):
        if page.error:
            out["errors"].add(_error(ctx, "rendered_pages", page.document_id, page.page_no, "render", page.error))
            continue
        key = {"container_id": ctx.container_id, "document_id": page.document_id, "page_no": page.page_no}
        out["pages"].add({**key, "width_pt": page.width_pt, "height_pt": page.height_pt, "dpi": page.dpi,
                          "width_px": page.width_px, "height_px": page.height_px, "image_sha256": page.image_sha256,
                          "image_path": page.image_path, "has_text_layer": page.has_text_layer,
                          "text_layer_chars": page.text_layer_chars, **_lineage(ctx)})
        out["words"].extend([{**key, "word_no": i, "source": "text_layer", "text": w[0], "x0": w[1], "y0": w[2],
                              "x1": w[3], "y1": w[4], "confidence": 1.0, **_lineage(ctx)}
                             for i, w in enumerate(page.words)])
    rows = {k: b.to_table() for k, b in out.items()}
    pages = rows["pages"]
    digital = sum(1 for v in pages.column("has_text_layer").to_pylist() if v)
    return StageOutput(rows, pages=pages.num_rows, seconds=time.perf_counter() - started,
                       stats={"pages": pages.num_rows, "text_layer_pages": digital,
                              "image_only_pages": pages.num_rows - digital, "dpi": dpi},
                       input_fingerprint=_fingerprint(f"{d['document_id']}:{d['sha256']}:{dpi}" for d in docs))


def _pages(ctx: StageContext) -> list[dict[str, Any]]:
    return ctx.store.query(
        "SELECT document_id, page_no, image_path, image_sha256, dpi, width_pt, height_pt, has_text_layer"
        " FROM pages WHERE container_id = ? ORDER BY document_id, page_no", [ctx.container_id])


# -- 3. layout regions ---------------------------------------------------------------------------------------
def layout_regions(ctx: StageContext, detector: LayoutDetector) -> StageOutput:
    started = time.perf_counter()
    pages = _pages(ctx)
    out = buffers("regions", "errors")
    infer_seconds = 0.0

    def infer(images):
        nonlocal infer_seconds
        t0 = time.perf_counter()
        try:
            return detector.detect(images)
        finally:
            infer_seconds += time.perf_counter() - t0

    outcomes = stream_inference(pages, lambda p: ctx.page_store.open(p["image_path"]), infer, detector.batch_size,
                                ctx.max_in_flight, ctx.loader_threads, image_size_class)
    for o in outcomes:
        page = o.item
        if o.error is not None:
            out["errors"].add(_error(ctx, "layout_regions", page["document_id"], page["page_no"],
                                     type(o.error).__name__, str(o.error)))
            continue
        to_pt = 72.0 / page["dpi"]
        found = [o.result[i] for i in suppress_duplicates([r.box for r in o.result], [r.score for r in o.result])]
        boxes = [r.box.scaled(to_pt) for r in found]
        order = {idx: rank for rank, idx in enumerate(reading_order(boxes, page["width_pt"]))}
        for i, (region, box) in enumerate(zip(found, boxes, strict=True)):
            out["regions"].add({"container_id": ctx.container_id, "document_id": page["document_id"],
                                "page_no": page["page_no"], "region_no": i, "label": region.label,
                                "model_label": region.model_label, "score": region.score, "x0": box.x0,
                                "y0": box.y0, "x1": box.x1, "y1": box.y1, "reading_order": order[i], **_lineage(ctx)})
    rows = {k: b.to_table() for k, b in out.items()}
    labels = defaultdict(int)
    for label in rows["regions"].column("label").to_pylist():
        labels[label] += 1
    return StageOutput(rows, pages=len(pages), seconds=time.perf_counter() - started,
                       stats={"regions": rows["regions"].num_rows, "regions_by_label": dict(labels),
                              "inference_seconds": round(infer_seconds, 3)},
                       input_fingerprint=_fingerprint(p["image_sha256"] for p in pages))


def _regions(ctx: StageContext) -> dict[tuple[str, int], list[dict[str, Any]]]:
    by_page: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in ctx.store.query("SELECT * FROM regions WHERE container_id = ? ORDER BY document_id, page_no, region_no",
                             [ctx.container_id]):
        by_page[(r["document_id"], r["page_no"])].append(r)
    return by_page


def _words(ctx: StageContext, source: str) -> dict[tuple[str, int], list[Word]]:
    by_page: dict[tuple[str, int], list[Word]] = defaultdict(list)
    for w in ctx.store.query(
        "SELECT document_id, page_no, text, x0, y0, x1, y1, confidence FROM words"
        " WHERE container_id = ? AND source = ? ORDER BY document_id, page_no, word_no", [ctx.container_id, source]):
        by_page[(w["document_id"], w["page_no"])].append(
            Word(w["text"], Box(w["x0"], w["y0"], w["x1"], w["y1"]), w["confidence"]))
    return by_page


def _box(r: dict[str, Any]) -> Box:
    return Box(r["x0"], r["y0"], r["x1"], r["y1"])


# -- 4. OCR text ---------------------------------------------------------------------------------------------
def ocr_text(ctx: StageContext, recognizer: TextRecognizer) -> StageOutput:
    """Text per region: from the PDF text layer on digital pages, from OCR of the page image elsewhere.
    Words outside every region are kept as a row with region_no NULL, so no text is lost."""
    started = time.perf_counter()
    pages = _pages(ctx)
    regions = _regions(ctx)
    layer_words = _words(ctx, "text_layer")
    out = buffers("texts", "words", "errors")

    def emit(page: dict[str, Any], words: list[Word], source: str, confidence: float | None) -> None:
        key = (page["document_id"], page["page_no"])
        page_regions = regions.get(key, [])
        words = line_segments(words)
        owner = assign_words(words, [_box(r) for r in page_regions])
        grouped: dict[int | None, list[Word]] = defaultdict(list)
        for word, idx in zip(words, owner, strict=True):
            grouped[idx].append(word)
        base = {"container_id": ctx.container_id, "document_id": key[0], "page_no": key[1], **_lineage(ctx)}
        for idx, region in enumerate(page_regions):
            text = words_to_text(grouped.get(idx, []))
            if region["label"] in ("figure",) and not text:
                continue
            out["texts"].add({**base, "region_no": region["region_no"], "reading_order": region["reading_order"],
                              "label": region["label"], "text": text, "text_source": source,
                              "confidence": confidence})
        if grouped.get(None):
            out["texts"].add({**base, "region_no": None, "reading_order": len(page_regions), "label": "unassigned",
                              "text": words_to_text(grouped[None]), "text_source": source, "confidence": confidence})

    scanned = []
    for page in pages:
        if page["has_text_layer"]:
            emit(page, layer_words.get((page["document_id"], page["page_no"]), []), "text_layer", 1.0)
        else:
            scanned.append(page)
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
    outcomes = stream_inference(scanned, lambda p: ctx.page_store.open(p["image_path"]), infer,
                                recognizer.batch_size, ctx.max_in_flight, ctx.loader_threads, image_size_class)
    for o in outcomes:
        page = o.item
        if o.error is not None:
            out["errors"].add(_error(ctx, "ocr_text", page["document_id"], page["page_no"], type(o.error).__name__,
                                     str(o.error)))
            continue
        to_pt = 72.0 / page["dpi"]
        if o.result.words:
            words = [Word(w.text, w.box.scaled(to_pt), w.confidence) for w in o.result.words]
        else:  # engines without geometry (GOT-OCR2): the page's text as one block
            words = [Word(o.result.text, Box(0, 0, page["width_pt"], page["height_pt"]), o.result.confidence or 0.0)]
        base = {"container_id": ctx.container_id, "document_id": page["document_id"], "page_no": page["page_no"]}
        out["words"].extend([{**base, "word_no": i, "source": "ocr", "text": w.text, "x0": w.box.x0, "y0": w.box.y0,
                              "x1": w.box.x1, "y1": w.box.y1, "confidence": w.confidence, **_lineage(ctx)}
                             for i, w in enumerate(words)])
        emit(page, words, "ocr", o.result.confidence)
    rows = {k: b.to_table() for k, b in out.items()}
    chars = sum(len(t or "") for t in rows["texts"].column("text").to_pylist())
    return StageOutput(rows, pages=len(pages), seconds=time.perf_counter() - started,
                       stats={"text_rows": rows["texts"].num_rows, "characters": chars, "ocr_pages": len(scanned),
                              "text_layer_pages": len(pages) - len(scanned),
                              "inference_seconds": round(infer_seconds, 3)},
                       input_fingerprint=_fingerprint(p["image_sha256"] for p in pages))


# -- 5. tables -----------------------------------------------------------------------------------------------
def table_markdown(structure: TableStructure) -> str:
    grid = [[""] * structure.n_cols for _ in range(structure.n_rows)]
    for cell in structure.cells:
        grid[cell.row][cell.col] = cell.text.replace("|", "\\|").replace("\n", " ")
    if not grid:
        return ""
    lines = ["| " + " | ".join(grid[0]) + " |", "|" + "---|" * structure.n_cols]
    lines += ["| " + " | ".join(row) + " |" for row in grid[1:]]
    return "\n".join(lines)


def table_html(structure: TableStructure) -> str:
    rows: dict[int, list[str]] = defaultdict(list)
    for cell in sorted(structure.cells, key=lambda c: (c.row, c.col)):
        tag = "th" if cell.is_header else "td"
        span = (f' rowspan="{cell.row_span}"' if cell.row_span > 1 else "") + (
            f' colspan="{cell.col_span}"' if cell.col_span > 1 else "")
        rows[cell.row].append(f"<{tag}{span}>{html.escape(cell.text)}</{tag}>")
    body = "".join(f"<tr>{''.join(rows[r])}</tr>" for r in sorted(rows))
    return f"<table>{body}</table>"


def _crop_requests(ctx: StageContext, labels: tuple[str, ...]) -> list[dict[str, Any]]:
    return ctx.store.query(
        f"SELECT r.document_id, r.page_no, r.region_no, r.x0, r.y0, r.x1, r.y1, p.image_path, p.dpi, p.has_text_layer"
        f" FROM regions r JOIN pages p USING (container_id, document_id, page_no)"
        f" WHERE r.container_id = ? AND r.label IN ({', '.join('?' * len(labels))})"
        f" ORDER BY r.document_id, r.page_no, r.region_no", [ctx.container_id, *labels])


def _crop(ctx: StageContext, req: dict[str, Any], pad_pt: float = 4.0):
    image = ctx.page_store.open(req["image_path"])
    scale = req["dpi"] / 72.0
    box = (max(0, int((req["x0"] - pad_pt) * scale)), max(0, int((req["y0"] - pad_pt) * scale)),
           min(image.width, int((req["x1"] + pad_pt) * scale)), min(image.height, int((req["y1"] + pad_pt) * scale)))
    return image.crop(box), box


def tables(ctx: StageContext, recognizer: TableStructureRecognizer) -> StageOutput:
    started = time.perf_counter()
    requests = _crop_requests(ctx, ("table",))
    words = {"text_layer": _words(ctx, "text_layer"), "ocr": _words(ctx, "ocr")}
    out = buffers("tables", "table_cells", "errors")

    def load(req: dict[str, Any]) -> TableCrop:
        crop, (cx0, cy0, _, _) = _crop(ctx, req)
        scale = req["dpi"] / 72.0
        region = _box(req)
        source = "text_layer" if req["has_text_layer"] else "ocr"
        inside = [w for w in words[source].get((req["document_id"], req["page_no"]), [])
                  if region.contains_point(*w.box.center)]
        # words into the crop's pixel coordinates, where the engine works
        local = [Word(w.text, w.box.scaled(scale).shifted(-cx0, -cy0), w.confidence) for w in inside]
        return TableCrop(image=crop, words=local)

    for o in stream_inference(requests, load, recognizer.recognize, recognizer.batch_size, ctx.max_in_flight,
                              ctx.loader_threads, lambda crop: image_size_class(crop.image)):
        req = o.item
        if o.error is not None:
            out["errors"].add(_error(ctx, "tables", req["document_id"], req["page_no"], type(o.error).__name__,
                                     str(o.error)))
            continue
        structure: TableStructure = o.result
        key = {"container_id": ctx.container_id, "document_id": req["document_id"], "page_no": req["page_no"],
               "region_no": req["region_no"]}
        if not structure.cells:
            out["errors"].add(_error(ctx, "tables", req["document_id"], req["page_no"], "empty_table",
                                     f"no cells found in table region {req['region_no']}"))
            continue
        out["tables"].add({**key, "n_rows": structure.n_rows, "n_cols": structure.n_cols,
                           "html": table_html(structure), "markdown": table_markdown(structure), **_lineage(ctx)})
        out["table_cells"].extend([{**key, "row_no": c.row, "col_no": c.col, "row_span": c.row_span,
                                    "col_span": c.col_span, "is_header": c.is_header, "text": c.text,
                                    **_lineage(ctx)} for c in structure.cells])
    rows = {k: b.to_table() for k, b in out.items()}
    return StageOutput(rows, pages=len({(r["document_id"], r["page_no"]) for r in requests}),
                       seconds=time.perf_counter() - started,
                       stats={"table_regions": len(requests), "tables": rows["tables"].num_rows,
                              "cells": rows["table_cells"].num_rows},
                       input_fingerprint=_fingerprint((r["document_id"], r["page_no"], r["region_no"], r["x0"], r["y0"])
                                                      for r in requests))


# -- 6. charts -----------------------------------------------------------------------------------------------
def chart_data(ctx: StageContext, extractor: ChartExtractor | None) -> StageOutput:
    started = time.perf_counter()
    requests = _crop_requests(ctx, ("figure",))
    out = buffers("charts", "errors")
    if extractor is not None:
        for o in stream_inference(requests, lambda r: _crop(ctx, r)[0], extractor.extract, extractor.batch_size,
                                  ctx.max_in_flight, ctx.loader_threads, image_size_class):
            req = o.item
            if o.error is not None:
                out["errors"].add(_error(ctx, "chart_data", req["document_id"], req["page_no"],
                                         type(o.error).__name__, str(o.error)))
                continue
            chart = o.result
            out["charts"].add({"container_id": ctx.container_id, "document_id": req["document_id"],
                               "page_no": req["page_no"], "region_no": req["region_no"], "title": chart.title,
                               "columns": chart.columns, "data_rows": chart.rows, "raw": chart.raw, **_lineage(ctx)})
    rows = {k: b.to_table() for k, b in out.items()}
    return StageOutput(rows, pages=len({(r["document_id"], r["page_no"]) for r in requests}),
                       seconds=time.perf_counter() - started,
                       stats={"figure_regions": len(requests), "charts": rows["charts"].num_rows,
                              "chart_engine": "none" if extractor is None else extractor.identity.engine},
                       input_fingerprint=_fingerprint((r["document_id"], r["page_no"], r["region_no"]) for r in requests))


# -- 7. document markdown ------------------------------------------------------------------------------------
def document_markdown(ctx: StageContext, export_dir: Path) -> StageOutput:
    started = time.perf_counter()
    texts = ctx.store.query(
        "SELECT document_id, page_no, region_no, reading_order, label, text FROM texts WHERE container_id = ?"
        " ORDER BY document_id, page_no, reading_order, region_no NULLS LAST", [ctx.container_id])
    table_md = {(t["document_id"], t["page_no"], t["region_no"]): t["markdown"] for t in ctx.store.query(
        "SELECT document_id, page_no, region_no, markdown FROM tables WHERE container_id = ?", [ctx.container_id])}
    figures = ctx.store.query(
        "SELECT document_id, page_no, region_no, reading_order FROM regions WHERE container_id = ? AND label = 'figure'",
        [ctx.container_id])
    docs = [d["document_id"] for d in ctx.store.query(
        "SELECT document_id FROM documents WHERE container_id = ? AND status = 'ok' ORDER BY document_id",
        [ctx.container_id])]
    blocks: dict[str, list[tuple[int, int, int, str]]] = defaultdict(list)
    for t in texts:
        key = (t["document_id"], t["page_no"], t["region_no"])
        if t["label"] in ("header", "footer"):
            continue  # running heads and page numbers are not body text
        if key in table_md:
            body = table_md[key]
        elif t["label"] == "title":
            body = "## " + " ".join(t["text"].split())
        elif t["label"] == "caption":
            body = "*" + " ".join(t["text"].split()) + "*"
        else:
            body = " ".join(t["text"].split())  # re-flow lines into a paragraph
        if body:
            blocks[t["document_id"]].append((t["page_no"], t["reading_order"], t["region_no"] or 0, body))
    for f in figures:
        blocks[f["document_id"]].append((f["page_no"], f["reading_order"], f["region_no"], "<!-- image -->"))
    out = buffers("document_markdown", "errors")
    folder = export_dir / ctx.container_id
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id in docs:
        ordered = sorted(blocks.get(doc_id, []))
        markdown = "\n\n".join(b[3] for b in ordered) + "\n"
        path = folder / (doc_id.replace("/", "__").rsplit(".", 1)[0] + ".md")
        path.write_text(markdown, encoding="utf-8")
        out["document_markdown"].add({"container_id": ctx.container_id, "document_id": doc_id, "markdown": markdown,
                                      "export_path": str(path), **_lineage(ctx)})
    rows = {k: b.to_table() for k, b in out.items()}
    return StageOutput(rows, pages=0, seconds=time.perf_counter() - started,
                       stats={"documents": len(docs), "export_dir": str(folder)},
                       input_fingerprint=_fingerprint((t["document_id"], t["page_no"], t["region_no"], t["text"])
                                                      for t in texts))
