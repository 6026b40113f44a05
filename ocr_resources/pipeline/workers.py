"""Supervised worker processes for work on untrusted files (parsing and rendering PDFs with pdfium).

Each worker is a spawned process with an address-space limit; the parent also watches its resident memory
and gives every unit of work (a page, a document) a time limit. A worker that dies, overruns its time or its
memory is killed and replaced: the unit it was on becomes a failure result that says why, and the rest of
its job goes on in a fresh worker. So one hostile file costs at most itself, never the run.

Starting a worker costs about a second of CPU (a spawned interpreter importing numpy, pdfium and OpenCV), so
workers that end their jobs healthy are kept idle for the life of the process (`_POOL`) and reused by the next
call: every stage and container of a run shares them, as it shares the models. A worker that was killed, is
mid-job or grew past half its memory budget is never kept."""

from __future__ import annotations

import atexit
import contextlib
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
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
        """In the parent: the result standing for a unit whose worker died or was killed. A job whose worker
        sent a `Partial` for the unit gets it as a third argument, `partial`."""
        ...


@dataclass
class Partial:
    """What a unit has found so far (a page's text layer before its rendering), sent by the worker ahead of
    the unit's result: if the worker then dies or is stopped, `job.failed(unit, reason, partial=value)`
    can still keep it. It is not a result and does not move the unit's deadline."""

    value: Any


_CODE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerStartError(RuntimeError):
    """Worker processes exit before doing anything: a broken installation, not a hostile file."""


class _Done:
    pass


class _Ready:
    """Sent once by a worker whose imports are done: its first unit's time starts then, not at the spawn (a
    fresh worker on a loaded machine takes seconds to import numpy, pdfium and OpenCV)."""


STARTUP_S = 120.0  # a worker that has not started within this (beside the unit's own limit) is stopped


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
    conn.send(_Ready())
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
        saved, main = list(sys.path), sys.modules.get("__main__")
        sys.path.insert(0, _CODE_ROOT)
        # Nor does the child import the parent's main module (spawn runs it again as __mp_main__ to find what
        # is defined there): under `dagster` or `python -m bench.run` that is all of Dagster and the models'
        # code, ~5 s of a loaded CPU per worker for nothing (jobs are classes of importable modules).
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            self.proc.start()
        finally:
            sys.path[:] = saved
            if main is not None:
                sys.modules["__main__"] = main
        child.close()
        self.job: Job | None = None
        self.received = 0  # messages ever received: a worker that exits before its first one never started
        self.ready = False
        self.done = 0
        self.deadline = float("inf")
        self.partial: Partial | None = None  # of the unit in progress
        self.memory_seen: tuple[float, float] | None = None  # (resident, address space) in MB, last sample
        self.space_limit_mb: float | None = None  # the worker's address-space limit (RLIMIT_AS), once read

    def sample_memory(self) -> float:
        """Resident MB now (0 when unknown); the sample is kept to say what a worker that dies had taken."""
        try:
            proc = psutil.Process(self.proc.pid)
            info = proc.memory_info()
            if self.space_limit_mb is None and hasattr(psutil, "RLIMIT_AS"):
                soft = proc.rlimit(psutil.RLIMIT_AS)[0]
                self.space_limit_mb = soft / (1 << 20) if soft > 0 else 0.0
        except (psutil.Error, OSError):
            return 0.0
        if info.rss == 0:  # dead, not yet reaped: keep what it held while it lived
            return 0.0
        self.memory_seen = (info.rss / (1 << 20), info.vms / (1 << 20))
        return self.memory_seen[0]

    def at_memory_limit(self, memory_mb: int) -> bool:
        """Whether the last sample had reached the worker's memory budget: resident memory, or the address
        space within a tenth of the budget of its limit (where an allocation fails and the library aborts)."""
        if self.memory_seen is None or memory_mb <= 0:
            return False
        rss, space = self.memory_seen
        return rss >= 0.9 * memory_mb or bool(self.space_limit_mb and space >= self.space_limit_mb - 0.1 * memory_mb)

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
            return f"killed by signal {-code}, {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def _death(worker: _Worker, limits: Limits) -> str:
    """Why a worker died, with only what is known: its exit code or signal, and the memory it held when last
    sampled. Running out of its memory is said only when that sample reached the limit (the address-space
    limit is the job's `memory_mb` over what the worker had mapped at start, so the resident size is the
    measure, beside the address space against its limit); a signal from outside, the OOM killer or a crash is
    not guessed at."""
    reason = f"the worker process died ({_exit_reason(worker.proc)})"
    if worker.proc.exitcode == -signal.SIGABRT and limits.memory_mb > 0:
        # pdfium and OpenCV abort when an allocation fails, as one past the address-space limit does: that it
        # aborted is known, that memory ran out is not (samples are 0.5 s apart; a bomb fills them between)
        reason += ("; a library aborts this way when an allocation fails, as at its memory limit of "
                   f"{limits.memory_mb} MB")
    if worker.memory_seen is None:
        return reason
    rss, _ = worker.memory_seen
    reason += f"; it held {rss:.0f} MB when last seen"
    if worker.at_memory_limit(limits.memory_mb):
        reason += f", at its memory limit of {limits.memory_mb} MB"
    return reason


