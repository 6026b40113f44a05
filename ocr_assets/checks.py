"""Asset checks on what the pipeline wrote to DuckDB, one evaluation per container.

The checks are partitioned by container, like the assets: a run over one container (sensor, schedule,
`dagster job backfill`, the UI) records a result on that partition. A single run over a range of
containers (`dagster asset materialize --partition-range`, single-run backfill policy) checks every
container of the range and records one result for the run, listing the failing containers.

All checks are non-blocking: a container with problems shows up in the UI as a failed check, it does not
crash or stop the run (page-level errors are data here, not exceptions). They fail with severity WARN
(yellow), except `error_rate_under_threshold`, which is red (ERROR) once a container's share of failed
documents passes $OCR_MAX_ERROR_RATE, and yellow for any failed file below it."""

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetsDefinition,
    MetadataValue,
    Output,
    asset_check,
)

from ocr_assets.assets import document_assets, document_markdown, ocr_text, tables
from ocr_assets.freshness import current_code_versions
from ocr_assets.metadata import failed_files, failed_files_table
from ocr_assets.partitions import containers
from ocr_assets.staleness import (
    CHECK_DESCRIPTION,
    CHECK_NAME,
    describe,
    latest_materialization,
    record_current_versions,
    stale_rows,
)
from ocr_resources.resources import PipelineStorage
from ocr_resources.store import ResultStore

ERROR_RATE_ENV = "OCR_MAX_ERROR_RATE"
DEFAULT_MAX_ERROR_RATE = 0.2


def max_error_rate() -> float:
    """The error-rate threshold: env var OCR_MAX_ERROR_RATE (a fraction, 0..1), default 0.2."""
    raw = os.environ.get(ERROR_RATE_ENV, "").strip()
    return float(raw) if raw else DEFAULT_MAX_ERROR_RATE


def _keys(context: AssetCheckExecutionContext) -> list[str]:
    # One key for a single-partition run, every key of the range for a single-run backfill.
    if context.has_partition_key or context.has_partition_key_range:
        return list(context.partition_keys)
    return []


# passed, metadata, description[, severity (default WARN)]
Verdict = tuple[bool, dict[str, Any], str | None] | tuple[bool, dict[str, Any], str | None, AssetCheckSeverity]
CheckEvents = Iterator[AssetCheckResult | AssetCheckEvaluation | Output]


def _per_container(context: AssetCheckExecutionContext,
                   evaluate: Callable[[list[str]], Verdict]) -> CheckEvents:
    """One result per container. A single-partition run returns an AssetCheckResult (Dagster attaches the
    partition); a range run (single-run backfill) yields one evaluation per partition of the range itself,
    because an AssetCheckResult there would land on no partition and leave each partition's check planned."""
    keys = _keys(context)
    if len(keys) <= 1 or not context.has_partition_key_range:
        passed, metadata, description, severity = _with_severity(evaluate(keys))
        yield AssetCheckResult(passed=passed, severity=severity, metadata=metadata, description=description)
        return
    (check_key,) = context.selected_asset_check_keys
    for key in keys:
        passed, metadata, description, severity = _with_severity(evaluate([key]))
        yield AssetCheckEvaluation(
            asset_key=check_key.asset_key, check_name=check_key.name, passed=passed, metadata=metadata,
            severity=severity, description=description, blocking=False, partition=key,
            target_materialization_data=latest_materialization(context.instance, check_key.asset_key, key))
    yield Output(None)  # the check op's own (Nothing) output: the step is done


def _with_severity(verdict: Verdict) -> tuple[bool, dict[str, Any], str | None, AssetCheckSeverity]:
    return (*verdict, AssetCheckSeverity.WARN) if len(verdict) == 3 else verdict  # type: ignore[return-value]


def _in(keys: Sequence[str]) -> str:
    return ", ".join("?" for _ in keys) or "NULL"


# -- queries (plain functions, so they can be run on any store) ----------------------------------------------
def pages_missing_results(store: ResultStore, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Pages without any layout region or without any text row."""
    return store.query(
        f"""SELECT * FROM (
                SELECT p.container_id, p.document_id, p.page_no,
                       (SELECT count(*) FROM regions r WHERE r.container_id = p.container_id
                          AND r.document_id = p.document_id AND r.page_no = p.page_no) AS regions,
                       (SELECT count(*) FROM texts t WHERE t.container_id = p.container_id
                          AND t.document_id = p.document_id AND t.page_no = p.page_no) AS texts
                FROM pages p WHERE p.container_id IN ({_in(keys)}))
            WHERE regions = 0 OR texts = 0 ORDER BY ALL""",
        list(keys),
    )


def page_counts(store: ResultStore, keys: Sequence[str]) -> int:
    sql = f"SELECT count(*) AS n FROM pages WHERE container_id IN ({_in(keys)})"
    return store.query(sql, list(keys))[0]["n"]


def tables_without_cells(store: ResultStore, keys: Sequence[str]) -> list[dict[str, Any]]:
    return store.query(
        f"""SELECT t.container_id, t.document_id, t.page_no, t.region_no FROM tables t
            WHERE t.container_id IN ({_in(keys)}) AND NOT EXISTS (
                SELECT 1 FROM table_cells c WHERE c.container_id = t.container_id
                  AND c.document_id = t.document_id AND c.page_no = t.page_no AND c.region_no = t.region_no)
            ORDER BY ALL""",
        list(keys),
    )


def error_rates(store: ResultStore, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per container: documents, documents with an error (unreadable, or an error row of any stage), rate."""
    rows = store.query(
        f"""SELECT d.container_id, count(*) AS documents,
                   count(*) FILTER (WHERE d.status = 'error' OR EXISTS (
                       SELECT 1 FROM errors e WHERE e.container_id = d.container_id AND e.severity = 'error'
                         AND e.document_id = d.document_id)) AS failed
            FROM documents d WHERE d.container_id IN ({_in(keys)}) GROUP BY d.container_id""",
        list(keys),
    )
    out = {k: {"documents": 0, "failed": 0, "rate": 0.0} for k in keys}
    for r in rows:
        out[r["container_id"]] = {"documents": r["documents"], "failed": r["failed"],
                                  "rate": round(r["failed"] / r["documents"], 4) if r["documents"] else 0.0}
    return out


def _table_md(rows: list[dict[str, Any]], limit: int = 20) -> MetadataValue:
    if not rows:
        return MetadataValue.md("(none)")
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows[:limit]]
    more = f"\n\n… {len(rows) - limit} more" if len(rows) > limit else ""
    return MetadataValue.md("\n".join(lines) + more)


