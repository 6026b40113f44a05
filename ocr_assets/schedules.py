"""The refresh schedule: on a cadence (daily by default, $OCR_SCHEDULE_CRON), request one run per container
that is missing or stale, and none for containers that are fresh, already queued or running.

Why a custom schedule: `build_schedule_from_partitioned_job` needs time-based (or static) partitions, and
containers are dynamic partitions. Declarative automation (`AutomationCondition.eager()` /
`code_version_changed()`) would also work, but it evaluates continuously, asset by asset, while here one
question decides everything per container and the answer should run as one job run with every model
loaded once; a schedule with an explicit rule is also easier to read in the UI ("why was this requested?").

- missing: some asset of the job has never been materialized for the container;
- stale: some asset's latest materialization carries another code version than the asset has now (code
  versions include the model identity, so a new model or revision makes exactly its containers stale).

- failed: missing or stale, and the latest finished run on the container failed (a model that cannot be
  loaded, a crash): requested again once a back-off has passed since that failure, doubling with each failed
  run in a row (1 h, 2 h, 4 h ... up to a day by default), so a failure that needs a person is not hammered.

Run keys include a hash of every asset's code version and the tick's date (for a failed container: the
number of failed runs instead): the same tick evaluated twice requests nothing new, a new model version
requests again at once, and each retry of a failed container is requested once."""

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)
from dagster._core.definitions.data_version import CODE_VERSION_TAG

from ocr_assets.freshness import active_partitions, current_code_versions, failure_streaks, versions_hash
from ocr_assets.jobs import automation_enabled, document_pipeline_job
from ocr_assets.partitions import containers
from ocr_resources.pipeline.containers import inbox_entries
from ocr_resources.resources import PipelineStorage

SCHEDULE_CRON_ENV = "OCR_SCHEDULE_CRON"
DEFAULT_CRON = "0 2 * * *"  # daily, at night
BACKOFF_ENV, DEFAULT_BACKOFF_S = "OCR_RETRY_BACKOFF_S", 3600.0
BACKOFF_MAX_ENV, DEFAULT_BACKOFF_MAX_S = "OCR_RETRY_BACKOFF_MAX_S", 86400.0


def schedule_cron() -> str:
    return os.environ.get(SCHEDULE_CRON_ENV, "").strip() or DEFAULT_CRON


def partition_states(instance: DagsterInstance, keys: Iterable[str],
                     versions: Mapping[AssetKey, str]) -> dict[str, str]:
    """Container -> "fresh", "missing" or "stale", from the materializations recorded in the instance."""
    keys = list(keys)
    states = dict.fromkeys(keys, "fresh")
    for asset_key, version in versions.items():
        for key in keys:
            if states[key] == "missing":
                continue
            # one small indexed query per (asset, container): the latest materialization and its tags
            latest = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key]), limit=1).records
            if not latest:
                states[key] = "missing"
            elif latest[0].asset_materialization.tags.get(CODE_VERSION_TAG) != version:
                states[key] = "stale"
    return states


def retry_backoff_s(failures: int) -> float:
    """Seconds to wait after the latest of `failures` failed runs in a row before trying again: doubles with
    each failure, from $OCR_RETRY_BACKOFF_S (default 1 h) up to $OCR_RETRY_BACKOFF_MAX_S (default 1 day)."""
    base = float(os.environ.get(BACKOFF_ENV, "").strip() or DEFAULT_BACKOFF_S)
    cap = float(os.environ.get(BACKOFF_MAX_ENV, "").strip() or DEFAULT_BACKOFF_MAX_S)
    return min(cap, base * 2 ** max(0, failures - 1))


@schedule(
    job=document_pipeline_job,
    cron_schedule=schedule_cron(),
    default_status=DefaultScheduleStatus.RUNNING if automation_enabled() else DefaultScheduleStatus.STOPPED,
    description="Requests a run for each container that is missing or stale (code or model version changed), "
                "and again, with back-off, for one whose last run failed; skips containers already queued or "
                f"running. Cadence: ${SCHEDULE_CRON_ENV} (default '{DEFAULT_CRON}'); back-off: "
                f"${BACKOFF_ENV} doubling up to ${BACKOFF_MAX_ENV}.",
)
def stale_containers_schedule(context: ScheduleEvaluationContext,
                              storage: PipelineStorage) -> list[RunRequest] | SkipReason:
    instance = context.instance
    keys = instance.get_dynamic_partitions(containers.name)
    if not keys:
        return SkipReason("no containers registered yet (the inbox sensor registers them)")
    versions = current_code_versions()
    states = partition_states(instance, keys, versions)
    busy = active_partitions(instance)
    present = set(inbox_entries(storage.inbox))
    todo = [k for k in keys if states[k] != "fresh" and k not in busy and k in present]
    failed = failure_streaks(instance, todo)
    now = context.scheduled_execution_time.timestamp()  # set on every tick, also UI test ticks
    waiting = {k: last_end + retry_backoff_s(n) for k, (n, last_end) in failed.items()
               if now < last_end + retry_backoff_s(n)}
    todo = [k for k in todo if k not in waiting]
    context.log.info("containers: %s; queued or running: %s; gone from the inbox: %s; failed and backing off "
                     "until: %s", states, sorted(busy), sorted(set(keys) - present),
                     {k: datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds") for k, t in waiting.items()})
    if not todo:
        return SkipReason(f"all {len(keys)} containers are fresh, queued, running, gone from the inbox or "
                          f"backing off after a failed run ({len(waiting)})")
    tick = context.scheduled_execution_time.strftime("%Y-%m-%d")
    version = versions_hash(versions)
    requests = []
    for key in todo:
        if key in failed:  # one request per failure count: a retry that fails again waits longer, then retries
            reason, attempt = "failed", f"retry-{failed[key][0]}"
        else:
            reason, attempt = states[key], tick
        requests.append(RunRequest(partition_key=key, run_key=f"{key}:{version}:{attempt}",
                                   tags={"ocr/container": key, "ocr/reason": reason, "ocr/code_versions": version}))
    return requests