class _IdleWorkers:
    """Healthy started workers between `run_jobs` calls, by memory budget (it is set when a worker starts)."""

    KEEP = 8  # at most this many idle workers (render_workers is at most 8)
    RECYCLE_SHARE = 0.5  # a worker holding more than this share of its budget is stopped, not kept

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.idle: dict[int, list[_Worker]] = {}

    def take(self, limits: Limits) -> _Worker | None:
        with self.lock:
            if self.pid != os.getpid():  # a forked child: its parent's workers are not its own
                self.idle, self.pid = {}, os.getpid()
            found = self.idle.get(limits.memory_mb, [])
            while found:
                worker = found.pop()
                if _alive(worker.proc):
                    # a fresh start for this call's bookkeeping: a worker dying before it sends anything for
                    # this call means the job cannot even load (see run_jobs), as for a new worker
                    worker.received, worker.job, worker.partial, worker.memory_seen = 0, None, None, None
                    return worker
                worker.stop(kill=True)
        return None

    def give(self, worker: _Worker, limits: Limits) -> None:
        keep = worker.proc.is_alive() and self.pid == os.getpid() and (
            limits.memory_mb <= 0 or worker.sample_memory() < self.RECYCLE_SHARE * limits.memory_mb)
        with self.lock:
            if keep and sum(len(v) for v in self.idle.values()) < self.KEEP:
                self.idle.setdefault(limits.memory_mb, []).append(worker)
                return
        worker.stop()

    def fill(self, count: int, limits: Limits, start) -> int:
        """Start workers (`start()`) until `count` are kept for `limits`; how many were started."""
        with self.lock:
            if self.pid != os.getpid():
                self.idle, self.pid = {}, os.getpid()
            found = self.idle.setdefault(limits.memory_mb, [])
            room = self.KEEP - sum(len(v) for v in self.idle.values())
            wanted = max(0, min(count - sum(_alive(w.proc) for w in found), room))
            found.extend(start() for _ in range(wanted))
        return wanted

    def close(self) -> None:
        with self.lock:
            workers = [w for found in self.idle.values() for w in found]
            self.idle = {}
        for worker in workers:
            worker.stop()


def _alive(proc: multiprocessing.process.BaseProcess) -> bool:
    """Whether a kept worker can take a job. A process killed while idle can still look alive for a while:
    its main thread is a zombie while the kernel tears down its other threads, so waitpid cannot reap it yet."""
    if not proc.is_alive():
        return False
    try:
        return psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


_POOL = _IdleWorkers()
atexit.register(_POOL.close)


