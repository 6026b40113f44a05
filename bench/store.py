"""Store write throughput: the DuckDB file against a DuckLake (SQLite catalog; PostgreSQL where a local server
starts), with the pipeline's own commit (`ResultStore.replace_partition` of `rendered_pages`: pages and
text-layer words), one writer and four writer processes at once.

Per store: rows/s and partitions/s, and the seconds one partition's commit takes (median and 90th percentile),
for one writer (each partition new, then each replaced: a rerun deletes the old rows) and for four processes
writing different partitions at once (on the file they wait for its lock in turn; on a lake they commit in
parallel and redo a commit that conflicts). A bench, not a test: nothing is asserted.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from ocr_resources import lake
from ocr_resources.pipeline.rows import SCHEMAS
from ocr_resources.store import Producer, ResultStore

PRODUCER = Producer("rendered_pages", "pypdfium2", "", "", "bench")
WRITERS = 4


def partition_rows(container: str, pages: int, words_per_page: int, run_id: str) -> dict[str, pa.Table]:
    """What rendered_pages commits for a container of one document: its pages and their text-layer words."""
    lineage = {"run_id": run_id, "producer_id": PRODUCER.producer_id}
    page_rows = [{"container_id": container, "document_id": "doc.pdf", "page_no": p, "width_pt": 595.0,
                  "height_pt": 842.0, "dpi": 144, "width_px": 1190, "height_px": 1684, "image_sha256": f"{p:064x}",
                  "image_path": f"ab/{p:064x}.png", "has_text_layer": True, "text_layer_chars": 6 * words_per_page,
                  **lineage} for p in range(1, pages + 1)]
    n = pages * words_per_page
    words = pa.table({
        "container_id": pa.array([container] * n), "document_id": pa.array(["doc.pdf"] * n),
        "page_no": pa.array([1 + i // words_per_page for i in range(n)], pa.int32()),
        "word_no": pa.array([i % words_per_page for i in range(n)], pa.int32()),
        "source": pa.array(["text_layer"] * n), "text": pa.array([f"word{i % 997}" for i in range(n)]),
        "x0": pa.array([float(i % 80) * 7 for i in range(n)]), "y0": pa.array([float(i % 60) * 13 for i in range(n)]),
        "x1": pa.array([float(i % 80) * 7 + 6 for i in range(n)]),
        "y1": pa.array([float(i % 60) * 13 + 10 for i in range(n)]),
        "confidence": pa.array([1.0] * n), "font_size": pa.array([10.0] * n), "bold": pa.array([False] * n),
        "hidden": pa.array([False] * n), "run_id": pa.array([run_id] * n),
        "producer_id": pa.array([PRODUCER.producer_id] * n),
    }).cast(SCHEMAS["words"])
    return {"pages": pa.Table.from_pylist(page_rows, schema=SCHEMAS["pages"]), "words": words}


def _commit(store: ResultStore, container: str, rows: dict[str, pa.Table], run_id: str) -> float:
    started = time.perf_counter()
    store.replace_partition("rendered_pages", container, rows, PRODUCER, run_id)
    return time.perf_counter() - started


def _writer(address: str, data_path: str, containers: list[str], pages: int, words: int, start, result) -> None:
    """New partitions, then the same ones replaced; per phase: commit seconds, wall-clock span, waits."""
    store = ResultStore(address, lock_timeout_s=600, lake_data_path=data_path or None)
    store.migrate()
    out = {}
    for phase in ("new", "replace"):
        batches = [(c, partition_rows(c, pages, words, f"run-{phase}-{c}")) for c in containers]
        start.wait(300)  # the four writers begin each phase together
        waits, began = store.retries, time.time()
        seconds = [_commit(store, c, rows, f"run-{phase}-{c}") for c, rows in batches]
        out[phase] = (seconds, began, time.time(), store.retries - waits)
    result.put(out)


def _figures(seconds: list[float], wall: float, rows_per_partition: int) -> dict[str, Any]:
    ordered = sorted(seconds)
    return {"partitions": len(seconds), "rows": len(seconds) * rows_per_partition, "wall_s": round(wall, 3),
            "rows_s": round(len(seconds) * rows_per_partition / wall), "partitions_s": round(len(seconds) / wall, 2),
            "commit_s_median": round(statistics.median(ordered), 4),
            "commit_s_p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 4)}


def measure(address: str, data_path: str, partitions: int, pages: int, words: int) -> dict[str, Any]:
    """One store: a single writer (new partitions, then the same ones replaced), then four processes at once."""
    rows_per_partition = pages + pages * words
    store = ResultStore(address, lock_timeout_s=600, lake_data_path=data_path or None)
    store.migrate()
    out: dict[str, Any] = {}
    for phase in ("new", "replace"):
        batches = [(f"s{i}", partition_rows(f"s{i}", pages, words, f"run-{phase}")) for i in range(partitions)]
        started = time.perf_counter()
        seconds = [_commit(store, c, rows, f"run-{phase}") for c, rows in batches]
        out[f"one_writer_{phase}"] = _figures(seconds, time.perf_counter() - started, rows_per_partition)
    ctx = multiprocessing.get_context("spawn")
    result, start = ctx.Queue(), ctx.Barrier(WRITERS)
    share = [[f"p{w}-{i}" for i in range(max(1, partitions // WRITERS))] for w in range(WRITERS)]
    procs = [ctx.Process(target=_writer, args=(address, data_path, share[w], pages, words, start, result))
             for w in range(WRITERS)]
    for p in procs:
        p.start()
    collected = [result.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(60)
    for phase in ("new", "replace"):
        got = [c[phase] for c in collected]
        wall = max(g[2] for g in got) - min(g[1] for g in got)
        out[f"{WRITERS}_writers_{phase}"] = {**_figures([s for g in got for s in g[0]], wall, rows_per_partition),
                                            "waits": sum(g[3] for g in got)}
    lake.close_all()
    return out


@contextlib.contextmanager
def _postgres() -> Iterator[str | None]:
    """A libpq string of a throwaway local PostgreSQL, or None where none starts."""
    try:
        from tests.local_postgres import local_postgres

        server = local_postgres(("lake",))
        pg = server.__enter__()
    except Exception:  # noqa: BLE001 - no server binaries, or it would not start: the bench says so
        yield None
        return
    try:
        yield pg.dsn("lake")
    finally:
        lake.close_all()
        server.__exit__(None, None, None)


def store_bench(root: Path, sizes: dict[str, Any], out: dict[str, Any], log) -> None:
    partitions, pages, words = sizes["store_partitions"], sizes["store_pages"], sizes["store_words_per_page"]
    result: dict[str, Any] = {"rows_per_partition": pages + pages * words, "pages_per_partition": pages,
                              "words_per_page": words, "writers": WRITERS}
    targets = {"file": (str(root / "store-file" / "ocr.duckdb"), ""),
               "lake_sqlite": (f"ducklake:sqlite:{root / 'store-lake' / 'catalog.sqlite'}",
                               str(root / "store-lake" / "files"))}
    for name, (address, data_path) in targets.items():
        log(f"store: {name}, {partitions} partitions of {result['rows_per_partition']} rows")
        result[name] = measure(address, data_path, partitions, pages, words)
    with _postgres() as dsn:
        if dsn is None:
            result["lake_postgres"] = {"skipped": "no local PostgreSQL server (make system-deps)"}
        else:
            log(f"store: lake_postgres, {partitions} partitions")
            result["lake_postgres"] = measure(f"ducklake:postgres:{dsn}", str(root / "store-pg" / "files"),
                                              partitions, pages, words)
    out["store"] = result


def table_rows(out: dict[str, Any]) -> list[tuple[str, str, str, None]]:
    rows = []
    for name in ("file", "lake_sqlite", "lake_postgres"):
        got = out.get("store", {}).get(name)
        if not got or "skipped" in got:
            rows.append((f"store {name}", (got or {}).get("skipped", "n/a"), "", None))
            continue
        for phase in ("one_writer_new", "one_writer_replace", f"{WRITERS}_writers_new", f"{WRITERS}_writers_replace"):
            f = got[phase]
            extra = f", {f['waits']} waits" if "waits" in f else ""
            rows.append((f"store {name}: {phase} rows/s, partitions/s, commit s (median / p90)",
                         f"{f['rows_s']}, {f['partitions_s']}, {f['commit_s_median']} / {f['commit_s_p90']}{extra}",
                         "", None))
    return rows
