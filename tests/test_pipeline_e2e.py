"""End to end: every asset materialized through Dagster for generated containers, real offline engines,
a temporary data directory; assertions on real content and lineage."""

from __future__ import annotations

import re

from ocr_assets.samples import (
    DIGITAL_SENTENCES,
    DIGITAL_TITLE,
    SCANNED_LINES,
    TABLE_HEADER,
    TABLE_ROWS,
    TWO_COLUMN_LEFT,
    TWO_COLUMN_RIGHT,
    UNRULED_HEADER,
    UNRULED_ROWS,
)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _page_text(run, container: str, document: str) -> str:
    rows = run.store.query(
        "SELECT text, text_source FROM page_text WHERE container_id = ? AND document_id = ?", [container, document])
    assert rows, f"no page_text for {container}/{document}"
    return "\n".join(r["text"] for r in rows)


def test_digital_sentences_found_exactly(offline_run):
    text = _norm(_page_text(offline_run, "annual-reports", "digital_text.pdf"))
    assert DIGITAL_TITLE in text
    for sentence in DIGITAL_SENTENCES:
        assert sentence in text


def test_two_column_page_read_column_by_column(offline_run):
    text = _norm(_page_text(offline_run, "annual-reports", "two_column.pdf"))
    for sentence in TWO_COLUMN_LEFT + TWO_COLUMN_RIGHT:
        assert sentence in text
    # reading order: the whole left column comes before the right one
    assert text.index(TWO_COLUMN_LEFT[-1]) < text.index(TWO_COLUMN_RIGHT[0])


def test_scanned_page_read_by_ocr(offline_run):
    rows = offline_run.store.query(
        "SELECT text, text_source FROM page_text WHERE document_id = 'scanned_letter.pdf'")
    assert [r["text_source"] for r in rows] == ["ocr"]
    words = re.findall(r"\w+", rows[0]["text"].lower())
    truth = re.findall(r"\w+", " ".join(SCANNED_LINES).lower())
    found = sum(1 for w in truth if w in words)
    assert found / len(truth) >= 0.9, (found, len(truth), rows[0]["text"])


def test_digital_pages_skip_ocr(offline_run):
    sources = offline_run.store.query(
        "SELECT DISTINCT text_source FROM texts WHERE container_id = 'annual-reports'")
    assert [s["text_source"] for s in sources] == ["text_layer"]
    assert offline_run.store.query("SELECT count(*) AS n FROM words WHERE source = 'ocr'"
                                   " AND container_id = 'annual-reports'")[0]["n"] == 0


def _grid(run, document: str) -> dict[tuple[int, int], str]:
    cells = run.store.query(
        "SELECT row_no, col_no, text, is_header FROM table_cells WHERE document_id = ?", [document])
    return {(c["row_no"], c["col_no"]): c["text"] for c in cells}


def test_ruled_table_cells_at_right_row_and_column(offline_run):
    grid = _grid(offline_run, "ruled_table.pdf")
    for c, value in enumerate(TABLE_HEADER):
        assert grid[(0, c)] == value
    for r, row in enumerate(TABLE_ROWS, start=1):
        for c, value in enumerate(row):
            assert grid[(r, c)] == value, (r, c)
    headers = offline_run.store.query(
        "SELECT DISTINCT row_no FROM table_cells WHERE document_id = 'ruled_table.pdf' AND is_header")
    assert [h["row_no"] for h in headers] == [0]
    table = offline_run.store.query("SELECT * FROM tables WHERE document_id = 'ruled_table.pdf'")[0]
    assert (table["n_rows"], table["n_cols"]) == (len(TABLE_ROWS) + 1, len(TABLE_HEADER))
    assert "<th>Region</th>" in table["html"] and "| North | 125000 | 4200 | 29.8 |" in table["markdown"]


def test_unruled_table_cells(offline_run):
    grid = _grid(offline_run, "unruled_table.pdf")
    expected = [UNRULED_HEADER, *UNRULED_ROWS]
    assert {(r, c): v for r, row in enumerate(expected) for c, v in enumerate(row)} == grid


