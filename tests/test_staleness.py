"""Staleness a user sees: after a model profile change, the `made_with_current_versions` check of exactly
the assets whose code version changed turns to a failed WARN for their containers (reported by the
staleness sensor, no run needed), the DuckDB view `stale` lists the same, and Dagster's own status agrees."""

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

from ocr_assets.assets import document_assets
from ocr_assets.checks import document_checks
from ocr_assets.jobs import document_pipeline_job
from ocr_assets.partitions import containers
from ocr_assets.samples import write_samples
from ocr_assets.staleness import CHECK_NAME
from ocr_resources.profiles import OFFLINE_PROFILE, load_profile
from ocr_resources.resources import PipelineStorage, model_resources

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[1]
KEY = "one"

# Run in a new process (the profile is read when the definitions load), like the daemon after a restart.
AFTER_PROFILE_CHANGE = """
import json, warnings
warnings.simplefilter("ignore")
from dagster import DagsterInstance, build_sensor_context
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest
from ocr_assets.definitions import defs
from ocr_assets.freshness import containers_to_run
from ocr_assets.staleness import stale_results_sensor
from ocr_resources.pipeline.containers import container_fingerprint, inbox_entries
from ocr_resources.resources import PipelineStorage

instance = DagsterInstance.get()
storage = PipelineStorage()
result = stale_results_sensor(build_sensor_context(instance=instance, resources={"storage": storage}))
for event in result.asset_events:  # what the daemon does with a sensor's asset events
    instance.report_runless_asset_event(event)
resolver = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))
fingerprints = {k: container_fingerprint(e) for k, e in inbox_entries(storage.inbox).items()}
print(json.dumps({
    "reported": [[e.asset_key.to_user_string(), e.partition, e.passed] for e in result.asset_events],
    "dagster_stale": sorted(a.key.to_user_string() for a in defs.assets
                            if resolver.get_status(a.key, "one") == StaleStatus.STALE),
    "sensor_requests": {k: v[1] for k, v in containers_to_run(instance, storage.result_store(), fingerprints).items()},
}))
"""


def _check_results(instance: DagsterInstance, run_id: str) -> dict[str, bool]:
    out = {}
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        data = entry.dagster_event.event_specific_data
        if data.check_name == CHECK_NAME:
            out[data.asset_key.to_user_string()] = data.passed
    return out


def test_stale_check_turns_on_with_a_profile_change(tmp_path):
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
    out = subprocess.run([sys.executable, "-c", AFTER_PROFILE_CHANGE], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["reported"] == [["layout_regions", KEY, False]]  # the check turned on, for that asset only
    assert seen["dagster_stale"] == ["layout_regions"]  # what Dagster shows as Unsynced
    assert seen["sensor_requests"] == {KEY: "stale"}  # and automation will rebuild it
    (row,) = store.query("SELECT container_id, asset_key, made_with, current_version FROM stale")
    assert (row["container_id"], row["asset_key"]) == (KEY, "layout_regions")
    assert row["made_with"].endswith("@main") and row["current_version"].endswith("@v2")

    history = instance.event_log_storage.get_asset_check_execution_history(
        AssetCheckKey(AssetKey("layout_regions"), CHECK_NAME), limit=5)
    latest = next(h for h in history if h.partition == KEY)  # newest first
    assert latest.status.value == "FAILED"
    assert latest.event.dagster_event.event_specific_data.severity.value == "WARN"
