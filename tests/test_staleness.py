"""Staleness a user sees: after a model profile change, the `made_with_current_versions` check of exactly
the assets whose code version changed turns to a failed WARN for their containers (evaluated in the small
check run the staleness sensor requests, no pipeline run needed), the DuckDB view `stale` (live and read copy)
lists the same, and Dagster's own status agrees. Longer sequences: tests/orchestration/test_profile_round_trip.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterInstance, Definitions, in_process_executor
from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from ocr_assets.assets import document_assets
from ocr_assets.checks import document_checks
from ocr_assets.freshness import current_code_versions, stored_results
from ocr_assets.jobs import document_pipeline_job
from ocr_assets.partitions import containers
from ocr_assets.samples import write_samples
from ocr_assets.staleness import CHECK_NAME, cleared_failures
from ocr_resources.engines.model_source import ModelUnavailableError
from ocr_resources.profiles import OFFLINE_PROFILE, load_profile
from ocr_resources.resources import ModelResource, PipelineStorage, model_resources

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[1]
KEY = "one"


def _check_results(instance: DagsterInstance, run_id: str) -> dict[str, bool]:
    out = {}
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        data = entry.dagster_event.event_specific_data
        if data.check_name == CHECK_NAME:
            out[data.asset_key.to_user_string()] = data.passed
    return out


def test_stale_check_turns_on_with_a_profile_change(tmp_path, monkeypatch):
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    write_samples(data / "inbox", {KEY: ["digital_text.pdf"]})
    storage = PipelineStorage(data_dir=str(data), duckdb_path=str(data / "ocr.duckdb"))
    defs = Definitions(assets=document_assets, asset_checks=document_checks, jobs=[document_pipeline_job],
                       executor=in_process_executor,
                       resources={"storage": storage, **model_resources(load_profile("offline"))})
    instance = DagsterInstance.from_config(str(home))
    instance.add_dynamic_partitions(containers.name, [KEY])
    result = defs.resolve_job_def("document_pipeline").execute_in_process(instance=instance, partition_key=KEY)
    assert result.success
    passed = _check_results(instance, result.run_id)
    assert passed == {a.key.to_user_string(): True for a in document_assets}  # one check per asset, all green
    store = storage.result_store()
    assert store.query("SELECT * FROM stale") == []

    # A new layout model revision in the profile: only layout_regions' code version changes.
    profile = {role: dict(cfg) for role, cfg in OFFLINE_PROFILE.items()}
    profile["layout"]["revision"] = "v2"
    profile_path = tmp_path / "new-layout.yaml"
    profile_path.write_text(yaml.safe_dump({"roles": profile}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "OCR_"))}
    env.update(DAGSTER_HOME=str(home), OCR_DATA_DIR=str(data), OCR_PROFILE=str(profile_path), OCR_AUTOMATION="off")
    # A new process (the profile is read when the definitions load), like the daemon after a restart: the
    # staleness sensor's tick and the run of checks it requests; the inbox sensor's decision (no pipeline run).
    out = subprocess.run([sys.executable, "-m", "tests.orchestration.profile_step", "--no-pipeline-runs"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    (request,) = seen["first_staleness_tick"]["requests"]
    assert request["checks"] == ["layout_regions"] and request["success"]  # that asset's check only
    shown = seen["after_first_tick"]
    assert {a: by_key[KEY] for a, by_key in shown["checks"].items()} == {
        a.key.to_user_string(): "failed" if a.key.to_user_string() == "layout_regions" else "passed"
        for a in document_assets}  # the check turned on, for that asset only
    assert shown["dagster_unsynced"] == {"layout_regions": [KEY]}  # what Dagster shows as Unsynced
    assert shown["stale_live"] == shown["stale_read_copy"] == [["layout_regions", KEY]]  # the read copy too
    (inbox,) = seen["inbox_tick"]["requests"]
    assert inbox["partition"] == KEY and inbox["tags"]["ocr/reason"] == "stale"  # and automation will rebuild it
    (row,) = store.query("SELECT container_id, asset_key, made_with, current_version FROM stale")
    assert (row["container_id"], row["asset_key"]) == (KEY, "layout_regions")
    assert row["made_with"].endswith("@main") and row["current_version"].endswith("@v2")

    history = instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey("layout_regions"), CHECK_NAME), limit=5)
    latest = next(h for h in history if h.partition == KEY)  # newest first
    assert latest.status.value == "FAILED"
    assert latest.event.dagster_event.event_specific_data.severity.value == "WARN"

    # Back in this process's definitions (the offline versions, which made DuckDB's results), a run whose layout
    # model cannot load (a fault injected) leaves the model assets red; the sensor's repair, a runless
    # materialization naming the run that made the results, turns them green; again after a second failure.
    load = ModelResource.load

    def unavailable(self, run_id: str = "", logger=None):
        if self.role == "layout":
            raise ModelUnavailableError("layout model cannot be loaded (fault injected by the test)")
        return load(self, run_id=run_id, logger=logger)

    monkeypatch.setattr(ModelResource, "load", unavailable)
    current = {k.to_user_string(): v for k, v in current_code_versions().items()}
    red = ["chart_data", "document_markdown", "layout_regions", "ocr_text", "tables"]
    for _ in range(2):
        failed = defs.resolve_job_def("document_pipeline").execute_in_process(
            instance=instance, partition_key=KEY, raise_on_error=False)
        assert not failed.success
        statuses = {a: instance.get_status_by_partition(AssetKey(a), [KEY], containers)[KEY] for a in red}
        assert set(statuses.values()) == {AssetPartitionStatus.FAILED}
        repairs = cleared_failures(instance, [KEY], current, stored_results(store, [KEY]))
        assert sorted(e.asset_key.to_user_string() for e in repairs) == red
        assert {e.metadata["results_made_by_run"].value for e in repairs} == {result.run_id}
        for event in repairs:
            instance.report_runless_asset_event(event)
        statuses = {a: instance.get_status_by_partition(AssetKey(a), [KEY], containers)[KEY] for a in red}
        assert set(statuses.values()) == {AssetPartitionStatus.MATERIALIZED}
        assert cleared_failures(instance, [KEY], current, stored_results(store, [KEY])) == []


def test_inbox_run_key_names_the_stored_results(tmp_path):
    """A container made stale again after its results went current in between (A -> B -> A: the same files and
    the same current versions, other stored results) gets a new run key; the same stored results the same key."""
    from datetime import UTC, datetime, timedelta

    from ocr_assets.freshness import containers_to_run
    from ocr_resources.store import ResultStore

    store = ResultStore(tmp_path / "ocr.duckdb")
    store.migrate()
    versions = {k.to_user_string(): v for k, v in current_code_versions().items()}
    instance = DagsterInstance.ephemeral()
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def made(run_id: str, assets: list[str], version: str | None = None, minute: int = 0) -> None:
        with store.connect() as con:
            for asset in assets:
                producer = f"{asset}:{version or versions[asset]}"
                con.execute("INSERT INTO producers (producer_id, asset_key, code_version) SELECT ?, ?, ? WHERE NOT "
                            "EXISTS (SELECT 1 FROM producers WHERE producer_id = ?)",
                            [producer, asset, version or versions[asset], producer])
                con.execute("INSERT INTO materializations (run_id, asset_key, partition_key, producer_id,"
                            " finished_at) VALUES (?, ?, ?, ?, ?)",
                            [run_id, asset, KEY, producer, start + timedelta(minutes=minute)])

    with store.connect() as con:
        con.execute("INSERT INTO containers (container_id, fingerprint, run_id, producer_id)"
                    " VALUES (?, 'f', 'r1', 'p')", [KEY])
    made("r1", list(versions))
    assert containers_to_run(instance, store, {KEY: "f"}) == {}  # current
    made("r2", ["ocr_text"], "another model", minute=1)  # profile B's results
    (first_key, reason) = containers_to_run(instance, store, {KEY: "f"})[KEY]
    assert reason == "stale"
    made("r3", ["ocr_text"], minute=2)  # back to A, rerun
    assert containers_to_run(instance, store, {KEY: "f"}) == {}
    made("r4", ["ocr_text"], "another model", minute=3)  # B again: stale again, the same files and versions
    (second_key, reason) = containers_to_run(instance, store, {KEY: "f"})[KEY]
    assert reason == "stale" and second_key != first_key
    assert second_key.split(":")[:3] == first_key.split(":")[:3]  # container, fingerprint, current versions
    assert containers_to_run(instance, store, {KEY: "f"})[KEY][0] == second_key  # asked again: the same key


def test_staleness_run_request_covers_its_containers_and_names_the_situation():
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
        PARTITION_NAME_TAG,
    )

    from ocr_assets.staleness import STALENESS_JOB, Pair, staleness_request

    ordered = ["a", "b", "c"]
    one = staleness_request([Pair("ocr_text", "b", True, "r1", 0)], ordered, "v")
    assert one.job_name == STALENESS_JOB and one.tags[PARTITION_NAME_TAG] == "b"  # a range of one: no partition
    assert [k.asset_key.to_user_string() for k in one.asset_check_keys] == ["ocr_text"]
    several = staleness_request([Pair("tables", "c", False, "r2", 7), Pair("ocr_text", "a", True, "r1", 0)],
                                ordered, "v")
    assert (several.tags[ASSET_PARTITION_RANGE_START_TAG], several.tags[ASSET_PARTITION_RANGE_END_TAG]) == ("a", "c")
    assert [k.asset_key.to_user_string() for k in several.asset_check_keys] == ["ocr_text", "tables"]
    # the same situation, the same key; other stored results, another shown result or other versions: new keys
    assert staleness_request([Pair("ocr_text", "b", True, "r1", 0)], ordered, "v").run_key == one.run_key
    others = [staleness_request([Pair("ocr_text", "b", True, "r9", 0)], ordered, "v"),
              staleness_request([Pair("ocr_text", "b", True, "r1", 5)], ordered, "v"),
              staleness_request([Pair("ocr_text", "b", True, "r1", 0)], ordered, "w")]
    assert len({one.run_key, *(r.run_key for r in others)}) == 4
