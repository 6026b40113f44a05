"""ResultStore: every result and its lineage in one DuckDB file (the default), or in a DuckLake that many
processes on many machines write at once (`OCR_STORE=ducklake:...`, see ocr_resources/lake.py).

DuckDB lets one process hold a read-write file at a time, so connections here are short: open,
do one transaction, close. Never keep one open across a model call. A lock held by another process
(a concurrent run on another container) is retried with backoff; on a lake, so is a commit that conflicts
with another writer's. Each asset's rows for a partition are replaced in one transaction: a rerun replaces,
never duplicates, and a failure leaves the old rows.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import random
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from ocr_resources.lake import LakeLocation, lake_cursor, parse_lake
from ocr_resources.pipeline.rows import Rows, table_parts
from ocr_resources.schema import MIGRATIONS, SCHEMA_VERSION, for_lake

log = logging.getLogger(__name__)

# Which rows each asset owns in a partition (table -> extra filter). Rematerializing replaces exactly these.
OWNED_ROWS: dict[str, dict[str, str]] = {
    "source_documents": {"containers": "", "documents": "", "errors": "stage = 'source_documents'"},
    "rendered_pages": {"pages": "", "words": "source IN ('text_layer', 'drawing')", "page_rules": "",
                       "formulas": "source = 'text_layer'", "errors": "stage = 'rendered_pages'"},
    "layout_regions": {"regions": "", "errors": "stage = 'layout_regions'"},
    # formulas of pages without a text layer, read by the formula role's engine (its name is their source)
    "ocr_text": {"texts": "", "words": "source = 'ocr'", "formulas": "source <> 'text_layer'",
                 "errors": "stage = 'ocr_text'"},
    "tables": {"tables": "", "table_cells": "", "errors": "stage = 'tables'"},
    "chart_data": {"charts": "", "errors": "stage = 'chart_data'"},
    "document_markdown": {"document_markdown": "", "errors": "stage = 'document_markdown'"},
}


_EMPTY_PAGE_RESULTS = pa.table({"document_id": pa.array([], pa.string()), "page_no": pa.array([], pa.int32()),
                                 "input_hash": pa.array([], pa.string()), "status": pa.array([], pa.string())})


def _insert(con: duckdb.DuckDBPyConnection, table: str, data: Rows) -> None:
    """Append Arrow rows and spilled Parquet files to `table` (set-based, never row by row)."""
    files, memory = table_parts(data)
    cols = ", ".join(f'"{c}"' for c in data.column_names)
    if files:
        paths = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM read_parquet([{paths}])")
    if memory is not None and memory.num_rows:
        con.register("_incoming", memory)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _incoming")
        con.unregister("_incoming")


def _is_lock_error(exc: Exception, lake: bool = False) -> bool:
    """A file locked by another process, a DuckLake commit that conflicts with another writer's ("Transaction
    conflict ..."), or a lake catalog busy with another writer (SQLite: "database is locked", raised by the
    catalog as a plain duckdb.Error)."""
    return (lake or isinstance(exc, _BUSY_ERRORS)) and _BUSY.search(str(exc).lower()) is not None


_BUSY_ERRORS = (duckdb.IOException, duckdb.ConnectionException, duckdb.TransactionException)
_BUSY = re.compile(r"\b(lock|locked|conflict|conflicting)\b")


def _default_lake_data_path(address: str) -> str | None:
    """Where a new lake's files go when nothing says: `lake/` beside a SQLite catalog (a PostgreSQL catalog
    needs one said)."""
    catalog = address.removeprefix("ducklake:")
    if catalog.startswith("sqlite:"):
        return str(Path(catalog.removeprefix("sqlite:")).expanduser().absolute().parent / "lake")
    return None


LOCK_REPORT_FIRST_S = 1.0  # a wait for the lock is logged (naming the holder) once it passes this
LOCK_REPORT_S = 30.0  # and again this often while it lasts


class StoreLockedError(duckdb.IOException):
    """The DuckDB file stayed locked by another process for longer than the store waits."""


def _holder(exc: Exception) -> str:
    """Who holds the lock, from DuckDB's message (`... held in /usr/bin/duckdb (PID 123) ...`)."""
    found = re.search(r"held in (.+?) \(PID (\d+)\)", str(exc))
    if not found:
        return "another process"
    program, pid = found.group(1), int(found.group(2))
    try:
        import psutil

        cmdline = " ".join(psutil.Process(pid).cmdline())[:200] or program
    except Exception:  # gone meanwhile, or not ours to inspect
        cmdline = program
    return f"process {pid} ({cmdline})"


