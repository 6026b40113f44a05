"""ResultStore: migrations, per-partition replace in one transaction, lock retry."""

from __future__ import annotations

import multiprocessing
import time
from types import SimpleNamespace

import duckdb
import pyarrow as pa
import pytest

from ocr_resources.pipeline.rows import SCHEMAS
from ocr_resources.pipeline.stages.base import _page_chunks
from ocr_resources.schema import SCHEMA_VERSION
from ocr_resources.store import Producer, ResultStore

PRODUCER = Producer("layout_regions", "rapid_layout", "m", "rev1", "1")


def _regions(container: str, n: int, run_id: str = "run-1") -> pa.Table:
    return pa.Table.from_pylist([
        {"container_id": container, "document_id": "d.pdf", "page_no": 1, "region_no": i, "label": "text",
         "model_label": "text", "score": 0.9, "x0": 0.0, "y0": 0.0, "x1": 1.0, "y1": 1.0, "reading_order": i,
         "run_id": run_id, "producer_id": PRODUCER.producer_id} for i in range(n)], schema=SCHEMAS["regions"])


def test_migrations_record_version(tmp_path):
    store = ResultStore(tmp_path / "r.duckdb")
    assert store.migrate() == SCHEMA_VERSION
    versions = [r["version"] for r in store.query("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert ResultStore(tmp_path / "r.duckdb").migrate() == SCHEMA_VERSION  # idempotent on reopen


def test_failed_migration_keeps_those_before_it(tmp_path, monkeypatch):
    # All of a file store's migrations run on one connection, but each is still its own transaction: one that
    # fails leaves the schema at the version before it, and the next migrate goes on from there.
    import ocr_resources.store as store_module

    broken = [m if m[0] != 3 else (3, m[1], "CREATE TABLE broken (") for m in store_module.MIGRATIONS]
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    with pytest.raises(duckdb.Error):
        ResultStore(tmp_path / "r.duckdb").migrate()
    with duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True) as con:
        assert con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 2
    monkeypatch.undo()
    store = ResultStore(tmp_path / "r.duckdb")
    assert store.migrate() == SCHEMA_VERSION
    versions = [r["version"] for r in store.query("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_failed_write_leaves_previous_rows(tmp_path):
    store = ResultStore(tmp_path / "r.duckdb")
    store.replace_partition("layout_regions", "a", {"regions": _regions("a", 3)}, PRODUCER, "run-1")
    dup = pa.concat_tables([_regions("a", 2, "run-2"), _regions("a", 2, "run-2")])  # violates the primary key
    with pytest.raises(duckdb.Error):
        store.replace_partition("layout_regions", "a", {"regions": dup}, PRODUCER, "run-2")
    rows = store.query("SELECT count(*) AS n, any_value(run_id) AS run FROM regions")
    assert rows == [{"n": 3, "run": "run-1"}]


def test_asset_cannot_write_tables_it_does_not_own(tmp_path):
    store = ResultStore(tmp_path / "r.duckdb")
    with pytest.raises(ValueError, match="does not own"):
        store.replace_partition("layout_regions", "a", {"texts": pa.table({})}, PRODUCER, "run-1")


def _hold_lock(path: str, seconds: float, ready) -> None:
    con = duckdb.connect(path)
    ready.set()
    time.sleep(seconds)
    con.close()


def test_write_waits_for_another_process_holding_the_file(tmp_path):
    path = tmp_path / "r.duckdb"
    store = ResultStore(path, lock_timeout_s=30)
    store.migrate()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(path), 1.5, ready))
    holder.start()
    assert ready.wait(30)
    started = time.monotonic()
    store.replace_partition("layout_regions", "a", {"regions": _regions("a", 1)}, PRODUCER, "run-1")
    holder.join()
    assert time.monotonic() - started >= 0.5  # it waited instead of failing
    assert store.query("SELECT count(*) AS n FROM regions")[0]["n"] == 1


def test_lock_wait_gives_up_after_timeout(tmp_path):
    path = tmp_path / "r.duckdb"
    ResultStore(path).migrate()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(path), 4, ready))
    holder.start()
    assert ready.wait(30)
    try:
        with pytest.raises(duckdb.Error):
            ResultStore(path, lock_timeout_s=0.5).record_model_loads([object()])
    finally:
        holder.join()


def test_page_chunks_split_by_document_and_read_inputs_on_the_chunks_connection(tmp_path, monkeypatch):
    """A container of many small documents is read `chunk_pages` pages at a time across documents, each
    yielded chunk holds one document's pages, and a chunk's inputs are read on the connection that read it."""
    store = ResultStore(tmp_path / "r.duckdb")
    store.migrate()
    pages = [("c", "a.pdf", 1), ("c", "b.pdf", 1), ("c", "b.pdf", 2), ("c", "b.pdf", 3), ("c", "c.pdf", 1),
             ("c", "c.pdf", 2), ("other", "a.pdf", 2)]
    store.transaction(lambda con: con.executemany(
        "INSERT INTO pages (container_id, document_id, page_no, run_id, producer_id) VALUES (?, ?, ?, 'r', 'p')",
        [list(p) for p in pages]))
    opened = []
    real_connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: opened.append(a) or real_connect(*a, **k))

    def load(read, pages):
        return read("SELECT count(*) AS n FROM pages WHERE document_id = ? AND page_no BETWEEN ? AND ?",
                    [pages[0]["document_id"], pages[0]["page_no"], pages[-1]["page_no"]])[0]["n"]

    ctx = SimpleNamespace(store=store, container_id="c", chunk_pages=2)
    got = [([(p["document_id"], p["page_no"]) for p in chunk], n) for chunk, n in _page_chunks(ctx, load)]
    assert got == [([("a.pdf", 1)], 1), ([("b.pdf", 1)], 1), ([("b.pdf", 2), ("b.pdf", 3)], 2),
                   ([("c.pdf", 1), ("c.pdf", 2)], 2)]
    assert len(opened) == 4  # three full chunks and the empty read that ends them; loads add none


def test_every_stored_column_is_in_its_row_schema(tmp_path):
    # a column a migration adds but the stage's row schema lacks is dropped on write (NULL in every row)
    store = ResultStore(tmp_path / "r.duckdb")
    store.migrate()
    for table, schema in SCHEMAS.items():
        columns = {r["column_name"] for r in store.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])}
        assert columns == set(schema.names), table
