"""What each Dagster step pays besides its stage's own work: P1's containers (bench/run.py) materialized
through `dagster.materialize`, with the step's fixed parts timed one by one (wall and CPU ms per step).

    python -m bench.step_costs                 # P1 quick sizes, 3 rounds after a warm-up
    python -m bench.step_costs --rounds 5 --profile /tmp/steps.txt   # and a cProfile summary of the steps

Timed by wrapping the functions a step calls (`ocr_assets.assets` and the store): the stage itself, the commit,
the read-only copy for analysts, the schema check, the metadata read back, the model-load bookkeeping. What is
left of the step's time (STEP_START to STEP_SUCCESS in the run's events) is Dagster's and the asset wrapper's
own. CPU is `time.process_time` (every thread of this process) over the call; the stage's CPU also counts its
loader and inference threads. Figures are medians over the rounds; the shared machine moves walls, so CPU
ms is the figure to compare.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# (module, attribute, label): what a step does outside Dagster, timed per call.
TIMED = [
    ("ocr_resources.store", "ResultStore.refresh_snapshot", "read-only copy (refresh_snapshot)"),
    ("ocr_resources.store", "ResultStore.migrate", "schema check (migrate)"),
    ("ocr_resources.store", "ResultStore.record_model_loads", "model-load events (record_model_loads)"),
    ("ocr_resources.pipeline.stages", "commit", "commit (stages.commit)"),
    ("ocr_assets.assets", "container_metadata", "metadata read back (container_metadata)"),
    ("ocr_assets.assets", "_run_metadata", "run metadata (_run_metadata)"),
    ("ocr_assets.assets", "record_worker", "worker tag (record_worker)"),
    ("ocr_assets.assets", "_model_producer", "model (cached) and producer (_model_producer)"),
]


CONNECTIONS = "DuckDB connections (calls: all; ms: outside the above)"


class Timer:
    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.depth = 0

    def wrap(self, label: str, fn):
        def timed(*args, **kwargs):
            if self.depth:  # nested in another timed call: counted there
                return fn(*args, **kwargs)
            self.depth += 1
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[label] += time.perf_counter() - w
                self.cpu[label] += time.process_time() - c
                self.calls[label] += 1
                self.depth -= 1
        return timed

    def wrap_context(self, label: str, fn):
        """A context manager's entry and exit timed (not its body); its calls counted at any depth."""
        timer = self

        class Timed:
            def __init__(self, *args, **kwargs):
                self.inner = fn(*args, **kwargs)

            def _timed(self, call):
                timer.calls[label] += 1
                if timer.depth:
                    return call()
                timer.depth += 1
                w, c = time.perf_counter(), time.process_time()
                try:
                    return call()
                finally:
                    timer.wall[label] += time.perf_counter() - w
                    timer.cpu[label] += time.process_time() - c
                    timer.depth -= 1

            def __enter__(self):
                return self._timed(self.inner.__enter__)

            def __exit__(self, *exc):
                return self._timed(lambda: self.inner.__exit__(*exc))

        return lambda *args, **kwargs: Timed(*args, **kwargs)  # a function: bound as a method

    def reset(self) -> None:
        self.wall.clear()
        self.cpu.clear()
        self.calls.clear()


