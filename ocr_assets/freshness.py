"""Which containers are current: materialized from their present files with the present code versions.

The answer is read from DuckDB (the `containers` fingerprint and the latest materialization of each asset),
which every run writes whoever launched it (`make run`, the UI, a backfill, the sensor or the schedule), so
automation does not redo what another path already did. Shared by the inbox sensor, the refresh schedule
and the staleness check."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from ocr_assets.assets import document_assets
from ocr_assets.partitions import containers
from ocr_resources.store import ResultStore

log = logging.getLogger(__name__)

ACTIVE_RUN_STATUSES = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
                       DagsterRunStatus.STARTED]
# A sensor tick must not wait long for DuckDB while a run commits; it is asked again at the next tick.
AUTOMATION_LOCK_TIMEOUT_S = 15.0


def current_code_versions() -> dict[AssetKey, str]:
    """Code version of every asset the job materializes (logic version plus model identity)."""
    versions: dict[AssetKey, str] = {}
    for assets_def in document_assets:
        versions.update({k: v for k, v in assets_def.code_versions_by_key.items() if v is not None})
    return versions


def versions_hash(versions: Mapping[AssetKey, str]) -> str:
    blob = "\n".join(f"{k.to_user_string()}={v}" for k, v in sorted(versions.items(), key=lambda kv: kv[0]))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


_LATEST = """
    SELECT m.partition_key AS container_id, m.asset_key, p.code_version, m.run_id
    FROM materializations m LEFT JOIN producers p USING (producer_id)
    WHERE m.partition_key IN ({keys})
    QUALIFY row_number() OVER (PARTITION BY m.asset_key, m.partition_key ORDER BY m.finished_at DESC) = 1
"""


def stored_results(store: ResultStore, keys: list[str]) -> dict[str, dict[str, tuple[str | None, str]]]:
    """Container -> asset -> (code version, run id) of the asset's latest results in DuckDB."""
    latest: dict[str, dict[str, tuple[str | None, str]]] = {k: {} for k in keys}
    if not keys or (isinstance(store.path, Path) and not store.path.exists()):
        return latest
    marks = ", ".join("?" for _ in keys)
    for r in store.query(_LATEST.format(keys=marks), keys):
        latest[r["container_id"]][r["asset_key"]] = (r["code_version"], r["run_id"])
    return latest


def results_digest(made: Mapping[str, tuple[str | None, str]]) -> str:
    """Which results a container holds now (the run that made each asset's latest rows): part of a run key,
    so that a container made stale again by a return to an earlier profile (A -> B -> A: B's results are
    stored now) gets a new key, while the same stored results never get a second request."""
    blob = "\n".join(f"{asset}={run_id}" for asset, (_, run_id) in sorted(made.items()))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def container_states(store: ResultStore, fingerprints: Mapping[str, str],
                     versions: Mapping[AssetKey, str],
                     latest: Mapping[str, Mapping[str, tuple[str | None, str]]] | None = None) -> dict[str, str]:
    """Container -> "current", "new" (never processed), "changed" (its files changed since), "incomplete"
    (some asset has no results yet) or "stale" (some asset's results come from another code version)."""
    keys = list(fingerprints)
    if not keys:
        return {}
    if isinstance(store.path, Path) and not store.path.exists():
        return dict.fromkeys(keys, "new")
    marks = ", ".join("?" for _ in keys)
    stored = {r["container_id"]: r["fingerprint"] for r in store.query(
        f"SELECT container_id, fingerprint FROM containers WHERE container_id IN ({marks})", keys)}
    latest = latest if latest is not None else stored_results(store, keys)
    wanted = {k.to_user_string(): v for k, v in versions.items()}
    states = {}
    for key in keys:
        made = {asset: version for asset, (version, _) in latest[key].items()}
        if key not in stored:
            states[key] = "new"
        elif stored[key] != fingerprints[key]:
            states[key] = "changed"
        elif any(asset not in made for asset in wanted):
            states[key] = "incomplete"
        elif any(made[asset] != version for asset, version in wanted.items()):
            states[key] = "stale"
        else:
            states[key] = "current"
    return states


