"""The document assets, each partitioned by container:

source_documents -> rendered_pages -> layout_regions -> ocr_text -> tables -> document_markdown
                                                               \\-> chart_data

Data flows through the page store and DuckDB, not through the IO manager: each asset commits its rows
per partition and returns a MaterializeResult. With a single-run backfill policy one run (and one
process, so one model load) covers any number of containers."""


import base64
import io
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ocr_assets.partitions import containers
from ocr_resources import model_cache
from ocr_resources.pipeline import containers as inbox
from ocr_resources.pipeline import stages
from ocr_resources.profiles import load_profile
from ocr_resources.resources import ModelResource, PipelineStorage, model_resources
from ocr_resources.store import Producer

# Bump when an asset's own logic changes; together with the model identity it forms the code version.
LOGIC_VERSIONS = {
    "source_documents": "1",
    "rendered_pages": "2",  # 2: ruling lines; words on rotated and cropped pages
    "layout_regions": "2",  # 2: table regions checked against ruling lines and word alignment
    "ocr_text": "1",
    "tables": "2",  # 2: ruling lines, structure source
    "chart_data": "1",
    "document_markdown": "1",
}
MODEL_ROLE = {"layout_regions": "layout", "ocr_text": "ocr", "tables": "table", "chart_data": "chart"}
OWNERS = ["team:document-ai"]

# The profile is read once, here: the Definitions' model resources and the code versions come from it.
PROFILE_MODELS = model_resources(load_profile())


def code_version(asset_name: str) -> str:
    """Logic version plus the configured model's identity: a new model marks exactly its assets stale."""
    role = MODEL_ROLE.get(asset_name)
    if role is None:
        return LOGIC_VERSIONS[asset_name]
    return f"{LOGIC_VERSIONS[asset_name]}|{PROFILE_MODELS[f'{role}_model'].describe()}"


def _common(name: str, description: str, kinds: set[str], deps: list | None = None) -> dict[str, Any]:
    return dict(
        name=name, description=description, partitions_def=containers, deps=deps or [], group_name="documents",
        backfill_policy=BackfillPolicy.single_run(), code_version=code_version(name), kinds=kinds, owners=OWNERS,
        tags={"ocr/stage": name},
        # Model steps share one accelerator pool (dagster.yaml limits it), whichever job launched them:
        # the UI's "Materialize" button runs an ad-hoc job without the document_pipeline job's run tag.
        pool="ocr-accelerator" if name in MODEL_ROLE else None,
    )


FORCE_TAG = "ocr/force"
FORCE_ENV = "OCR_FORCE"


def force_recompute(context: AssetExecutionContext, asset_name: str) -> bool:
    """Recompute every page even where its stored result is current (resume is the default).
    Set by the run tag `ocr/force` or the env var `OCR_FORCE`: `true`/`1`/`all`, or asset names, comma-separated."""
    value = context.run.tags.get(FORCE_TAG) or os.environ.get(FORCE_ENV, "")
    wanted = {v.strip().lower() for v in value.split(",") if v.strip()}
    return bool(wanted & {"1", "true", "yes", "all", asset_name})


