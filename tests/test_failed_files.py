"""Which file failed, and why, where a user looks: each asset's materialization lists the container's failed
files with their reason (a table), and the error check goes yellow for any failed file and red above the
threshold, naming the files. Also the small metadata truths: pages/s is never a 0 that reads as "stuck", and
`duckdb_path` is the read copy a reader should open."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    Definitions,
    TableMetadataValue,
    in_process_executor,
)
from reportlab.pdfgen import canvas

from ocr_assets.assets import document_assets
from ocr_assets.checks import ERROR_RATE_ENV, document_checks
from ocr_assets.jobs import document_pipeline_job
from ocr_assets.metadata import pages_per_second
from ocr_assets.partitions import containers
from ocr_resources.profiles import load_profile
from ocr_resources.resources import PipelineStorage, model_resources

pytestmark = pytest.mark.timeout(600)

ERROR_CHECK = AssetCheckKey(AssetKey("document_markdown"), "error_rate_under_threshold")
NOT_A_PDF = b"<html>saved with the wrong name</html>"
# key -> files; with a threshold of 0.4: 1 of 3 failed is under it (yellow), 1 of 2 over it (red)
CONTAINERS = {
    "clean": {"a.pdf": "good"},
    "few-errors": {"a.pdf": "good", "b.pdf": "good", "broken.pdf": NOT_A_PDF},
    "many-errors": {"a.pdf": "good", "sub/lost.pdf": NOT_A_PDF},
}


def one_line_pdf(text: str) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, text)
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data = Path(tmp_path_factory.mktemp("failed-files"))
    for key, files in CONTAINERS.items():
        for name, content in files.items():
            path = data / "inbox" / key / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(one_line_pdf(f"{key} {name}") if content == "good" else content)
    storage = PipelineStorage(data_dir=str(data), duckdb_path=str(data / "ocr.duckdb"))
    defs = Definitions(assets=document_assets, asset_checks=document_checks, jobs=[document_pipeline_job],
                       executor=in_process_executor,
                       resources={"storage": storage, **model_resources(load_profile("offline"))})
    instance = DagsterInstance.ephemeral()
    keys = list(CONTAINERS)
    instance.add_dynamic_partitions(containers.name, keys)
    job = defs.resolve_job_def(document_pipeline_job.name)
    mp = pytest.MonkeyPatch()
    mp.setenv(ERROR_RATE_ENV, "0.4")
    try:  # one run over the three containers: the check yields one evaluation per container
        result = job.execute_in_process(instance=instance, tags={
            "dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]})
    finally:
        mp.undo()
    assert result.success
    return data, instance, result.run_id


def _materializations(instance: DagsterInstance, run_id: str, asset: str) -> dict[str, dict]:
    out = {}
    for entry in instance.all_logs(run_id):
        mat = entry.asset_materialization
        if mat is not None and mat.asset_key == AssetKey(asset):
            out[mat.partition] = mat.metadata
    return out


def _rows(value: TableMetadataValue) -> list[dict]:
    return [dict(r.data) for r in value.records]


@pytest.mark.parametrize("asset", ["source_documents", "rendered_pages", "ocr_text", "document_markdown"])
def test_each_asset_lists_the_failed_files_and_why(run, asset):
    _, instance, run_id = run
    by_key = _materializations(instance, run_id, asset)
    assert set(by_key) == set(CONTAINERS)
    assert by_key["clean"]["files_failed"].value == 0 and "failed_files" not in by_key["clean"]
    for key, name in (("few-errors", "broken.pdf"), ("many-errors", "sub/lost.pdf")):
        meta = by_key[key]
        assert meta["files_failed"].value == 1
        table = meta["failed_files"]
        assert isinstance(table, TableMetadataValue)
        assert [c.name for c in table.schema.columns] == ["file", "page", "stage", "error", "reason"]
        (row,) = _rows(table)
        assert row["file"] == name and row["stage"] == "source_documents"
        assert row["reason"], row  # the reason the store recorded, not an empty cell


def test_error_check_is_yellow_for_any_failed_file_and_red_above_the_threshold(run):
    _, instance, _ = run
    records = instance.event_log_storage.get_asset_check_execution_history(ERROR_CHECK, limit=10)
    by_key = {r.evaluation.partition: r.evaluation for r in records if r.evaluation is not None}
    assert set(by_key) == set(CONTAINERS)
    assert by_key["clean"].passed
    few, many = by_key["few-errors"], by_key["many-errors"]
    assert not few.passed and few.severity == AssetCheckSeverity.WARN  # 1 of 3 ≤ 0.4: yellow
    assert not many.passed and many.severity == AssetCheckSeverity.ERROR  # 1 of 2 > 0.4: red
    for evaluation, name in ((few, "broken.pdf"), (many, "sub/lost.pdf")):
        assert name in evaluation.description, evaluation.description
        assert [r["file"] for r in _rows(evaluation.metadata["failed_files"])] == [name]
    assert not few.blocking and not many.blocking  # the run went on: errors are data


def test_pages_per_second_is_never_a_misleading_zero(run):
    _, instance, run_id = run
    for asset in ("rendered_pages", "layout_regions"):
        for key, meta in _materializations(instance, run_id, asset).items():
            assert meta["pages_per_second"].value > 0, (asset, key)
    # Markdown is per document, no page is computed there: no rate rather than 0
    assert all("pages_per_second" not in m for m in _materializations(instance, run_id, "document_markdown").values())
    assert pages_per_second(0, 2.0) is None
    assert pages_per_second(3, 0.0004) is None  # below what the clock measures
    assert pages_per_second(1, 700.0) == pytest.approx(0.00143)  # slow is small, not 0
    assert pages_per_second(2, 0.01) == 200.0


def test_duckdb_path_is_the_read_copy(run):
    data, instance, run_id = run
    for meta in _materializations(instance, run_id, "ocr_text").values():
        assert Path(meta["duckdb_path"].value) == data / "ocr-read.duckdb"
        assert Path(meta["duckdb_live_path_writers_only"].value) == data / "ocr.duckdb"
