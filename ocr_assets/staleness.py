"""Staleness a user sees: which containers hold results of an asset made with a code version (logic or
model) other than the current one. The same answer three ways:

- DuckDB: the view `stale` (latest materialization per asset and container vs. `current_code_versions`,
  which the pipeline records whenever the definitions' versions differ from the stored ones: each tick of
  the sensor below and each run's checks; the read copy `ocr-read.duckdb` is refreshed with it);
- Dagster: the asset check `made_with_current_versions` on every asset (WARN), evaluated in each run of the
  pipeline and, when what Dagster shows no longer matches DuckDB (a profile change, a return to an earlier
  one), in a small run of the `staleness_checks` job that `stale_results_sensor` requests: the checks go
  yellow (or green again) without a pipeline run;
- automation: the inbox sensor and the schedule request pipeline runs for these containers
  (ocr_assets.freshness).

A container's asset is stale exactly when Dagster's own status says "has a new code version" (Unsynced).

Why runs and not check results reported by the sensor itself (`SensorResult(asset_events=[
AssetCheckEvaluation(...)])`): Dagster stores a runless check evaluation under the empty run id, and its
`asset_check_executions` table holds one row per (asset, check, run id, partition), so only the first
runless result of each partition can ever be stored; the second one (the check turning green, or red again
after a round trip) fails the tick with `UNIQUE constraint failed` and freezes the sensor. Each run has its
own id, so check runs never collide, and they show in the UI like any other check execution.

A failed run leaves an asset partition "Failed" in Dagster until something materializes it again. When the
profile goes back and DuckDB's results of that partition are current (made with the current code version,
by the run that Dagster's latest materialization names), the sensor records that as a runless
`AssetMaterialization` carrying the latest materialization's tags (code and data version) and metadata: the
partition is green again, and stays Unsynced-free; a later successful run of the same versions clears it
the usual way."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetMaterialization,
    AssetRecordsFilter,
    AssetSelection,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.definitions.data_version import CODE_VERSION_TAG
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.dagster_run import FINISHED_STATUSES
from dagster._core.storage.partition_status_cache import AssetPartitionStatus
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from ocr_assets.assets import document_assets
from ocr_assets.freshness import (
    ACTIVE_RUN_STATUSES,
    AUTOMATION_LOCK_TIMEOUT_S,
    READ_ONLY_JOBS,
    active_partitions,
    current_code_versions,
    stored_results,
    versions_hash,
)
from ocr_assets.jobs import automation_enabled
from ocr_assets.partitions import containers
from ocr_resources.resources import PipelineStorage
from ocr_resources.store import ResultStore

log = logging.getLogger(__name__)

CHECK_NAME = "made_with_current_versions"
CHECK_DESCRIPTION = ("The container's latest results of this asset were made with the asset's current code "
                     "version (logic version and model identity); fails (WARN) when another model, revision "
                     "or logic version made them. DuckDB view: `stale`.")
CHECK_KEYS = [AssetCheckKey(a.key, CHECK_NAME) for a in document_assets]
(STALENESS_JOB,) = READ_ONLY_JOBS

# Only the staleness checks, no asset: a run of it reads DuckDB and records check results, nothing else.
staleness_check_job = define_asset_job(
    name=STALENESS_JOB, selection=AssetSelection.checks(*CHECK_KEYS), partitions_def=containers,
    description=f"Evaluates `{CHECK_NAME}` for containers whose check result no longer matches DuckDB "
                "(requested by stale_results_sensor after a profile change); reads only.")


def record_current_versions(store: ResultStore, versions: Mapping[AssetKey, str]) -> bool:
    """Write the current code versions to `current_code_versions` (only when they differ) and refresh the
    read copy, so that its `stale` view answers for these versions too; True if written."""
    wanted = {k.to_user_string(): v for k, v in versions.items()}
    have = {r["asset_key"]: r["code_version"] for r in store.query(
        "SELECT asset_key, code_version FROM current_code_versions")}
    if have == wanted:
        return False

    def write(con) -> None:
        con.execute("DELETE FROM current_code_versions")
        con.executemany("INSERT INTO current_code_versions (asset_key, code_version) VALUES (?, ?)",
                        sorted(wanted.items()))

    store.transaction(write)
    try:
        store.refresh_snapshot()
    except Exception as exc:  # noqa: BLE001 - the live store has the versions; the copy catches up at the next write
        log.warning("could not refresh the read-only snapshot %s: %s", store.snapshot_path, exc)
    return True


def stale_rows(store: ResultStore, keys: Iterable[str] | None = None, asset: str | None = None) -> list[dict]:
    """Rows of the `stale` view, for some containers and/or one asset."""
    where, params = [], []
    if keys is not None:
        keys = list(keys)
        where.append(f"container_id IN ({', '.join('?' for _ in keys) or 'NULL'})")
        params += keys
    if asset is not None:
        where.append("asset_key = ?")
        params.append(asset)
    sql = "SELECT * FROM stale" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY ALL"
    return store.query(sql, params)


def describe(row: Mapping[str, Any]) -> str:
    return (f"{row['asset_key']} of {row['container_id']} was made with {row['made_with']!r} "
            f"({row['engine']} {row['model_id'] or ''} @ {row['model_revision'] or '-'}, run {row['run_id'][:8]}); "
            f"current: {row['current_version']!r}")


def latest_materialization(instance: DagsterInstance, asset_key: AssetKey,
                           key: str) -> AssetCheckEvaluationTargetMaterializationData | None:
    """Which materialization a check result is about (shown next to the result in the UI)."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key]), limit=1).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=records[0].storage_id, run_id=records[0].run_id, timestamp=records[0].timestamp)