# -- checks --------------------------------------------------------------------------------------------------
@asset_check(asset=ocr_text, partitions_def=containers, blocking=False,
             description="Every rendered page has at least one layout region and at least one text row.")
def every_page_has_layout_and_text(context: AssetCheckExecutionContext, storage: PipelineStorage) -> CheckEvents:
    store = storage.result_store()

    def evaluate(keys: list[str]) -> Verdict:
        missing = pages_missing_results(store, keys)
        return not missing, {"pages": page_counts(store, keys), "pages_missing_layout_or_text": len(missing),
                             "examples": _table_md(missing)}, None

    yield from _per_container(context, evaluate)


@asset_check(asset=tables, partitions_def=containers, blocking=False,
             description="No table region ends up without cells.")
def no_table_without_cells(context: AssetCheckExecutionContext, storage: PipelineStorage) -> CheckEvents:
    store = storage.result_store()

    def evaluate(keys: list[str]) -> Verdict:
        empty = tables_without_cells(store, keys)
        return not empty, {"tables_without_cells": len(empty), "examples": _table_md(empty)}, None

    yield from _per_container(context, evaluate)


def _files_named(rows: list[dict[str, Any]], limit: int = 5) -> str:
    """`a.pdf (source_documents: not a PDF), b.pdf p3 (ocr_text: ...)`: the files a description names."""
    def where(r: dict[str, Any]) -> str:
        return r["file"] if r["page"] is None else f"{r['file']} p{r['page']}"

    named = [f"{where(r)} ({r['stage']}: {r['reason']})" for r in rows[:limit]]
    return "; ".join(named) + (f"; … {len(rows) - limit} more" if len(rows) > limit else "")


@asset_check(asset=document_markdown, partitions_def=containers, blocking=False,
             description=f"No document of the container failed: WARN (yellow) for any failed file or page, "
                         f"ERROR (red) when the share of documents with an error is above ${ERROR_RATE_ENV} "
                         f"(default {DEFAULT_MAX_ERROR_RATE}); the failed files and why are in its metadata.")
def error_rate_under_threshold(context: AssetCheckExecutionContext, storage: PipelineStorage) -> CheckEvents:
    store = storage.result_store()
    threshold = max_error_rate()

    def evaluate(keys: list[str]) -> Verdict:
        rates = error_rates(store, keys)
        failed = [r for k in keys for r in failed_files(store, k)]
        over = sorted(k for k, r in rates.items() if r["rate"] > threshold)
        worst = max((r["rate"] for r in rates.values()), default=0.0)
        documents = sum(r["documents"] for r in rates.values())
        documents_failed = sum(r["failed"] for r in rates.values())
        metadata = {"threshold": threshold, "error_rate": worst, "documents": documents,
                    "documents_failed": documents_failed, "containers_over_threshold": ", ".join(over),
                    "failed_files": failed_files_table(failed),
                    "per_container": MetadataValue.json(rates)}
        if not failed and not documents_failed:
            return True, metadata, None
        severity = AssetCheckSeverity.ERROR if over else AssetCheckSeverity.WARN
        verdict = f"error rate {worst:.0%} {'>' if over else '≤'} {threshold:.0%}"
        description = (f"{documents_failed} of {documents} documents failed ({verdict}): "
                       f"{_files_named(failed) or 'see document_errors'}")
        return False, metadata, description, severity

    yield from _per_container(context, evaluate)


def staleness_check(assets_def: AssetsDefinition):
    """`made_with_current_versions` on one asset: its rows in the container come from its current code version."""
    asset_name = assets_def.key.to_user_string()

    @asset_check(asset=assets_def, name=CHECK_NAME, partitions_def=containers, blocking=False,
                 description=CHECK_DESCRIPTION)
    def _check(context: AssetCheckExecutionContext, storage: PipelineStorage) -> CheckEvents:
        store = storage.result_store()
        versions = current_code_versions()
        record_current_versions(store, versions)

        def evaluate(keys: list[str]) -> Verdict:
            rows = stale_rows(store, keys, asset_name)
            description = "; ".join(describe(r) for r in rows[:5]) or None
            return not rows, {"current_version": versions[assets_def.key], "stale_containers": len(rows),
                              "stale": _table_md([{k: r[k] for k in ("container_id", "made_with", "run_id")}
                                                  for r in rows])}, description

        yield from _per_container(context, evaluate)

    return _check


staleness_checks = [staleness_check(a) for a in document_assets]
document_checks = [every_page_has_layout_and_text, no_table_without_cells, error_rate_under_threshold,
                   *staleness_checks]
