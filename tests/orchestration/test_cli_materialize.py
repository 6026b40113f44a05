"""`dagster asset materialize` as users run it: a synchronous single-run over a partition range, and two such
CLI runs at once on different containers, both writing the same DuckDB file."""

from __future__ import annotations

from dagster import DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from tests.orchestration.conftest import KEYS, CliRuns


def test_both_concurrent_cli_runs_succeed(cli_runs: CliRuns):
    for name, result in cli_runs.results.items():
        assert result.returncode == 0, f"{name} run failed:\n{result.stdout[-4000:]}"
        assert "RUN_SUCCESS" in result.stdout, name


def test_runs_really_overlapped(cli_runs: CliRuns):
    """Otherwise the test above would say nothing about DuckDB's single-writer lock."""
    records = cli_runs.env.instance().get_run_records(RunsFilter(statuses=[DagsterRunStatus.SUCCESS]))
    assert len(records) == 2
    a, b = sorted(records, key=lambda r: r.start_time)
    assert b.start_time < a.end_time, "the two CLI runs did not run at the same time"


def test_range_is_one_run_over_the_range(cli_runs: CliRuns):
    instance = cli_runs.env.instance()
    ranged = [r for r in instance.get_runs() if ASSET_PARTITION_RANGE_START_TAG in r.tags]
    assert len(ranged) == 1
    assert (ranged[0].tags[ASSET_PARTITION_RANGE_START_TAG], ranged[0].tags[ASSET_PARTITION_RANGE_END_TAG]) == (
        KEYS[0], KEYS[1])
    # the same run materialized every asset for both containers of the range
    for asset in ("source_documents", "rendered_pages", "ocr_text", "document_markdown"):
        from dagster import AssetKey

        assert instance.get_materialized_partitions(AssetKey(asset)) == set(KEYS), asset


def test_every_container_has_results_in_duckdb(cli_runs: CliRuns):
    store = cli_runs.env.store()
    pages = {r["container_id"]: r["n"] for r in
             store.query("SELECT container_id, count(*) AS n FROM pages GROUP BY container_id")}
    assert set(pages) == set(KEYS) and all(n > 0 for n in pages.values()), pages
    texts = {r["container_id"] for r in store.query("SELECT DISTINCT container_id FROM texts")}
    assert texts == set(KEYS)
    runs = {r["partition_key"]: r["n"] for r in store.query(
        "SELECT partition_key, count(DISTINCT run_id) AS n FROM materializations GROUP BY partition_key")}
    assert runs == dict.fromkeys(KEYS, 1), runs


def test_instance_storage_lands_under_dagster_home(cli_runs: CliRuns):
    home = cli_runs.env.home
    assert (home / "history" / "runs.db").is_file()
    assert any((home / "history" / "runs").glob("*.db")), "no event log databases under DAGSTER_HOME"
    assert (home / "storage").is_dir()
