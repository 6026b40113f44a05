"""Runs whose process is gone: mark them failed and free their concurrency slots, so they never block the next run.

A run SIGKILLed (or whose machine rebooted) stays STARTED in the instance: it keeps its place in the run queue
(one `ocr/accelerator` run at a time) and any concurrency slot it claimed, so that later runs wait forever
("Step blocked by limit for pool ..."). (The accelerator lock of the model steps is released by the kernel.) For runs
the daemon launched, Dagster's code server reports a dead run worker as failed and the daemon's run monitoring
frees the slots of ended runs (`free_slots_after_run_end_seconds` in dagster.yaml). Nothing does that for a run
of the CLI (`dagster asset materialize`, in the CLI's own process) or for a run whose code server died with it;
`reap_dead_runs` does, before the CLI starts a run and on a sensor tick.

Which process ran a run is Dagster's own record: every event carries the pid of the process that wrote it, and
RUN_START is written by the run's worker. That process is alive when a process with that pid exists and was
created before the run started (a pid reused later belongs to a process created after the first one died).
A pid means something only on the machine that ran the run: the worker records its host in a run tag at its
first step; a run without that tag is judged only on an instance whose storage is a local SQLite folder (every
run of such an instance ran on this machine)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import psutil
from dagster import DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.storage.dagster_run import FINISHED_STATUSES

WORKER_TAG = "ocr/worker"  # "<host> <pid> <process create time> <run id>"
LIVE_STATUSES = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING]
# Clock granularity when comparing a process's create time; a pid reused within a second of a crash is not
# a practical case.
CREATE_SLACK_S = 1.0

log = logging.getLogger(__name__)


def worker_tags(run_id: str) -> dict[str, str]:
    """The tag a run worker adds to its run at its first step: which machine and process runs it. The run id
    is part of it because a re-execution inherits its parent's tags."""
    return {WORKER_TAG: f"{socket.gethostname()} {os.getpid()} {psutil.Process().create_time():.3f} {run_id}"}


_recorded: set[tuple[str, int]] = set()


def record_worker(instance: DagsterInstance, run: DagsterRun) -> None:
    """Tag the run with this host and process, once per run and process (a resumed run gets the new pid)."""
    if (run.run_id, os.getpid()) not in _recorded:
        instance.add_run_tags(run.run_id, worker_tags(run.run_id))
        _recorded.add((run.run_id, os.getpid()))


@dataclass
class DeadRun:
    run_id: str
    status: str
    pid: int
    reason: str
    slots_freed: int = 0


def _local_storage(instance: DagsterInstance) -> bool:
    from dagster._core.storage.runs import SqliteRunStorage

    return isinstance(instance.run_storage, SqliteRunStorage)


def _tagged_worker(run: DagsterRun) -> tuple[str, int, float] | None:
    try:
        host, pid, created, run_id = run.tags[WORKER_TAG].split(" ")
        return (host, int(pid), float(created)) if run_id == run.run_id else None
    except (KeyError, ValueError):
        return None


def _worker(instance: DagsterInstance, run: DagsterRun) -> tuple[int, float, float] | None:
    """(pid, earliest and latest possible create time) of the run's worker process; None if it never started.
    From the worker's tag, or else from the RUN_START event (its pid, and a process created before it)."""
    tagged = _tagged_worker(run)
    if tagged:
        return tagged[1], tagged[2] - CREATE_SLACK_S, tagged[2] + CREATE_SLACK_S
    records = instance.event_log_storage.get_records_for_run(
        run.run_id, of_type=DagsterEventType.RUN_START, limit=1).records
    if not records or records[0].event_log_entry.dagster_event is None:
        return None
    entry = records[0].event_log_entry
    pid = entry.dagster_event.pid
    return (pid, 0.0, entry.timestamp + CREATE_SLACK_S) if pid else None


def process_gone(pid: int, created_from: float = 0.0, created_by: float = float("inf")) -> str | None:
    """Why the process `pid`, created between `created_from` and `created_by`, is gone; None while it lives."""
    try:
        proc = psutil.Process(pid)
        if not created_from <= proc.create_time() <= created_by:
            return f"pid {pid} now belongs to another process"
        if proc.status() == psutil.STATUS_ZOMBIE:
            return f"process {pid} has exited"
    except psutil.NoSuchProcess:
        return f"process {pid} no longer exists"
    except psutil.AccessDenied:
        return None  # someone else's live process
    return None


def _slots_by_run(instance: DagsterInstance) -> dict[str, int]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    held: dict[str, int] = {}
    for key in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(key)
        for slot in info.claimed_slots:
            held[slot.run_id] = held.get(slot.run_id, 0) + 1
        for step in info.pending_steps:
            held.setdefault(step.run_id, 0)
    return held


def find_dead_runs(instance: DagsterInstance) -> list[DeadRun]:
    """Runs in progress (or cancelling) on this machine whose worker process is gone."""
    host, local = socket.gethostname(), _local_storage(instance)
    dead = []
    for record in instance.get_run_records(RunsFilter(statuses=LIVE_STATUSES)):
        run = record.dagster_run
        tagged = _tagged_worker(run)
        if (tagged[0] if tagged else host if local else None) != host:
            continue  # ran elsewhere (or cannot tell): its pid means nothing here
        worker = _worker(instance, run)
        if worker is None:
            continue  # never started: run monitoring's start timeout covers it
        reason = process_gone(*worker)
        if reason:
            dead.append(DeadRun(run.run_id, run.status.value, worker[0], reason))
    return dead


def reap_dead_runs(instance: DagsterInstance, say: Callable[[str], None] = log.warning) -> list[DeadRun]:
    """Mark runs whose worker is gone as failed and free their concurrency slots, and free the slots still
    held by runs that have ended (what the daemon does after `free_slots_after_run_end_seconds`, for
    instances without a daemon). Says one line per run it acted on; returns the dead runs."""
    dead = find_dead_runs(instance)
    held = _slots_by_run(instance)
    for d in dead:
        run = instance.get_run_by_id(d.run_id)
        if run is None or run.is_finished:
            continue
        instance.report_run_failed(run, f"Run {d.run_id} was {d.status} but its worker is gone ({d.reason}); "
                                        "marked failed so that it does not block later runs.")
    ended = {d.run_id for d in dead}
    if held:
        finished = instance.get_run_records(RunsFilter(run_ids=list(held), statuses=FINISHED_STATUSES))
        ended |= {r.dagster_run.run_id for r in finished}
        # a run id that the instance no longer knows (deleted) holds its slots for nobody
        known = {r.dagster_run.run_id for r in instance.get_run_records(RunsFilter(run_ids=list(held)))}
        ended |= set(held) - known
    for run_id in sorted(ended & set(held)):
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    for d in dead:
        d.slots_freed = held.get(d.run_id, 0)
        freed = f" and freed its {d.slots_freed} concurrency slot(s)" if d.slots_freed else ""
        say(f"dead run {d.run_id}: it was {d.status} but {d.reason}; marked it failed{freed}")
    for run_id in sorted((ended & set(held)) - {d.run_id for d in dead}):
        if held[run_id]:
            say(f"freed {held[run_id]} concurrency slot(s) still held by ended run {run_id}")
    return dead
