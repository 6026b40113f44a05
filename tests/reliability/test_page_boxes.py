"""Broken page boxes, strips and pages that cannot be rendered: each page's text comes out exactly once, inside
the page, or a row names the file and page. pdfium's view of the page box (normalised, intersected, repaired
where unusable) is the one box of rendering, the text layer, layout and export; a repaired box leaves a
warning row."""

from __future__ import annotations

import pytest

from ocr_resources.pipeline import stages
from ocr_resources.pipeline.workers import Limits
from tests.reliability.conftest import write_cases
from tests.reliability.corpus import (
    BAD_BOXES,
    BOX_PARAGRAPH,
    STRIP_WORD,
    Case,
    bad_box_cases,
    boxed_page_pdf,
    build_pdf,
    oversized_text_pdf,
    stream,
    strip_page_pdf,
)
from tests.reliability.test_blank_checkpoints import NothingDetector, NothingRecognizer

SLOW_TEXT = b"Text that needs no rendering at all"


def slow_text_pdf() -> bytes:
    """A page of text under a shading that takes tens of seconds to render (see corpus.slow_shading_pdf)."""
    ops = b" ".join([b"0.999 mul"] * 10_000)
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Shading << /Sh0 5 0 R >> /Font << /F1 7 0 R >> >> >>",
        stream(b"/Sh0 sh BT /F1 24 Tf 72 700 Td (" + SLOW_TEXT + b") Tj ET"),
        b"<< /ShadingType 1 /ColorSpace /DeviceRGB /Domain [0 1 0 1] /Matrix [612 0 0 792 0 0] /Function 6 0 R >>",
        stream(b"{ add " + ops + b" dup dup }", b"/FunctionType 4 /Domain [0 1 0 1] /Range [0 1 0 1 0 1]"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def _text(env, doc: str) -> str:
    return " ".join(r["text"] for r in env.rows(
        "SELECT text FROM page_text WHERE document_id = ? ORDER BY page_no", [doc]))


def _run_text(env, key: str) -> None:
    env.stage(key, "layout_regions", lambda ctx: stages.layout_regions(ctx, NothingDetector()))
    env.stage(key, "ocr_text", lambda ctx: stages.ocr_text(ctx, NothingRecognizer()))


@pytest.fixture(scope="module")
def boxes_run(tmp_path_factory):
    from ocr_resources.store import ResultStore
    from tests.reliability.conftest import StageEnv

    data = tmp_path_factory.mktemp("boxes")
    env = StageEnv(data, ResultStore(data / "ocr.duckdb"))
    cases = [*bad_box_cases(), Case(b"rotated-inverted.pdf", boxed_page_pdf(b"[612 792 0 0]", rotate=90), "bad_box"),
             Case(b"good.pdf", boxed_page_pdf(b"[0 0 612 792]"), "name", True),
             Case(b"strip.pdf", strip_page_pdf(), "strip"), Case(b"oversized.pdf", oversized_text_pdf(), "oversized")]
    write_cases(data / "inbox" / "boxes", cases)
    env.ingest("boxes", data / "inbox" / "boxes", limits=Limits(memory_mb=1024, unit_timeout_s=60))
    _run_text(env, "boxes")
    return env


@pytest.mark.parametrize("name", [n.decode() for n in BAD_BOXES] + ["rotated-inverted.pdf"])
def test_a_broken_page_box_is_repaired_with_a_warning_and_words_inside_the_page(boxes_run, name):
    env = boxes_run
    [page] = env.rows("SELECT * FROM pages WHERE document_id = ?", [name])
    words = env.rows("SELECT * FROM words WHERE document_id = ? ORDER BY word_no", [name])
    if name.startswith("rotated"):  # the lines run down the turned page: read letter by letter
        assert sorted("".join(w["text"] for w in words)) == sorted(BOX_PARAGRAPH.replace(" ", ""))
    else:
        assert " ".join(w["text"] for w in words) == BOX_PARAGRAPH
    for w in words:
        assert 0 <= w["x0"] < w["x1"] <= page["width_pt"] and 0 <= w["y0"] < w["y1"] <= page["height_pt"], (w, page)
    [row] = env.rows("SELECT * FROM errors WHERE document_id = ?", [name])
    assert (row["severity"], row["stage"], row["page_no"]) == ("warning", "rendered_pages", 1)
    assert row["message"].startswith("page box repaired: ") and "the page is read as [" in row["message"], row
    assert sorted("".join(_text(env, name).split())) == sorted(BOX_PARAGRAPH.replace(" ", ""))  # all of it, once
    if not name.startswith("rotated"):
        assert " ".join(_text(env, name).split()) == BOX_PARAGRAPH


def test_the_crop_box_outside_the_media_box_renders_the_media_box(boxes_run):
    [page] = boxes_run.rows("SELECT * FROM pages WHERE document_id = 'box-crop-outside.pdf'")
    assert (page["width_pt"], page["height_pt"]) == (612, 792) and page["has_text_layer"]
    [row] = boxes_run.rows("SELECT message FROM errors WHERE document_id = 'box-crop-outside.pdf'")
    assert "CropBox [700 900 800 1000] lies outside the MediaBox [0 0 612 792]" in row["message"]


def test_a_good_box_has_no_warning(boxes_run):
    assert not boxes_run.rows("SELECT * FROM errors WHERE document_id = 'good.pdf'")
    assert " ".join(_text(boxes_run, "good.pdf").split()) == BOX_PARAGRAPH


def test_a_strip_page_keeps_its_one_word(boxes_run):
    env = boxes_run
    [page] = env.rows("SELECT * FROM pages WHERE document_id = 'strip.pdf'")
    assert (page["width_pt"], page["height_pt"], page["has_text_layer"]) == (14400, 10, False)
    assert _text(env, "strip.pdf") == STRIP_WORD.decode()  # OCR read nothing: the short text layer is kept
    [text] = env.rows("SELECT text_source_reason FROM texts WHERE document_id = 'strip.pdf'")
    assert "OCR read nothing" in text["text_source_reason"]


def test_a_page_too_large_to_render_is_kept_text_only(boxes_run):
    env = boxes_run
    [row] = env.rows("SELECT * FROM errors WHERE document_id = 'oversized.pdf'")
    assert (row["severity"], row["error_type"], row["page_no"]) == ("warning", "text_only", 1)
    assert "cannot be rendered within 40,000,000 pixels" in row["message"] and "kept text-only" in row["message"]
    [page] = env.rows("SELECT * FROM pages WHERE document_id = 'oversized.pdf'")
    assert page["width_px"] * page["height_px"] <= 1_000_000
    assert " ".join(_text(env, "oversized.pdf").split()) == BOX_PARAGRAPH
    assert env.rows("SELECT status FROM page_results WHERE asset_key = 'rendered_pages'"
                    " AND document_id = 'oversized.pdf'") == [{"status": "error"}]  # rendered again next run


def test_a_page_stopped_for_time_keeps_its_text_layer(stage_env):
    folder = stage_env.inbox / "slow"
    write_cases(folder, [Case(b"slow-text.pdf", slow_text_pdf(), "time")])
    stage_env.ingest("slow", folder, limits=Limits(memory_mb=2048, unit_timeout_s=3))
    [row] = stage_env.rows("SELECT * FROM errors WHERE document_id = 'slow-text.pdf'")
    assert (row["severity"], row["error_type"], row["page_no"]) == ("warning", "text_only", 1)
    assert row["message"].startswith("rendering took longer than the limit of 3 s and was stopped; the page is kept "
                                     "text-only: its text layer (7 words)"), row["message"]
    _run_text(stage_env, "slow")
    assert _text(stage_env, "slow-text.pdf") == SLOW_TEXT.decode()
