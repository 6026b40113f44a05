"""The DuckDB file held by another process: the store waits a bounded, configurable time, then fails with a
message naming the holder; a holder that lets go in time costs a wait, not the run. Analysts read a
snapshot that is refreshed after each commit and never blocks the writers."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import duckdb
import pyarrow as pa
import pytest

from ocr_resources import store as store_module
from ocr_resources.store import Producer, ResultStore, StoreLockedError

HOLD = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
        "time.sleep(float(sys.argv[2]))")


def _hold(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _commit(store: ResultStore) -> dict[str, int]:
    rows = pa.table({"container_id": ["c"], "source_path": ["/x"], "document_count": pa.array([0], pa.int32()),
                     "fingerprint": ["f"], "run_id": ["r"], "producer_id": ["p"]})
    return store.replace_partition("source_documents", "c", {"containers": rows}, Producer("source_documents", "t", "",
                                   "", "1"), "r")


def test_a_held_lock_fails_after_the_timeout_naming_the_holder(tmp_path):
    store = ResultStore(tmp_path / "ocr.duckdb", lock_timeout_s=1, snapshot_path=tmp_path / "ocr-read.duckdb")
    store.migrate()
    holder = _hold(store.path, 60)
    try:
        with pytest.raises(StoreLockedError) as info:
            _commit(store)
    finally:
        holder.kill()
        holder.wait()
    message = str(info.value)
    assert f"process {holder.pid} (" in message and "stayed locked for 1 s" in message
    assert "ocr-read.duckdb" in message


def test_a_lock_released_in_time_costs_a_wait_and_the_snapshot_follows_commits(tmp_path):
    store = ResultStore(tmp_path / "ocr.duckdb", lock_timeout_s=60, snapshot_path=tmp_path / "ocr-read.duckdb")
    store.migrate()
    holder = _hold(store.path, 2)
    try:
        assert _commit(store) == {"containers": 1, "documents": 0, "errors": 0}
    finally:
        holder.wait()
    assert store.refresh_snapshot() == tmp_path / "ocr-read.duckdb"
    reader = duckdb.connect(str(tmp_path / "ocr-read.duckdb"), read_only=True)  # held open, like an analyst
    try:
        assert reader.execute("SELECT count(*) FROM containers").fetchone()[0] == 1
        assert reader.execute("SELECT count(*) FROM document_errors").fetchone()[0] == 0  # views come along
        _commit(store)  # writers are not blocked by the reader
        store.refresh_snapshot()
    finally:
        reader.close()
    assert duckdb.connect(str(tmp_path / "ocr-read.duckdb"), read_only=True).execute(
        "SELECT count(*) FROM materializations").fetchone()[0] == 2



class _Timed(logging.Handler):
    def __init__(self):
        super().__init__()
        self.seen: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((time.monotonic(), record.getMessage()))


def test_a_waiting_run_says_who_holds_the_lock_from_the_first_second_and_on(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "LOCK_REPORT_S", 1.0)  # 30 s in a run: 1 s here, to see it repeat
    handler = _Timed()
    logger = logging.getLogger("a-run")
    logger.addHandler(handler)
    store = ResultStore(tmp_path / "ocr.duckdb", lock_timeout_s=60).logging_to(logger)
    store.migrate()
    holder = _hold(store.path, 3.5)
    try:
        started = time.monotonic()
        _commit(store)
    finally:
        holder.wait()
        logger.removeHandler(handler)
    times = [t - started for t, _ in handler.seen]
    assert len(times) >= 2 and times[0] < 1.5, times
    assert all(b - a >= 0.9 for a, b in zip(times, times[1:], strict=False)), times
    message = handler.seen[0][1]
    assert f"it is locked by process {holder.pid} (" in message and str(store.path) in message, message
    assert "gives up after 60 s" in message


def _tables(path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def test_the_snapshot_is_the_live_database_and_a_writer_of_another_process_waits_for_the_copy(tmp_path):
    store = ResultStore(tmp_path / "ocr.duckdb", snapshot_path=tmp_path / "ocr-read.duckdb")
    store.migrate()
    _commit(store)
    copied = []
    real_copy = store_module._copy_file_bytes

    def copy_while_a_writer_tries(path, target):
        # the file is attached read-only now: another process cannot open it to write until the copy is made
        probe = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r})"],
                               capture_output=True, text=True)
        assert probe.returncode != 0 and "lock" in probe.stderr.lower(), probe.stderr[-300:]
        copied.append(real_copy(path, target))
        return copied[-1]

    store_module._copy_file_bytes, saved = copy_while_a_writer_tries, store_module._copy_file_bytes
    try:
        assert store.refresh_snapshot() == tmp_path / "ocr-read.duckdb"
    finally:
        store_module._copy_file_bytes = saved
    assert copied == [True]  # the file's bytes, not a table-by-table copy
    assert _tables(tmp_path / "ocr-read.duckdb") == _tables(store.path)
    reader = duckdb.connect(str(tmp_path / "ocr-read.duckdb"), read_only=True)
    assert reader.execute("SELECT count(*) FROM lineage").fetchone() is not None  # views come along
    reader.close()
    assert not list(tmp_path.glob(".ocr-read.duckdb.*"))  # no temporary file left
    _commit(store)  # and the live file is writable again afterwards


def test_a_write_ahead_log_left_by_a_dead_writer_is_in_the_snapshot(tmp_path):
    store = ResultStore(tmp_path / "ocr.duckdb", snapshot_path=tmp_path / "ocr-read.duckdb")
    store.migrate()
    _commit(store)
    # a writer whose work is only in the log (no checkpoint at its end, as if it had been killed)
    code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1]); c.execute('PRAGMA disable_checkpoint_on_shutdown');"
            " c.execute(\"INSERT INTO current_code_versions (asset_key, code_version) VALUES ('a', '1')\");"
            " c.close()")
    subprocess.run([sys.executable, "-c", code, str(store.path)], check=True)
    assert (tmp_path / "ocr.duckdb.wal").stat().st_size > 0
    store.refresh_snapshot()
    assert _tables(tmp_path / "ocr-read.duckdb")["current_code_versions"] == 1
    assert _tables(tmp_path / "ocr-read.duckdb") == _tables(store.path)
