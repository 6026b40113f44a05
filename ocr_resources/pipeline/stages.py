"""One function per stage: read inputs from the store, run the engine, return rows for the store.

Each stage is Dagster-free (the assets in `ocr_assets` wrap them; the benchmark calls them directly).
A stage never holds a DuckDB connection while a model runs: it reads its inputs first, computes, and
hands back Arrow tables that the caller commits for the whole partition in one transaction."""

from __future__ import annotations

import hashlib
import html
import logging
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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
from ocr_resources.pipeline.rows import DEFAULT_SPILL_BYTES, RowBuffer, Rows, SpilledTable, buffers
from ocr_resources.store import Producer, ResultStore
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
    force: bool = False  # recompute every page even where this producer already has its result
    chunk_pages: int = 64  # pages whose inputs (regions, words) are read from DuckDB at a time
    spill_root: Path | None = None  # where large row sets go as Parquet; default: <data dir>/spill
    spill_bytes: int = DEFAULT_SPILL_BYTES
    checkpoint_pages: int = 64  # model stages save their progress this often; a crash costs less than this

    @property
    def spill_base(self) -> Path:
        return self.spill_root or self.page_store.root.parent / "spill"

    def buffers(self, stage: str, *tables: str) -> dict[str, RowBuffer]:
        folder = self.spill_base / f"{stage}-{self.container_id}-{self.run_id[:8]}-{os.getpid()}"
        return buffers(*tables, spill_dir=folder, spill_bytes=self.spill_bytes)


@dataclass
class StageOutput:
    rows: dict[str, Rows]
    pages: int = 0
    seconds: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    input_fingerprint: str = ""
    page_results: pa.Table | None = None  # pages computed now: document_id, page_no, input_hash, status
    live_pages: pa.Table | None = None  # every page of the input; set = incremental (resumable) replace
    cleanup_dirs: list[Path] = field(default_factory=list)  # checkpoints, useless once committed

    def discard(self, committed: bool = True) -> None:
        """Delete spilled Parquet files. Checkpoints go only once committed: after a failed commit the
        next run adopts them instead of recomputing their pages."""
        for rows in self.rows.values():
            if isinstance(rows, SpilledTable):
                if not committed:
                    rows.files = [f for f in rows.files if not any(d in f.parents for d in self.cleanup_dirs)]
                rows.discard()
        if committed:
            for folder in self.cleanup_dirs:
                shutil.rmtree(folder, ignore_errors=True)


def commit(ctx: StageContext, asset_key: str, output: StageOutput, producer: Producer,
           started_at: datetime | None = None) -> dict[str, int]:
    """Write a stage's output for the partition in one transaction (see ResultStore.replace_partition)."""
    return ctx.store.replace_partition(
        asset_key, ctx.container_id, output.rows, producer, ctx.run_id, output.input_fingerprint, output.pages,
        started_at, page_results=output.page_results, live_pages=output.live_pages)


def _lineage(ctx: StageContext) -> dict[str, str]:
    return {"run_id": ctx.run_id, "producer_id": ctx.producer_id}


def _error(ctx: StageContext, stage: str, document_id: str | None, page_no: int | None, kind: str, message: str):
    ctx.logger.warning("%s: %s page %s: %s", stage, document_id, page_no, message)
    return {"container_id": ctx.container_id, "document_id": document_id, "page_no": page_no, "stage": stage,
            "error_type": kind, "message": message, **_lineage(ctx)}


