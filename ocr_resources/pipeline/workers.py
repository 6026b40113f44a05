"""Supervised worker processes for work on untrusted files (parsing and rendering PDFs with pdfium).

Each worker is a spawned process with an address-space limit; the parent also watches its resident memory
and gives every unit of work (a page, a document) a time limit. A worker that dies, overruns its time or its
memory is killed and replaced: the unit it was on becomes a failure result that says why, and the rest of
its job goes on in a fresh worker. So one hostile file costs at most itself, never the run."""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import signal
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Protocol

import psutil


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 2048  # per worker process (address space and resident memory); 0 = unlimited
    unit_timeout_s: float = 120.0  # per unit of work (page, document); 0 = unlimited


class Job(Protocol):
    """Work on one file, in units (pages, or the document itself), results in unit order."""

    units: list

    def run(self) -> Iterator[Any]:
        """In the worker: one result per unit, in order. A unit's own failures become results, not raises."""
        ...

    def rest(self, start: int) -> Job | None:
        """In the parent: the same job for units[start:], or None when nothing is left."""
        ...

    def failed(self, unit: Any, reason: str) -> Any:
        """In the parent: the result standing for a unit whose worker died or was killed."""
        ...


_CODE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerStartError(RuntimeError):
    """Worker processes exit before doing anything: a broken installation, not a hostile file."""


class _Done:
    pass


@dataclass
class _Crash:
    message: str


def _limit_memory(memory_mb: int) -> None:
    if memory_mb <= 0:
        return
    with contextlib.suppress(ImportError, ValueError, OSError):  # not on every platform
        import resource

        # The budget is for the job's growth: address space already mapped at start (the interpreter, numpy's
        # and OpenBLAS's reservations, whatever the spawn imported) differs by machine and must not count.
        limit = psutil.Process().memory_info().vms + (memory_mb << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


# Libraries the jobs use (rendering, ruling lines from images). Some map hundreds of MB of address space on
# import (OpenCV 5: ~380 MB), which is the library's, not the job's: they load before the budget is measured.
PRELOAD = ("numpy", "PIL.Image", "pypdfium2", "cv2")


def _serve(conn, memory_mb: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    _limit_memory(memory_mb)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            for result in job.run():
                conn.send(result)
        except BaseException as exc:  # noqa: BLE001 - a job's bug must still end as a result
            conn.send(_Crash(f"{type(exc).__name__}: {exc}"))
        conn.send(_Done())


class _Worker:
    def __init__(self, ctx, limits: Limits):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, limits.memory_mb), daemon=True)
        # A spawned child imports this code again from the parent's sys.path as it is now; Dagster adds the
        # code location's folder only while loading it, so put the folder this code came from first.
        saved = list(sys.path)
        sys.path.insert(0, _CODE_ROOT)
        try:
            self.proc.start()
        finally:
            sys.path[:] = saved
        child.close()
        self.job: Job | None = None
        self.received = 0  # messages ever received: a worker that exits before its first one never started
        self.done = 0
        self.deadline = float("inf")

    def rss_mb(self) -> float:
        try:
            return psutil.Process(self.proc.pid).memory_info().rss / (1 << 20)
        except (psutil.Error, OSError):
            return 0.0

    def stop(self, kill: bool = False) -> None:
        if not kill and self.proc.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
            self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()


def _exit_reason(proc) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def run_jobs(jobs: Iterable[Job], workers: int, limits: Limits | None = None) -> Iterator[Any]:
    """Run `jobs` on up to `workers` supervised processes; yield results as they arrive (jobs interleave,
    units of one job stay in order). Jobs are pulled lazily, one per idle worker."""
    limits = limits or Limits()
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded Dagster process
    pending = iter(jobs)
    retry: deque[Job] = deque()
    idle: list[_Worker] = []
    busy: list[_Worker] = []
    timeout = limits.unit_timeout_s if limits.unit_timeout_s > 0 else float("inf")

    def next_job() -> Job | None:
        return retry.popleft() if retry else next(pending, None)

    try:
        while True:
            while len(busy) < max(1, workers):
                job = next_job()
                if job is None:
                    break
                worker = idle.pop() if idle else _Worker(ctx, limits)
                worker.job, worker.done, worker.deadline = job, 0, time.monotonic() + timeout
                worker.conn.send(job)
                busy.append(worker)
            if not busy:
                return
            soonest = min(w.deadline for w in busy) - time.monotonic()
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=max(0.0, min(0.5, soonest)))
            for worker in list(busy):
                failure: str | None = None
                while failure is None and worker in busy and worker.conn.poll():
                    try:
                        msg = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.proc.join(timeout=5)
                        failure = f"the worker process died ({_exit_reason(worker.proc)})"
                        break
                    worker.received += 1
                    if isinstance(msg, _Done):
                        busy.remove(worker)
                        idle.append(worker)
                    elif isinstance(msg, _Crash):  # the job itself failed: its remaining units fail alike
                        job, start = worker.job, worker.done
                        busy.remove(worker)
                        idle.append(worker)
                        yield from (job.failed(u, msg.message) for u in job.units[start:])
                    else:
                        worker.done += 1
                        paused = time.monotonic()
                        yield msg
                        # time spent by our consumer is not the worker's: move every deadline on
                        away = time.monotonic() - paused
                        for w in busy:
                            w.deadline = (time.monotonic() + timeout) if w is worker else w.deadline + away
                if worker not in busy:
                    continue
                if failure is None and not worker.proc.is_alive():
                    failure = f"the worker process died ({_exit_reason(worker.proc)})"
                if failure is None and time.monotonic() > worker.deadline:
                    failure = f"took longer than the limit of {limits.unit_timeout_s:g} s and was stopped"
                if failure is None and limits.memory_mb > 0 and worker.rss_mb() > limits.memory_mb:
                    failure = f"needed more than the memory limit of {limits.memory_mb} MB and was stopped"
                if failure is None:
                    continue
                code = worker.proc.exitcode
                if "died" in failure and not worker.received and code is not None and code >= 0:
                    # not the file's doing (that would be a signal): the worker could not even start
                    raise WorkerStartError(f"worker processes cannot start ({_exit_reason(worker.proc)}); "
                                           "the worker's traceback is in the log above")
                if "died" in failure and limits.memory_mb > 0 and code is not None and code < 0:
                    failure += f"; it may have needed more than the memory limit of {limits.memory_mb} MB"
                busy.remove(worker)
                worker.stop(kill=True)
                job, start = worker.job, worker.done
                yield job.failed(job.units[start], failure)
                rest = job.rest(start + 1)
                if rest is not None:
                    retry.appendleft(rest)
    finally:
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.stop(kill=True)
