"""A generated hostile corpus (>= 100 cases: truncations at many offsets, flipped bytes, names of any bytes,
empty, not-a-PDF, zero pages, a lying page count, blank and invisible pages, a huge page, scripts, deep
nesting, garbage, broken page boxes, a strip page, a page too large to render, pipes and sockets) in ONE
container beside good documents: every bad file becomes an error row with a clear message or a warned page,
nothing is silently blank, no page's words are silently lost, and every good document gets its full results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from ocr_resources.pipeline import stages
from ocr_resources.pipeline.containers import display
from ocr_resources.pipeline.workers import Limits
from tests.reliability.conftest import write_cases
from tests.reliability.corpus import BAD_BOXES, BOX_PARAGRAPH, hostile_cases
from tests.reliability.test_blank_checkpoints import NothingDetector, NothingRecognizer


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    from ocr_resources.store import ResultStore
    from tests.reliability.conftest import StageEnv

    data = tmp_path_factory.mktemp("hostile")
    env = StageEnv(data, ResultStore(data / "ocr.duckdb"))
    cases = hostile_cases()
    folder = data / "inbox" / "hostile"
    write_cases(folder, cases)
    env.ingest("hostile", folder, dpi=72, limits=Limits(memory_mb=1024, unit_timeout_s=60))
    env.stage("hostile", "layout_regions", lambda ctx: stages.layout_regions(ctx, NothingDetector()))
    env.stage("hostile", "ocr_text", lambda ctx: stages.ocr_text(ctx, NothingRecognizer()))
    return env, cases, folder


def _doc(env, folder: Path, name: bytes) -> dict:
    path = os.fsencode(folder) + b"/" + name
    [doc] = [d for d in env.rows("SELECT * FROM documents") if bytes(d["path_bytes"]) == path]
    return doc


def test_corpus_is_large_and_covers_every_class(corpus_run):
    _, cases, _ = corpus_run
    assert len(cases) >= 100
    assert {c.kind for c in cases} >= {"name", "truncated", "flipped", "empty", "not_a_pdf", "zero_pages",
                                       "count_lie", "blank", "invisible", "huge_page", "javascript",
                                       "deep_nesting", "corrupt", "bad_box", "strip", "oversized", "special_file"}


def test_every_good_document_has_full_results(corpus_run):
    env, cases, folder = corpus_run
    for case in (c for c in cases if c.good):
        doc = _doc(env, folder, case.name)
        assert doc["status"] == "ok" and doc["page_count"] == 1, doc
        key = [doc["document_id"]]
        assert env.rows("SELECT count(*) AS n FROM pages WHERE document_id = ?", key)[0]["n"] == 1
        assert env.rows("SELECT count(*) AS n FROM words WHERE document_id = ?", key)[0]["n"] > 10
        assert not env.rows("SELECT * FROM errors WHERE document_id = ?", key)


def test_every_unreadable_file_has_a_clear_error_row(corpus_run):
    env, cases, folder = corpus_run
    errors = {}
    for e in env.rows("SELECT * FROM errors WHERE stage = 'source_documents' AND severity = 'error'"):
        errors.setdefault(e["document_id"], []).append(e)
    failed = [d for d in env.rows("SELECT * FROM documents") if d["status"] == "error"]
    assert len(failed) >= 20  # most truncations, the broken files
    for doc in failed:
        [row] = errors[doc["document_id"]]
        name = display(Path(os.fsdecode(bytes(doc["path_bytes"]))).name)
        assert row["message"].startswith(f"{name}: ") and len(row["message"]) > len(name) + 15, row
        assert "PDFium: Success" not in row["message"]


def test_no_page_is_silently_missing_or_blank(corpus_run):
    env, _, _ = corpus_run
    rendered = {(p["document_id"], p["page_no"]): p["image_path"] for p in env.rows("SELECT * FROM pages")}
    failed, warned = set(), set()
    for e in env.rows("SELECT * FROM errors WHERE stage = 'rendered_pages'"):
        (failed if e["severity"] == "error" else warned).add((e["document_id"], e["page_no"]))
    for doc in env.rows("SELECT document_id, page_count FROM documents WHERE status = 'ok'"):
        pages = {(doc["document_id"], n) for n in range(1, doc["page_count"] + 1)}
        assert pages <= set(rendered) | failed, doc
    for page, image_path in rendered.items():
        with Image.open(env.data / "pages" / image_path) as im:
            if all(lo == hi for lo, hi in im.convert("RGB").getextrema()):
                assert page in warned, page


@pytest.mark.parametrize("name, kind, text", [
    (b"empty.pdf", "empty_file", "the file is empty"),
    (b"not-a-pdf.pdf", "not_a_pdf", "not a PDF"),
    (b"zero-pages.pdf", "no_pages", "the PDF has no pages (its page tree is empty)"),
    (b"garbage.pdf", "corrupt", "cannot be opened as a PDF"),
])
def test_broken_files_say_what_is_wrong(corpus_run, name, kind, text):
    env, _, folder = corpus_run
    doc = _doc(env, folder, name)
    [row] = env.rows("SELECT * FROM errors WHERE document_id = ?", [doc["document_id"]])
    assert doc["status"] == "error" and row["error_type"] == kind and text in row["message"], row["message"]


@pytest.mark.parametrize("name, page_count, warning", [
    (b"count-lie.pdf", 1, "the PDF claims 1000000 pages but its page tree holds 1; processing 1"),
    (b"blank.pdf", 1, "page is blank: it has no content to render"),
    (b"invisible.pdf", 1, "page renders blank although its content has 2 objects"),
    (b"huge-page.pdf", 1, "page is 200 x 200 in: rendered at 31 dpi instead of 72"),
])
def test_suspicious_documents_are_kept_with_a_warning(corpus_run, name, page_count, warning):
    env, _, folder = corpus_run
    doc = _doc(env, folder, name)
    assert doc["status"] == "ok" and doc["page_count"] == page_count
    rows = env.rows("SELECT * FROM errors WHERE document_id = ?", [doc["document_id"]])
    assert [r["severity"] for r in rows] == ["warning"] and warning in rows[0]["message"], [r["message"] for r in rows]
    assert env.rows("SELECT count(*) AS n FROM pages WHERE document_id = ?", [doc["document_id"]])[0]["n"] == 1


def test_huge_page_is_rendered_under_the_pixel_budget(corpus_run):
    env, _, folder = corpus_run
    doc = _doc(env, folder, b"huge-page.pdf")
    [page] = env.rows("SELECT * FROM pages WHERE document_id = ?", [doc["document_id"]])
    assert page["dpi"] == 31 and page["width_px"] * page["height_px"] <= 40_000_000
    with Image.open(env.data / "pages" / page["image_path"]) as im:  # under PIL's decompression-bomb limit
        im.thumbnail((240, 480))


def test_no_page_with_words_ends_without_text_or_a_row(corpus_run):
    env, _, _ = corpus_run
    worded = {(w["document_id"], w["page_no"]) for w in env.rows(
        "SELECT DISTINCT document_id, page_no FROM words WHERE source = 'text_layer'")}
    texted = {(t["document_id"], t["page_no"]) for t in env.rows(
        "SELECT DISTINCT document_id, page_no FROM texts WHERE length(trim(text)) > 0")}
    named = {(e["document_id"], e["page_no"]) for e in env.rows("SELECT document_id, page_no FROM errors")}
    assert len(worded) > 30
    assert worded <= texted | named, sorted(worded - texted - named)


@pytest.mark.parametrize("name", [*BAD_BOXES, b"oversized.pdf"])
def test_broken_boxes_and_unrenderable_pages_give_their_text_once_with_a_warning(corpus_run, name):
    env, _, folder = corpus_run
    doc = _doc(env, folder, name)["document_id"]
    [row] = env.rows("SELECT * FROM errors WHERE document_id = ?", [doc])
    assert (row["severity"], row["page_no"]) == ("warning", 1), row
    text = " ".join(r["text"] for r in env.rows("SELECT text FROM page_text WHERE document_id = ?", [doc]))
    assert " ".join(text.split()) == BOX_PARAGRAPH


def test_pipes_and_sockets_in_the_corpus_have_error_rows(corpus_run):
    env, _, _ = corpus_run
    refused = {e["document_id"]: e["message"] for e in env.rows("SELECT * FROM errors WHERE error_type = 'refused'")}
    assert refused == {"fifo.pdf": "fifo.pdf: a named pipe, not a regular file; not opened (reading it could block "
                                   "the run)",
                       "socket.pdf": "socket.pdf: a socket, not a regular file; not opened (reading it could block "
                                     "the run)"}
