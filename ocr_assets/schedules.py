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

Run keys include a hash of every asset's code version and the tick's date: the same tick evaluated twice
requests nothing new, a new model version requests again at once, and a container whose run failed is
tried again at the next tick (not within the same one)."""

import os
from collections.abc import Iterable, Mapping

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

from ocr_assets.freshness import active_partitions, current_code_versions, versions_hash
from ocr_assets.jobs import automation_enabled, document_pipeline_job
from ocr_assets.partitions import containers
from ocr_resources.pipeline.containers import inbox_entries
from ocr_resources.resources import PipelineStorage

SCHEDULE_CRON_ENV = "OCR_SCHEDULE_CRON"
DEFAULT_CRON = "0 2 * * *"  # daily, at night


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


@schedule(
    job=document_pipeline_job,
    cron_schedule=schedule_cron(),
    default_status=DefaultScheduleStatus.RUNNING if automation_enabled() else DefaultScheduleStatus.STOPPED,
    description="Requests a run for each container that is missing or stale (code or model version changed), "
                f"skipping containers already queued or running. Cadence: ${SCHEDULE_CRON_ENV} "
                f"(default '{DEFAULT_CRON}').",
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
    context.log.info("containers: %s; queued or running: %s; gone from the inbox: %s", states,
                     sorted(busy), sorted(set(keys) - present))
    if not todo:
        return SkipReason(f"all {len(keys)} containers are fresh, queued, running or gone from the inbox")
    tick = context.scheduled_execution_time.strftime("%Y-%m-%d")  # set on every tick, also UI test ticks
    version = versions_hash(versions)
    return [
        RunRequest(partition_key=key, run_key=f"{key}:{version}:{tick}",
                   tags={"ocr/container": key, "ocr/reason": states[key], "ocr/code_versions": version})
        for key in todo
    ]
