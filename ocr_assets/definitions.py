"""The one place that assembles assets, checks, resources, jobs, schedules and sensors."""

from dagster import Definitions, in_process_executor

from ocr_assets.assets import PROFILE_MODELS, document_assets
from ocr_assets.checks import document_checks
from ocr_assets.jobs import document_pipeline_job
from ocr_assets.schedules import stale_containers_schedule
from ocr_assets.sensors import dead_runs_sensor, inbox_sensor
from ocr_assets.staleness import stale_results_sensor, staleness_check_job
from ocr_resources.resources import PipelineStorage

defs = Definitions(
    assets=document_assets,
    asset_checks=document_checks,
    jobs=[document_pipeline_job, staleness_check_job],
    schedules=[stale_containers_schedule],
    sensors=[inbox_sensor, stale_results_sensor, dead_runs_sensor],
    resources={"storage": PipelineStorage(), **PROFILE_MODELS},
    # One process per run (not one per step): models load once per run, whether launched from the UI,
    # a schedule, a sensor or the CLI.
    executor=in_process_executor,
)