def _run_stage(
    context: AssetExecutionContext,
    storage: PipelineStorage,
    asset_name: str,
    stage: Callable[[stages.StageContext], stages.StageOutput],
    producer_fields: dict[str, Any],
    extra_metadata: Callable[[stages.StageContext, stages.StageOutput], dict[str, Any]] | None = None,
) -> MaterializeResult:
    """Run one stage for every partition of this run, committing each partition in one transaction."""
    store = storage.result_store()
    store.migrate()
    producer = Producer(asset_key=asset_name, code_version=code_version(asset_name), **producer_fields)
    totals: dict[str, int] = {}
    pages, seconds = 0, 0.0
    metadata: dict[str, Any] = {}
    keys = context.partition_keys
    force = force_recompute(context, asset_name)
    for key in keys:
        started = datetime.now(UTC)
        ctx = stages.StageContext(
            container_id=key, run_id=context.run_id, producer_id=producer.producer_id, store=store,
            page_store=storage.page_store(), logger=context.log, max_in_flight=storage.max_in_flight,
            loader_threads=storage.loader_threads, render_workers=storage.render_workers or None,
            force=force, spill_root=Path(storage.data_dir) / "spill",
        )
        output = stage(ctx)
        committed = False
        try:
            counts = stages.commit(ctx, asset_name, output, producer, started)
            committed = True
            store.record_model_loads(model_cache.drain_load_events(context.run_id))
            context.log.info("%s[%s]: %s in %.2fs (%s)", asset_name, key, counts, output.seconds,
                             {k: v for k, v in output.stats.items() if k.startswith("pages_")})
            for table, n in counts.items():
                totals[table] = totals.get(table, 0) + n
            pages += output.pages
            seconds += output.seconds
            if extra_metadata is not None and key == keys[-1]:
                metadata.update(extra_metadata(ctx, output))
        finally:
            output.discard(committed)  # spilled files; checkpoints stay for the next run if the commit failed
        for name, value in output.stats.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                metadata[name] = metadata.get(name, 0) + value if len(keys) > 1 else value
            elif len(keys) == 1:
                metadata[name] = MetadataValue.json(value) if isinstance(value, dict) else str(value)
    metadata.update({f"rows_{t}": n for t, n in totals.items()})
    metadata.update(
        containers=len(keys), pages=pages, force=force, seconds=round(seconds, 3),
        pages_per_second=round(pages / seconds, 2) if seconds > 0 and pages else 0.0,
        producer_id=producer.producer_id, model=f"{producer.engine}:{producer.model_id}@{producer.model_revision}",
        duckdb_path=MetadataValue.path(storage.duckdb_path),
    )
    loads = store.query("SELECT role, loads, load_seconds FROM model_loads WHERE run_id = ?", [context.run_id])
    if loads:
        metadata["model_loads_this_run"] = MetadataValue.json(
            {r["role"]: {"loads": r["loads"], "seconds": round(r["load_seconds"], 3)} for r in loads})
    return MaterializeResult(metadata=metadata)


def _model_producer(model: ModelResource, context: AssetExecutionContext) -> tuple[Any, dict[str, Any]]:
    engine = model.load(run_id=context.run_id, logger=context.log)
    ident = engine.identity
    return engine, {"engine": ident.engine, "model_id": ident.model_id, "model_revision": ident.revision,
                    "parameters": ident.params}


def _code_producer(name: str, **parameters: Any) -> dict[str, Any]:
    return {"engine": name, "model_id": "", "model_revision": "", "parameters": parameters}


def _preview(text: str, limit: int = 1500) -> MetadataValue:
    return MetadataValue.md(text[:limit] + ("\n\n…" if len(text) > limit else ""))


# -- assets --------------------------------------------------------------------------------------------------
@asset(**_common("source_documents", "PDFs of the container: hash, size, page count, metadata; unreadable "
                 "files become error rows and the rest of the container goes on.", {"pdf", "duckdb"}))
def source_documents(context: AssetExecutionContext, storage: PipelineStorage) -> MaterializeResult:
    entries = inbox.inbox_entries(storage.inbox)

    def stage(ctx: stages.StageContext) -> stages.StageOutput:
        if ctx.container_id not in entries:
            raise FileNotFoundError(f"container {ctx.container_id!r} is not in the inbox {storage.inbox}")
        return stages.source_documents(ctx, entries[ctx.container_id])

    def meta(ctx, out):
        docs = out.rows["documents"].select(["document_id", "page_count", "status"]).to_pylist()
        lines = ["| document | pages | status |", "|---|---|---|"] + [
            f"| {d['document_id']} | {d['page_count']} | {d['status']} |" for d in docs[:20]]
        return {"documents_preview": MetadataValue.md("\n".join(lines))}

    return _run_stage(context, storage, "source_documents", stage, _code_producer("pypdfium2"), meta)


def _thumbnail_md(ctx: stages.StageContext, image_path: str, width: int = 240) -> MetadataValue:
    image = ctx.page_store.open(image_path)
    image.thumbnail((width, width * 2))
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return MetadataValue.md(f"![first page](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})")


