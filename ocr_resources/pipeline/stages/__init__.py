"""One module per stage: read inputs from the store, run the engine, return rows for the store.

Each stage is Dagster-free (the assets in `ocr_assets` wrap them; the benchmark and the evaluation call them
directly). A stage never holds a DuckDB connection while a model runs: it reads its inputs first, computes,
and hands back Arrow tables that the caller commits for the whole partition in one transaction."""

from ocr_resources.pipeline.resume import Checkpoint, PageLedger
from ocr_resources.pipeline.rows import SpilledTable
from ocr_resources.pipeline.stages.base import StageContext, StageOutput, commit
from ocr_resources.pipeline.stages.charts import chart_data
from ocr_resources.pipeline.stages.layout import layout_regions
from ocr_resources.pipeline.stages.markdown import document_markdown
from ocr_resources.pipeline.stages.pages import rendered_pages
from ocr_resources.pipeline.stages.sources import source_documents
from ocr_resources.pipeline.stages.tables import table_html, table_markdown, tables
from ocr_resources.pipeline.stages.text import ocr_text

__all__ = ["Checkpoint", "PageLedger", "SpilledTable", "StageContext", "StageOutput", "chart_data", "commit",
           "document_markdown", "layout_regions", "ocr_text", "rendered_pages", "source_documents", "table_html",
           "table_markdown", "tables"]