@dataclass(frozen=True)
class Pair:
    """One asset of one container: what DuckDB says and what Dagster shows."""

    asset: str
    container: str
    stale: bool  # DuckDB: its latest results were made with another code version
    made_by: str  # the run that made them
    check_event: int  # storage id of the check's latest result that Dagster holds (0: none)


def shown_results(instance: DagsterInstance, keys: list[str]) -> dict[tuple[str, str], tuple[str | None, int]]:
    """(asset, container) -> what the UI shows for `made_with_current_versions`: "passed"/"failed" when the
    latest result targets the latest materialization, "planned" while a run is about to evaluate it, else None;
    and the storage id of that latest result. Dagster's own per-partition check records, one query per check."""
    shown: dict[tuple[str, str], tuple[str | None, int]] = {}
    wanted = set(keys)
    infos = [i for i in instance.event_log_storage.get_asset_check_partition_info(CHECK_KEYS)
             if i.partition_key in wanted]
    planned = {i.latest_planned_run_id for i in infos
               if i.latest_execution_status == AssetCheckExecutionRecordStatus.PLANNED}
    # a run that ended without evaluating its planned check (it failed before the check step) settles nothing
    ended = {r.run_id for r in instance.get_runs(RunsFilter(run_ids=sorted(planned), statuses=FINISHED_STATUSES))
             } if planned else set()
    for info in infos:
        status = info.latest_execution_status
        if status == AssetCheckExecutionRecordStatus.PLANNED:
            value = None if info.latest_planned_run_id in ended else "planned"
        elif not info.is_current:
            value = None  # a newer materialization: the UI shows no result for it yet
        else:
            value = "passed" if status == AssetCheckExecutionRecordStatus.SUCCEEDED else "failed"
        shown[(info.check_key.asset_key.to_user_string(), info.partition_key)] = (
            value, info.latest_check_event_storage_id)
    return shown


def cleared_failures(instance: DagsterInstance, keys: list[str], current: Mapping[str, str],
                     made: Mapping[str, Mapping[str, tuple[str | None, str]]]) -> list[AssetMaterialization]:
    """Runless materializations for asset partitions that Dagster shows "Failed" while DuckDB holds current
    results of them: made with the current code version by the run of Dagster's latest materialization,
    which recorded the same code version. Each repeats that materialization's tags and metadata."""
    events = []
    for asset, version in current.items():
        asset_key = AssetKey(asset)
        candidates = [k for k in keys if made[k].get(asset, (None, ""))[0] == version]
        if not candidates:
            continue
        statuses = instance.get_status_by_partition(asset_key, candidates, containers) or {}
        for key in candidates:
            if statuses.get(key) != AssetPartitionStatus.FAILED:
                continue
            records = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key]), limit=1).records
            if not records:
                continue
            previous = records[0].asset_materialization
            # an earlier runless one (a second failure after a first repair) names the run in its metadata
            made_by = records[0].run_id or getattr(previous.metadata.get("results_made_by_run"), "value", "")
            if made_by != made[key][asset][1] or previous.tags.get(CODE_VERSION_TAG) != version:
                continue  # DuckDB and Dagster disagree on which results are the latest: leave it to a run
            events.append(AssetMaterialization(
                asset_key=asset_key, partition=key, tags=previous.tags,
                metadata={**previous.metadata, "results_made_by_run": made_by,
                          "recorded_by": "stale_results_sensor: stored results current again"},
                description=f"The results stored by run {made_by[:8]} are current (code version "
                            f"{version!r}); the failed run after it stored nothing."))
    return events


