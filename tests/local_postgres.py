"""A throwaway PostgreSQL server on 127.0.0.1 for the cluster-profile test and the store bench: initdb into a
temporary folder, `pg_ctl start` on a free port, trust authentication, stopped and deleted afterwards.

PostgreSQL refuses to run as root; as root the server runs as the `postgres` system user (Debian's package
creates it) or `nobody`. Where no server binaries are found (`make system-deps` installs Debian's
`postgresql`), `find_bindir()` returns None and callers skip with that reason."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "ocr"


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: $OCR_PG_BINDIR, PATH, then Debian's /usr/lib/postgresql/*/bin."""
    candidates = [os.environ.get("OCR_PG_BINDIR", "")]
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).resolve().parent) if on_path else "")  # Debian links into /usr/local/bin
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in filter(None, candidates):
        if all((Path(folder) / tool).exists() for tool in ("initdb", "pg_ctl", "createdb")):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> list[str]:
    """The command prefix that drops root (PostgreSQL will not start as root)."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            return ["runuser", "-u", user, "--"]
    raise RuntimeError("running as root and neither a `postgres` nor a `nobody` user exists to run PostgreSQL")


@dataclass
class LocalPostgres:
    bindir: Path
    root: Path
    port: int

    def dsn(self, dbname: str) -> str:
        """libpq key/value form (what DuckDB's postgres extension and DuckLake take)."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={dbname}"

    def url(self, dbname: str) -> str:
        """URL form (what dagster-postgres' `postgres_url` takes), naming the psycopg2 driver: SQLAlchemy 2.1
        reads a bare postgresql:// as psycopg 3, which dagster-postgres does not install."""
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def createdb(self, name: str) -> None:
        subprocess.run([str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
                        name], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def local_postgres(databases: tuple[str, ...] = ()) -> Iterator[LocalPostgres]:
    """A running server with `databases` created; raises RuntimeError saying why when it cannot start."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) found; `make system-deps` installs "
                           "Debian's postgresql, or set OCR_PG_BINDIR")
    prefix = _run_as()
    root = Path(tempfile.mkdtemp(prefix="ocr-pg-"))
    data, log = root / "data", root / "server.log"
    if prefix:  # the unprivileged user must own the folder it writes
        user = pwd.getpwnam(prefix[2])
        os.chown(root, user.pw_uid, user.pw_gid)
        root.chmod(0o700)
    port = _free_port()
    server = LocalPostgres(bindir, root, port)
    started = False
    try:
        init = subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
                               "--encoding=UTF8", "--no-sync"], capture_output=True, text=True, timeout=120)
        if init.returncode:
            raise RuntimeError(f"initdb failed: {(init.stderr or init.stdout)[-800:]}")
        # TCP on loopback only; the socket in our folder (not /var/run/postgresql, which may not exist);
        # durability off: a test database.
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        start = subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                                "-w", "-t", "60", "start"], capture_output=True, text=True, timeout=90)
        if start.returncode:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {(start.stderr or start.stdout)[-400:]} {tail}")
        started = True
        for name in databases:
            server.createdb(name)
        yield server
    finally:
        if started:
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
