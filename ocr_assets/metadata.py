"""What each container's materialization shows in the UI: its own counts, timings and previews.

Everything that describes the container's content is read back from DuckDB after the commit, not taken
from what the run computed, so a rerun that reused every page still shows the container's current
results (and says how many pages it reused). Timings and pages computed are this run's."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from typing import Any

from dagster import MetadataValue, TableColumn, TableRecord, TableSchema
from PIL import Image

from ocr_resources.pipeline.page_store import PageStore
from ocr_resources.store import Reader, ResultStore

# The UI shows a Markdown entry inline on an asset's event pages only when it is shorter than this;
# longer ones hide behind "[Show Markdown]". The inline thumbnail is sized to fit.
UI_INLINE_MD_CHARS = 1000

Preview = Callable[[ResultStore, PageStore, str], dict[str, Any]]


def _md_table(rows: list[dict[str, Any]], limit: int = 20) -> str:
    if not rows:
        return "(none)"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]).replace("|", "\\|") for c in cols) + " |" for r in rows[:limit]]
    return "\n".join(lines) + (f"\n\n… {len(rows) - limit} more" if len(rows) > limit else "")


def text_preview(text: str, limit: int = 1500) -> MetadataValue:
    return MetadataValue.md(text[:limit] + ("\n\n…" if len(text) > limit else ""))


def _image_md(image: Image.Image, width: int, fmt: str, quality: int) -> str:
    img = image.copy()
    img.thumbnail((width, width * 2))
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=quality)
    mime = "image/webp" if fmt == "WEBP" else "image/png"
    return f"![first page](data:{mime};base64,{base64.b64encode(buf.getvalue()).decode()})"


def inline_thumbnail(image: Image.Image, budget: int = UI_INLINE_MD_CHARS - 1) -> str:
    """The largest small WebP thumbnail whose Markdown fits `budget` characters (shown inline by the UI)."""
    gray = image.convert("L")
    for width in (160, 128, 112, 96, 80, 64, 48, 32):
        for quality in (40, 20):
            md = _image_md(gray, width, "WEBP", quality)
            if len(md) <= budget:
                return md
    return _image_md(gray, 16, "WEBP", 10)


def page_image_md(image: Image.Image, width: int = 480) -> str:
    return _image_md(image, width, "WEBP", 60)


# -- per asset: what to read back for a container --------------------------------------------------------------
def documents_preview(store: ResultStore, pages: PageStore, key: str) -> dict[str, Any]:
    docs = store.query("SELECT document_id, page_count, status FROM documents WHERE container_id = ?"
                       " ORDER BY document_id", [key])
    return {"documents": len(docs), "documents_unreadable": sum(d["status"] == "error" for d in docs),
            "documents_preview": MetadataValue.md(_md_table(docs))}


def pages_preview(store: ResultStore, pages: PageStore, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    first = store.query("SELECT document_id, page_no, image_path FROM pages WHERE container_id = ?"
                        " ORDER BY document_id, page_no LIMIT 1", [key])
    try:
        image = pages.open(first[0]["image_path"]) if first else None
    except Exception as exc:  # a preview must never fail the asset (PIL refuses images past its bomb limit)
        out["thumbnail"] = MetadataValue.md(f"(no thumbnail: {type(exc).__name__})")
        image = None
    if image is not None:
        out["thumbnail"] = MetadataValue.md(inline_thumbnail(image))
        out["first_page"] = MetadataValue.md(f"**{first[0]['document_id']}**, page {first[0]['page_no']}\n\n"
                                             + page_image_md(image))
        out["first_page_file"] = MetadataValue.path(str(pages.root / first[0]["image_path"]))
    (kinds,) = store.query("SELECT count(*) FILTER (WHERE has_text_layer) AS text_layer,"
                           " count(*) FILTER (WHERE NOT has_text_layer) AS image_only FROM pages"
                           " WHERE container_id = ?", [key])
    out.update(text_layer_pages=kinds["text_layer"], image_only_pages=kinds["image_only"])
    return out


def regions_preview(store: ResultStore, pages: PageStore, key: str) -> dict[str, Any]:
    labels = store.query("SELECT label, count(*) AS n FROM regions WHERE container_id = ?"
                         " GROUP BY label ORDER BY n DESC, label", [key])
    return {"regions_by_label": MetadataValue.json({r["label"]: r["n"] for r in labels})}


def texts_preview(store: ResultStore, pages: PageStore, key: str) -> dict[str, Any]:
    sources = store.query("SELECT text_source, count(*) AS n FROM texts WHERE container_id = ?"
                          " GROUP BY text_source ORDER BY text_source", [key])
    rows = store.query("SELECT document_id, page_no, text FROM texts WHERE container_id = ? AND text <> ''"
                       " ORDER BY document_id, page_no, reading_order, region_no NULLS LAST LIMIT 12", [key])
    sample = "\n\n".join(f"**{t['document_id']} p{t['page_no']}**: {t['text']}" for t in rows)
    return {"text_rows_by_source": MetadataValue.json({r["text_source"]: r["n"] for r in sources}),
            "text_preview": text_preview(sample or "(no text)")}


def tables_preview(store: ResultStore, pages: PageStore, key: str) -> dict[str, Any]:
    first = store.query("SELECT document_id, page_no, markdown FROM tables WHERE container_id = ?"
                        " ORDER BY document_id, page_no, region_no LIMIT 1", [key])
    if not first:
        return {"table_sample": MetadataValue.md("(no tables)")}
    return {"table_sample": text_preview(f"**{first[0]['document_id']} p{first[0]['page_no']}**\n\n"
                                         f"{first[0]['markdown']}")}


def markdown_preview(store: ResultStore, pages: PageStore, key: str) -> dict[str, Any]:
    first = store.query("SELECT document_id, markdown, export_path FROM document_markdown WHERE container_id = ?"
                        " ORDER BY document_id LIMIT 1", [key])
    if not first:
        return {"markdown_preview": MetadataValue.md("(no documents)")}
    return {"markdown_preview": text_preview(first[0]["markdown"]),
            "first_export": MetadataValue.path(first[0]["export_path"])}


PREVIEWS: dict[str, Preview] = {
    "source_documents": documents_preview,
    "rendered_pages": pages_preview,
    "layout_regions": regions_preview,
    "ocr_text": texts_preview,
    "tables": tables_preview,
    "document_markdown": markdown_preview,
}

# -- failed files: what a user needs to see on the asset's page, not only in the run log ----------------------
# The stages whose failures leave a hole in an asset's results: its own and those upstream of it (a file that
# could not be opened has no pages, regions or text either). Stage names are the asset names (errors.stage).
_UPSTREAM = ["source_documents", "rendered_pages", "layout_regions", "ocr_text"]
STAGES_SHOWN: dict[str, list[str]] = {
    "source_documents": _UPSTREAM[:1],
    "rendered_pages": _UPSTREAM[:2],
    "layout_regions": _UPSTREAM[:3],
    "ocr_text": _UPSTREAM,
    "tables": [*_UPSTREAM, "tables"],
    "chart_data": [*_UPSTREAM[:3], "chart_data"],
    "document_markdown": [*_UPSTREAM, "tables", "document_markdown"],
}
FAILED_FILES_LIMIT = 50  # rows shown in the UI; the count and `SELECT * FROM document_errors` give the rest
FAILED_FILES_SCHEMA = TableSchema(columns=[
    TableColumn("file", "string", description="the PDF's path inside the container"),
    TableColumn("page", "int", description="the page, empty when the whole file failed"),
    TableColumn("stage", "string", description="the asset whose step failed on it"),
    TableColumn("error", "string", description="kind of error"),
    TableColumn("reason", "string"),
])


def failed_files(store: ResultStore, key: str, stages: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The container's error rows (severity 'error'; warnings are kept results), one per file and page,
    from `stages` (default: every stage)."""
    where = f" AND stage IN ({', '.join('?' for _ in stages)})" if stages else ""
    return store.query(
        "SELECT document_id AS file, page_no AS page, stage, error_type AS error, message AS reason FROM errors"
        f" WHERE container_id = ? AND coalesce(severity, 'error') = 'error'{where}"
        " ORDER BY file NULLS FIRST, page NULLS FIRST, stage", [key, *(stages or [])])


