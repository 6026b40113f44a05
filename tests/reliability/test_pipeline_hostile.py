"""The whole graph through Dagster on a hostile container beside a good one: the run succeeds, the good
documents (whatever their names) get text and a Markdown export of their own, the bad ones error rows, pages
with broken boxes their text exactly once with a warning row, and analysts' read-only snapshot matches the
results."""

from __future__ import annotations

import os

import duckdb
import pytest
from dagster import DagsterInstance, Definitions, in_process_executor

from ocr_assets.assets import document_assets
from ocr_assets.jobs import document_pipeline_job
from ocr_assets.partitions import containers
from ocr_assets.samples import digital_text_pdf
from ocr_resources.pipeline.containers import BIDI_CONTROLS, inbox_entries
from ocr_resources.profiles import load_profile
from ocr_resources.resources import PipelineStorage, model_resources
from ocr_resources.schema import RESULT_TABLES
from tests.reliability.conftest import write_cases
from tests.reliability.corpus import (
    BAD_BOXES,
    BOX_LINES,
    BOX_PARAGRAPH,
    GOOD_NAMES,
    STRIP_WORD,
    Case,
    bad_box_cases,
    blank_page_pdf,
    boxed_page_pdf,
    huge_page_pdf,
    lying_count_pdf,
    strip_page_pdf,
    truncations,
    zero_page_pdf,
)

pytestmark = pytest.mark.slow  # the whole graph with the offline models: about a minute on 2 cores


def test_hostile_container_runs_through_dagster(tmp_path):
    data = tmp_path / "data"
    cases = [Case(n, digital_text_pdf(), "name", True) for n in GOOD_NAMES]
    cases += [Case(b"blank.pdf", blank_page_pdf(), "blank"), Case(b"count-lie.pdf", lying_count_pdf(), "count_lie"),
              Case(b"huge.pdf", huge_page_pdf(), "huge_page"), Case(b"zero.pdf", zero_page_pdf(), "zero_pages"),
              *truncations(digital_text_pdf(), 3), *bad_box_cases(), Case(b"strip.pdf", strip_page_pdf(), "strip"),
              Case(b"box-good.pdf", boxed_page_pdf(b"[0 0 612 792]"), "name", True),
              Case(b"fifo.pdf", b"", "special_file", special="fifo")]
    write_cases(data / "inbox" / "\xc3\x28 Hostile", cases)  # an odd container name too
    (data / "inbox" / "Good").mkdir()
    (data / "inbox" / "Good" / "good.pdf").write_bytes(digital_text_pdf())
    os.symlink(data / "inbox" / "Good" / "good.pdf", data / "inbox" / "Good" / "link.pdf")
    storage = PipelineStorage(data_dir=str(data), duckdb_path=str(data / "ocr.duckdb"), dpi=72)
    defs = Definitions(assets=document_assets, jobs=[document_pipeline_job], executor=in_process_executor,
                       resources={"storage": storage, **model_resources(load_profile("offline"))})
    instance = DagsterInstance.ephemeral()
    keys = sorted(inbox_entries(data / "inbox"))
    instance.add_dynamic_partitions(containers.name, keys)
    job = defs.resolve_job_def(document_pipeline_job.name)
    result = job.execute_in_process(instance=instance, tags={"dagster/asset_partition_range_start": keys[0],
                                                             "dagster/asset_partition_range_end": keys[-1]})
    assert result.success

    store = storage.result_store()
    [hostile] = [k for k in keys if k != "good"]
    good = [d["document_id"] for d in store.query(
        "SELECT document_id FROM documents WHERE container_id = ? AND status = 'ok'", [hostile])]
    names = store.query("SELECT document_id, export_path FROM document_markdown WHERE container_id = ?", [hostile])
    assert len({n["export_path"] for n in names}) == len(names) == len(good)
    with_text = {r["document_id"] for r in store.query(
        "SELECT DISTINCT document_id FROM texts WHERE container_id = ? AND length(text) > 0", [hostile])}
    good_names = {d for d in good if d not in {"blank.pdf", "count-lie.pdf", "huge.pdf", "strip.pdf", "box-good.pdf",
                                               *(n.decode() for n in BAD_BOXES)}}
    assert len(good_names) >= len(GOOD_NAMES) and good_names <= with_text
    for n in names:
        assert os.path.isfile(n["export_path"])
        assert not BIDI_CONTROLS.search(n["export_path"]), n  # `rlo \u202egnp.exe.pdf` must not read "...exe.png"
    # Broken page boxes: the text once (not once from OCR of a region and once from words placed off the page),
    # in the page's text and in the export, with a warning row naming the file and page.
    exports = {n["document_id"]: n["export_path"] for n in names}
    for name in ["box-good.pdf", *(n.decode() for n in BAD_BOXES)]:
        text = " ".join(r["text"] for r in store.query(
            "SELECT text FROM page_text WHERE container_id = ? AND document_id = ?", [hostile, name]))
        assert " ".join(text.split()) == BOX_PARAGRAPH, (name, text)
        with open(exports[name], encoding="utf-8") as fh:
            export = " ".join(fh.read().split())
        assert all(export.count(line.decode()) == 1 for line in BOX_LINES), (name, export)
        [page] = store.query("SELECT * FROM pages WHERE container_id = ? AND document_id = ?", [hostile, name])
        for w in store.query("SELECT * FROM words WHERE container_id = ? AND document_id = ?", [hostile, name]):
            assert 0 <= w["x0"] <= w["x1"] <= page["width_pt"] and 0 <= w["y0"] <= w["y1"] <= page["height_pt"], w
        warnings = store.query("SELECT * FROM errors WHERE container_id = ? AND document_id = ?", [hostile, name])
        assert [(w["severity"], w["page_no"]) for w in warnings] == ([] if name == "box-good.pdf" else [("warning", 1)])
    # The strip page's one word reaches the text, or a row names the page; the pipe gets an error row.
    strip = store.query("SELECT text FROM page_text WHERE container_id = ? AND document_id = 'strip.pdf'", [hostile])
    rows = store.query("SELECT * FROM errors WHERE container_id = ? AND document_id = 'strip.pdf'", [hostile])
    assert STRIP_WORD.decode() in " ".join(r["text"] for r in strip) or [r["page_no"] for r in rows] == [1]
    [fifo] = store.query("SELECT * FROM errors WHERE container_id = ? AND document_id = 'fifo.pdf'", [hostile])
    assert fifo["severity"] == "error" and "a named pipe" in fifo["message"]
    errors = {(e["document_id"], e["error_type"]) for e in store.query("SELECT * FROM errors WHERE container_id = ?",
                                                                      ["good"])}
    assert errors == {("link.pdf", "refused")}

    snapshot = duckdb.connect(str(data / "ocr-read.duckdb"), read_only=True)
    try:
        for table in RESULT_TABLES:
            live = store.query(f"SELECT count(*) AS n FROM {table}")[0]["n"]
            assert snapshot.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == live, table
    finally:
        snapshot.close()
