"""Concurrent CLI runs on one machine: N `python -m ocr_assets.cli materialize --partition K` processes started
at once on N containers against one instance and one DuckDB file, against the same N runs one after another
(a fresh instance and data directory each, the same container bytes). Wall seconds, not a test assertion.

    python -m bench.run --only concurrency
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.corpus import digital_pdf, scanned_pdf

ROOT = Path(__file__).resolve().parents[1]


def write_containers(inbox: Path, n: int, digital_pages: int, scanned_pages: int) -> list[str]:
    keys = []
    for i in range(n):
        folder = inbox / f"box-{i + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        digital_pdf(folder / "report.pdf", digital_pages, seed=100 + i, lines_per_page=20)
        if scanned_pages:
            scanned_pdf(folder / "scan.pdf", scanned_pages, seed=200 + i, dpi=150)
        keys.append(folder.name)
    return keys


class Instance:
    """A DAGSTER_HOME (the project's dagster.yaml) and a data directory with a copy of the containers."""

    def __init__(self, root: Path, inbox: Path):
        self.home, self.data = root / "dagster_home", root / "data"
        self.home.mkdir(parents=True)
        shutil.copy(ROOT / "dagster_home" / "dagster.yaml", self.home / "dagster.yaml")
        shutil.copytree(inbox, self.data / "inbox")
        self.logs = root / "logs"
        self.logs.mkdir()

    def env(self, base: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in base.items() if not k.startswith(("DAGSTER_", "OCR_"))}
        return env | {"DAGSTER_HOME": str(self.home), "OCR_DATA_DIR": str(self.data), "OCR_PROFILE": "offline",
                      "OCR_AUTOMATION": "off", "PYTHONUNBUFFERED": "1"}

    def cli(self, env: dict[str, str], *args: str) -> subprocess.Popen:
        log = (self.logs / f"{'-'.join(args)}.log").open("w")
        return subprocess.Popen([sys.executable, "-m", "ocr_assets.cli", *args], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)

    def rows(self) -> dict[str, Any]:
        import duckdb

        con = duckdb.connect(str(self.data / "ocr.duckdb"), read_only=True)
        try:
            pages = dict(con.execute("SELECT container_id, count(*) FROM pages GROUP BY 1").fetchall())
            texts = dict(con.execute("SELECT container_id, count(*) FROM texts GROUP BY 1").fetchall())
            loads = con.execute("SELECT max(loads) FROM model_loads").fetchone()[0]
            return {"pages": pages, "texts": texts, "max_loads_per_model_and_run": loads}
        finally:
            con.close()


def run_all(inst: Instance, keys: list[str], env: dict[str, str], at_once: bool) -> tuple[float, list[int]]:
    register = inst.cli(inst.env(env), "register")
    assert register.wait(timeout=300) == 0, "register failed"
    t0 = time.perf_counter()
    codes = []
    if at_once:
        procs = [inst.cli(inst.env(env), "materialize", "--partition", k) for k in keys]
        codes = [p.wait(timeout=1800) for p in procs]
    else:
        for k in keys:
            codes.append(inst.cli(inst.env(env), "materialize", "--partition", k).wait(timeout=1800))
    return time.perf_counter() - t0, codes


def measure(root: Path, env: dict[str, str], runs: int = 4, digital_pages: int = 6, scanned_pages: int = 1,
            log=print) -> dict[str, Any]:
    inbox = root / "source-inbox"
    keys = write_containers(inbox, runs, digital_pages, scanned_pages)
    out: dict[str, Any] = {"runs": runs, "pages_per_container": digital_pages + scanned_pages,
                           "digital_pages": digital_pages, "scanned_pages": scanned_pages}
    for mode in ("sequence", "at_once"):
        inst = Instance(root / mode, inbox)
        seconds, codes = run_all(inst, keys, env, at_once=mode == "at_once")
        rows = inst.rows()
        out[mode] = {"wall_s": round(seconds, 1), "exit_codes": codes, **rows}
        log(f"concurrency: {runs} runs {mode.replace('_', ' ')}: {seconds:.1f}s, exit codes {codes}")
    out["at_once_over_sequence"] = round(out["at_once"]["wall_s"] / out["sequence"]["wall_s"], 2)
    out["same_rows"] = (out["at_once"]["pages"] == out["sequence"]["pages"]
                        and out["at_once"]["texts"] == out["sequence"]["texts"])
    return out