def failed_files_table(rows: list[dict[str, Any]], limit: int = FAILED_FILES_LIMIT) -> MetadataValue:
    """A table the UI renders on the asset's (or check's) page: file, page, stage, error, reason."""
    return MetadataValue.table([TableRecord(dict(r)) for r in rows[:limit]], schema=FAILED_FILES_SCHEMA)


def failed_files_metadata(store: ResultStore, asset_name: str, key: str) -> dict[str, Any]:
    rows = failed_files(store, key, STAGES_SHOWN.get(asset_name, [asset_name]))
    meta: dict[str, Any] = {"files_failed": len({r["file"] for r in rows})}
    if rows:
        meta["failed_files"] = failed_files_table(rows)
    return meta


def pages_per_second(pages_processed: int, seconds: float) -> float | None:
    """Pages computed per second, to 3 significant digits; None (left out) when nothing was computed or the
    time is below what the clock measures, rather than a 0 that reads as "stuck"."""
    if pages_processed <= 0 or seconds < 1e-3:
        return None
    return float(f"{pages_processed / seconds:.3g}")


# Stage stats that count what this run computed (not the container's content): shown under `this_run`.
_RUN_STATS = {"pages_computed", "pages_skipped", "pages_from_checkpoint"}


def container_pages(store: ResultStore, asset_name: str, key: str) -> int:
    """Pages of the container now (before rendering: the page counts of its readable PDFs)."""
    if asset_name == "source_documents":
        sql = "SELECT coalesce(sum(page_count), 0) AS n FROM documents WHERE container_id = ?"
    else:
        sql = "SELECT count(*) AS n FROM pages WHERE container_id = ?"
    return int(store.query(sql, [key])[0]["n"])