def _fingerprint(values) -> str:
    digest = hashlib.sha256()
    for v in values:
        digest.update(str(v).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def _input_hash(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


class PageLedger:
    """Resume bookkeeping for one stage and partition: which pages exist now, which this producer already
    computed from the same input (skipped), and which were computed in this run (and how they ended).
    Holds a few small tuples per page, never a page's content."""

    def __init__(self, ctx: StageContext, asset_key: str):
        self.done = {} if ctx.force else ctx.store.done_pages(ctx.container_id, asset_key, ctx.producer_id)
        self.live: list[tuple[str, int]] = []
        self.computed: dict[tuple[str, int], tuple[str, str]] = {}
        self.fresh: list[tuple[str, int]] = []  # computed by this run, in order (for checkpoints)
        self.restored: dict[tuple[str, int], tuple[str, str]] = {}  # from a crashed run's checkpoint
        self.resumed = 0
        self.skipped = 0
        self._digest = hashlib.sha256()

    def needed(self, document_id: str, page_no: int, input_hash: str) -> bool:
        """Register a live page; False when its stored result is current (the page is skipped)."""
        self.live.append((document_id, page_no))
        self._digest.update(f"{document_id}|{page_no}|{input_hash}\n".encode())
        restored = self.restored.get((document_id, page_no))
        if restored is not None and restored[0] == input_hash:  # its rows are in the checkpoint: commit them
            self.computed[(document_id, page_no)] = restored
            self.resumed += 1
            return False
        if self.done.get((document_id, page_no)) == input_hash:
            self.skipped += 1
            return False
        return True

    def record(self, document_id: str, page_no: int, input_hash: str, ok: bool) -> None:
        key = (document_id, page_no)
        if key in self.computed and self.computed[key][1] == "error":
            return  # one failed part (e.g. one table of the page) marks the whole page for a retry
        if key not in self.computed:
            self.fresh.append(key)
        self.computed[key] = (input_hash, "ok" if ok else "error")

    @property
    def fingerprint(self) -> str:
        return self._digest.hexdigest()[:16]

    def tables(self) -> tuple[pa.Table, pa.Table]:
        keys = list(self.computed)
        results = pa.table({
            "document_id": pa.array([k[0] for k in keys], pa.string()),
            "page_no": pa.array([k[1] for k in keys], pa.int32()),
            "input_hash": pa.array([self.computed[k][0] for k in keys], pa.string()),
            "status": pa.array([self.computed[k][1] for k in keys], pa.string())})
        live = pa.table({"document_id": pa.array([k[0] for k in self.live], pa.string()),
                         "page_no": pa.array([k[1] for k in self.live], pa.int32())})
        return results, live

    def stats(self) -> dict[str, int]:
        return {"pages_computed": len(self.computed) - self.resumed, "pages_skipped": self.skipped,
                "pages_from_checkpoint": self.resumed}


class Checkpoint:
    """Durable progress of one model stage on one partition, so that a crash costs only the pages computed
    since the last save, while the commit stays one transaction per partition.

    Every `ctx.checkpoint_pages` pages (or when the rows held pass `ctx.spill_bytes`) every buffer is written
    to `part-N.<table>.parquet` and then `part-N.manifest.parquet` lists the pages whose rows are complete in
    that part; a part without its manifest is incomplete and dropped. The folder is keyed by producer, so
    another model never reuses it; a rerun adopts the parts and skips their pages (when the page's input
    hash still matches), and the commit inserts them with the rest. `force` starts afresh."""

    def __init__(self, ctx: StageContext, asset_key: str, out: dict[str, RowBuffer], ledger: PageLedger):
        self.dir = ctx.spill_base / "checkpoints" / asset_key / ctx.container_id / ctx.producer_id
        self.out, self.ledger = out, ledger
        self.every, self.limit = max(1, ctx.checkpoint_pages), ctx.spill_bytes
        self.adopted: list[Path] = []
        self.since = 0
        self.saved = 0
        for buf in out.values():
            buf.spill_bytes = 1 << 62  # spills happen here, at page boundaries, never mid-page
        if ctx.force:
            shutil.rmtree(self.dir, ignore_errors=True)
        manifests = sorted(self.dir.glob("part-*.manifest.parquet")) if self.dir.is_dir() else []
        complete = {m.name.split(".")[0] for m in manifests}
        for f in self.dir.iterdir() if self.dir.is_dir() else []:
            if f.name.split(".")[0] not in complete:
                f.unlink()
        for m in manifests:
            for row in pq.read_table(m).to_pylist():
                ledger.restored[(row["document_id"], row["page_no"])] = (row["input_hash"], row["status"])
            for table, buf in out.items():
                part = self.dir / f"{m.name.split('.')[0]}.{table}.parquet"
                if part.exists():
                    buf.adopt(part)
                    self.adopted.append(part)
        self.part = 1 + max((int(m.name.split(".")[0].split("-")[1]) for m in manifests), default=0)
        if ledger.restored:
            ctx.logger.info("%s[%s]: resuming from a checkpoint of %d pages", asset_key, ctx.container_id,
                            len(ledger.restored))

    def page_done(self) -> None:
        self.since += 1
        held = sum(buf.held_bytes() for buf in self.out.values())
        if self.since >= self.every or held >= self.limit:
            self.save()

    def save(self) -> None:
        pages = self.ledger.fresh[self.saved :]
        if not pages:
            return
        name = f"part-{self.part:06d}"
        for table, buf in self.out.items():
            buf.spill_to(self.dir / f"{name}.{table}.parquet")
        manifest = pa.table({
            "document_id": pa.array([k[0] for k in pages], pa.string()),
            "page_no": pa.array([k[1] for k in pages], pa.int32()),
            "input_hash": pa.array([self.ledger.computed[k][0] for k in pages], pa.string()),
            "status": pa.array([self.ledger.computed[k][1] for k in pages], pa.string())})
        tmp = self.dir / f"{name}.manifest.tmp"
        pq.write_table(manifest, tmp)
        os.replace(tmp, self.dir / f"{name}.manifest.parquet")  # written last: the part is now complete
        self.saved += len(pages)
        self.part += 1
        self.since = 0

    def finish(self) -> list[Path]:
        """Drop adopted rows of pages that were not taken from the checkpoint after all (their input changed
        or they no longer exist); returns the folder to remove once the partition is committed. The rest is
        saved first, so a failed commit (a lock held too long) does not cost the model work either."""
        self.save()
        taken = {k for k, v in self.ledger.restored.items() if self.ledger.computed.get(k) == v}
        if len(taken) < len(self.ledger.restored):
            keys = pa.array([f"{d}\x00{p}" for d, p in taken], pa.string())
            for path in self.adopted:
                t = pq.read_table(path)
                key = pc.binary_join_element_wise(t["document_id"], pc.cast(t["page_no"], pa.string()), "\x00")
                pq.write_table(t.filter(pc.is_in(key, value_set=keys)), path)
        return [self.dir]


def _results(out: dict[str, RowBuffer]) -> dict[str, Rows]:
    return {k: b.result() for k, b in out.items()}


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
    """Render pages in worker processes as they stream back. On resume a page is rendered again only when
    its document's bytes changed (input hash = the PDF's sha256; the dpi is in the producer)."""
    started = time.perf_counter()
    docs = ctx.store.query(
        "SELECT document_id, source_path, page_count, sha256 FROM documents"
        " WHERE container_id = ? AND status = 'ok' ORDER BY document_id", [ctx.container_id])
    ledger = PageLedger(ctx, "rendered_pages")
    tasks = []
    for d in docs:
        todo = [n for n in range(1, d["page_count"] + 1) if ledger.needed(d["document_id"], n, d["sha256"])]
        tasks += render.chunk_tasks(d["document_id"], Path(d["source_path"]), d["page_count"], dpi,
                                    ctx.page_store.root, pages=todo)
    doc_hash = {d["document_id"]: d["sha256"] for d in docs}
    out = ctx.buffers("rendered_pages", "pages", "words", "errors")
    rendered = digital = 0
    for page in render.render_pages(tasks, workers=ctx.render_workers):
        ledger.record(page.document_id, page.page_no, doc_hash[page.document_id], page.error is None)
        if page.error:
            out["errors"].add(_error(ctx, "rendered_pages", page.document_id, page.page_no, "render", page.error))
            continue
        rendered += 1
        digital += bool(page.has_text_layer)
        key = {"container_id": ctx.container_id, "document_id": page.document_id, "page_no": page.page_no}
        out["pages"].add({**key, "width_pt": page.width_pt, "height_pt": page.height_pt, "dpi": page.dpi,
                          "width_px": page.width_px, "height_px": page.height_px, "image_sha256": page.image_sha256,
                          "image_path": page.image_path, "has_text_layer": page.has_text_layer,
                          "text_layer_chars": page.text_layer_chars, **_lineage(ctx)})
        out["words"].extend([{**key, "word_no": i, "source": "text_layer", "text": w[0], "x0": w[1], "y0": w[2],
                              "x1": w[3], "y1": w[4], "confidence": 1.0, **_lineage(ctx)}
                             for i, w in enumerate(page.words)])
    results, live = ledger.tables()
    return StageOutput(_results(out), pages=rendered, seconds=time.perf_counter() - started,
                       stats={"pages": rendered, "text_layer_pages": digital, "image_only_pages": rendered - digital,
                              "dpi": dpi, **ledger.stats()},
                       input_fingerprint=_fingerprint(f"{d['document_id']}:{d['sha256']}:{dpi}" for d in docs),
                       page_results=results, live_pages=live)


_PAGE_COLUMNS = "document_id, page_no, image_path, image_sha256, dpi, width_pt, height_pt, has_text_layer"


def _page_chunks(ctx: StageContext) -> Iterator[list[dict[str, Any]]]:
    """The partition's pages, a chunk of one document's pages at a time (keyset pagination), so a
    1,000-page document is never held at once."""
    doc_ids = [r["document_id"] for r in ctx.store.query(
        "SELECT DISTINCT document_id FROM pages WHERE container_id = ? ORDER BY document_id", [ctx.container_id])]
    for doc_id in doc_ids:
        last = 0
        while True:
            chunk = ctx.store.query(
                f"SELECT {_PAGE_COLUMNS} FROM pages WHERE container_id = ? AND document_id = ? AND page_no > ?"
                " ORDER BY page_no LIMIT ?", [ctx.container_id, doc_id, last, ctx.chunk_pages])
            if not chunk:
                break
            yield chunk
            last = chunk[-1]["page_no"]


def _by_page(ctx: StageContext, sql: str, order: str, document_id: str, first: int, last: int,
             params: list | None = None) -> dict[int, list[dict[str, Any]]]:
    """Rows of one page range of one document, grouped by page. `sql` selects from a table aliased `t`."""
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in ctx.store.query(
            f"{sql} AND t.container_id = ? AND t.document_id = ? AND t.page_no BETWEEN ? AND ? ORDER BY {order}",
            [*(params or []), ctx.container_id, document_id, first, last]):
        grouped[row["page_no"]].append(row)
    return grouped


_REGIONS_SQL = "SELECT * FROM regions t WHERE true"
_WORDS_SQL = "SELECT t.page_no, t.word_no, t.text, t.x0, t.y0, t.x1, t.y1, t.confidence FROM words t WHERE t.source = ?"


def _as_words(rows: list[dict[str, Any]]) -> list[Word]:
    return [Word(w["text"], Box(w["x0"], w["y0"], w["x1"], w["y1"]), w["confidence"]) for w in rows]


def _region_signature(regions: list[dict[str, Any]]) -> tuple:
    return tuple((r["region_no"], r["label"], r["reading_order"], round(r["x0"], 2), round(r["y0"], 2),
                  round(r["x1"], 2), round(r["y1"], 2)) for r in regions)


# -- 3. layout regions ---------------------------------------------------------------------------------------
def layout_regions(ctx: StageContext, detector: LayoutDetector) -> StageOutput:
    started = time.perf_counter()
    ledger = PageLedger(ctx, "layout_regions")
    out = ctx.buffers("layout_regions", "regions", "errors")
    checkpoint = Checkpoint(ctx, "layout_regions", out, ledger)
    infer_seconds = 0.0
    labels: dict[str, int] = defaultdict(int)

    def todo() -> Iterator[dict[str, Any]]:
        for chunk in _page_chunks(ctx):
            yield from (p for p in chunk if ledger.needed(p["document_id"], p["page_no"], p["image_sha256"]))

    def infer(images):
        nonlocal infer_seconds
        t0 = time.perf_counter()
        try:
            return detector.detect(images)
        finally:
            infer_seconds += time.perf_counter() - t0

    # Decoding and the engine's own preprocessing run on the loader threads, off the inference thread.
    outcomes = stream_inference(todo(), lambda p: detector.prepare(ctx.page_store.open(p["image_path"])), infer,
                                detector.batch_size, ctx.max_in_flight, ctx.loader_threads, image_size_class)
    for o in outcomes:
        page = o.item
        ledger.record(page["document_id"], page["page_no"], page["image_sha256"], o.error is None)
        if o.error is not None:
            out["errors"].add(_error(ctx, "layout_regions", page["document_id"], page["page_no"],
                                     type(o.error).__name__, str(o.error)))
        else:
            to_pt = 72.0 / page["dpi"]
            scores = [r.score for r in o.result]
            found = [o.result[i] for i in suppress_duplicates([r.box for r in o.result], scores)]
            boxes = [r.box.scaled(to_pt) for r in found]
            order = {idx: rank for rank, idx in enumerate(reading_order(boxes, page["width_pt"]))}
            for i, (region, box) in enumerate(zip(found, boxes, strict=True)):
                labels[region.label] += 1
                out["regions"].add({"container_id": ctx.container_id, "document_id": page["document_id"],
                                    "page_no": page["page_no"], "region_no": i, "label": region.label,
                                    "model_label": region.model_label, "score": region.score, "x0": box.x0,
                                    "y0": box.y0, "x1": box.x1, "y1": box.y1, "reading_order": order[i],
                                    **_lineage(ctx)})
        checkpoint.page_done()
    cleanup = checkpoint.finish()
    results, live = ledger.tables()
    return StageOutput(_results(out), pages=len(ledger.computed), seconds=time.perf_counter() - started,
                       stats={"regions": sum(labels.values()), "regions_by_label": dict(labels),
                              "inference_seconds": round(infer_seconds, 3), **ledger.stats()},
                       input_fingerprint=ledger.fingerprint, page_results=results, live_pages=live,
                       cleanup_dirs=cleanup)


def _box(r: dict[str, Any]) -> Box:
    return Box(r["x0"], r["y0"], r["x1"], r["y1"])


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


def _crop_chunks(ctx: StageContext, ledger: PageLedger, labels: tuple[str, ...],
                 with_words: bool) -> Iterator[dict[str, Any]]:
    """Crop requests (one per region with one of `labels`), read a chunk of pages at a time. A page's input
    hash covers its image, its regions of these labels and (for tables) the words they are filled with.
    Only pages that have such regions are live for the stage."""
    marks = ", ".join("?" * len(labels))
    for chunk in _page_chunks(ctx):
        doc, first, last = chunk[0]["document_id"], chunk[0]["page_no"], chunk[-1]["page_no"]
        regions = _by_page(ctx, f"SELECT * FROM regions t WHERE t.label IN ({marks})", "t.page_no, t.region_no",
                           doc, first, last, list(labels))
        if not regions:
            continue
        words: dict[str, dict[int, list[dict[str, Any]]]] = {}
        if with_words:
            for source in ("text_layer", "ocr"):
                words[source] = _by_page(ctx, _WORDS_SQL, "t.page_no, t.word_no", doc, first, last, [source])
        for page in chunk:
            page_regions = regions.get(page["page_no"])
            if not page_regions:
                continue
            source = "text_layer" if page["has_text_layer"] else "ocr"
            page_words = _as_words(words[source].get(page["page_no"], [])) if with_words else []
            digest = _input_hash(page["image_sha256"], _region_signature(page_regions),
                                 tuple((w.text, round(w.box.x0, 2), round(w.box.y0, 2)) for w in page_words))
            if not ledger.needed(doc, page["page_no"], digest):
                continue
            for region in page_regions:
                yield {**region, "image_path": page["image_path"], "dpi": page["dpi"], "_hash": digest,
                       "_words": page_words, "_parts": len(page_regions)}


def _crop(ctx: StageContext, req: dict[str, Any], pad_pt: float = 4.0):
    image = ctx.page_store.open(req["image_path"])
    scale = req["dpi"] / 72.0
    box = (max(0, int((req["x0"] - pad_pt) * scale)), max(0, int((req["y0"] - pad_pt) * scale)),
           min(image.width, int((req["x1"] + pad_pt) * scale)), min(image.height, int((req["y1"] + pad_pt) * scale)))
    return image.crop(box), box


class _PageParts:
    """Counts down a page's requests: the page is recorded in the ledger when its last one is back."""

    def __init__(self, ledger: PageLedger):
        self.ledger = ledger
        self.left: dict[tuple[str, int], int] = {}
        self.ok: dict[tuple[str, int], bool] = {}

    def finish(self, req: dict[str, Any], ok: bool) -> None:
        key = (req["document_id"], req["page_no"])
        self.left[key] = self.left.get(key, req["_parts"]) - 1
        self.ok[key] = self.ok.get(key, True) and ok
        if self.left[key] == 0:
            self.ledger.record(*key, req["_hash"], self.ok.pop(key))
            del self.left[key]


def tables(ctx: StageContext, recognizer: TableStructureRecognizer) -> StageOutput:
    started = time.perf_counter()
    ledger = PageLedger(ctx, "tables")
    parts = _PageParts(ledger)
    out = ctx.buffers("tables", "tables", "table_cells", "errors")
    requests = 0

    def load(req: dict[str, Any]) -> TableCrop:
        crop, (cx0, cy0, _, _) = _crop(ctx, req)
        scale = req["dpi"] / 72.0
        region = _box(req)
        inside = [w for w in req["_words"] if region.contains_point(*w.box.center)]
        # words into the crop's pixel coordinates, where the engine works
        local = [Word(w.text, w.box.scaled(scale).shifted(-cx0, -cy0), w.confidence) for w in inside]
        return TableCrop(image=crop, words=local)

    for o in stream_inference(_crop_chunks(ctx, ledger, ("table",), with_words=True), load, recognizer.recognize,
                              recognizer.batch_size, ctx.max_in_flight, ctx.loader_threads,
                              lambda crop: image_size_class(crop.image)):
        req = o.item
        requests += 1
        parts.finish(req, o.error is None)
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
    results, live = ledger.tables()
    return StageOutput(_results(out), pages=len(ledger.computed), seconds=time.perf_counter() - started,
                       stats={"table_regions": requests, "tables": len(out["tables"]),
                              "cells": len(out["table_cells"]), **ledger.stats()},
                       input_fingerprint=ledger.fingerprint, page_results=results, live_pages=live)


# -- 6. charts -----------------------------------------------------------------------------------------------
def chart_data(ctx: StageContext, extractor: ChartExtractor | None) -> StageOutput:
    started = time.perf_counter()
    out = ctx.buffers("chart_data", "charts", "errors")
    if extractor is None:  # nothing to compute: replace with nothing (no resume bookkeeping needed)
        return StageOutput(_results(out), seconds=time.perf_counter() - started,
                           stats={"figure_regions": 0, "charts": 0, "chart_engine": "none"})
    ledger = PageLedger(ctx, "chart_data")
    parts = _PageParts(ledger)
    requests = 0
    crops = _crop_chunks(ctx, ledger, ("figure",), with_words=False)
    for o in stream_inference(crops, lambda r: extractor.prepare(_crop(ctx, r)[0]), extractor.extract,
                              extractor.batch_size, ctx.max_in_flight, ctx.loader_threads, image_size_class):
        req = o.item
        requests += 1
        parts.finish(req, o.error is None)
        if o.error is not None:
            out["errors"].add(_error(ctx, "chart_data", req["document_id"], req["page_no"],
                                     type(o.error).__name__, str(o.error)))
            continue
        chart = o.result
        out["charts"].add({"container_id": ctx.container_id, "document_id": req["document_id"],
                           "page_no": req["page_no"], "region_no": req["region_no"], "title": chart.title,
                           "columns": chart.columns, "data_rows": chart.rows, "raw": chart.raw, **_lineage(ctx)})
    results, live = ledger.tables()
    return StageOutput(_results(out), pages=len(ledger.computed), seconds=time.perf_counter() - started,
                       stats={"figure_regions": requests, "charts": len(out["charts"]),
                              "chart_engine": extractor.identity.engine, **ledger.stats()},
                       input_fingerprint=ledger.fingerprint, page_results=results, live_pages=live)


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
        path = folder / (doc_id.replace("/", "__").rsplit(".", 1)[0] + ".md")
        path.write_text(markdown, encoding="utf-8")
        out["document_markdown"].add({"container_id": ctx.container_id, "document_id": doc_id, "markdown": markdown,
                                      "export_path": str(path), **_lineage(ctx)})
    return StageOutput(_results(out), pages=0, seconds=time.perf_counter() - started,
                       stats={"documents": len(docs), "export_dir": str(folder)},
                       input_fingerprint=digest.hexdigest()[:16])
