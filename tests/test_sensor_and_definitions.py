"""The inbox sensor on a temp inbox, partition keys, and the definitions loading as `dagster` loads them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster import DagsterInstance, SensorResult, build_sensor_context

from ocr_assets.samples import digital_text_pdf, write_samples
from ocr_assets.sensors import inbox_sensor
from ocr_resources.pipeline.containers import inbox_entries, partition_key_for
from ocr_resources.resources import PipelineStorage

ROOT = Path(__file__).resolve().parents[1]


def test_partition_keys_are_safe_for_paths_and_sql():
    assert partition_key_for("Q3 Reports (final).pdf") == "q3-reports-final"
    assert partition_key_for("Annual-Reports") == "annual-reports"
    assert partition_key_for("Ünïcode ✓ docs") == "unicode-docs"  # letters folded to ASCII, not dropped
    assert partition_key_for("!!!").startswith("container-")


def test_inbox_entries_ignore_hidden_partial_and_non_pdf(tmp_path):
    (tmp_path / "batch A").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "upload.pdf.part").write_bytes(b"%PDF")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "Single.PDF").write_bytes(digital_text_pdf())
    (tmp_path / "batch_a").mkdir()  # collides with "batch A" once made safe
    keys = inbox_entries(tmp_path)
    assert sorted(keys) == sorted(["batch-a", "single", next(k for k in keys if k.startswith("batch-a-"))])


def _evaluate(instance: DagsterInstance, data_dir: Path) -> SensorResult:
    storage = PipelineStorage(data_dir=str(data_dir), duckdb_path=str(data_dir / "ocr.duckdb"))
    ctx = build_sensor_context(instance=instance, resources={"storage": storage})
    return inbox_sensor(ctx)


def test_sensor_registers_new_containers_and_requests_runs(tmp_path):
    instance = DagsterInstance.ephemeral()
    write_samples(tmp_path / "inbox")
    result = _evaluate(instance, tmp_path)
    [add] = result.dynamic_partitions_requests
    assert sorted(add.partition_keys) == ["annual-reports", "scanned-mail"]
    assert sorted(r.partition_key for r in result.run_requests) == ["annual-reports", "scanned-mail"]
    instance.add_dynamic_partitions("containers", add.partition_keys)
    keys_before = {r.partition_key: r.run_key for r in result.run_requests}

    # Same containers again (even copied in anew): no new partitions, the same run keys (Dagster drops them).
    shutil.copytree(tmp_path / "inbox", tmp_path / "copy")
    shutil.rmtree(tmp_path / "inbox")
    shutil.move(tmp_path / "copy", tmp_path / "inbox")
    again = _evaluate(instance, tmp_path)
    assert not again.dynamic_partitions_requests
    assert {r.partition_key: r.run_key for r in again.run_requests} == keys_before

    # A changed container gets a new run key; a new container a new partition.
    (tmp_path / "inbox" / "scanned-mail" / "extra.pdf").write_bytes(digital_text_pdf())
    (tmp_path / "inbox" / "New Batch").mkdir()
    (tmp_path / "inbox" / "New Batch" / "a.pdf").write_bytes(digital_text_pdf())
    third = _evaluate(instance, tmp_path)
    assert third.dynamic_partitions_requests[0].partition_keys == ["new-batch"]
    keys = {r.partition_key: r.run_key for r in third.run_requests}
    assert keys["annual-reports"] == keys_before["annual-reports"]
    assert keys["scanned-mail"] != keys_before["scanned-mail"]


def test_sensor_skips_on_empty_inbox(tmp_path):
    result = _evaluate(DagsterInstance.ephemeral(), tmp_path)
    assert "empty" in str(getattr(result, "skip_message", result))


def test_definitions_validate_with_the_dagster_cli():
    env = {**os.environ, "DAGSTER_HOME": str(ROOT / "dagster_home")}
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr


def test_definitions_executor_is_in_process():
    from ocr_assets.definitions import defs

    job = defs.resolve_job_def("document_pipeline")
    assert job.executor_def.name == "in_process"
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} >= {
        "source_documents", "rendered_pages", "layout_regions", "ocr_text", "tables", "chart_data",
        "document_markdown"}


def test_sensor_after_a_cli_style_run_requests_nothing(offline_run, tmp_path, monkeypatch):
    """Runs made outside the sensor (here: one range run, as `make run` does) count: the sensor requests
    nothing for containers DuckDB holds from their present files with the present code versions, and
    requests exactly the containers whose files changed or whose code version is no longer current."""
    from dagster import AssetKey

    from ocr_assets import freshness

    data = tmp_path / "data"
    shutil.copytree(offline_run.data_dir, data)
    instance = DagsterInstance.ephemeral()  # another instance: only DuckDB knows what was done
    instance.add_dynamic_partitions("containers", offline_run.keys)
    result = _evaluate(instance, data)
    assert result.run_requests == [] and not result.dynamic_partitions_requests

    (data / "inbox" / "scanned-mail" / "extra.pdf").write_bytes(digital_text_pdf())
    [changed] = _evaluate(instance, data).run_requests
    assert (changed.partition_key, changed.tags["ocr/reason"]) == ("scanned-mail", "changed")

    versions = dict(freshness.current_code_versions())
    versions[AssetKey("ocr_text")] = "1|another-ocr-model"
    monkeypatch.setattr(freshness, "current_code_versions", lambda: versions)
    stale = {r.partition_key: r.tags["ocr/reason"] for r in _evaluate(instance, data).run_requests}
    assert stale == {"annual-reports": "stale", "broken-batch": "stale", "scanned-mail": "changed"}