def container_metadata(read: Reader, pages: PageStore, asset_name: str, key: str,
                       counts: dict[str, int], stats: dict[str, Any], seconds: float, pages_processed: int
                       ) -> dict[str, Any]:
    """One container's metadata for one asset: its rows and pages now, this run's work on it (pages
    computed and reused, seconds, pages/s) and previews, all read back from DuckDB after the commit, on the
    caller's one connection (`read` from `ResultStore.reading()`: opening one costs tens of ms)."""
    return _container_metadata(_Reads(read), pages, asset_name, key, counts, stats, seconds, pages_processed)


class _Reads:
    """`query` of one open read connection (ResultStore.reading), for the readers below."""

    def __init__(self, read: Callable[..., list[dict[str, Any]]]):
        self.query = read


def _container_metadata(store: Any, pages: PageStore, asset_name: str, key: str, counts: dict[str, int],
                        stats: dict[str, Any], seconds: float, pages_processed: int) -> dict[str, Any]:
    preview = PREVIEWS.get(asset_name)
    meta: dict[str, Any] = dict(preview(store, pages, key)) if preview is not None else {}  # shown first
    meta.update({f"rows_{t}": n for t, n in counts.items()})
    meta.update(pages=container_pages(store, asset_name, key), seconds=round(seconds, 3))
    rate = pages_per_second(pages_processed, seconds)
    if rate is not None:
        meta["pages_per_second"] = rate
    meta.update(failed_files_metadata(store, asset_name, key))
    if _RUN_STATS & set(stats):  # stages that resume page by page
        meta.update(pages_computed=int(stats.get("pages_computed", 0)),
                    pages_reused=int(stats.get("pages_skipped", 0)) + int(stats.get("pages_from_checkpoint", 0)))
    if "inference_seconds" in stats:
        meta["inference_seconds"] = stats["inference_seconds"]
    this_run = {k: v for k, v in stats.items() if k not in _RUN_STATS and k != "inference_seconds"}
    if this_run:
        meta["this_run"] = MetadataValue.json(this_run)
    return meta


def progress_line(asset_name: str, key: str, index: int, total: int, meta: dict[str, Any]) -> str:
    """One log line per container and stage: what `make run` and the run's log show as progress."""
    work = f"{meta['pages']} pages"
    if "pages_computed" in meta:
        work += f" ({meta['pages_computed']} computed, {meta['pages_reused']} reused)"
    rows = ", ".join(f"{k[5:]} {v}" for k, v in meta.items() if k.startswith("rows_"))
    rate = f", {meta['pages_per_second']} pages/s" if "pages_per_second" in meta else ""
    failed = f"; failed files so far: {meta['files_failed']} (see failed_files)" if meta.get("files_failed") else ""
    return f"{asset_name} [{index}/{total}] {key}: {work} in {meta['seconds']:.2f}s{rate}; rows: {rows}{failed}"