def covered_partitions(tags: Mapping[str, str], ordered: list[str]) -> list[str]:
    """The containers a run works on: its partition, or every container of its partition range."""
    if PARTITION_NAME_TAG in tags:
        return [tags[PARTITION_NAME_TAG]]
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start in ordered and end in ordered:
        return ordered[ordered.index(start): ordered.index(end) + 1]
    return []


# Runs of this job only read the results (the staleness checks): they never make a container busy.
READ_ONLY_JOBS = frozenset({"staleness_checks"})


def active_partitions(instance: DagsterInstance, jobs: Iterable[str] | None = None) -> set[str]:
    """Containers that a queued or running run is already working on: a run of any job that writes results
    (CLI ranges included), or of `jobs` only when given."""
    ordered = instance.get_dynamic_partitions(containers.name)
    busy: set[str] = set()
    wanted = set(jobs) if jobs is not None else None
    for run in instance.get_runs(RunsFilter(statuses=ACTIVE_RUN_STATUSES)):
        if (run.job_name in wanted) if wanted is not None else (run.job_name not in READ_ONLY_JOBS):
            busy.update(covered_partitions(run.tags, ordered))
    return busy


def failure_streaks(instance: DagsterInstance, keys: list[str], lookback: int = 500) -> dict[str, tuple[int, float]]:
    """Container -> (runs in a row that failed on it, most recent first, until a success or a cancel; end
    time of the latest of them), for containers whose latest finished run failed. Looks at the latest
    `lookback` finished runs of any job (the UI's, the sensor's, backfills, CLI ranges)."""
    ordered = instance.get_dynamic_partitions(containers.name)
    wanted, closed = set(keys), set()
    streaks: dict[str, tuple[int, float]] = {}
    finished = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
    for record in instance.get_run_records(RunsFilter(statuses=finished), limit=lookback):  # newest first
        run = record.dagster_run
        for key in covered_partitions(run.tags, ordered):
            if key not in wanted or key in closed:
                continue
            if run.status != DagsterRunStatus.FAILURE:
                closed.add(key)
                continue
            count, last_end = streaks.get(key, (0, record.end_time or record.update_timestamp.timestamp()))
            streaks[key] = (count + 1, last_end)
        if closed >= wanted:
            break
    return streaks


def containers_to_run(instance: DagsterInstance, store: ResultStore,
                      fingerprints: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Containers that need a run: key -> (run key, reason). Current containers and those a queued or
    running run already covers are left out. The run key is `<container>:<fingerprint>:<code versions
    hash>:<stored results digest>`: what the container needs (its files, the current versions) and what it
    holds (which runs made its latest results). The same request is never made twice (a failed run stores
    nothing, so its key stays and the schedule retries it, with back-off), while changed files, a new model
    version, or a return to an earlier profile after another profile's results were stored get a new one.
    When DuckDB stays locked past AUTOMATION_LOCK_TIMEOUT_S the answer is "none this time": the next
    evaluation asks again."""
    versions = current_code_versions()
    probe = store.with_lock_timeout(min(store.lock_timeout_s, AUTOMATION_LOCK_TIMEOUT_S))
    try:
        latest = stored_results(probe, list(fingerprints))
        states = container_states(probe, fingerprints, versions, latest)
    except Exception as exc:  # noqa: BLE001 - a busy or unreadable file must not stop the partitions' registration
        log.warning("cannot read %s to see which containers are current (%s); asking again next time",
                    store.path, exc)
        return {}
    busy = active_partitions(instance)
    version = versions_hash(versions)
    return {key: (f"{key}:{fingerprints[key]}:{version}:{results_digest(latest[key])}", state)
            for key, state in states.items() if state != "current" and key not in busy}
