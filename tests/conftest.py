"""Shared fixtures: generated sample containers, materialized through Dagster with the real offline
engines on a temporary data directory."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance, Definitions, in_process_executor
from reportlab.pdfgen import canvas

from ocr_assets.assets import document_assets
from ocr_assets.jobs import document_pipeline_job
from ocr_assets.partitions import containers
from ocr_assets.samples import digital_text_pdf, write_samples
from ocr_resources import model_cache
from ocr_resources.profiles import load_profile
from ocr_resources.resources import PipelineStorage, model_resources
from ocr_resources.store import ResultStore

# The public corpus sits in shared/ beside the checkout (here and in CI); OCR_CORPUS_DIR overrides.
CORPUS = Path(os.environ.get("OCR_CORPUS_DIR") or Path(__file__).resolve().parents[2] / "shared" / "corpus")


def encrypted_pdf() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt="secret-password")
    c.drawString(72, 720, "This text is behind a password.")
    c.showPage()
    c.save()
    return buf.getvalue()


ZERO_PAGE_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)

BROKEN_FILES = {
    "corrupt.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 8,
    "encrypted.pdf": None,  # built at run time
    "not_a_pdf.pdf": b"<html><body>this is a web page saved with the wrong name</body></html>",
    "empty.pdf": b"",
    "zero_pages.pdf": ZERO_PAGE_PDF,
}


def write_broken_container(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in BROKEN_FILES.items():
        (folder / name).write_bytes(encrypted_pdf() if data is None else data)
    (folder / "good.pdf").write_bytes(digital_text_pdf())


@dataclass
class PipelineRun:
    data_dir: Path
    storage: PipelineStorage
    store: ResultStore
    instance: DagsterInstance
    defs: Definitions
    keys: list[str]

    def run(self, keys: list[str] | None = None):
        keys = keys or self.keys
        job = self.defs.resolve_job_def(document_pipeline_job.name)
        tags = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
        return job.execute_in_process(instance=self.instance, tags=tags)

    def counts(self) -> dict[str, int]:
        from ocr_resources.schema import RESULT_TABLES

        return {t: self.store.query(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in RESULT_TABLES}


def make_pipeline(data_dir: Path, profile: dict | None = None) -> PipelineRun:
    write_samples(data_dir / "inbox")
    write_broken_container(data_dir / "inbox" / "Broken Batch")
    storage = PipelineStorage(data_dir=str(data_dir), duckdb_path=str(data_dir / "ocr.duckdb"))
    defs = Definitions(
        assets=document_assets, jobs=[document_pipeline_job], executor=in_process_executor,
        resources={"storage": storage, **model_resources(profile or load_profile("offline"))},
    )
    instance = DagsterInstance.ephemeral()
    keys = ["annual-reports", "broken-batch", "scanned-mail"]
    instance.add_dynamic_partitions(containers.name, keys)
    return PipelineRun(data_dir, storage, storage.result_store(), instance, defs, keys)


@pytest.fixture(scope="session")
def offline_run(tmp_path_factory) -> PipelineRun:
    """All sample containers materialized once, in one run, with the offline engines."""
    model_cache.clear()  # a fresh "run process": models load again and are counted
    pipeline = make_pipeline(tmp_path_factory.mktemp("data"))
    result = pipeline.run()
    assert result.success
    pipeline.first_run_id = result.run_id
    return pipeline