@dataclass(frozen=True)
class Producer:
    """One row of `producers`: what made a set of results."""

    asset_key: str
    engine: str
    model_id: str
    model_revision: str
    code_version: str
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def producer_id(self) -> str:
        blob = json.dumps(
            [self.asset_key, self.engine, self.model_id, self.model_revision, self.code_version, self.parameters],
            sort_keys=True, default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _is_service(path: str) -> bool:
    return path.startswith(("md:", "motherduck:"))


T = TypeVar("T")


def _in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """`work(con)` between BEGIN and COMMIT; rolled back if it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        result = work(con)
        con.execute("COMMIT")
    except Exception:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already rolled back
            con.execute("ROLLBACK")
        raise
    return result


Reader = Callable[..., list[dict[str, Any]]]  # `read(sql, params)` from `ResultStore.reading()`


def _copy_file_bytes(path: Path, target: Path) -> bool:
    """Copy a DuckDB file that the caller holds attached read-only to `target`; False (nothing copied) where the
    file's bytes are not the whole database: a write-ahead log beside it, left by a writer that died before
    its checkpoint."""
    wal = path.with_name(path.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        return False
    shutil.copyfile(path, target)
    return True


class ResultStore:
    """The results of every asset, and their lineage, in a DuckDB file or a DuckLake (see ocr_resources/lake.py).

    `path`: a file path (or `duckdb:<path>`), `ducklake:postgres:<libpq>` / `ducklake:sqlite:<path>` (with
    `lake_data_path`, the folder of the lake's Parquet files), or a MotherDuck address (`md:db`)."""

    def __init__(self, path: str | Path, lock_timeout_s: float = 120.0, snapshot_path: str | Path | None = None,
                 lake_data_path: str | Path | None = None, default_lake_data_path: str | Path | None = None):
        if isinstance(path, str) and path.startswith("duckdb:"):
            path = path.removeprefix("duckdb:")
        self.lake: LakeLocation | None = None
        if isinstance(path, str) and path.startswith("ducklake:"):
            self.lake = parse_lake(path, lake_data_path or os.environ.get("OCR_LAKE_DATA_PATH"),
                                   default_lake_data_path or _default_lake_data_path(path))
            self.path: str | Path = self.lake.describe()
        else:
            # A service address (MotherDuck `md:db`) stays a string: Path() would mangle `//`.
            self.path = path if isinstance(path, str) and _is_service(path) else Path(path)
        self.lock_timeout_s = lock_timeout_s
        # A read-only copy for analysts, refreshed after each partition's commit: the file store only (readers of
        # a lake attach the lake itself).
        self.snapshot_path = Path(snapshot_path) if snapshot_path and isinstance(self.path, Path) else None
        self._migrated = False
        self.retries = 0  # waits for a lock or a conflicting commit, for the bench and the logs
        self.logger: logging.Logger = log  # where a wait for the lock is reported (a run's context.log)

    def with_lock_timeout(self, seconds: float) -> ResultStore:
        """The same store, waiting at most `seconds` for a lock or a conflict (sensors must not block)."""
        other = copy.copy(self)
        other.lock_timeout_s = seconds
        return other

    def logging_to(self, logger: logging.Logger) -> ResultStore:
        """The same store, reporting waits for the lock to `logger` (a Dagster run's `context.log`)."""
        other = copy.copy(self)
        other.logger = logger
        return other

    # -- connections -------------------------------------------------------------------------------------
    def _waiting(self, exc: Exception, waited: float) -> None:
        """Say why the run is not moving: who holds the file (or that lake commits conflict), for how long."""
        limit = f"gives up after {self.lock_timeout_s:g} s (lock_timeout_s / OCR_LOCK_TIMEOUT_S)"
        if self.lake is not None:
            self.logger.warning("waiting %.0f s for DuckLake %s: commits conflict with other writers or the catalog "
                                "is locked (%s); %s", waited, self.path, str(exc).splitlines()[-1][:200], limit)
        else:
            self.logger.warning("waiting %.0f s for the DuckDB file %s: it is locked by %s; %s", waited, self.path,
                                _holder(exc), limit)

    def _retry_locked(self, open_fn):
        """`open_fn()`, retried with jittered backoff while another process holds the file (or, on a lake,
        while commits of other writers conflict with ours), for at most `lock_timeout_s`; then a
        StoreLockedError that names the holder."""
        started = time.monotonic()
        deadline = started + self.lock_timeout_s
        report_at = started + LOCK_REPORT_FIRST_S  # a wait longer than this is logged, then every LOCK_REPORT_S
        delay = 0.05
        while True:
            try:
                return open_fn()
            except duckdb.Error as exc:
                # StoreLockedError: an inner wait (opening the connection) gave up already, so do we.
                if isinstance(exc, StoreLockedError) or not _is_lock_error(exc, self.lake is not None):
                    raise
                if time.monotonic() > deadline:
                    if self.lake is not None:
                        raise StoreLockedError(
                            f"DuckLake {self.path}: commits kept conflicting with other writers (or the catalog "
                            f"stayed locked) for {self.lock_timeout_s:g} s (lock_timeout_s / OCR_LOCK_TIMEOUT_S); "
                            f"last error: {exc}") from exc
                    hint = f"; analysts can read {self.snapshot_path} instead" if self.snapshot_path else ""
                    raise StoreLockedError(
                        f"DuckDB file {self.path} is locked by {_holder(exc)} and stayed locked for "
                        f"{self.lock_timeout_s:g} s (lock_timeout_s / OCR_LOCK_TIMEOUT_S). Close that connection "
                        f"(a DuckDB CLI or notebook holding the file read-write?) and run again{hint}.") from exc
                self.retries += 1
                now = time.monotonic()
                if now >= report_at:
                    self._waiting(exc, now - started)
                    report_at = now + LOCK_REPORT_S
                log.debug("%s busy (%s); retrying in %.2fs", self.path, str(exc).splitlines()[-1][:200], delay)
                time.sleep(max(0.0, min(delay * (1 + random.random()), report_at - now)))
                delay = min(delay * 2, 2.0)

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; waits (with jittered backoff) while another process holds the file. On a
        lake: a cursor of this process's attached lake (`read_only` does not apply; analysts attach with
        READ_ONLY), with the lake in use, so the same SQL works unqualified."""
        if self.lake is not None:
            cur = self._retry_locked(lambda: lake_cursor(self.lake))
            try:
                yield cur
            finally:
                cur.close()
            return
        if not read_only and isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._retry_locked(lambda: duckdb.connect(str(self.path), read_only=read_only))
        try:
            yield con
        finally:
            con.close()

    def transaction(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`work(con)` in one transaction, committed. On a lake, a commit that conflicts with another writer's
        (DuckLake checks each commit against those made since the transaction began: two replaces of the same
        table conflict, even for different partitions) is rolled back and the whole transaction done again, with
        jittered backoff, for at most `lock_timeout_s`. `work` must therefore be repeatable."""
        def attempt() -> T:
            with self.connect() as con:
                return _in_transaction(con, work)

        return self._retry_locked(attempt)

    def migrate(self) -> int:
        """Apply pending migrations, each in its own transaction; returns the schema version. Processes that
        open a new lake at once race to create it: the losers' commits conflict and are retried, and then find
        the migration applied."""
        if self._migrated:
            return SCHEMA_VERSION
        if self.lake is None:  # one file, one writer at a time: every migration on one connection (a new
            # store's ~15 migrations each opened and checkpointed the file: ~0.3 s of a small first run)
            with self.connect() as con:
                self._apply_migrations(lambda work: _in_transaction(con, work))
        else:
            self._apply_migrations(self.transaction)
        self._migrated = True
        return SCHEMA_VERSION

    def _apply_migrations(self, transaction: Callable[[Callable[[duckdb.DuckDBPyConnection], Any]], Any]) -> None:
        """Each pending migration in its own `transaction(work)`."""
        adapt = for_lake if self.lake is not None else (lambda sql: sql)

        def applied(con: duckdb.DuckDBPyConnection) -> int:
            con.execute(adapt("CREATE TABLE IF NOT EXISTS schema_migrations "
                              "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP DEFAULT now())"))
            return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]

        current = transaction(applied)
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue

            def apply(con: duckdb.DuckDBPyConnection, version=version, description=description, sql=sql) -> bool:
                current = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
                if version <= current:
                    return False
                con.execute(adapt(sql))
                con.execute("INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                            [version, description])
                return True

            if transaction(apply):
                log.info("%s migrated to schema version %d (%s)", self.path, version, description)

    # -- reads -------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _read_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to a migrated store. A file store not yet checked in this object is checked
        on that same connection (its schema version read there), not on a read-write connection of its own:
        opening one reads the whole catalog (~15 ms of CPU on a 10 MB file), and every Dagster step makes a new
        store object. Only a store behind the code's schema goes through `migrate`."""
        if not self._migrated and self.lake is None and isinstance(self.path, Path) and self.path.exists():
            with self.connect(read_only=True) as con:
                try:
                    version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
                except duckdb.CatalogException:  # a file no migration has touched yet
                    version = None
                if version is not None and version >= SCHEMA_VERSION:  # newer code's rows are not undone
                    self._migrated = True
                    yield con
                    return
        self.migrate()
        with self.connect(read_only=True) as con:
            yield con

    def query(self, sql: str, params: list | None = None) -> list[dict[str, Any]]:
        with self.reading() as read:
            return read(sql, params)

    @contextlib.contextmanager
    def reading(self) -> Iterator[Reader]:
        """`read(sql, params)` for several reads on one read-only connection. Opening the file reads its catalog
        (about 10 ms), which a stage's per-chunk reads over a container of many small documents multiply; the
        connection is still closed before the caller goes on, so other processes get the file between reads."""
        with self._read_connection() as con:
            def read(sql: str, params: list | None = None) -> list[dict[str, Any]]:
                cur = con.execute(sql, params or [])
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

            yield read

    # -- writes ------------------------------------------------------------------------------------------
    def replace_partition(
        self,
        asset_key: str,
        partition_key: str,
        rows: dict[str, Rows],
        producer: Producer,
        run_id: str,
        input_fingerprint: str = "",
        pages: int = 0,
        started_at: datetime | None = None,
        extra_sql: list[tuple[str, list]] | None = None,
        page_results: pa.Table | None = None,
        live_pages: pa.Table | None = None,
    ) -> dict[str, int]:
        """Replace what `asset_key` owns in `partition_key` with `rows`, record the producer, the
        materialization and the per-page bookkeeping, all in one transaction. Returns the rows the asset
        owns in the partition afterwards, per table.

        `rows` may be Arrow tables or SpilledTables (Parquet files plus an in-memory tail).
        `page_results` (document_id, page_no, input_hash, status) lists the pages computed now.
        With `live_pages` (document_id, page_no: every page of the current input) the replace is
        incremental: only rows of the pages computed now and of pages that no longer exist are deleted, so
        the rows of pages skipped on resume survive. Without it, everything the asset owns is replaced."""
        owned = OWNED_ROWS[asset_key]
        unknown = set(rows) - set(owned)
        if unknown:
            raise ValueError(f"{asset_key} does not own tables {sorted(unknown)}")
        self.migrate()
        incremental = live_pages is not None
        done = page_results if page_results is not None else _EMPTY_PAGE_RESULTS

        def write(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
            finished = datetime.now(UTC)
            # Inserted when absent (a lake has no key for ON CONFLICT; see schema.for_lake).
            con.execute(
                "INSERT INTO producers (producer_id, asset_key, engine, model_id, model_revision, code_version,"
                " parameters) SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS"
                " (SELECT 1 FROM producers WHERE producer_id = ?)",
                [producer.producer_id, producer.asset_key, producer.engine, producer.model_id,
                 producer.model_revision, producer.code_version, json.dumps(producer.parameters, default=str),
                 producer.producer_id],
            )
            con.register("_recomputed", done)
            if incremental:
                con.register("_live", live_pages)
                stale = (" AND (t.page_no IS NULL"
                         " OR EXISTS (SELECT 1 FROM _recomputed r"
                         "            WHERE r.document_id = t.document_id AND r.page_no = t.page_no)"
                         " OR NOT EXISTS (SELECT 1 FROM _live l"
                         "                WHERE l.document_id = t.document_id AND l.page_no = t.page_no))")
            else:
                stale = ""
            for table, where in owned.items():
                extra = f" AND {where}" if where else ""
                con.execute(f"DELETE FROM {table} t WHERE container_id = ?{extra}{stale}", [partition_key])
            con.execute(f"DELETE FROM page_results t WHERE container_id = ? AND asset_key = ?{stale}",
                        [partition_key, asset_key])
            for table, data in rows.items():
                _insert(con, table, data)
            if done.num_rows:
                con.execute(
                    "INSERT INTO page_results (container_id, asset_key, document_id, page_no, producer_id,"
                    " input_hash, status, run_id) SELECT ?, ?, document_id, page_no, ?, input_hash, status, ?"
                    " FROM _recomputed", [partition_key, asset_key, producer.producer_id, run_id])
            con.unregister("_recomputed")
            if incremental:
                con.unregister("_live")
            for sql, params in extra_sql or []:
                con.execute(sql, params)
            counts = {}
            for table, where in owned.items():
                extra = f" AND {where}" if where else ""
                counts[table] = con.execute(f"SELECT count(*) FROM {table} WHERE container_id = ?{extra}",
                                            [partition_key]).fetchone()[0]
            con.execute(
                "INSERT INTO materializations (run_id, asset_key, partition_key, producer_id, input_fingerprint,"
                " row_counts, pages, seconds, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, asset_key, partition_key, producer.producer_id, input_fingerprint, json.dumps(counts),
                 pages, (finished - started_at).total_seconds() if started_at else None, started_at, finished],
            )
            return counts

        return self.transaction(write)

    def refresh_snapshot(self) -> Path | None:
        """Copy the whole database to `snapshot_path` (tables, views, data) and swap it in atomically: readers
        that hold the old copy open keep reading it; new readers get the new one. Never locks the results
        file for readers longer than the copy.

        The copy is the file's bytes, taken while the file is attached read-only here: that shared lock keeps
        every writer out, and a writer's close has checkpointed its work into the file, so the bytes are the
        database. It costs a file copy (~30 ms for 10 MB), where `COPY FROM DATABASE` re-encoded every table
        (~200 ms, ~120 ms of CPU, for the same file), once per Dagster step. Closing the copy's descriptor drops
        this process's POSIX lock on the file, but only once the bytes are read; DuckDB lets no other connection
        of this process hold the file while it is attached here ("Unique file handle conflict"). With a
        write-ahead log beside the file, the tables are copied through DuckDB as before."""
        if self.snapshot_path is None:
            return None
        target = self.snapshot_path
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        quoted, quoted_tmp = (str(p).replace("'", "''") for p in (self.path, tmp))
        con = duckdb.connect()  # in memory; the results are attached read-only (a shared lock)
        try:
            self._retry_locked(lambda: con.execute(f"ATTACH '{quoted}' AS ocr_source (READ_ONLY)"))
            if not _copy_file_bytes(self.path, tmp):
                tmp.unlink(missing_ok=True)
                con.execute(f"ATTACH '{quoted_tmp}' AS ocr_copy")
                con.execute("COPY FROM DATABASE ocr_source TO ocr_copy")
                con.execute("DETACH ocr_copy")
            con.execute("DETACH ocr_source")
        finally:
            con.close()
        os.replace(tmp, target)
        return target

    def done_pages(self, partition_key: str, asset_key: str, producer_id: str) -> dict[tuple[str, int], str]:
        """(document_id, page_no) -> input hash of the pages this producer already computed without error."""
        with self._read_connection() as con:
            found = con.execute(
                "SELECT document_id, page_no, input_hash FROM page_results"
                " WHERE container_id = ? AND asset_key = ? AND producer_id = ? AND status = 'ok'",
                [partition_key, asset_key, producer_id]).fetchall()
        return {(d, p): h for d, p, h in found}

    def record_model_loads(self, events: list) -> None:
        if not events:
            return
        self.migrate()
        self.transaction(lambda con: con.executemany(
            "INSERT INTO model_load_events (run_id, role, engine, model_id, model_revision, load_seconds, pid)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[e.run_id, e.role, e.engine, e.model_id, e.revision, e.load_seconds, e.pid] for e in events]))
