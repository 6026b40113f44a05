"""The orchestration as users drive it, against the real `dagster-webserver` and `dagster-daemon`: the
GraphQL API (assets, partitions, checks, a launched run reaching SUCCESS through the run queue), CLI
backfills recorded as backfills whose runs go through the queue, and the asset graph in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import BACKFILL_ID_TAG, PARTITION_NAME_TAG
from dagster_graphql import DagsterGraphQLClient

from tests.orchestration.conftest import KEYS, Services, tail, wait_for

pytestmark = pytest.mark.slow

ASSETS = ["source_documents", "rendered_pages", "layout_regions", "ocr_text", "tables", "chart_data",
          "document_markdown"]
DONE = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
ERROR_RATE = AssetCheckKey(AssetKey("document_markdown"), "error_rate_under_threshold")
RUN_TIMEOUT = 150  # seconds for a handful of queued runs, each a fresh process that loads the models


def _wait_runs(services: Services, runs_filter: RunsFilter, count: int) -> list:
    instance = services.env.instance()

    def finished() -> list | None:
        records = instance.get_run_records(runs_filter)
        if len(records) == count and all(r.dagster_run.status in DONE for r in records):
            return records
        return None

    try:
        records = wait_for(finished, RUN_TIMEOUT, f"{count} runs matching {runs_filter}", interval=2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- daemon log ---\n{tail(services.daemon_log)}") from None
    failed = [r.dagster_run.run_id for r in records if r.dagster_run.status != DagsterRunStatus.SUCCESS]
    assert not failed, f"runs failed: {failed}\n{tail(services.daemon_log)}"
    return records


def _assert_serialized(records: list) -> None:
    """dagster.yaml lets one run at a time hold the ocr/accelerator=model tag."""
    spans = sorted((r.start_time, r.end_time) for r in records)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end - 0.5, f"runs of the heavy tag overlapped: {spans}"


def _containers_in_duckdb(services: Services) -> set[str]:
    return {r["container_id"] for r in services.env.store().query("SELECT DISTINCT container_id FROM texts")}


# -- GraphQL ---------------------------------------------------------------------------------------------
ASSET_NODES = """
query {
  assetNodes(group: {groupName: "documents", repositoryName: "__repository__",
                     repositoryLocationName: "ocr_pipeline"}) {
    assetKey { path }
    groupName
    description
    partitionKeys
    kinds
    owners { ... on TeamAssetOwner { team } }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
}"""


def test_graphql_lists_assets_partitions_and_checks(services: Services):
    nodes = {n["assetKey"]["path"][-1]: n for n in services.graphql(ASSET_NODES)["assetNodes"]}
    assert set(nodes) == set(ASSETS)
    for name, node in nodes.items():
        assert node["partitionKeys"] == KEYS, name
        assert node["description"] and node["kinds"], name
        assert {"team": "document-ai"} in node["owners"], name
    checks = {c["name"] for n in nodes.values() for c in n["assetChecksOrError"]["checks"]}
    assert checks == {"every_page_has_layout_and_text", "no_table_without_cells", "error_rate_under_threshold",
                      "made_with_current_versions"}
    schedules = services.graphql("""query { schedulesOrError(repositorySelector: {repositoryName: "__repository__",
        repositoryLocationName: "ocr_pipeline"}) { ... on Schedules { results { name cronSchedule } } } }""")
    assert [s["name"] for s in schedules["schedulesOrError"]["results"]] == ["stale_containers_schedule"]


MATERIALIZATION = """
query ($partition: String!) {
  assetNodeOrError(assetKey: {path: ["rendered_pages"]}) {
    ... on AssetNode {
      latestMaterializationByPartition(partitions: [$partition]) {
        partition runId
        metadataEntries { label __typename ... on MarkdownMetadataEntry { mdStr } }
      }
    }
  }
}"""


def test_graphql_launched_run_reaches_success(services: Services):
    client = DagsterGraphQLClient("127.0.0.1", port_number=services.port, timeout=60)
    key = "scanned-mail"
    run_id = client.submit_job_execution("document_pipeline", repository_location_name="ocr_pipeline",
                                         repository_name="__repository__", tags={PARTITION_NAME_TAG: key})
    wait_for(lambda: client.get_run_status(run_id) in DONE, RUN_TIMEOUT, f"run {run_id}", interval=2)
    assert client.get_run_status(run_id) == DagsterRunStatus.SUCCESS, tail(services.daemon_log)
    run = services.env.instance().get_run_by_id(run_id)
    assert run.tags["ocr/accelerator"] == "model"  # went through the queue with the heavy tag
    assert key in _containers_in_duckdb(services)
    # the UI shows the partition's metadata, thumbnail included
    (mat,) = services.graphql(MATERIALIZATION, {"partition": key})["assetNodeOrError"][
        "latestMaterializationByPartition"]
    assert mat["runId"] == run_id
    labels = {e["label"]: e for e in mat["metadataEntries"]}
    assert {"pages", "seconds", "pages_per_second"} <= set(labels)
    assert labels["thumbnail"]["mdStr"].startswith("![first page](data:image/webp;base64,")
    assert len(labels["thumbnail"]["mdStr"]) < 1000  # the UI renders shorter Markdown inline


def _backfill(services: Services, *selection: str) -> str:
    out = services.env.cli("dagster", "job", "backfill", "-w", "workspace.yaml", "-j", "document_pipeline",
                           *selection, "--noprompt", timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    backfill_id = out.stdout.strip().split("`")[-2]
    return backfill_id


def test_cli_backfill_of_some_partitions(services: Services):
    keys = ["annual-reports", "broken-batch"]
    backfill_id = _backfill(services, "--partitions", ",".join(keys))
    backfill = services.env.instance().get_backfill(backfill_id)
    assert backfill is not None and list(backfill.partition_names) == keys
    records = _wait_runs(services, RunsFilter(tags={BACKFILL_ID_TAG: backfill_id}), len(keys))
    assert sorted(r.dagster_run.tags[PARTITION_NAME_TAG] for r in records) == keys
    _assert_serialized(records)
    assert set(keys) <= _containers_in_duckdb(services)
    # visible in the UI's Backfills tab
    data = services.graphql("query { partitionBackfillsOrError { ... on PartitionBackfills { results { id } } } }")
    assert backfill_id in {b["id"] for b in data["partitionBackfillsOrError"]["results"]}
    # the failed check (50% errors in broken-batch) is recorded on that partition by its run, which succeeded
    instance = services.env.instance()
    run_by_key = {r.dagster_run.tags[PARTITION_NAME_TAG]: r.dagster_run.run_id for r in records}
    history = instance.event_log_storage.get_asset_check_execution_history(ERROR_RATE, limit=20)
    results = {(h.partition, h.run_id): h.status.value for h in history}
    assert results[("broken-batch", run_by_key["broken-batch"])] == "FAILED", results
    assert results[("annual-reports", run_by_key["annual-reports"])] == "SUCCEEDED", results
    checks = services.graphql("""query { assetNodeOrError(assetKey: {path: ["document_markdown"]}) {
        ... on AssetNode { assetChecksOrError { ... on AssetChecks { checks { name
          executionForLatestMaterialization { status partition } } } } } } }""")
    by_name = {c["name"]: c for c in checks["assetNodeOrError"]["assetChecksOrError"]["checks"]}
    assert by_name["error_rate_under_threshold"]["executionForLatestMaterialization"] is not None


def test_cli_backfill_all(services: Services):
    backfill_id = _backfill(services, "--all")
    assert list(services.env.instance().get_backfill(backfill_id).partition_names) == KEYS
    records = _wait_runs(services, RunsFilter(tags={BACKFILL_ID_TAG: backfill_id}), len(KEYS))
    _assert_serialized(records)
    assert _containers_in_duckdb(services) == set(KEYS)


# -- the browser -----------------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1600,1000", "--virtual-time-budget=15000"]
GRAPH_PATH = "/locations/__repository__@ocr_pipeline/asset-groups/documents"


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *CHROME_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=90)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make system-deps` installs it)")
def test_asset_graph_renders_in_chromium(services: Services, tmp_path):
    url = services.url + GRAPH_PATH
    dom = _chromium(["--dump-dom", url], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    missing = [name for name in ASSETS if name not in dom.stdout]
    assert not missing, f"asset names missing from the rendered DOM: {missing}\n{dom.stdout[:2000]}"

    shot = services.env.root / "asset_graph.png"
    out = _chromium([f"--screenshot={shot}", url], tmp_path / "profile-shot")
    assert out.returncode == 0 and shot.is_file(), out.stderr[-2000:]
    assert shot.stat().st_size > 20_000, "screenshot looks empty"
    keep = Path(__file__).resolve().parents[2] / ".pytest_cache" / "orchestration" / "asset_graph.png"
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep)  # for a human to look at


# -- the asset backfill of `python -m ocr_assets.cli backfill`: per-partition status -----------------------
BACKFILL_STATUS = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill {
      status isAssetBackfill
      assetBackfillData { assetBackfillStatuses { ... on AssetPartitionsStatusCounts {
        assetKey { path } numPartitionsTargeted numPartitionsInProgress numPartitionsMaterialized
        numPartitionsFailed } } }
    }
  }
}"""


def test_cli_asset_backfill_shows_per_partition_status(services: Services):
    keys = ["annual-reports", "scanned-mail"]
    out = services.env.cli("python", "-m", "ocr_assets.cli", "backfill", "--partitions", ",".join(keys))
    assert out.returncode == 0, out.stderr[-3000:]
    backfill_id = out.stdout.split("asset backfill ")[1].split()[0]

    def done() -> dict | None:
        data = services.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        return data if data["status"] in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED") else None

    try:
        data = wait_for(done, RUN_TIMEOUT, f"asset backfill {backfill_id}", interval=2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- daemon log ---\n{tail(services.daemon_log)}") from None
    assert data["isAssetBackfill"] and data["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), data
    statuses = {s["assetKey"]["path"][-1]: s for s in data["assetBackfillData"]["assetBackfillStatuses"]}
    assert set(statuses) == set(ASSETS)
    for name, s in statuses.items():  # every asset, every partition: the per-partition view the UI shows
        assert (s["numPartitionsTargeted"], s["numPartitionsMaterialized"], s["numPartitionsFailed"]) == (2, 2, 0), (
            name, s)
    runs = services.env.instance().get_run_records(RunsFilter(tags={BACKFILL_ID_TAG: backfill_id}))
    assert runs and all(r.dagster_run.tags.get("ocr/accelerator") == "model" for r in runs)  # through the queue


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make system-deps` installs it)")
def test_partition_page_shows_the_thumbnail_as_an_image(services: Services, tmp_path):
    """The asset's partition page renders the first-page thumbnail inline, as an <img>, not behind a link."""
    url = f"{services.url}/assets/rendered_pages?view=partitions&partition=scanned-mail"
    dom = _chromium(["--dump-dom", url], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<img src="data:image/webp;base64,' in dom.stdout or "src=\"data:image/webp" in dom.stdout, \
        dom.stdout[-3000:]
    shot = services.env.root / "partition_thumbnail.png"
    out = _chromium([f"--screenshot={shot}", url], tmp_path / "profile-shot")
    assert out.returncode == 0 and shot.is_file(), out.stderr[-2000:]
    keep = Path(__file__).resolve().parents[2] / ".pytest_cache" / "orchestration" / "partition_thumbnail.png"
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep)  # for a human to look at
