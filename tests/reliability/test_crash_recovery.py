"""A crashed run never blocks the next: a CLI run SIGKILLed in the middle of its layout step (holding the
accelerator, with a checkpoint written) leaves a STARTED run behind; the next CLI run of the same container
names the dead run and fails it, resumes from the checkpoint and ends with exactly the results of an
uninterrupted run. The reaper itself is tested on a real instance with pool slots (which a pool added in the
UI would use, and which the daemon's run monitoring frees after a run ends)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys

import psutil
import pytest
from dagster import DagsterRunStatus

from ocr_assets.dead_runs import WORKER_TAG, process_gone, reap_dead_runs
from ocr_resources.accelerator import LOCK_NAME
from tests.orchestration.conftest import tail, wait_for
from tests.reliability.cli_runs import CliEnv, result_rows, write_container

KEY = "crash-box"
POOL = "ocr-accelerator"


def _env(root, copy_of: CliEnv | None = None) -> CliEnv:
    env = CliEnv(root)
    # checkpoints every 2 pages, so one exists a few pages into the layout step
    env.extra.update(OCR_CHECKPOINT_PAGES="2", OCR_LOCK_TIMEOUT_S="120")
    if copy_of:  # the same bytes (generated PDFs carry their creation time)
        shutil.copytree(copy_of.data / "inbox" / KEY, env.data / "inbox" / KEY)
    else:
        write_container(env.data / "inbox" / KEY, pages=24, seed=11)
    assert env.register() == [KEY]
    return env


def _manifests(env: CliEnv) -> list:
    return list((env.data / "spill" / "checkpoints" / "layout_regions" / KEY).glob("*/part-*.manifest.parquet"))


def _run_to_end(env: CliEnv, log) -> str:
    proc = env.popen(KEY, log)
    try:
        proc.wait(timeout=400)
    except Exception:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    out = log.read_text(errors="replace")
    assert proc.returncode == 0, out[-4000:]
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_killed_cli_run_does_not_block_the_next_and_the_rerun_matches(tmp_path):
    env = _env(tmp_path / "crashed")
    victim = env.popen(KEY, tmp_path / "victim.log")
    try:
        wait_for(lambda: victim.poll() is not None or _manifests(env), 300, "a layout checkpoint", interval=0.1)
        assert victim.poll() is None, f"the run ended before it could be killed:\n{tail(tmp_path / 'victim.log')}"
    finally:
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)

    instance = env.instance()
    [dead] = instance.get_runs()
    assert dead.status == DagsterRunStatus.STARTED
    # it died holding the accelerator (the kernel released the lock)
    assert f"layout_regions of run {dead.run_id[:8]}" in (env.home / LOCK_NAME).read_text()

    out = _run_to_end(env, tmp_path / "rerun.log")
    assert f"dead run {dead.run_id}: it was STARTED but process" in out and "marked it failed" in out, out[-4000:]
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert "layout_regions[crash-box]: resuming from a checkpoint of" in out, out[-4000:]
    assert not reap_dead_runs(instance), "nothing is left to reap"

    reference = _env(tmp_path / "reference", copy_of=env)
    _run_to_end(reference, tmp_path / "reference.log")
    got, want = result_rows(env.data), result_rows(reference.data)
    assert want["texts"] and want["regions"] and want["pages"]
    for table in want:
        assert got[table] == want[table], table


# -- the reaper itself, on a real (SQLite) instance with a stand-in worker process -------------------------
@pytest.fixture()
def instance(tmp_path):
    from dagster import DagsterInstance

    from tests.orchestration.conftest import ROOT

    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as inst:
        inst.event_log_storage.set_concurrency_slots(POOL, 1)
        yield inst


def _worker_process() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def _worker_tag(pid: int, run_id: str) -> dict[str, str]:
    return {WORKER_TAG: f"{socket.gethostname()} {pid} {psutil.Process(pid).create_time():.3f} {run_id}"}


def _started_run(instance, worker: subprocess.Popen, tagged: bool, parent_worker: int | None = None) -> str:
    from dagster import DagsterEvent, DagsterEventType
    from dagster._core.test_utils import create_run_for_test

    run = create_run_for_test(instance, job_name="document_pipeline", status=DagsterRunStatus.STARTED)
    if tagged:
        instance.add_run_tags(run.run_id, _worker_tag(worker.pid, run.run_id))
    if parent_worker:  # a re-execution carries its parent's tags
        instance.add_run_tags(run.run_id, _worker_tag(parent_worker, "parent-run-id"))
    instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, "document_pipeline",
                                               pid=worker.pid), run.run_id)
    assert instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "layout_regions").is_claimed
    return run.run_id


@pytest.mark.parametrize("tagged", [True, False], ids=["worker-tag", "run-start-event"])
def test_the_reaper_fails_a_run_only_once_its_worker_is_gone(instance, tagged):
    worker = _worker_process()
    try:
        run_id = _started_run(instance, worker, tagged)
        lines: list[str] = []
        assert reap_dead_runs(instance, say=lines.append) == [] and lines == []
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED
        assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
    finally:
        worker.kill()
        worker.wait()
    [dead] = reap_dead_runs(instance, say=lines.append)
    assert dead.run_id == run_id and dead.slots_freed == 1
    assert lines == [f"dead run {run_id}: it was STARTED but process {worker.pid} no longer exists; marked it "
                     "failed and freed its 1 concurrency slot(s)"]
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    assert not instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
    assert reap_dead_runs(instance) == []


def test_a_retry_is_not_judged_by_its_parents_worker(instance):
    """A re-execution inherits the parent's `ocr/worker` tag: the tag counts only for the run that wrote it."""
    parent, worker = _worker_process(), _worker_process()
    parent_pid = parent.pid
    try:
        run_id = _started_run(instance, worker, tagged=False, parent_worker=parent_pid)
    finally:
        parent.kill()
        parent.wait()
    try:
        assert reap_dead_runs(instance) == []  # the retry's own worker (its RUN_START) lives
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED
    finally:
        worker.kill()
        worker.wait()


