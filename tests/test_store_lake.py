"""The store on a DuckLake (SQLite catalog, Parquet files in a temporary folder): the same API and guarantees
as the DuckDB file (migrations, per-partition replace in one transaction, a failure leaves the old rows),
concurrent writers in separate processes all committing with retries, and readers attaching the lake with
plain SQL from a fresh connection."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from ocr_resources import lake
from ocr_resources.pipeline.rows import SCHEMAS
from ocr_resources.resources import PipelineStorage
from ocr_resources.schema import MIGRATIONS, SCHEMA_VERSION, for_lake
from ocr_resources.store import Producer, ResultStore

ROOT = Path(__file__).resolve().parents[1]
PRODUCER = Producer("layout_regions", "rapid_layout", "m", "rev1", "1")


def _regions(container: str, n: int, run_id: str = "run-1", document: str = "d.pdf") -> pa.Table:
    return pa.Table.from_pylist([
        {"container_id": container, "document_id": document, "page_no": 1, "region_no": i, "label": "text",
         "model_label": "text", "score": 0.9, "x0": 0.0, "y0": 0.0, "x1": 1.0, "y1": 1.0, "reading_order": i,
         "run_id": run_id, "producer_id": PRODUCER.producer_id} for i in range(n)], schema=SCHEMAS["regions"])


def _lake_address(root) -> str:
    return f"ducklake:sqlite:{root / 'catalog.sqlite'}"


@pytest.fixture(params=["file", "lake"])
def store(request, tmp_path) -> ResultStore:
    if request.param == "file":
        return ResultStore(tmp_path / "r.duckdb")
    return ResultStore(_lake_address(tmp_path), lake_data_path=tmp_path / "files")


def test_lake_schema_is_the_file_schema_without_keys(tmp_path):
    for _, _, sql in MIGRATIONS:
        assert "PRIMARY KEY" not in for_lake(sql).upper() and "UNIQUE" not in for_lake(sql).upper()
    file_store = ResultStore(tmp_path / "r.duckdb")
    lake_store = ResultStore(_lake_address(tmp_path), lake_data_path=tmp_path / "files")
    assert file_store.migrate() == lake_store.migrate() == SCHEMA_VERSION
    assert ResultStore(_lake_address(tmp_path)).migrate() == SCHEMA_VERSION  # idempotent on reopen

    def columns(store: ResultStore) -> list[tuple]:
        return [tuple(r.values()) for r in store.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_catalog = current_database() ORDER BY ALL")]

    def tables(store: ResultStore) -> list[tuple]:
        return [tuple(r.values()) for r in store.query(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_catalog = current_database()"
            " ORDER BY ALL")]

    assert columns(lake_store) == columns(file_store)  # views included: the catalog stores them
    assert tables(lake_store) == tables(file_store)
    assert lake_store.snapshot_path is None  # the snapshot is the file store's


def test_replace_partition_replaces_only_that_partition(store):
    store.replace_partition("layout_regions", "a", {"regions": _regions("a", 3)}, PRODUCER, "run-1")
    store.replace_partition("layout_regions", "b", {"regions": _regions("b", 2)}, PRODUCER, "run-1")
    store.replace_partition("layout_regions", "a", {"regions": _regions("a", 4, "run-2")}, PRODUCER, "run-2")
    rows = store.query(
        "SELECT container_id, count(*) AS n, any_value(run_id) AS run FROM regions GROUP BY 1 ORDER BY 1")
    assert rows == [{"container_id": "a", "n": 4, "run": "run-2"}, {"container_id": "b", "n": 2, "run": "run-1"}]
    assert store.query("SELECT count(*) AS n FROM materializations")[0]["n"] == 3
    assert store.query("SELECT count(*) AS n FROM producers")[0]["n"] == 1
    lineage = store.query("SELECT partition_key, run_id, row_count, engine FROM lineage WHERE table_name = 'regions'"
                          " ORDER BY ALL")
    assert lineage == [{"partition_key": "a", "run_id": "run-2", "row_count": 4, "engine": "rapid_layout"},
                       {"partition_key": "b", "run_id": "run-1", "row_count": 2, "engine": "rapid_layout"}]


def test_failure_mid_replace_leaves_the_old_rows(store):
    store.replace_partition("layout_regions", "a", {"regions": _regions("a", 3)}, PRODUCER, "run-1")
    # After the delete and the insert, a statement of the same transaction fails: nothing of it may remain.
    with pytest.raises(duckdb.Error, match="injected"):
        store.replace_partition("layout_regions", "a", {"regions": _regions("a", 5, "run-2")}, PRODUCER, "run-2",
                                extra_sql=[("SELECT error('injected failure')", [])])
    assert store.query("SELECT count(*) AS n, any_value(run_id) AS run FROM regions") == [{"n": 3, "run": "run-1"}]
    assert store.query("SELECT count(*) AS n FROM materializations")[0]["n"] == 1


def _writer(address: str, data_path: str, container: str, rounds: int, start, result) -> None:
    store = ResultStore(address, lock_timeout_s=120, lake_data_path=data_path)
    store.migrate()
    start.wait(60)  # all four begin together
    for r in range(rounds):
        run = f"run-{container}-{r}"
        store.replace_partition("layout_regions", container, {"regions": _regions(container, 10 + r, run)},
                                PRODUCER, run)
    result.put((container, store.retries))


def test_four_processes_write_at_once_and_all_commit(tmp_path):
    address, data_path = _lake_address(tmp_path), str(tmp_path / "files")
    ResultStore(address, lake_data_path=data_path).migrate()  # (racing to create the lake: the cluster test)
    ctx = multiprocessing.get_context("spawn")
    result, start = ctx.Queue(), ctx.Barrier(4)
    procs = [ctx.Process(target=_writer, args=(address, data_path, f"c{i}", 2, start, result)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
        assert p.exitcode == 0
    retries = dict(result.get(timeout=5) for _ in procs)
    store = ResultStore(address)
    rows = store.query("SELECT container_id, count(*) AS n, count(DISTINCT run_id) AS runs FROM regions"
                       " GROUP BY 1 ORDER BY 1")
    assert rows == [{"container_id": f"c{i}", "n": 11, "runs": 1} for i in range(4)]  # the last round's rows only
    assert store.query("SELECT count(*) AS n FROM materializations")[0]["n"] == 8
    assert store.query("SELECT max(version) AS v FROM schema_migrations")[0]["v"] == SCHEMA_VERSION
    assert store.query("SELECT count(*) AS n FROM schema_migrations")[0]["n"] == SCHEMA_VERSION  # each applied once
    lineage = store.query("SELECT partition_key, run_id, row_count FROM lineage WHERE table_name = 'regions'"
                          " ORDER BY ALL")
    assert lineage == [{"partition_key": f"c{i}", "run_id": f"run-c{i}-1", "row_count": 11} for i in range(4)]
    print("waits per writer:", retries)  # commits that conflicted and were redone (how many depends on timing)


_OTHER_WRITER = """
import sys
from tests.test_store_lake import PRODUCER, _regions
from ocr_resources.store import ResultStore
ResultStore(sys.argv[1], lake_data_path=sys.argv[2]).replace_partition(
    "layout_regions", "b", {"regions": _regions("b", 7, "run-other")}, PRODUCER, "run-other")
