"""Stage-level runs (no Dagster, fake models where a model is needed) over generated hostile containers."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from ocr_resources.pipeline import stages
from ocr_resources.pipeline.workers import Limits
from ocr_resources.store import ResultStore
from tests.reliability.corpus import Case
from tests.stage_runner import run_stage


def write_cases(folder: Path, cases: list[Case]) -> None:
    """Write cases under `folder` by their raw byte names (sub/folders included; pipes and sockets made)."""
    for case in cases:
        path = os.path.join(os.fsencode(folder), case.name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if case.special == "fifo":
            os.mkfifo(path)
        elif case.special == "socket":
            cwd = os.getcwd()  # bound by its relative name: socket paths are limited to ~108 bytes
            os.chdir(os.path.dirname(path))
            try:
                with socket.socket(socket.AF_UNIX) as sock:  # the socket file stays after the socket closes
                    sock.bind(os.path.basename(path))
            finally:
                os.chdir(cwd)
        else:
            with open(path, "wb") as fh:
                fh.write(case.data)


@dataclass
class StageEnv:
    data: Path
    store: ResultStore
    runs: int = 0

    @property
    def inbox(self) -> Path:
        return self.data / "inbox"

    def stage(self, key: str, asset: str, fn, limits: Limits | None = None, **kw) -> stages.StageOutput:
        self.runs += 1
        return run_stage(self.data, self.store, key, asset, fn, run_id=f"run-{self.runs:04d}", render_workers=2,
                         limits=limits or Limits(), **kw)

    def ingest(self, key: str, entry: Path, dpi: int = 72, limits: Limits | None = None, **kw) -> None:
        self.stage(key, "source_documents", lambda ctx: stages.source_documents(ctx, entry), limits)
        self.stage(key, "rendered_pages", lambda ctx: stages.rendered_pages(ctx, dpi, **kw), limits)

    def rows(self, sql: str, params: list | None = None) -> list[dict]:
        return self.store.query(sql, params)


@pytest.fixture()
def stage_env(tmp_path) -> StageEnv:
    (tmp_path / "inbox").mkdir()
    return StageEnv(tmp_path, ResultStore(tmp_path / "ocr.duckdb"))
