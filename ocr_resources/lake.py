"""Where results live, and the DuckLake form of the store.

`OCR_STORE` (or the `store` field of the `storage` resource) names the store:

    duckdb:<path>                       the embedded DuckDB file (default: duckdb:<data_dir>/ocr.duckdb)
    ducklake:postgres:<libpq string>    a DuckLake whose catalog is a PostgreSQL database: many writers on
                                        many machines (e.g. ducklake:postgres:host=pg dbname=ocr user=ocr)
    ducklake:sqlite:<path>              a DuckLake whose catalog is a SQLite file: many writer processes on
                                        one machine (or one shared file system)

A lake keeps its Parquet data files under a data path (`OCR_LAKE_DATA_PATH`, default `<data_dir>/lake/`),
recorded in the catalog when the lake is created. DuckDB's own `ducklake`, `postgres` and `sqlite` extensions
do the work; they come from the PyPI packages `duckdb-extension-*` pinned beside `duckdb` and are loaded by
file path, never downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sqlite3
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

LAKE_ALIAS = "ocr"
# Extension name (what DuckDB calls it: its init symbol is <name>_duckdb_cpp_init) -> the PyPI package and the
# file inside it. The postgres and sqlite files are named after their aliases, so they are loaded through a link
# carrying the extension's own name.
_EXTENSIONS = {
    "ducklake": ("duckdb_extension_ducklake", "ducklake"),
    "postgres_scanner": ("duckdb_extension_postgres", "postgres"),
    "sqlite_scanner": ("duckdb_extension_sqlite", "sqlite"),
}


@dataclass(frozen=True)
class LakeLocation:
    """A DuckLake: its catalog (`postgres:<libpq>` or `sqlite:<path>`) and the folder of its data files."""

    catalog: str
    data_path: str
    # A data path given in config/env must match the one the catalog recorded; a default one applies only when
    # the lake is created (an existing lake keeps its own).
    data_path_given: bool = True

    @property
    def extensions(self) -> list[str]:
        kind = self.catalog.split(":", 1)[0]
        return ["ducklake"] + ([f"{kind}_scanner"] if kind in ("postgres", "sqlite") else [])

    def attach_sql(self, alias: str = LAKE_ALIAS, read_only: bool = False, with_data_path: bool = True) -> str:
        options = []
        if with_data_path:
            options.append(f"DATA_PATH {_quote(self.data_path)}")
        if read_only:
            options.append("READ_ONLY")
        return f"ATTACH {_quote('ducklake:' + self.catalog)} AS {alias}" + (f" ({', '.join(options)})" if options
                                                                             else "")

    def describe(self) -> str:
        """The catalog without secrets (a libpq `password=` is masked), for logs and metadata."""
        return "ducklake:" + re.sub(r"(password\s*=\s*)(\S+)", r"\1***", self.catalog)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse_lake(address: str, data_path: str | os.PathLike | None,
               default_data_path: str | os.PathLike | None = None) -> LakeLocation:
    """`ducklake:<catalog>` -> LakeLocation, the data path made absolute with a trailing slash (DuckLake
    compares it with the one the catalog recorded)."""
    catalog = address.removeprefix("ducklake:")
    if not catalog.startswith(("postgres:", "sqlite:")):
        raise ValueError(f"unsupported lake catalog {catalog!r}: use ducklake:postgres:<libpq string> or "
                         "ducklake:sqlite:<path> (a DuckDB-file catalog takes one writer process only)")
    if catalog.startswith("sqlite:"):
        catalog = "sqlite:" + str(Path(catalog.removeprefix("sqlite:")).expanduser().absolute())
    if not (data_path or default_data_path):
        raise ValueError(f"ducklake:{catalog.split(':', 1)[0]}:...: a lake needs a data path for its files "
                         "(OCR_LAKE_DATA_PATH, or lake_data_path on the storage resource)")
    folder = str(Path(data_path or default_data_path).expanduser().absolute())
    return LakeLocation(catalog, folder.rstrip("/") + "/", data_path_given=bool(data_path))


def extension_file(name: str) -> Path:
    """The extension's file from its PyPI package (for this DuckDB version), reachable under `name`."""
    package, stem = _EXTENSIONS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"DuckDB extension {name!r} is not installed: pip install {package.replace('_', '-')}"
                           f"=={duckdb.__version__}")
    source = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{stem}.duckdb_extension"
    if not source.exists():
        raise RuntimeError(f"{source} missing: {package.replace('_', '-')} must match duckdb=={duckdb.__version__}")
    if stem == name:
        return source
    return _alias(source, name)


