"""The supervised worker pool: a unit whose worker dies, hangs or eats memory becomes a failure result with
the reason, the worker is replaced, and the rest of the job and every other job go on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from ocr_resources.pipeline.workers import Limits, WorkerStartError, prestart, run_jobs
from tests.reliability.jobs import ScriptJob, UnloadableJob


def _run(jobs, **limits):
    return list(run_jobs(jobs, workers=2, limits=Limits(**limits)))


def test_a_dying_worker_costs_one_unit():
    out = _run([ScriptJob(["ok", "die", "ok", "ok"]), ScriptJob(["ok", "exit", "ok"], "b")], unit_timeout_s=60)
    assert sorted(o for o in out if not o.startswith("failed")) == sorted(
        ["0:ok", "+2/0:ok", "+2/1:ok", "b0:ok", "b+2/0:ok"])
    failures = sorted(o for o in out if o.startswith("failed"))
    assert failures[0].startswith("failed die: the worker process died (killed by signal 9, SIGKILL)")
    assert "memory limit" not in failures[0]  # it was killed, not out of memory: nothing guessed
    assert failures[1].startswith("failed exit: the worker process died (exit code 3)")


def test_a_hanging_unit_is_stopped_at_its_time_limit():
    out = _run([ScriptJob(["ok", "sleep", "ok"])], unit_timeout_s=1)
    assert out[:2] == ["0:ok", "failed sleep: took longer than the limit of 1 s and was stopped"]
    assert out[2:] == ["+2/0:ok"]


def test_memory_limit_stops_a_unit_not_the_run():
    out = _run([ScriptJob(["hog", "ok"])], memory_mb=400, unit_timeout_s=60)
    # either the address-space limit raises MemoryError inside the unit, or the parent kills the worker
    assert out[0] in ("0:memory", "0:hog") or out[0].startswith("failed hog: needed more than the memory limit")
    assert out[-1].endswith(":ok")


def test_a_bug_in_the_job_fails_its_remaining_units_with_the_message():
    out = _run([ScriptJob(["ok", "raise", "ok"]), ScriptJob(["ok"], "b")], unit_timeout_s=60)
    assert sorted(out) == sorted(["0:ok", "b0:ok", "failed raise: RuntimeError: bug in the job",
                                  "failed ok: RuntimeError: bug in the job"])


def test_workers_that_cannot_start_fail_the_call_instead_of_every_file():
    with pytest.raises(WorkerStartError, match="exit code 5"):
        _run([UnloadableJob()], unit_timeout_s=60)


def _kill_worker_later(seconds: float) -> threading.Thread:
    """Kill this process's (only) busy worker from outside, as an operator or the OOM killer would."""
    def kill() -> None:
        time.sleep(seconds)
        for child in psutil.Process().children(recursive=True):
            try:  # a worker an earlier test killed may linger as a zombie until reaped: not ours to kill
                if any("spawn_main" in part for part in child.cmdline()):
                    child.kill()
            except (psutil.ZombieProcess, psutil.NoSuchProcess):
                continue

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_from_outside_is_reported_with_what_is_known():
    killer = _kill_worker_later(2.0)
    out = list(run_jobs([ScriptJob(["sleep", "ok"])], workers=1, limits=Limits(memory_mb=2048, unit_timeout_s=60)))
    killer.join()
    assert out[1:] == ["+1/0:ok"]
    assert re.fullmatch(r"failed sleep: the worker process died \(killed by signal 9, SIGKILL\); it held \d+ MB "
                        r"when last seen", out[0]), out[0]


def _pid(results: list[str]) -> int:
    return int(next(r for r in results if ":pid=" in r).split("=")[1])


def test_workers_are_started_once_per_process_and_reused_by_every_call():
    """A stage per container per asset calls run_jobs again: a spawned interpreter (numpy, pdfium, OpenCV) per
    call was a second of CPU each time; healthy workers are kept for the next call."""
    first = list(run_jobs([ScriptJob(["pid"])], workers=1, limits=Limits(memory_mb=2048, unit_timeout_s=60)))
    second = list(run_jobs([ScriptJob(["pid"])], workers=1, limits=Limits(memory_mb=2048, unit_timeout_s=60)))
    assert _pid(first) == _pid(second)
    other_budget = list(run_jobs([ScriptJob(["pid"])], workers=1, limits=Limits(memory_mb=1024, unit_timeout_s=60)))
    assert _pid(other_budget) != _pid(first)  # the memory limit is set at start: never shared across budgets


def test_a_kept_worker_that_died_while_idle_is_replaced():
    first = list(run_jobs([ScriptJob(["pid"])], workers=1, limits=Limits(memory_mb=2048, unit_timeout_s=60)))
    dead = psutil.Process(_pid(first))
    dead.kill()
    while dead.status() != psutil.STATUS_ZOMBIE:  # dead, not yet reaped: as the run finds it
        time.sleep(0.01)
    again = list(run_jobs([ScriptJob(["pid", "ok"])], workers=1, limits=Limits(memory_mb=2048, unit_timeout_s=60)))
    assert _pid(again) != _pid(first) and again[1] == "1:ok"


def test_the_job_after_a_failed_job_runs_whole_on_the_same_worker():
    # the failed job's worker still sends its end-of-job message: it must not end the next job early
    out = list(run_jobs([ScriptJob(["raise", "ok"]), ScriptJob(["ok", "ok"], "b")], workers=1,
                        limits=Limits(memory_mb=2048, unit_timeout_s=60)))
    assert out == ["failed raise: RuntimeError: bug in the job", "failed ok: RuntimeError: bug in the job",
                   "b0:ok", "b1:ok"]


def test_a_worker_does_not_import_the_parents_main_module(tmp_path):
    # spawn runs the parent's main module again in every worker unless kept from it: under `dagster` or
    # `python -m bench.run` that is all of Dagster and the models' code, seconds per worker start
    marks = tmp_path / "imports.txt"
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(f"""
        import os
        with open({str(marks)!r}, "a") as f:
            f.write(str(os.getpid()) + "\\n")
        if __name__ == "__main__":
            from ocr_resources.pipeline.workers import Limits, run_jobs
            from tests.reliability.jobs import ScriptJob
            print(os.getpid(), list(run_jobs([ScriptJob(["pid"])], workers=1, limits=Limits(unit_timeout_s=60))))
    """))
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run([sys.executable, str(script)], cwd=root, env={**os.environ, "PYTHONPATH": root},
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0 and "0:pid=" in proc.stdout, proc.stderr[-2000:]
    assert marks.read_text().split() == proc.stdout.split()[:1]  # the parent's own run of it, no worker's


def test_workers_started_ahead_are_the_ones_the_next_call_takes():
    # the first stage of a run starts the render workers: the next stage finds them started, not one by one
    limits = Limits(memory_mb=1536, unit_timeout_s=60)  # a budget of its own: no worker another test kept
    assert prestart(2, limits) == 2
    assert prestart(2, limits) == 0  # kept already: none more
    ahead = {c.pid for c in psutil.Process().children()}
    out = list(run_jobs([ScriptJob(["pid"]), ScriptJob(["pid"], "b")], workers=2, limits=limits))
    pids = {int(r.split("=")[1]) for r in out if "pid=" in r}
    assert len(pids) == 2 and pids <= ahead, (out, ahead)