def install(timer: Timer) -> None:
    import importlib

    import ocr_assets.assets as assets

    for module, attr, label in TIMED:
        mod = importlib.import_module(module)
        owner_name, _, name = attr.rpartition(".")
        owner = getattr(mod, owner_name) if owner_name else mod
        setattr(owner, name, timer.wrap(label, getattr(owner, name)))
        if module != "ocr_assets.assets" and not owner_name and hasattr(assets, name):
            setattr(assets, name, getattr(owner, name))
    from ocr_resources.store import ResultStore

    ResultStore.connect = timer.wrap_context(CONNECTIONS, ResultStore.connect)
    # the stage itself: the `stage(ctx)` callable _run_stage gets
    original = assets._run_stage

    def run_stage(context, storage, asset_name, stage, *args, **kwargs):
        return original(context, storage, asset_name, timer.wrap("stage (the work itself)", stage), *args, **kwargs)

    assets._run_stage = run_stage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.step_costs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="also cProfile the steps (main thread) and write a summary")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)

    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("dagster").setLevel(logging.ERROR)
    logging.getLogger("ocr_resources").setLevel(logging.ERROR)
    os.environ.setdefault("DAGSTER_HOME", str(ROOT / "dagster_home"))
    from bench.corpus import digital_pdf, scanned_pdf
    from bench.run import QUICK, Dagster, Workspace
    from ocr_resources.pipeline import stages

    timer = Timer()
    install(timer)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    prof = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="ocr-steps-") as tmp:
        ws = Workspace(Path(tmp))
        dag = Dagster(ws)
        layout = ws.engine("layout")
        digital_pdf(ws.container("p1-layout") / "digital.pdf", QUICK["layout_pages"], seed=11)
        scanned_pdf(ws.container("p1-ocr") / "scanned.pdf", QUICK["ocr_pages"], seed=12)
        for key in ("p1-layout", "p1-ocr"):
            ws.prepare(key)
        ws.stage("p1-ocr", "layout_regions", lambda c: stages.layout_regions(c, layout))
        mixed = ws.container("p1-mixed")
        for key, name in (("p1-layout", "digital.pdf"), ("p1-ocr", "scanned.pdf")):
            (mixed / name).write_bytes((ws.inbox / key / name).read_bytes())
        runs = [("p1-layout", ["layout_regions"]), ("p1-ocr", ["ocr_text"]), ("p1-mixed", None)]
        for r in range(args.rounds + 1):  # round 0 warms up: model loads, worker starts
            for key, names in runs:
                timer.reset()
                if prof is not None and r:
                    prof.enable()
                c0 = time.process_time()
                d = dag.materialize(key, names)
                cpu = time.process_time() - c0
                if prof is not None:
                    prof.disable()
                if r == 0:
                    continue
                rows[key].append({"wall_s": d["wall_s"], "cpu_s": cpu, "steps": d["steps_s"],
                                  "wall": dict(timer.wall), "cpu": dict(timer.cpu), "calls": dict(timer.calls)})
        db_mb = (Path(tmp) / "ocr.duckdb").stat().st_size / 2**20
    lines = [f"bench/step_costs.py, {args.rounds} rounds (median), {os.cpu_count()} cores, load average "
             f"{os.getloadavg()[0]:.1f} at end, results file {db_mb:.1f} MB at end"]
    labels = ["stage (the work itself)"] + [label for _, _, label in TIMED] + [CONNECTIONS]
    for key, samples in rows.items():
        n_steps = len(samples[0]["steps"])
        step_wall = statistics.median(sum(s["steps"].values()) for s in samples)
        run_wall = statistics.median(s["wall_s"] for s in samples)
        lines += ["", f"{key}: {n_steps} step(s); run wall {run_wall * 1000:.0f} ms, "
                      f"run CPU {statistics.median(s['cpu_s'] for s in samples)*1000:.0f} ms, steps' wall "
                      f"{step_wall*1000:.0f} ms",
                  f"  {'part':<52} {'calls/run':>9} {'wall ms/step':>13} {'cpu ms/step':>12}"]
        named = 0.0
        for label in labels:
            wall = statistics.median(s["wall"].get(label, 0.0) for s in samples)
            cpu = statistics.median(s["cpu"].get(label, 0.0) for s in samples)
            calls = statistics.median(s["calls"].get(label, 0) for s in samples)
            named += wall
            lines.append(f"  {label:<52} {calls:>9.0f} {wall*1000/n_steps:>13.1f} {cpu*1000/n_steps:>12.1f}")
        lines.append(f"  {'rest of the steps (Dagster, asset wrapper)':<52} {'':>9} "
                     f"{(step_wall - named)*1000/n_steps:>13.1f}")
        lines.append(f"  {'outside the steps (run start and end)':<52} {'':>9} "
                     f"{(statistics.median(s['wall_s'] for s in samples) - step_wall)*1000:>13.1f} (per run)")
    text = "\n".join(lines)
    print(text)
    if prof is not None:
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("cumulative").print_stats(args.top)
        buf.write("\n")
        stats.sort_stats("tottime").print_stats(args.top)
        args.profile.write_text(text + "\n\n" + buf.getvalue())
        print(f"wrote {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