def test_layout_regions_in_page_coordinates(offline_run):
    rows = offline_run.store.query(
        "SELECT r.*, p.width_pt, p.height_pt FROM regions r JOIN pages p USING (container_id, document_id, page_no)")
    assert len(rows) >= 10
    labels = {r["label"] for r in rows}
    assert {"text", "title", "table"} <= labels
    for r in rows:
        assert 0 <= r["x0"] < r["x1"] <= r["width_pt"] + 1 and 0 <= r["y0"] < r["y1"] <= r["height_pt"] + 1
        # the model's label kept; a region it missed, the words fill, says so
        assert r["model_label"] or r["label_reason"] == "words outside every region"


def test_lineage_ties_every_row_to_run_and_producer(offline_run):
    run_id = offline_run.first_run_id
    lineage = offline_run.store.query("SELECT * FROM lineage")
    assert {row["run_id"] for row in lineage} == {run_id}
    assert all(row["asset_key"] and row["code_version"] for row in lineage)
    by_table = {row["table_name"]: row for row in lineage if row["partition_key"] == "annual-reports"}
    assert by_table["regions"]["engine"] == "rapid_layout" and by_table["regions"]["model_revision"]
    assert by_table["texts"]["engine"] == "ppocr" and by_table["tables"]["engine"] == "slanet"
    mats = offline_run.store.query(
        "SELECT asset_key, partition_key FROM materializations WHERE run_id = ?", [run_id])
    assert len(mats) == 7 * len(offline_run.keys)
    orphans = offline_run.store.query(
        "SELECT count(*) AS n FROM texts t LEFT JOIN producers p USING (producer_id) WHERE p.producer_id IS NULL")
    assert orphans[0]["n"] == 0


def test_each_model_loaded_once_for_the_whole_run(offline_run):
    loads = offline_run.store.query("SELECT role, loads FROM model_loads WHERE run_id = ?", [offline_run.first_run_id])
    assert {r["role"]: r["loads"] for r in loads} == {"layout": 1, "ocr": 1, "table": 1}


def test_markdown_exported(offline_run):
    row = offline_run.store.query(
        "SELECT markdown, export_path FROM document_markdown WHERE document_id = 'ruled_table.pdf'")[0]
    assert "## Population by Region" in row["markdown"]
    assert "| Region | Population | Area km2 | Density |" in row["markdown"]
    with open(row["export_path"], encoding="utf-8") as fh:
        assert fh.read() == row["markdown"]


def test_broken_pdfs_become_error_rows_and_the_rest_is_processed(offline_run):
    errors = {r["document_id"]: r for r in offline_run.store.query(
        "SELECT * FROM document_errors WHERE container_id = 'broken-batch'")}
    assert set(errors) == {"corrupt.pdf", "encrypted.pdf", "not_a_pdf.pdf", "empty.pdf", "zero_pages.pdf"}
    assert all(e["stage"] == "source_documents" and e["message"] for e in errors.values())
    assert "password" in errors["encrypted.pdf"]["message"]
    assert "not a PDF" in errors["not_a_pdf.pdf"]["message"]
    assert "empty" in errors["empty.pdf"]["message"]
    # the good document of the same container went all the way through
    text = _norm(_page_text(offline_run, "broken-batch", "good.pdf"))
    assert DIGITAL_SENTENCES[0] in text
    # and no other container has errors
    assert offline_run.store.query("SELECT count(*) AS n FROM errors WHERE container_id <> 'broken-batch'")[0]["n"] == 0


def test_rematerializing_replaces_rows(offline_run):
    before = offline_run.counts()
    result = offline_run.run()
    assert result.success
    assert offline_run.counts() == before  # replaced or kept, never duplicated
    runs = {r["run_id"] for r in offline_run.store.query("SELECT DISTINCT run_id FROM texts")}
    assert runs <= {offline_run.first_run_id, result.run_id}  # unchanged pages may be resumed, not redone
    mats = offline_run.store.query("SELECT count(*) AS n FROM materializations WHERE run_id = ?", [result.run_id])
    assert mats[0]["n"] == 7 * len(offline_run.keys)
