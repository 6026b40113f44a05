"""The inbox sensor: every new container (folder of PDFs, or one PDF) becomes a dynamic partition and
gets a run, unless DuckDB already holds its results from its present files with the present code versions
(whoever made them: `make run`, the UI, a backfill). The run key includes the container's fingerprint, the
code versions and which runs made its stored results (ocr_assets.freshness.containers_to_run), so adding the
same container again does nothing, while a container whose files changed, a new model, or a return to an
earlier profile after another profile's results were stored (A -> B -> A) is processed again."""

from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from ocr_assets.dead_runs import reap_dead_runs
from ocr_assets.freshness import containers_to_run
from ocr_assets.jobs import automation_enabled, document_pipeline_job
from ocr_assets.partitions import containers
from ocr_resources.pipeline.containers import container_fingerprint, inbox_entries
from ocr_resources.resources import PipelineStorage


def run_requests(context: SensorEvaluationContext, storage: PipelineStorage,
                 entries: dict[str, Path]) -> list[RunRequest]:
    """One request per container that is not current in DuckDB (see ocr_assets.freshness)."""
    fingerprints = {key: container_fingerprint(entry, follow_symlinks=storage.follow_symlinks)
                    for key, entry in sorted(entries.items())}
    todo = containers_to_run(context.instance, storage.result_store(), fingerprints)
    return [RunRequest(partition_key=key, run_key=run_key,  # Dagster drops a run_key it has already seen
                       tags={"ocr/container": key, "ocr/reason": reason})
            for key, (run_key, reason) in todo.items()]


@sensor(job=document_pipeline_job, minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING if automation_enabled() else DefaultSensorStatus.STOPPED,
        description="Registers new inbox containers as partitions and requests a run for each one whose "
                    "present files are not yet materialized with the present code versions.")
def inbox_sensor(context: SensorEvaluationContext, storage: PipelineStorage) -> SensorResult | SkipReason:
    entries = inbox_entries(storage.inbox)
    if not entries:
        return SkipReason(f"inbox {storage.inbox} is empty")
    known = set(context.instance.get_dynamic_partitions(containers.name))
    new_keys = sorted(k for k in entries if k not in known)
    return SensorResult(
        run_requests=run_requests(context, storage, entries),
        dynamic_partitions_requests=[containers.build_add_request(new_keys)] if new_keys else [],
    )


@sensor(minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Fails runs of this machine whose worker process is gone (killed, or lost with its code server) "
                    "and frees their pool slots, so they never block later runs (ocr_assets/dead_runs.py).")
def dead_runs_sensor(context: SensorEvaluationContext) -> SkipReason:
    dead = reap_dead_runs(context.instance, say=context.log.warning)
    return SkipReason(f"failed {len(dead)} run(s) whose worker was gone: {', '.join(d.run_id for d in dead)}"
                      if dead else "no dead runs")
