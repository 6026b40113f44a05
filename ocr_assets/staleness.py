"""Staleness a user sees: which containers hold results of an asset made with a code version (logic or
model) other than the current one. The same answer three ways:

- DuckDB: the view `stale` (latest materialization per asset and container vs. `current_code_versions`,
  which the pipeline records: each run's checks, each tick of the sensor below);
- Dagster: the asset check `made_with_current_versions` on every asset (WARN), evaluated in each run, and
  reported by `stale_results_sensor` as soon as the definitions load with another profile, so a model change
  turns the affected assets' checks yellow in the graph and the catalog without waiting for a run;
- automation: the sensor and the schedule request runs for these containers (ocr_assets.freshness).

A container's asset is stale exactly when Dagster's own status says "has a new code version" (Unsynced)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from ocr_assets.freshness import AUTOMATION_LOCK_TIMEOUT_S, current_code_versions
from ocr_assets.jobs import automation_enabled
from ocr_assets.partitions import containers
from ocr_resources.resources import PipelineStorage
from ocr_resources.store import ResultStore

log = logging.getLogger(__name__)

CHECK_NAME = "made_with_current_versions"
CHECK_DESCRIPTION = ("The container's latest results of this asset were made with the asset's current code "
                     "version (logic version and model identity); fails (WARN) when another model, revision "
                     "or logic version made them. DuckDB view: `stale`.")


def record_current_versions(store: ResultStore, versions: Mapping[AssetKey, str]) -> bool:
    """Write the current code versions to `current_code_versions` (only when they differ); True if written."""
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


def _evaluation(instance: DagsterInstance, asset: str, key: str, row: Mapping[str, Any] | None,
                current: str) -> AssetCheckEvaluation:
    asset_key = AssetKey(asset)
    metadata = {"current_version": current}
    if row is not None:
        metadata.update(made_with=row["made_with"] or "", model=f"{row['engine']}:{row['model_id']}",
                        model_revision=row["model_revision"] or "", made_by_run=row["run_id"])
    return AssetCheckEvaluation(
        asset_key=asset_key, check_name=CHECK_NAME, passed=row is None, severity=AssetCheckSeverity.WARN,
        metadata=metadata, description=describe(row) if row is not None else None, blocking=False,
        partition=key, target_materialization_data=latest_materialization(instance, asset_key, key))


@sensor(minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING if automation_enabled() else DefaultSensorStatus.STOPPED,
        description=f"Records the current code versions in DuckDB and reports the `{CHECK_NAME}` check of each "
                    "asset and container whose staleness changed (e.g. after a model profile change), so the "
                    "UI shows stale results at once; the inbox sensor and the schedule request their runs.")
def stale_results_sensor(context: SensorEvaluationContext, storage: PipelineStorage) -> SensorResult | SkipReason:
    versions = current_code_versions()
    store = storage.result_store()
    probe = store.with_lock_timeout(min(store.lock_timeout_s, AUTOMATION_LOCK_TIMEOUT_S))
    keys = context.instance.get_dynamic_partitions(containers.name)
    try:
        probe.migrate()
        record_current_versions(probe, versions)
        rows = stale_rows(probe, keys)
    except Exception as exc:  # noqa: BLE001 - a busy file: the next tick asks again
        return SkipReason(f"cannot read {store.path} now ({exc}); trying again at the next tick")
    now = {f"{r['asset_key']}|{r['container_id']}": r for r in rows}
    before = set(json.loads(context.cursor)["stale"]) if context.cursor else set()
    if set(now) == before:
        return SkipReason(f"{len(now)} stale (asset, container) pairs, unchanged")
    current = {k.to_user_string(): v for k, v in versions.items()}
    events = []
    for pair in sorted(set(now) ^ before):
        asset, key = pair.split("|", 1)
        if asset in current and key in keys:
            events.append(_evaluation(context.instance, asset, key, now.get(pair), current[asset]))
    context.log.info("stale now: %d (asset, container) pairs; newly stale %d, no longer stale %d", len(now),
                     len(set(now) - before), len(before - set(now)))
    return SensorResult(asset_events=events, cursor=json.dumps({"stale": sorted(now)}))
