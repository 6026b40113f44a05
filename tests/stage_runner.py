"""One pipeline stage run for one container and committed the way its Dagster asset does it, without Dagster:
what the stage-level tests share (fake models where a model is needed)."""

from __future__ import annotations

from pathlib import Path

from ocr_resources.pipeline import stages
from ocr_resources.pipeline.page_store import PageStore
from ocr_resources.store import Producer, ResultStore


def run_stage(data: Path, store: ResultStore, key: str, asset: str, fn, *, run_id: str, render_workers: int = 1,
              **context) -> stages.StageOutput:
    """`fn(ctx)` for `asset` on container `key`, pages and spill files under `data`, committed to `store`."""
    producer = Producer(asset, "test", "m", "1", "1")
    ctx = stages.StageContext(container_id=key, run_id=run_id, producer_id=producer.producer_id, store=store,
                              page_store=PageStore(data / "pages"), render_workers=render_workers,
                              spill_root=data / "spill", **context)
    out = fn(ctx)
    stages.commit(ctx, asset, out, producer)
    return out