"""


def test_a_commit_that_conflicts_with_another_writer_is_redone(tmp_path):
    address, data_path = _lake_address(tmp_path), str(tmp_path / "files")
    store = ResultStore(address, lake_data_path=data_path)
    store.replace_partition("layout_regions", "a", {"regions": _regions("a", 3)}, PRODUCER, "run-1")
    store.replace_partition("layout_regions", "b", {"regions": _regions("b", 3)}, PRODUCER, "run-1")
    attempts = []

    def write(con):
        attempts.append(1)
        con.execute("DELETE FROM regions WHERE container_id = 'a'")
        if len(attempts) == 1:  # another process replaces partition b meanwhile, and commits first
            subprocess.run([sys.executable, "-c", _OTHER_WRITER, address, data_path], check=True, cwd=ROOT,
                           timeout=120)
        con.register("_incoming", _regions("a", 5, "run-2"))
        # by name: migrations append columns, the row schema orders them otherwise
        con.execute("INSERT INTO regions BY NAME SELECT * FROM _incoming")
        return len(attempts)

    assert store.transaction(write) == 2  # DuckLake refused the first commit; the whole transaction ran again
    assert store.retries == 1
    rows = store.query("SELECT container_id, count(*) AS n, any_value(run_id) AS run FROM regions GROUP BY 1"
                       " ORDER BY 1")
    assert rows == [{"container_id": "a", "n": 5, "run": "run-2"}, {"container_id": "b", "n": 7, "run": "run-other"}]


def test_views_are_queryable_after_attach_from_a_fresh_connection(tmp_path):
    address = _lake_address(tmp_path)
    store = ResultStore(address, lake_data_path=tmp_path / "files")
    store.replace_partition("layout_regions", "a", {"regions": _regions("a", 3)}, PRODUCER, "run-1")
    location = store.lake
    lake.close_all()
    # What an analyst runs (python -m ocr_assets.cli attach prints it): plain DuckDB, no project code.
    con = duckdb.connect()
    try:
        for statement in lake.reader_sql(location).split(";\n"):
            con.execute(statement.rstrip(";"))
        assert con.execute("SELECT partition_key, run_id, row_count FROM lineage WHERE table_name = 'regions'"
                           ).fetchall() == [("a", "run-1", 3)]
        for view in ("page_text", "document_text", "document_errors", "model_loads", "stale", "lineage"):
            con.execute(f"SELECT * FROM {view}").fetchall()
        with pytest.raises(duckdb.Error):  # attached read-only
            con.execute("DELETE FROM regions")
    finally:
        con.close()


def test_storage_resource_selects_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv("OCR_STORE", raising=False)
    monkeypatch.delenv("OCR_LAKE_DATA_PATH", raising=False)
    monkeypatch.delenv("OCR_DUCKDB_PATH", raising=False)
    default = PipelineStorage(data_dir=str(tmp_path)).result_store()  # the file follows the data directory
    assert default.lake is None and default.path == tmp_path / "ocr.duckdb"
    assert default.snapshot_path == tmp_path / "ocr-read.duckdb"
    monkeypatch.setenv("OCR_STORE", f"duckdb:{tmp_path / 'other.duckdb'}")
    assert PipelineStorage(data_dir=str(tmp_path)).result_store().path == tmp_path / "other.duckdb"
    monkeypatch.setenv("OCR_STORE", "ducklake:sqlite:" + str(tmp_path / "cat.sqlite"))
    on_lake = PipelineStorage(data_dir=str(tmp_path)).result_store()
    assert on_lake.lake.catalog == f"sqlite:{tmp_path / 'cat.sqlite'}"
    assert on_lake.lake.data_path == f"{tmp_path / 'lake'}/" and on_lake.snapshot_path is None
    monkeypatch.setenv("OCR_LAKE_DATA_PATH", str(tmp_path / "shared"))
    assert PipelineStorage(data_dir=str(tmp_path)).result_store().lake.data_path == f"{tmp_path / 'shared'}/"
    pg = ResultStore("ducklake:postgres:host=db dbname=ocr password=s3cret", lake_data_path=tmp_path)
    assert "s3cret" not in str(pg.path) and "s3cret" not in pg.lake.describe()
    with pytest.raises(ValueError, match="unsupported lake catalog"):
        ResultStore("ducklake:/tmp/x.ducklake", lake_data_path=tmp_path)
