"""One step of a profile round trip, as the daemon does it after a restart with another OCR_PROFILE (the profile
is read when the definitions load, so each step is a new process): tick `stale_results_sensor`, launch what it
requests; tick the inbox sensor, launch what it requests; tick the staleness sensor again. Run requests are
handled as the daemon handles them (a run key already used by the sensor launches nothing; asset events are
reported without a run). Prints one JSON line: each tick's decision and what the instance and DuckDB show
after the first tick and at the end.

    python -m tests.orchestration.profile_step [--no-pipeline-runs]   (the inbox sensor's requests: decided only)
"""

from __future__ import annotations

import json
import sys

import duckdb
from dagster import (
    AssetKey,
    DagsterInstance,
    RunRequest,
    RunsFilter,
    SensorResult,
    SkipReason,
    build_sensor_context,
)
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.definitions.partitions.context import partition_loading_context
from dagster._core.loader import LoadingContextForTest
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionResolvedStatus
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

from ocr_assets.assets import document_assets
from ocr_assets.definitions import defs
from ocr_assets.partitions import containers
from ocr_assets.sensors import inbox_sensor
from ocr_assets.staleness import CHECK_KEYS, stale_results_sensor
from ocr_resources.resources import PipelineStorage

UI_STATUS = {AssetCheckExecutionResolvedStatus.SUCCEEDED: "passed", AssetCheckExecutionResolvedStatus.FAILED: "failed",
             AssetCheckExecutionResolvedStatus.IN_PROGRESS: "running",
             AssetCheckExecutionResolvedStatus.EXECUTION_FAILED: "execution_failed",
             AssetCheckExecutionResolvedStatus.SKIPPED: "skipped"}


def _launch(instance: DagsterInstance, sensor_name: str, request: RunRequest, launch: bool = True) -> dict:
    """What the daemon does with one run request: nothing when the sensor already used its run key."""
    used = instance.get_runs(RunsFilter(tags={SENSOR_NAME_TAG: sensor_name, RUN_KEY_TAG: request.run_key}), limit=1)
    decision = {"run_key": request.run_key, "partition": request.partition_key, "tags": dict(request.tags),
                "checks": sorted(k.asset_key.to_user_string() for k in request.asset_check_keys or []),
                "launched": not used and launch}
    if used or not launch:
        return decision
    tags = {**request.tags, SENSOR_NAME_TAG: sensor_name, RUN_KEY_TAG: request.run_key}
    job = defs.resolve_job_def(request.job_name or "document_pipeline")
    if request.asset_check_keys:
        job = job.get_subset(asset_check_selection=set(request.asset_check_keys))
    result = job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=tags,
                                    raise_on_error=False)
    decision["success"] = result.success
    return decision


def _tick(instance: DagsterInstance, sensor, storage: PipelineStorage, launch: bool = True) -> dict:
    result = sensor(build_sensor_context(instance=instance, resources={"storage": storage}))
    if isinstance(result, SkipReason):
        return {"skip": result.skip_message, "requests": [], "events": []}
    assert isinstance(result, SensorResult), result
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(containers.name, list(request.partition_keys))
    events = []
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
        events.append([type(event).__name__, event.asset_key.to_user_string(), event.partition])
    return {"skip": None, "events": events,
            "requests": [_launch(instance, sensor.name, r, launch) for r in result.run_requests or []]}


def _stale(path) -> list[list[str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [list(r) for r in con.execute("SELECT asset_key, container_id FROM stale ORDER BY ALL").fetchall()]


def _shown(instance: DagsterInstance, storage: PipelineStorage) -> dict:
    """What the UI shows: each check's resolved status per partition (the "Passed (n)" / "Failed (n)" counts),
    each asset's partition status, and the `stale` view of the live store and of the read copy."""
    keys = instance.get_dynamic_partitions(containers.name)
    with partition_loading_context(dynamic_partitions_store=instance):
        states = instance.event_log_storage.get_asset_check_state([(k, containers) for k in CHECK_KEYS])
    checks: dict[str, dict[str, str]] = {}
    for check_key, state in states.items():
        for status, subset in state.subsets.items():
            for partition in subset.value.get_partition_keys() if subset.value else []:
                checks.setdefault(check_key.asset_key.to_user_string(), {})[partition] = UI_STATUS[status]
    assets = {}
    for a in document_assets:
        statuses = instance.get_status_by_partition(AssetKey(a.key.path), keys, containers) or {}
        assets[a.key.to_user_string()] = {k: v.value if v else None for k, v in statuses.items()}
    resolver = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))
    unsynced = {a.key.to_user_string(): sorted(k for k in keys if resolver.get_status(a.key, k) == StaleStatus.STALE)
                for a in document_assets}
    store = storage.result_store()
    return {"checks": checks, "assets": assets, "stale_live": _stale(store.path),
            "stale_read_copy": _stale(store.snapshot_path),
            "dagster_unsynced": {asset: keys for asset, keys in unsynced.items() if keys}}


def main() -> None:
    instance = DagsterInstance.get()
    storage = PipelineStorage()
    out = {"first_staleness_tick": _tick(instance, stale_results_sensor, storage)}
    out["after_first_tick"] = _shown(instance, storage)
    out["inbox_tick"] = _tick(instance, inbox_sensor, storage, launch="--no-pipeline-runs" not in sys.argv)
    out["second_staleness_tick"] = _tick(instance, stale_results_sensor, storage)
    out["third_staleness_tick"] = _tick(instance, stale_results_sensor, storage)
    out["end"] = _shown(instance, storage)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