def stop_idle_workers() -> None:
    """Stop the workers kept between calls (tests that count processes; a host that wants the memory back)."""
    _POOL.close()


def prestart(count: int, limits: Limits | None = None) -> int:
    """Start workers now, until `count` are kept for `limits`, and return at once: they import (about a second
    of CPU each) while the caller goes on, and the next `run_jobs` calls take them. The first stage of a run
    starts the render workers this way, so that they are ready when the pages are rendered, instead of each
    starting when first needed. Returns how many were started."""
    limits = limits or Limits()
    ctx = multiprocessing.get_context("spawn")
    return _POOL.fill(count, limits, lambda: _Worker(ctx, limits))


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
                worker = idle.pop() if idle else (_POOL.take(limits) or _Worker(ctx, limits))
                try:
                    worker.conn.send(job)
                except OSError:  # a kept worker that died unseen (killed while idle): a fresh one takes the job
                    worker.stop(kill=True)
                    worker = _Worker(ctx, limits)
                    worker.conn.send(job)
                worker.job, worker.done = job, 0
                worker.deadline = time.monotonic() + timeout + (0 if worker.ready else STARTUP_S)
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
                        failure = _death(worker, limits)
                        break
                    if isinstance(msg, _Ready):
                        worker.ready = True
                        worker.deadline = time.monotonic() + timeout
                        continue
                    worker.received += 1
                    if isinstance(msg, Partial):
                        worker.partial = msg
                    elif isinstance(msg, _Done):
                        busy.remove(worker)
                        idle.append(worker)
                    elif isinstance(msg, _Crash):  # the job itself failed: its remaining units fail alike
                        job, start, partial = worker.job, worker.done, worker.partial
                        # its _Done follows: the worker stays busy until then, with no job left to fail
                        worker.job, worker.partial = None, None
                        for k, unit in enumerate(job.units[start:]):
                            yield (job.failed(unit, msg.message) if k or partial is None
                                   else job.failed(unit, msg.message, partial=partial.value))
                    else:
                        worker.done += 1
                        worker.partial = None
                        paused = time.monotonic()
                        yield msg
                        # time spent by our consumer is not the worker's: move every deadline on
                        away = time.monotonic() - paused
                        for w in busy:
                            w.deadline = (time.monotonic() + timeout) if w is worker else w.deadline + away
                if worker not in busy:
                    continue
                if failure is None and not worker.proc.is_alive():
                    worker.proc.join(timeout=5)
                    failure = _death(worker, limits)
                if failure is None and time.monotonic() > worker.deadline:
                    failure = f"took longer than the limit of {limits.unit_timeout_s:g} s and was stopped"
                if failure is None and worker.sample_memory() > limits.memory_mb > 0:
                    failure = f"needed more than the memory limit of {limits.memory_mb} MB and was stopped"
                if failure is None:
                    continue
                if worker.job is None:  # died or stalled after its job had already failed: nothing left to say
                    busy.remove(worker)
                    worker.stop(kill=True)
                    continue
                code = worker.proc.exitcode
                if "died" in failure and not worker.received and code is not None and code >= 0:
                    # not the file's doing (that would be a signal): the worker could not even start
                    raise WorkerStartError(f"worker processes cannot start ({_exit_reason(worker.proc)}); "
                                           "the worker's traceback is in the log above")
                busy.remove(worker)
                worker.stop(kill=True)
                job, start, partial = worker.job, worker.done, worker.partial
                worker.partial = None
                yield (job.failed(job.units[start], failure) if partial is None
                       else job.failed(job.units[start], failure, partial=partial.value))
                rest = job.rest(start + 1)
                if rest is not None:
                    retry.appendleft(rest)
    finally:
        for worker in idle:  # between jobs, their pipes empty: kept for the next call
            _POOL.give(worker, limits)
        for worker in busy:
            worker.stop(kill=True)
