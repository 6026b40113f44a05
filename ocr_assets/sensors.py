"""The inbox sensor: every new container (folder of PDFs, or one PDF) becomes a dynamic partition and
gets a run. The run key includes the container's fingerprint, so adding the same container again does
nothing, while a container whose files changed is processed again."""


from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from ocr_assets.jobs import automation_enabled, document_pipeline_job
from ocr_assets.partitions import containers
from ocr_resources.pipeline.containers import container_fingerprint, inbox_entries
from ocr_resources.resources import PipelineStorage


@sensor(job=document_pipeline_job, minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING if automation_enabled() else DefaultSensorStatus.STOPPED,
        description="Registers new inbox containers as partitions and requests a run for each new or changed "
                    "one.")
def inbox_sensor(context: SensorEvaluationContext, storage: PipelineStorage) -> SensorResult | SkipReason:
    entries = inbox_entries(storage.inbox)
    if not entries:
        return SkipReason(f"inbox {storage.inbox} is empty")
    known = set(context.instance.get_dynamic_partitions(containers.name))
    new_keys = sorted(k for k in entries if k not in known)
    follow = storage.follow_symlinks
    run_requests = [
        RunRequest(partition_key=key, run_key=f"{key}:{container_fingerprint(entry, follow_symlinks=follow)}",
                   tags={"ocr/container": key})
        for key, entry in sorted(entries.items())
    ]
    return SensorResult(
        run_requests=run_requests,  # Dagster drops requests whose run_key it has already seen
        dynamic_partitions_requests=[containers.build_add_request(new_keys)] if new_keys else [],
    )
