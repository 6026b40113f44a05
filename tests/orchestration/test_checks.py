"""Asset checks: results recorded per container by real runs, failures visible as WARN (not crashed runs),
and the check queries themselves catch what they are meant to catch."""

from __future__ import annotations

import pyarrow as pa
import pytest
from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey

from ocr_assets import checks
from ocr_resources.store import ResultStore
from tests.orchestration.conftest import KEYS, CliRuns

ERROR_RATE = AssetCheckKey(AssetKey("document_markdown"), "error_rate_under_threshold")
PAGES = AssetCheckKey(AssetKey("ocr_text"), "every_page_has_layout_and_text")
TABLES = AssetCheckKey(AssetKey("tables"), "no_table_without_cells")


def _evaluations(cli_runs: CliRuns, key: AssetCheckKey) -> list:
    records = cli_runs.env.instance().event_log_storage.get_asset_check_execution_history(key, limit=10)
    return [r.evaluation for r in records if r.evaluation is not None]


def test_checks_are_part_of_the_job():
    from ocr_assets.definitions import defs

    job = defs.resolve_job_def("document_pipeline")
    assert {PAGES, TABLES, ERROR_RATE} <= set(job.asset_layer.asset_graph.asset_check_keys)


def test_every_container_has_a_result_for_every_check(cli_runs: CliRuns):
    """The single-container run and the range run both record one result per container."""
    for key in (PAGES, TABLES, ERROR_RATE):
        evals = _evaluations(cli_runs, key)
        assert sorted(e.partition for e in evals) == KEYS, (key, evals)
        assert all(e.target_materialization_data is not None for e in evals), key


def test_error_rate_failure_is_red_not_a_crash(cli_runs: CliRuns):
    """50% of broken-batch failed, over the default 0.2: red (ERROR), naming the file; the run still succeeds."""
    assert cli_runs.results["range"].returncode == 0
    by_key = {e.partition: e for e in _evaluations(cli_runs, ERROR_RATE)}
    broken = by_key["broken-batch"]
    assert not broken.passed and broken.severity == AssetCheckSeverity.ERROR and not broken.blocking
    assert broken.metadata["error_rate"].value == 0.5
    assert "not_a_pdf.pdf" in broken.description
    assert by_key["annual-reports"].passed and by_key["scanned-mail"].passed


def test_other_checks_pass_on_the_samples(cli_runs: CliRuns):
    for key in (PAGES, TABLES):
        assert all(e.passed for e in _evaluations(cli_runs, key)), key


def test_every_asset_and_container_is_made_with_current_versions(cli_runs: CliRuns):
    from ocr_assets.assets import document_assets
    from ocr_assets.staleness import CHECK_NAME

    for assets_def in document_assets:
        evals = _evaluations(cli_runs, AssetCheckKey(assets_def.key, CHECK_NAME))
        assert sorted(e.partition for e in evals) == KEYS, assets_def.key
        assert all(e.passed for e in evals), assets_def.key
    assert cli_runs.env.store().query("SELECT * FROM stale") == []


# -- the queries on a store with known defects -----------------------------------------------------------
LINEAGE = {"run_id": "r", "producer_id": "p"}


def _insert(store: ResultStore, table: str, rows: list[dict]) -> None:
    with store.connect() as con:
        data = pa.Table.from_pylist([{**r, **LINEAGE} for r in rows])
        con.register("_rows", data)
        cols = ", ".join(data.column_names)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows")


@pytest.fixture
def defect_store(tmp_path) -> ResultStore:
    store = ResultStore(tmp_path / "ocr.duckdb")
    store.migrate()
    page = {"container_id": "c", "document_id": "d.pdf"}
    _insert(store, "pages", [{**page, "page_no": n} for n in (1, 2, 3)])
    _insert(store, "regions", [{**page, "page_no": n, "region_no": 1} for n in (1, 2)])  # page 3: no layout
    _insert(store, "texts", [{**page, "page_no": n, "region_no": 1} for n in (1, 3)])  # page 2: no text
    _insert(store, "tables", [{**page, "page_no": 1, "region_no": r} for r in (1, 2)])
    _insert(store, "table_cells", [{**page, "page_no": 1, "region_no": 1, "row_no": 0, "col_no": 0}])
    _insert(store, "documents", [{"container_id": "c", "document_id": f"d{i}.pdf", "status": s}
                                 for i, s in enumerate(["ok", "ok", "ok", "error"])])
    _insert(store, "errors", [{"container_id": "c", "document_id": "d1.pdf", "stage": "ocr_text"}])
    return store


def test_pages_without_layout_or_text_are_found(defect_store: ResultStore):
    missing = checks.pages_missing_results(defect_store, ["c"])
    assert [(r["page_no"], r["regions"], r["texts"]) for r in missing] == [(2, 1, 0), (3, 0, 1)]
    assert checks.pages_missing_results(defect_store, ["other"]) == []


def test_tables_without_cells_are_found(defect_store: ResultStore):
    assert [r["region_no"] for r in checks.tables_without_cells(defect_store, ["c"])] == [2]


def test_error_rate_counts_unreadable_and_stage_errors(defect_store: ResultStore):
    rates = checks.error_rates(defect_store, ["c", "empty"])
    assert rates["c"] == {"documents": 4, "failed": 2, "rate": 0.5}
    assert rates["empty"]["rate"] == 0.0


def test_threshold_is_configurable(monkeypatch):
    monkeypatch.delenv(checks.ERROR_RATE_ENV, raising=False)
    assert checks.max_error_rate() == 0.2
    monkeypatch.setenv(checks.ERROR_RATE_ENV, "0.6")
    assert checks.max_error_rate() == 0.6
