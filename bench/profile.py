"""Where the time goes: the whole graph through one Dagster run (`dagster.materialize`, in-process executor) on
a fixed corpus, with cProfile in every thread of the run process, split per stage.

    python -m bench.profile                      # ../shared/corpus/docling, one container per PDF
    python -m bench.profile --one-container      # the same PDFs in one container
    python -m bench.profile --top 25 --out bench/results/profile-2026-12-06.txt

The machine is shared (load averages above 10 are common), so the report rests on CPU time and call counts,
not wall seconds: per stage the run process's CPU seconds (`time.process_time`, every thread), the CPU seconds
of its worker processes (pdfium opening and rendering, which cProfile cannot see), CPU ms per page, how often
the costly things happen (processes started, DuckDB connections, page images decoded and encoded), and the top
functions by own and cumulative time. cProfile's own overhead inflates Python-heavy code (a few tens of %);
shares between stages are what to read. Only the summary is kept (bench/results/profile-<date>.txt), never a
raw profile. `run_graph` is also what bench/same_exports.py runs before and after a change.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CORPUS = Path(os.environ.get("OCR_CORPUS_DIR") or ROOT.parent / "shared" / "corpus") / "docling"

# Functions whose call counts say whether a fixed cost is paid per run, per stage, per partition or per page.
COUNTED = {
    "worker processes started": ("workers.py", "__init__", "_Worker"),
    "DuckDB connections opened": ("~", "<built-in method _duckdb.connect>", None),
    "store.migrate calls": ("store.py", "migrate", None),
    "page images decoded (PageStore.open)": ("page_store.py", "open", None),
    "page images encoded (PageStore.put_image)": ("page_store.py", "put_image", None),
    "read-only snapshot refreshes": ("store.py", "refresh_snapshot", None),
    "partition commits": ("store.py", "replace_partition", None),
    "stream_inference runs": ("execution.py", "stream_inference", None),
}


class _Profiles:
    """One cProfile per (stage, thread): the main thread switches profiler at each stage's start and end; every
    thread started meanwhile (loaders, inference, producers) gets its own, filed under the stage then running."""

    def __init__(self, timer=None) -> None:
        self.timer = timer  # None: cProfile's wall clock; time.thread_time: each thread's own CPU
        self.stage = "run (outside stages: Dagster, model loads)"
        self.by_stage: dict[str, list[cProfile.Profile]] = {}
        self.lock = threading.Lock()
        self.main = self._new()

    def _new(self) -> cProfile.Profile:
        prof = cProfile.Profile(self.timer) if self.timer else cProfile.Profile()
        with self.lock:
            self.by_stage.setdefault(self.stage, []).append(prof)
        return prof

    def thread_hook(self, frame, event, arg) -> None:  # threading.setprofile: runs first in each new thread
        self._new().enable()

    def start(self) -> None:
        threading.setprofile(self.thread_hook)
        self.main.enable()

    @contextmanager
    def stage_scope(self, name: str):
        self.main.disable()
        outer, self.stage = self.stage, name
        self.main = self._new()
        self.main.enable()
        try:
            yield
        finally:
            self.main.disable()
            self.stage = outer
            self.main = self._new()
            self.main.enable()

    def stop(self) -> None:
        self.main.disable()
        threading.setprofile(None)

    def stats(self, stage: str) -> pstats.Stats | None:
        profs = [p for p in self.by_stage.get(stage, []) if p.getstats()]
        if not profs:
            return None
        s = pstats.Stats(profs[0], stream=io.StringIO())
        for p in profs[1:]:
            s.add(p)
        return s


def _children_cpu() -> dict[int, float]:
    out = {}
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            out[child.pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


class _Meter:
    """CPU seconds of this process and of its worker processes (live ones sampled, finished ones reaped)."""

    def __init__(self) -> None:
        self.cpu = time.process_time()
        self.wall = time.perf_counter()
        self.live = _children_cpu()
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.reaped = r.ru_utime + r.ru_stime

    def read(self) -> dict[str, float]:
        now = _children_cpu()
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        reaped = r.ru_utime + r.ru_stime - self.reaped
        live = sum(v - self.live.get(pid, 0.0) for pid, v in now.items())
        gone = sum(v for pid, v in self.live.items() if pid not in now)  # counted again in `reaped`
        return {"wall_s": time.perf_counter() - self.wall, "cpu_s": time.process_time() - self.cpu,
                "workers_cpu_s": max(0.0, live + reaped - gone)}


def containers_from(pdfs: list[Path], one_container: bool) -> dict[str, list[Path]]:
    if one_container:
        return {"corpus": pdfs}
    def key(i: int, p: Path) -> str:  # a valid container key: lowercase letters, digits and '-'
        return f"c{i:02d}-" + "".join(ch if ch.isalnum() else "-" for ch in p.stem.lower()[:24]).strip("-")

    return {key(i, p): [p] for i, p in enumerate(pdfs)}


def run_graph(data_dir: Path, containers: dict[str, list[Path]], profiles: _Profiles | None = None
              ) -> dict[str, Any]:
    """Every asset for every container in ONE Dagster run (a partition range, as the CLI and a single-run
    backfill make), on a fresh instance and data directory. Returns seconds and CPU per stage."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("dagster").setLevel(logging.ERROR)
    from dagster import DagsterInstance, materialize

    import ocr_assets.assets as assets_module
    from ocr_assets.assets import document_assets
    from ocr_assets.partitions import containers as partitions_def
    from ocr_resources.resources import PipelineStorage, model_resources

    inbox = data_dir / "inbox"
    for key, pdfs in containers.items():
        (inbox / key).mkdir(parents=True, exist_ok=True)
        for p in pdfs:
            shutil.copy(p, inbox / key / p.name)
    keys = list(containers)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(partitions_def.name, keys)
    storage = PipelineStorage(data_dir=str(data_dir), duckdb_path=str(data_dir / "ocr.duckdb"))
    from ocr_resources.profiles import load_profile

    resources = {"storage": storage, **model_resources(load_profile("offline"))}

    per_stage: dict[str, dict[str, float]] = {}
    original = assets_module._run_stage

    def measured(context, storage, asset_name, *args, **kwargs):
        meter = _Meter()
        scope = profiles.stage_scope(asset_name) if profiles else contextmanager(lambda: (yield))()
        with scope:
            result = original(context, storage, asset_name, *args, **kwargs)
        per_stage[asset_name] = meter.read()
        return result

    assets_module._run_stage = measured
    meter = _Meter()
    try:
        result = materialize(document_assets, instance=instance, resources=resources,
                             tags={"dagster/asset_partition_range_start": keys[0],
                                   "dagster/asset_partition_range_end": keys[-1], "ocr/force": "true"},
                             run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    finally:
        assets_module._run_stage = original
    total = meter.read()
    assert result.success
    from ocr_resources.store import ResultStore

    pages = ResultStore(data_dir / "ocr.duckdb").query(
        "SELECT count(*) AS n, count(*) FILTER (WHERE NOT has_text_layer) AS scanned FROM pages")[0]
    return {"total": total, "stages": per_stage, "pages": pages["n"], "scanned_pages": pages["scanned"],
            "containers": len(keys)}


def _counts(stats: pstats.Stats) -> dict[str, int]:
    found = dict.fromkeys(COUNTED, 0)
    for (file, _line, func), (cc, _nc, _tt, _ct, _callers) in stats.stats.items():
        for label, (fname, fn, _cls) in COUNTED.items():
            if file.endswith(fname) and func == fn:
                found[label] += cc
    return found


def _top(stats: pstats.Stats, key: str, n: int) -> str:
    buf = io.StringIO()
    stats.stream = buf
    stats.sort_stats(key).print_stats(n)
    lines = buf.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return "\n".join(line.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
                     for line in lines[start:] if line.strip())


def report(run: dict[str, Any], profiles: _Profiles | None, top: int, header: list[str]) -> str:
    pages = run["pages"]
    lines = [*header, f"pages: {pages} ({run['scanned_pages']} without a text layer) in {run['containers']} "
                      f"container(s), one Dagster run", ""]
    total = run["total"]
    all_cpu = total["cpu_s"] + total["workers_cpu_s"]
    lines.append(f"{'stage':<22} {'wall s':>8} {'cpu s':>8} {'workers':>8} {'cpu ms/page':>12} {'cpu share':>10}")
    rows = list(run["stages"].items())
    in_stages = {k: sum(v[k] for _, v in rows) for k in ("wall_s", "cpu_s", "workers_cpu_s")}
    rows.append(("(outside stages)", {k: total[k] - in_stages[k] for k in in_stages}))
    rows.append(("TOTAL", total))
    for name, m in rows:
        cpu = m["cpu_s"] + m["workers_cpu_s"]
        lines.append(f"{name:<22} {m['wall_s']:>8.2f} {m['cpu_s']:>8.2f} {m['workers_cpu_s']:>8.2f} "
                     f"{1000 * cpu / max(1, pages):>12.1f} {cpu / all_cpu if all_cpu else 0:>10.1%}")
    lines.append("(wall s on a shared machine is indicative only; cpu = this process, every thread; workers = "
                 "the pdfium worker processes)")
    if profiles is None:
        return "\n".join(lines)
    for stage in [*run["stages"], profiles.stage] + [s for s in profiles.by_stage
                                                      if s not in run["stages"] and s != profiles.stage]:
        stats = profiles.stats(stage)
        if stats is None:
            continue
        counts = _counts(stats)
        lines += ["", "=" * 100, f"{stage}", "=" * 100,
                  "counts: " + "; ".join(f"{k} {v}" for k, v in counts.items() if v)]
        lines += ["", f"-- top {top} by own time (tottime), every thread of the stage --", _top(stats, "tottime", top)]
        lines += ["", f"-- top {top} by cumulative time --", _top(stats, "cumulative", top)]
    return "\n".join(lines)


def peer_pymupdf4llm(pdfs: list[Path]) -> dict[str, float] | None:
    """pymupdf4llm (the eval's digital peer) on the same PDFs in this process: wall and CPU seconds."""
    try:
        import pymupdf4llm
    except ImportError:
        return None
    pymupdf4llm.to_markdown(str(pdfs[0]))  # warm: imports and fonts
    wall, cpu = time.perf_counter(), time.process_time()
    for p in pdfs:
        pymupdf4llm.to_markdown(str(p))
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def peer_line(run: dict[str, Any], peer: dict[str, float] | None) -> str:
    if peer is None:
        return "pymupdf4llm: not installed (the eval extra)"
    total, pages = run["total"], run["pages"]
    ours_cpu = total["cpu_s"] + total["workers_cpu_s"]
    return (f"pages per CPU-second, ours (whole graph, one Dagster run, every process) / pymupdf4llm (same PDFs, "
            f"one process): {pages / ours_cpu:.2f} / {pages / peer['cpu_s']:.2f} = "
            f"{peer['cpu_s'] / ours_cpu:.2f}x; wall pages/s {pages / total['wall_s']:.2f} / "
            f"{pages / peer['wall_s']:.2f} (shared machine: indicative)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of PDFs (default: the docling corpus)")
    parser.add_argument("--one-container", action="store_true", help="all PDFs in one container")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--no-profile", action="store_true", help="CPU per stage only (no cProfile overhead)")
    parser.add_argument("--cpu-timer", action="store_true",
                        help="time functions by their thread's CPU (time.thread_time), not the wall clock: waits drop "
                             "out and a loaded machine moves the figures less; ONNX Runtime's own threads are not seen")
    parser.add_argument("--out", type=Path, default=None, help="default bench/results/profile-<date>.txt")
    parser.add_argument("--no-peer", action="store_true", help="skip pymupdf4llm on the same PDFs")
    parser.add_argument("--exports", type=Path, default=None, help="copy the run's Markdown exports here")
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", str(ROOT / "dagster_home"))
    pdfs = sorted(args.corpus.glob("*.pdf"))
    if not pdfs:
        parser.error(f"no PDFs under {args.corpus}")
    load = os.getloadavg()
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    header = [f"bench/profile.py at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {sha.strip()} (+ working tree), "
              f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at start",
              f"corpus: {len(pdfs)} PDFs of {args.corpus}"]
    profiles = None if args.no_profile else _Profiles(time.thread_time if args.cpu_timer else None)
    with tempfile.TemporaryDirectory(prefix="ocr-profile-") as tmp:
        if profiles:
            profiles.start()
        try:
            run = run_graph(Path(tmp), containers_from(pdfs, args.one_container), profiles)
        finally:
            if profiles:
                profiles.stop()
        if args.exports:
            shutil.copytree(Path(tmp) / "exports", args.exports, dirs_exist_ok=True)
    peer = None if args.no_peer else peer_pymupdf4llm(pdfs)
    load = os.getloadavg()
    header[0] += f", {load[0]:.1f} at end"
    text = report(run, profiles, args.top, header)
    head, sep, rest = text.partition("\n\n" + "=" * 100)
    text = head + ("" if args.no_peer else "\n" + peer_line(run, peer)) + sep + rest
    out = args.out or RESULTS / f"profile-{datetime.now(UTC):%Y-%m-%d}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print("\n".join(text.split("\n=")[0].splitlines()))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
