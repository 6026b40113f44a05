"""The refresh schedule, evaluated with a built context on a temporary instance that real CLI runs filled:
fresh containers are skipped; missing, stale (new code or model version) ones are requested; containers
already queued or running, or gone from the inbox, are not."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_schedule_context,
)
from dagster._core.definitions.data_version import CODE_VERSION_TAG
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import PARTITION_NAME_TAG

from ocr_assets import schedules
from ocr_assets.partitions import containers
from ocr_assets.samples import digital_text_pdf
from ocr_resources.resources import PipelineStorage
from tests.orchestration.conftest import KEYS, ROOT, CliRuns, OrchestrationEnv

TICK = datetime(2026, 1, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def filled(cli_runs: CliRuns, tmp_path) -> OrchestrationEnv:
    """A private copy of the instance and data the CLI runs produced, free to change."""
    assert all(r.returncode == 0 for r in cli_runs.results.values())
    env = OrchestrationEnv(tmp_path)
    shutil.copytree(cli_runs.env.home, env.home, dirs_exist_ok=True)
    shutil.copytree(cli_runs.env.data, env.data)
    return env


def evaluate(env: OrchestrationEnv, instance, tick: datetime = TICK) -> list[RunRequest] | SkipReason:
    storage = PipelineStorage(data_dir=str(env.data), duckdb_path=str(env.duckdb_path))
    with build_schedule_context(instance=instance, resources={"storage": storage},
                                scheduled_execution_time=tick) as context:
        result = schedules.stale_containers_schedule(context)
    return result


def test_all_fresh_is_skipped(filled: OrchestrationEnv):
    result = evaluate(filled, filled.instance())
    assert isinstance(result, SkipReason), result


def test_missing_and_stale_are_requested_with_versioned_run_keys(filled: OrchestrationEnv):
    instance = filled.instance()
    # a new container: registered, in the inbox, never materialized
    (filled.data / "inbox" / "late.pdf").write_bytes(digital_text_pdf())
    instance.add_dynamic_partitions(containers.name, ["late"])
    # annual-reports: layout_regions was last built by another model (its code version includes the model)
    instance.report_runless_asset_event(AssetMaterialization(
        AssetKey("layout_regions"), partition="annual-reports", tags={CODE_VERSION_TAG: "1|old-model"}))
    result = evaluate(filled, instance)
    assert isinstance(result, list), result
    by_key = {r.partition_key: r for r in result}
    assert set(by_key) == {"annual-reports", "late"}
    assert by_key["late"].tags["ocr/reason"] == "missing"
    assert by_key["annual-reports"].tags["ocr/reason"] == "stale"
    version = schedules.versions_hash(schedules.current_code_versions())
    assert {r.run_key for r in result} == {f"{k}:{version}:2026-01-02" for k in by_key}
    # a different model configuration gives different run keys, so it is requested again at once
    changed = dict(schedules.current_code_versions())
    changed[AssetKey("ocr_text")] = "1|another-ocr-model"
    assert schedules.versions_hash(changed) != version


def test_running_and_vanished_containers_are_skipped(filled: OrchestrationEnv):
    instance = filled.instance()
    (filled.data / "inbox" / "late.pdf").write_bytes(digital_text_pdf())
    instance.add_dynamic_partitions(containers.name, ["late", "vanished"])  # vanished: not in the inbox
    instance.add_run(DagsterRun(job_name="document_pipeline", run_id="busy-run", status=DagsterRunStatus.STARTED,
                                tags={PARTITION_NAME_TAG: "late"}))
    result = evaluate(filled, instance)
    assert isinstance(result, SkipReason), result
    # once that run is over (failed), the container is requested again, after the back-off
    instance.report_run_failed(instance.get_run_by_id("busy-run"))
    ended = datetime.fromtimestamp(instance.get_run_record_by_id("busy-run").end_time, UTC)
    result = evaluate(filled, instance, ended + timedelta(seconds=schedules.retry_backoff_s(1) + 1))
    assert [r.partition_key for r in result] == ["late"]


def _fail(instance, run_id: str, key: str) -> datetime:
    instance.add_run(DagsterRun(job_name="document_pipeline", run_id=run_id, status=DagsterRunStatus.STARTED,
                                tags={PARTITION_NAME_TAG: key}))
    instance.report_run_failed(instance.get_run_by_id(run_id))
    return datetime.fromtimestamp(instance.get_run_record_by_id(run_id).end_time, UTC)


def test_failed_container_is_retried_with_backoff(filled: OrchestrationEnv):
    instance = filled.instance()
    (filled.data / "inbox" / "late.pdf").write_bytes(digital_text_pdf())
    instance.add_dynamic_partitions(containers.name, ["late"])
    first = _fail(instance, "fail-1", "late")  # e.g. its model could not be loaded
    _fail(instance, "fail-fresh", "annual-reports")  # a failed run on a container that is fresh anyway
    one, two = schedules.retry_backoff_s(1), schedules.retry_backoff_s(2)
    assert two == 2 * one

    assert isinstance(evaluate(filled, instance, first + timedelta(seconds=one / 2)), SkipReason)  # backing off
    [retry] = evaluate(filled, instance, first + timedelta(seconds=one + 1))
    assert (retry.partition_key, retry.tags["ocr/reason"]) == ("late", "failed")
    assert retry.run_key.endswith(":retry-1")

    second = _fail(instance, "fail-2", "late")  # the retry failed too: the next one waits twice as long
    assert isinstance(evaluate(filled, instance, second + timedelta(seconds=one + 1)), SkipReason)
    [again] = evaluate(filled, instance, second + timedelta(seconds=two + 1))
    assert again.run_key.endswith(":retry-2") and again.run_key != retry.run_key


def test_schedule_is_wired_into_the_definitions():
    from ocr_assets.definitions import defs

    sched = defs.resolve_schedule_def("stale_containers_schedule")
    assert sched.job_name == "document_pipeline"
    assert sched.cron_schedule == schedules.schedule_cron()


def test_cadence_comes_from_the_environment(tmp_path):
    env = OrchestrationEnv(tmp_path)
    env_vars = env.env | {"OCR_SCHEDULE_CRON": "*/15 * * * *"}
    import subprocess

    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-W", "ignore", "-c",
         "from ocr_assets.schedules import stale_containers_schedule as s; print(s.cron_schedule)"],
        cwd=ROOT, env=env_vars, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "*/15 * * * *", out.stderr[-2000:]
    assert schedules.DEFAULT_CRON == "0 2 * * *"  # daily


def test_known_keys_match_the_samples(filled: OrchestrationEnv):
    assert filled.instance().get_dynamic_partitions(containers.name) == KEYS
