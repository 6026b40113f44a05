"""What every stage shares: its context, its output, the commit, and readers of a partition's pages and
regions from the store (a chunk of pages at a time)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
from PIL import Image

from ocr_resources.pipeline.containers import check_key
from ocr_resources.pipeline.page_store import PageStore
from ocr_resources.pipeline.paths import inside
from ocr_resources.pipeline.rows import DEFAULT_SPILL_BYTES, RowBuffer, Rows, SpilledTable, buffers
from ocr_resources.pipeline.workers import Limits
from ocr_resources.store import Producer, Reader, ResultStore
from ocr_resources.types import Box, Word

if TYPE_CHECKING:
    from ocr_resources.pipeline.resume import PageLedger

log = logging.getLogger(__name__)


class PageImages:
    """The last `keep` page images a stage decoded, shared by its loader threads: the regions of a page (its
    requests come one after another) are cropped from one decode of the page, not one decode per region. A
    page wanted by two threads at once is decoded by the first; the second waits for it."""

    def __init__(self, page_store: PageStore, keep: int = 3):
        self.page_store, self.keep = page_store, max(1, keep)
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, Future] = OrderedDict()

    def open(self, rel: str) -> Image.Image:
        with self.lock:
            found = self.entries.get(rel)
            mine = found is None
            if found is None:
                found = self.entries[rel] = Future()
                while len(self.entries) > self.keep:
                    self.entries.popitem(last=False)
            else:
                self.entries.move_to_end(rel)
        if mine:
            try:
                found.set_result(self.page_store.open(rel))
            except BaseException as exc:
                found.set_exception(exc)
                with self.lock:
                    if self.entries.get(rel) is found:
                        del self.entries[rel]
        return found.result()


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
    limits: Limits = field(default_factory=Limits)  # per worker process that opens or renders a PDF
    page_images: PageImages = field(init=False, repr=False)  # the last few pages decoded, for crops

    def __post_init__(self) -> None:
        check_key(self.container_id)  # folders are named after it: never `../x` or `/abs`
        self.page_images = PageImages(self.page_store, keep=self.loader_threads + 1)

    @property
    def spill_base(self) -> Path:
        return self.spill_root or self.page_store.root.parent / "spill"

    def buffers(self, stage: str, *tables: str) -> dict[str, RowBuffer]:
        base = self.spill_base
        folder = inside(base, base / f"{stage}-{self.container_id}-{self.run_id[:8]}-{os.getpid()}")
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
    """Write a stage's output for the partition in one transaction (see ResultStore.replace_partition), then
    discard its spilled files, committed or not; checkpoints stay for the next run if the commit failed."""
    committed = False
    try:
        counts = ctx.store.replace_partition(
            asset_key, ctx.container_id, output.rows, producer, ctx.run_id, output.input_fingerprint, output.pages,
            started_at, page_results=output.page_results, live_pages=output.live_pages)
        committed = True
        return counts
    finally:
        output.discard(committed)


def _lineage(ctx: StageContext) -> dict[str, str]:
    return {"run_id": ctx.run_id, "producer_id": ctx.producer_id}


def _error(ctx: StageContext, stage: str, document_id: str | None, page_no: int | None, kind: str, message: str,
           severity: str = "error"):
    ctx.logger.warning("%s: %s page %s: %s", stage, document_id, page_no, message)
    return {"container_id": ctx.container_id, "document_id": document_id, "page_no": page_no, "stage": stage,
            "error_type": kind, "message": message, "severity": severity, **_lineage(ctx)}


def _fingerprint(values) -> str:
    digest = hashlib.sha256()
    for v in values:
        digest.update(str(v).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def _input_hash(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]



def _results(out: dict[str, RowBuffer]) -> dict[str, Rows]:
    return {k: b.result() for k, b in out.items()}



_PAGE_COLUMNS = ("document_id, page_no, image_path, image_sha256, dpi, width_pt, height_pt, has_text_layer,"
                 " text_layer_chars, source_dpi, drawn_areas, deskew_degrees")


T = TypeVar("T")


def _page_chunks(ctx: StageContext, load: Callable[[Reader, list[dict[str, Any]]], T]
                 ) -> Iterator[tuple[list[dict[str, Any]], T]]:
    """The partition's pages as (one document's pages, their inputs): `chunk_pages` pages are read at a time
    in (document, page) order (keyset pagination), so a 1,000-page document is never held at once, and
    `load(read, pages)` reads each document's inputs for them on the same connection: a container of many
    one-page scans costs a connection per chunk, not several per page."""
    after: tuple[str, int] = ("", 0)
    while True:
        with ctx.store.reading() as read:
            rows = read(
                f"SELECT {_PAGE_COLUMNS} FROM pages WHERE container_id = ? AND (document_id > ? OR"
                " (document_id = ? AND page_no > ?)) ORDER BY document_id, page_no LIMIT ?",
                [ctx.container_id, after[0], after[0], after[1], ctx.chunk_pages])
            chunks = [list(pages) for _, pages in groupby(rows, key=lambda r: r["document_id"])]
            loaded = [load(read, pages) for pages in chunks]
        yield from zip(chunks, loaded, strict=True)
        if len(rows) < ctx.chunk_pages:  # the last chunk: no empty read to find that out
            return
        after = (rows[-1]["document_id"], rows[-1]["page_no"])


def _by_page(ctx: StageContext, read: Reader, sql: str, order: str, pages: list[dict[str, Any]],
             params: list | None = None) -> dict[int, list[dict[str, Any]]]:
    """Rows of one document's pages (a chunk from `_page_chunks`), grouped by page. `sql` selects from a table
    aliased `t`."""
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in read(
            f"{sql} AND t.container_id = ? AND t.document_id = ? AND t.page_no BETWEEN ? AND ? ORDER BY {order}",
            [*(params or []), ctx.container_id, pages[0]["document_id"], pages[0]["page_no"], pages[-1]["page_no"]]):
        grouped[row["page_no"]].append(row)
    return grouped


_REGIONS_SQL = "SELECT * FROM regions t WHERE true"
_RULES_SQL = "SELECT t.page_no, t.rule_no, t.x0, t.y0, t.x1, t.y1, t.kind FROM page_rules t WHERE true"
_TABLE_EXTENTS_SQL = ("SELECT t.page_no, t.region_no, t.x0, t.y0, t.x1, t.y1 FROM texts t"
                      " WHERE t.label = 'table' AND t.region_no IS NOT NULL")
_WORDS_SQL = ("SELECT t.page_no, t.word_no, t.text, t.x0, t.y0, t.x1, t.y1, t.confidence, t.angle, t.mono FROM words t"
              " WHERE t.source IN (?, ?)")
TEXT_LAYER, DRAWING = "text_layer", "drawing"  # words.source: the PDF's text layer; a bullet drawn as a graphic
BULLET = "\u2022"  # the text of a bullet drawn as a picture or a path (`text.drawn.drawn_bullets`)


def word_sources(source: str) -> list[str]:
    """The words.source values a stage reads as `source`'s words (`_WORDS_SQL`'s two parameters): the text layer's
    words with the bullets drawn beside them, which belong to its lines."""
    return [source, DRAWING] if source == TEXT_LAYER else [source, source]


def _as_words(rows: list[dict[str, Any]]) -> list[Word]:
    # (fixed pitch: a "table" of typewriter words is a program's printed output, not a table)
    return [Word(w["text"], Box(w["x0"], w["y0"], w["x1"], w["y1"]), w["confidence"], angle=w["angle"] or 0,
                 mono=bool(w["mono"])) for w in rows]


def _region_signature(regions: list[dict[str, Any]]) -> tuple:
    return tuple((r["region_no"], r["label"], r["reading_order"], round(r["x0"], 2), round(r["y0"], 2),
                  round(r["x1"], 2), round(r["y1"], 2)) for r in regions)



def _box(r: dict[str, Any]) -> Box:
    return Box(r["x0"], r["y0"], r["x1"], r["y1"])


def _crop_chunks(ctx: StageContext, ledger: PageLedger, labels: tuple[str, ...],
                 with_words: bool, with_rules: bool = False,
                 keep: Callable[[dict[str, Any], dict[str, Any], list[Word], list[tuple]], bool] | None = None,
                 scanned_labels: tuple[str, ...] = (), with_extents: bool = False) -> Iterator[dict[str, Any]]:
    """Crop requests (one per region with one of `labels`, or of `scanned_labels` on a page without a text
    layer), read a chunk of pages at a time. A page's input hash covers its image, its regions of these
    labels and (for tables) the words they are filled with, the page's ruling lines and each table's extent
    as the text stage read it (`with_extents`: `_extent`, the box of the region's `table` row in `texts`, or
    None). Only pages that have such regions are live for the stage. `keep(region, page, words, rules)`: which
    of those regions to crop (all when None)."""
    wanted = (*labels, *scanned_labels)
    marks = ", ".join("?" * len(wanted))

    def load(read: Reader, pages: list[dict[str, Any]]) -> tuple[dict, dict, dict]:
        regions = _by_page(ctx, read, f"SELECT * FROM regions t WHERE t.label IN ({marks})",
                           "t.page_no, t.region_no", pages, list(wanted))
        if scanned_labels:  # (the words are read only for pages left with regions)
            scans = {p["page_no"] for p in pages if not p["has_text_layer"]}
            regions = {no: kept for no, rows in regions.items()
                       if (kept := [r for r in rows if r["label"] in labels or no in scans])}
        if not regions:
            return regions, {}, {}, {}
        words = {source: _by_page(ctx, read, _WORDS_SQL, "t.page_no, t.word_no", pages, word_sources(source))
                 for source in (TEXT_LAYER, "ocr")} if with_words else {}
        rules = _by_page(ctx, read, _RULES_SQL, "t.page_no, t.rule_no", pages) if with_rules else {}
        extents = _by_page(ctx, read, _TABLE_EXTENTS_SQL, "t.page_no, t.region_no", pages) if with_extents else {}
        return regions, words, rules, extents

    for chunk, (regions, words, rules, extents) in _page_chunks(ctx, load):
        doc = chunk[0]["document_id"]
        for page in chunk:
            page_regions = regions.get(page["page_no"])
            if not page_regions:
                continue
            source = "text_layer" if page["has_text_layer"] else "ocr"
            page_words = _as_words(words[source].get(page["page_no"], [])) if with_words else []
            page_rules = [(r["x0"], r["y0"], r["x1"], r["y1"], r["kind"]) for r in rules.get(page["page_no"], [])]
            if keep is not None:
                page_regions = [r for r in page_regions if keep(r, page, page_words, page_rules)]
                if not page_regions:
                    continue
            page_extents = {e["region_no"]: (e["x0"], e["y0"], e["x1"], e["y1"])
                            for e in extents.get(page["page_no"], [])}
            digest = _input_hash(page["image_sha256"], _region_signature(page_regions),
                                 tuple((w.text, round(w.box.x0, 2), round(w.box.y0, 2)) for w in page_words),
                                 *([tuple((round(r[0], 2), round(r[1], 2), r[4]) for r in page_rules)]
                                   if with_rules else []),
                                 *([tuple((k, *(round(v, 2) for v in e)) for k, e in sorted(page_extents.items()))]
                                   if with_extents else []))
            if not ledger.needed(doc, page["page_no"], digest):
                continue
            for region in page_regions:
                yield {**region, "image_path": page["image_path"], "dpi": page["dpi"], "_hash": digest,
                       "_text_layer": bool(page["has_text_layer"]), "_extent": page_extents.get(region["region_no"]),
                       "_words": page_words, "_rules": page_rules, "_parts": len(page_regions)}


def _crop(ctx: StageContext, req: dict[str, Any], pad_pt: float = 4.0):
    image = ctx.page_images.open(req["image_path"])
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


class TimedCall:
    """A model call that adds up the seconds spent inside it (the stage's `inference_seconds`)."""

    def __init__(self, fn: Callable[[list], list]):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, items: list) -> list:
        t0 = time.perf_counter()
        try:
            return self.fn(items)
        finally:
            self.seconds += time.perf_counter() - t0