def test_a_run_of_another_machine_is_not_judged(instance):
    from dagster._core.test_utils import create_run_for_test

    run = create_run_for_test(instance, status=DagsterRunStatus.STARTED)
    instance.add_run_tags(run.run_id, {WORKER_TAG: f"elsewhere-{socket.gethostname()} 1 1.0 {run.run_id}"})
    assert reap_dead_runs(instance) == []
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED


def test_slots_still_held_by_an_ended_run_are_freed(instance):
    """What the daemon does after free_slots_after_run_end_seconds, for an instance without a daemon."""
    from dagster._core.test_utils import create_run_for_test

    run = create_run_for_test(instance, status=DagsterRunStatus.FAILURE)
    instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "ocr_text")
    lines: list[str] = []
    assert reap_dead_runs(instance, say=lines.append) == []
    assert lines == [f"freed 1 concurrency slot(s) still held by ended run {run.run_id}"]
    assert not instance.event_log_storage.get_concurrency_info(POOL).claimed_slots


def test_a_reused_pid_is_not_the_worker():
    me = psutil.Process()
    assert process_gone(me.pid, 0.0, me.create_time() + 1) is None
    assert "another process" in process_gone(me.pid, me.create_time() + 5)
    assert "no longer exists" in process_gone(2**22 + 12345)


def test_dagster_yaml_frees_slots_of_ended_runs(instance):
    settings = instance.run_monitoring_settings
    assert instance.run_monitoring_enabled
    assert settings["free_slots_after_run_end_seconds"] > 0 and settings["max_resume_run_attempts"] == 0
    assert settings["start_timeout_seconds"] > 0 and settings["cancel_timeout_seconds"] > 0


def test_the_dead_runs_sensor_reaps_on_the_daemon(instance):
    """Under `make ui` the sensor does what the CLI does before a run: a run whose worker is gone is failed."""
    from dagster import build_sensor_context

    from ocr_assets.definitions import defs
    from ocr_assets.sensors import dead_runs_sensor

    assert dead_runs_sensor in defs.sensors and dead_runs_sensor.default_status.value == "RUNNING"
    worker = _worker_process()
    run_id = _started_run(instance, worker, tagged=True)
    assert "no dead runs" in dead_runs_sensor(build_sensor_context(instance=instance)).skip_message
    worker.kill()
    worker.wait()
    assert run_id in dead_runs_sensor(build_sensor_context(instance=instance)).skip_message
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
