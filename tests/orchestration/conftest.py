"""Fixtures for orchestration tests: a temporary Dagster instance (DAGSTER_HOME with the project's
dagster.yaml) and data directory (OCR_DATA_DIR with sample containers), the real `dagster` CLI, and for
the slow tests the real webserver and daemon as subprocesses. Every wait is bounded."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from dagster import DagsterInstance

from ocr_assets.samples import digital_text_pdf, write_samples
from ocr_resources.store import ResultStore

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Inbox order is alphabetical, and so is the order the CLI registers the partitions in.
KEYS = ["annual-reports", "broken-batch", "scanned-mail"]


def write_broken_container(folder: Path) -> None:
    """One readable PDF and one that is not a PDF at all: a 50% error rate, over the default threshold."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.pdf").write_bytes(digital_text_pdf())
    (folder / "not_a_pdf.pdf").write_bytes(b"<html>saved with the wrong name</html>")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 1.0) -> Any:
    """Poll until predicate() is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class OrchestrationEnv:
    """A temporary DAGSTER_HOME + OCR_DATA_DIR, and helpers to drive the CLI against them."""

    root: Path
    home: Path = field(init=False)
    data: Path = field(init=False)

    def __post_init__(self) -> None:
        self.home = self.root / "dagster_home"
        self.data = self.root / "data"
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "dagster_home" / "dagster.yaml", self.home / "dagster.yaml")

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "OCR_"))}
        env.update(DAGSTER_HOME=str(self.home), OCR_DATA_DIR=str(self.data), OCR_PROFILE="offline",
                   # the daemon must run only what a test asks for, not the inbox sensor's own runs
                   OCR_AUTOMATION="off", PYTHONUNBUFFERED="1")
        return env

    @property
    def duckdb_path(self) -> Path:
        return self.data / "ocr.duckdb"

    def store(self) -> ResultStore:
        return ResultStore(self.duckdb_path, lock_timeout_s=60)

    def instance(self) -> DagsterInstance:
        return DagsterInstance.from_config(str(self.home))

    def write_inbox(self) -> None:
        write_samples(self.data / "inbox")
        write_broken_container(self.data / "inbox" / "Broken Batch")

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a command from the venv (dagster, python, ...) in the project root against this instance."""
        exe = args[0] if args[0].startswith("/") else str(BIN / args[0])
        return subprocess.run([exe, *args[1:]], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def popen(self, *args: str, log: Path) -> subprocess.Popen:
        # a session of its own, so teardown can stop the process and the run workers it spawned
        return subprocess.Popen([str(BIN / args[0]), *args[1:]], cwd=ROOT, env=self.env, stdout=log.open("w"),
                                stderr=subprocess.STDOUT, start_new_session=True)

    def register(self) -> list[str]:
        out = self.cli("python", "-m", "ocr_assets.cli", "register")
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout.strip().splitlines()[-1].split(",")


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process started with start_new_session, and its process group."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def tail(path: Path, n: int = 4000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else "(no log)"


# -- CLI materializations --------------------------------------------------------------------------------
@dataclass
class CliRuns:
    env: OrchestrationEnv
    results: dict[str, subprocess.CompletedProcess]
    seconds: float


@pytest.fixture(scope="session")
def cli_runs(tmp_path_factory) -> CliRuns:
    """Two `dagster asset materialize` processes at once on the same instance and the same DuckDB file:
    one single-run range over two containers, one over the third container."""
    env = OrchestrationEnv(tmp_path_factory.mktemp("cli"))
    env.write_inbox()
    assert env.register() == KEYS
    commands = {
        "range": ["--partition-range", f"{KEYS[0]}...{KEYS[1]}"],
        "single": ["--partition", KEYS[2]],
    }
    started = time.monotonic()
    procs = {
        name: subprocess.Popen(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "ocr_assets.definitions", "--select", "*", *args],
            cwd=ROOT, env=env.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for name, args in commands.items()
    }
    results = {}
    for name, proc in procs.items():
        try:
            out, _ = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, "")
    return CliRuns(env, results, time.monotonic() - started)


# -- webserver + daemon ----------------------------------------------------------------------------------
@dataclass
class Services:
    env: OrchestrationEnv
    port: int
    webserver_log: Path
    daemon_log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        resp = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                             timeout=60)
        resp.raise_for_status()
        body = resp.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture(scope="session")
def services(tmp_path_factory) -> Iterator[Services]:
    """`dagster-webserver` and `dagster-daemon run` on one temporary instance, the workspace.yaml of the
    project, sample containers registered as partitions."""
    env = OrchestrationEnv(tmp_path_factory.mktemp("services"))
    env.write_inbox()
    assert env.register() == KEYS
    port = free_port()
    web_log, daemon_log = env.root / "webserver.log", env.root / "daemon.log"
    web = env.popen("dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port),
                    log=web_log)
    daemon = env.popen("dagster-daemon", "run", "-w", "workspace.yaml", log=daemon_log)
    svc = Services(env, port, web_log, daemon_log)
    try:
        def up() -> bool:
            assert web.poll() is None, f"webserver exited:\n{tail(web_log)}"
            assert daemon.poll() is None, f"daemon exited:\n{tail(daemon_log)}"
            try:
                return requests.get(f"{svc.url}/server_info", timeout=5).ok
            except requests.RequestException:
                return False

        wait_for(up, 120, f"the webserver on port {port}")
        yield svc
    finally:
        stop(daemon)
        stop(web)
