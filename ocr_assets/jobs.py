"""One job over the whole graph, partitioned by container."""

from dagster import AssetSelection, define_asset_job

from ocr_assets.partitions import containers

# Runs that load models are "heavy": dagster.yaml lets one run at a time hold this tag (one GPU).
HEAVY_RUN_TAGS = {"ocr/accelerator": "model"}

document_pipeline_job = define_asset_job(
    name="document_pipeline",
    selection=AssetSelection.groups("documents"),
    partitions_def=containers,
    tags=HEAVY_RUN_TAGS,
    description="Every document asset for the selected containers: pages, layout, text, tables, charts, markdown.",
)