def _alias(source: Path, name: str) -> Path:
    """A link named `<name>.duckdb_extension` to `source` in a folder of this user's (DuckDB derives the init
    symbol from the file name)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "ocr-pipeline" / "duckdb-extensions" / f"v{duckdb.__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable home: a private temporary folder of this process
        folder = Path(tempfile.mkdtemp(prefix="ocr-duckdb-ext-"))
    link = folder / f"{name}.duckdb_extension"
    if not (link.is_symlink() and link.resolve() == source.resolve()):
        tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(source)
        os.replace(tmp, link)  # atomic: concurrent processes each swap in the same link
    return link


def load_sql(location: LakeLocation) -> list[str]:
    """The statements that load the lake's extensions by file path."""
    return [f"LOAD {_quote(str(extension_file(name)))}" for name in location.extensions]


def _sqlite_wal(path: Path) -> None:
    """Put a SQLite catalog in WAL mode (kept in the file): readers then never block a writer's commit, which
    halves the time four writers take (in the default rollback mode, each DuckLake transaction's catalog read
    holds off the others' commits until SQLite's busy timeout). WAL needs one machine: a SQLite catalog is
    the single-machine lake; PostgreSQL is the multi-machine one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.execute("PRAGMA journal_mode=WAL")


def open_lake(location: LakeLocation) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with the lake attached as `ocr` and in use. Extensions are never downloaded."""
    if location.catalog.startswith("sqlite:"):
        _sqlite_wal(Path(location.catalog.removeprefix("sqlite:")))
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        con.execute("SET enable_progress_bar = false")  # a wait for a busy catalog is not progress to draw
        for statement in load_sql(location):
            con.execute(statement)
        try:
            con.execute(location.attach_sql())
        except duckdb.Error as exc:
            if location.data_path_given or "does not match existing data path" not in str(exc):
                raise
            con.execute(location.attach_sql(with_data_path=False))
        con.execute(f"USE {LAKE_ALIAS}")
    except Exception:
        con.close()
        raise
    return con


# One attached lake per process and location: attaching costs a catalog round trip and loading the extensions
# (~0.1-0.3 s), while a cursor of the attached database costs nothing, and every transaction of a cursor reads
# the lake's latest snapshot, so commits of other processes are seen at once.
_open: dict[tuple[int, LakeLocation], duckdb.DuckDBPyConnection] = {}
_open_lock = threading.Lock()


def lake_cursor(location: LakeLocation) -> duckdb.DuckDBPyConnection:
    """A new cursor (a connection of its own: own transactions) of this process's attached lake; close it."""
    key = (os.getpid(), location)  # never a connection inherited through fork
    with _open_lock:  # cursors are made one at a time: the parent connection is not thread-safe
        con = _open.get(key)
        if con is None:
            con = _open[key] = open_lake(location)
        cur = con.cursor()
    cur.execute(f"USE {LAKE_ALIAS}")
    cur.execute("SET enable_progress_bar = false")
    return cur


def close_all() -> None:
    """Detach every lake this process opened (tests; a process exiting needs nothing)."""
    with _open_lock:
        for con in _open.values():
            with contextlib.suppress(Exception):
                con.close()
        _open.clear()


def reader_sql(location: LakeLocation) -> str:
    """What an analyst runs in DuckDB (CLI or Python) to query the same tables and views, read-only."""
    return "\n".join([*(s + ";" for s in load_sql(location)),
                      location.attach_sql(read_only=True, with_data_path=False) + ";", f"USE {LAKE_ALIAS};"])
