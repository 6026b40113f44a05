"""One job over the whole graph, partitioned by container, and the switch for its automation."""

import os

from dagster import AssetSelection, define_asset_job

from ocr_assets.partitions import containers

# Runs that load models are "heavy": dagster.yaml lets one run at a time hold this tag (one GPU).
HEAVY_RUN_TAGS = {"ocr/accelerator": "model"}
AUTOMATION_ENV = "OCR_AUTOMATION"

document_pipeline_job = define_asset_job(
    name="document_pipeline",
    selection=AssetSelection.groups("documents"),
    partitions_def=containers,
    tags=HEAVY_RUN_TAGS,
    description="Every document asset for the selected containers: pages, layout, text, tables, charts, "
                "markdown.",
)


def automation_enabled() -> bool:
    """Whether the inbox sensor and the refresh schedule start switched on ($OCR_AUTOMATION, default on).
    Off suits a staging instance or a test daemon that should run only what it is told to; either can
    still be switched on in the UI."""
    return os.environ.get(AUTOMATION_ENV, "on").strip().lower() not in {"off", "0", "false", "stopped"}