@asset(**_common("rendered_pages", "Page images in the content-addressed page store, and each page's text "
                 "layer (words with boxes) when it has a usable one.", {"pdfium", "duckdb"}, [source_documents]))
def rendered_pages(context: AssetExecutionContext, storage: PipelineStorage) -> MaterializeResult:
    def meta(ctx, out):
        pages = out.rows["pages"]
        return {"thumbnail": _thumbnail_md(ctx, pages.column("image_path")[0].as_py())} if pages.num_rows else {}

    return _run_stage(context, storage, "rendered_pages", lambda ctx: stages.rendered_pages(ctx, storage.dpi),
                      _code_producer("pypdfium2", dpi=storage.dpi), meta)


@asset(**_common("layout_regions", "Layout regions per page (boxes in PDF points, canonical and model labels, "
                 "scores, reading order).", {"onnx", "duckdb"}, [rendered_pages]))
def layout_regions(context: AssetExecutionContext, storage: PipelineStorage,
                   layout_model: ModelResource) -> MaterializeResult:
    detector, producer = _model_producer(layout_model, context)
    return _run_stage(context, storage, "layout_regions", lambda ctx: stages.layout_regions(ctx, detector), producer)


@asset(**_common("ocr_text", "Text per region, from the text layer on digital pages and from OCR on image-only "
                 "pages; the source is recorded per row.", {"onnx", "duckdb"}, [layout_regions]))
def ocr_text(context: AssetExecutionContext, storage: PipelineStorage, ocr_model: ModelResource) -> MaterializeResult:
    recognizer, producer = _model_producer(ocr_model, context)

    def meta(ctx, out):
        texts = out.rows["texts"].select(["document_id", "page_no", "text"]).to_pylist()
        sample = "\n\n".join(f"**{t['document_id']} p{t['page_no']}**: {t['text']}" for t in texts[:12] if t["text"])
        return {"text_preview": _preview(sample)}

    return _run_stage(context, storage, "ocr_text", lambda ctx: stages.ocr_text(ctx, recognizer), producer, meta)


@asset(**_common("tables", "Table structure for table regions: cells with row, column, spans and header flag, "
                 "plus HTML and Markdown renderings.", {"duckdb"}, [ocr_text]))
def tables(context: AssetExecutionContext, storage: PipelineStorage, table_model: ModelResource) -> MaterializeResult:
    recognizer, producer = _model_producer(table_model, context)

    def meta(ctx, out):
        md = out.rows["tables"].column("markdown").to_pylist()
        return {"table_sample": _preview(md[0])} if md else {}

    return _run_stage(context, storage, "tables", lambda ctx: stages.tables(ctx, recognizer), producer, meta)


@asset(**_common("chart_data", "Data tables read back from chart figures (DePlot). The offline profile has no "
                 "chart model and records none.", {"duckdb"}, [layout_regions]))
def chart_data(
    context: AssetExecutionContext, storage: PipelineStorage, chart_model: ModelResource
) -> MaterializeResult:
    if chart_model.enabled:
        extractor, producer = _model_producer(chart_model, context)
    else:
        extractor, producer = None, _code_producer("none", reason="no chart engine configured")
    return _run_stage(context, storage, "chart_data", lambda ctx: stages.chart_data(ctx, extractor), producer)


@asset(**_common("document_markdown", "Reading-order Markdown per document, also written to the export folder.",
                 {"markdown", "duckdb"}, [ocr_text, tables]))
def document_markdown(context: AssetExecutionContext, storage: PipelineStorage) -> MaterializeResult:
    def meta(ctx, out):
        md = out.rows["document_markdown"].column("markdown").to_pylist()
        return {"markdown_preview": _preview(md[0]) if md else MetadataValue.md("(no documents)")}

    return _run_stage(context, storage, "document_markdown",
                      lambda ctx: stages.document_markdown(ctx, storage.exports), _code_producer("markdown"), meta)


document_assets = [source_documents, rendered_pages, layout_regions, ocr_text, tables, chart_data, document_markdown]