def staleness_request(pairs: list[Pair], ordered: list[str], version: str) -> RunRequest:
    """One run of the staleness checks over the range of containers that holds every pair, for the assets
    among them. The run key names what is being settled (each pair's truth, the run that made its results,
    the check result shown now) under the current versions: the same situation is never requested twice, and
    every new one (A -> B -> A included) is."""
    blob = "\n".join(f"{p.asset}|{p.container}|{p.stale}|{p.made_by}|{p.check_event}" for p in pairs)
    digest = hashlib.sha256(f"{version}\n{blob}".encode()).hexdigest()[:16]
    positions = sorted(ordered.index(p.container) for p in pairs)
    start, end = ordered[positions[0]], ordered[positions[-1]]
    # One container: a one-partition run (a range of one would leave the check's result on no partition). As a
    # tag: a job of checks only has no assets for Dagster to validate a `partition_key` against.
    scope = {PARTITION_NAME_TAG: start} if start == end else {
        ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}
    reason = f"{sum(p.stale for p in pairs)} stale, {sum(not p.stale for p in pairs)} current"
    return RunRequest(
        run_key=f"staleness:{version}:{digest}", job_name=STALENESS_JOB,
        asset_check_keys=sorted({AssetCheckKey(AssetKey(p.asset), CHECK_NAME) for p in pairs},
                                key=lambda k: k.asset_key.to_user_string()),
        tags={**scope, "ocr/reason": reason})


@sensor(job=staleness_check_job, minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING if automation_enabled() else DefaultSensorStatus.STOPPED,
        description=f"Records the current code versions in DuckDB (and its read copy); requests a run of "
                    f"`{STALENESS_JOB}` for the assets and containers whose `{CHECK_NAME}` result no longer "
                    "matches DuckDB (e.g. after a model profile change, or a return to an earlier one); marks "
                    "an asset partition whose failed run left it red, while DuckDB holds current results, "
                    "materialized again (a runless materialization). The inbox sensor and the schedule request "
                    "pipeline runs.")
def stale_results_sensor(context: SensorEvaluationContext, storage: PipelineStorage) -> SensorResult | SkipReason:
    instance = context.instance
    versions = current_code_versions()
    current = {k.to_user_string(): v for k, v in versions.items()}
    store = storage.result_store()
    probe = store.with_lock_timeout(min(store.lock_timeout_s, AUTOMATION_LOCK_TIMEOUT_S))
    keys = instance.get_dynamic_partitions(containers.name)
    try:
        probe.migrate()
        record_current_versions(probe, versions)
        stale = {(r["asset_key"], r["container_id"]) for r in stale_rows(probe, keys)}
        made = stored_results(probe, keys)
    except Exception as exc:  # noqa: BLE001 - a busy file: the next tick asks again
        return SkipReason(f"cannot read {store.path} now ({exc}); trying again at the next tick")
    if instance.get_runs(RunsFilter(job_name=STALENESS_JOB, statuses=ACTIVE_RUN_STATUSES), limit=1):
        return SkipReason(f"a {STALENESS_JOB} run is queued or running; asking again after it")
    busy = active_partitions(instance)  # a pipeline run on them evaluates the checks itself
    settled = [k for k in keys if k not in busy]
    repaired = cleared_failures(instance, settled, current, made)
    rematerialized = {(e.asset_key.to_user_string(), e.partition) for e in repaired}
    shown = shown_results(instance, settled)
    pairs = []
    for key in settled:
        for asset, (_, run_id) in sorted(made[key].items()):
            if asset not in current:
                continue
            result, event = shown.get((asset, key), (None, 0))
            if (asset, key) in rematerialized:
                result = None  # the new materialization has no result yet
            is_stale = (asset, key) in stale
            if result != "planned" and result != ("failed" if is_stale else "passed"):
                pairs.append(Pair(asset, key, is_stale, run_id, event))
    context.log.info("%d stale (asset, container) pairs in DuckDB; %d check results to settle; %d failed "
                     "partitions with current results; busy containers: %s", len(stale), len(pairs),
                     len(repaired), sorted(busy))
    if not pairs and not repaired:
        return SkipReason(f"{len(stale)} stale (asset, container) pairs; every check result matches DuckDB")
    requests = [staleness_request(pairs, keys, versions_hash(versions))] if pairs else []
    return SensorResult(run_requests=requests, asset_events=repaired)
