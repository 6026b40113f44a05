"""Int8 copies of the PP-OCR line recognisers against the float ones, on the lines of scanned pages: CPU per line
(one thread, the same batches the engine makes, interleaved rounds) and how many line readings change.

    python -m bench.int8_recognisers --folder DIR   # image-only PDFs, e.g. the scanned set's tune half

Needs the `onnx` package (the dev extra). Static QDQ quantisation (onnxruntime.quantization; weights int8 per output
channel, activations uint8) of the pointwise (1x1) convolutions and the classifier's MatMul, which take most of a
recogniser's time; the first convolutions, the depthwise ones and the squeeze-excite blocks stay float (quantised
too, they changed 3x as many line readings for little more speed). The model is first brought to opset 13
(per-channel scales) and through ONNX Runtime's own fusions (Gelu, batch norm), so that what is quantised is the
graph that runs. Activation ranges are calibrated on generated text lines (reportlab's Vera fonts, random words,
numbers and marks, grey levels, blur, noise): on real scanned lines they gave the same agreement with the float
model as ranges calibrated on those lines. docs/performance.md ("int8 recognisers") has the figures and why the
engine does not use them (word accuracy fell 0.01-0.03).
"""

from __future__ import annotations

import argparse
import difflib
import random
import tempfile
import time
from pathlib import Path

import numpy as np

CALIBRATION_LINES = 96
CALIBRATION_WIDTH = 320  # px at height 48: fixed, so that every calibration tensor has one shape


def calibration_lines(n: int = CALIBRATION_LINES, seed: int = 0, width: int = CALIBRATION_WIDTH) -> list[np.ndarray]:
    """`n` recogniser inputs (1, 3, 48, `width`) of generated printed lines, the same on every call."""
    import reportlab
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    from ocr_resources.engines.ppocr_ops import REC_HEIGHT, rec_input

    fonts = [Path(reportlab.__file__).parent / "fonts" / f for f in ("Vera.ttf", "VeraBd.ttf", "VeraIt.ttf",
                                                                      "VeraBI.ttf")]
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for i in range(n):
        words = []
        for _ in range(rng.randint(3, 9)):
            kind = rng.random()
            word = "".join(rng.choice(letters) for _ in range(rng.randint(1, 9)))
            if kind < 0.6:
                words.append(word)
            elif kind < 0.75:
                words.append(word.capitalize())
            elif kind < 0.9:
                words.append(rng.choice(["$", "", ""]) + str(rng.randint(0, 99999)) + rng.choice(["", ".00", ",", "%"]))
            else:
                words.append(rng.choice(["-", "(a)", "Total:", "No.", "&", "I.", '"ok"', "RM"]))
        text = " ".join(words)
        size = rng.randint(14, 40)
        font = ImageFont.truetype(str(fonts[i % len(fonts)]), size)
        left, top, right, bottom = font.getbbox(text)
        pad = max(2, size // 5)
        image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), rng.randint(200, 255))
        ImageDraw.Draw(image).text((pad - left, pad - top), text, fill=rng.randint(0, 70), font=font)
        if rng.random() < 0.5:
            image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
        grey = np.asarray(image, np.float32) + noise.normal(0, rng.uniform(0, 12), image.size[::-1])
        bgr = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
        tensor, _ = rec_input([bgr], 3200)
        fixed = np.zeros((1, 3, REC_HEIGHT, width), np.float32)
        fixed[..., : min(width, tensor.shape[3])] = tensor[..., :width]
        out.append(fixed)
    return out


def quantize_recogniser(source: Path, target: Path) -> None:
    """Write the int8 copy of the recogniser `source` to `target` (a new file)."""
    import onnx
    import onnxruntime as ort
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    with tempfile.TemporaryDirectory(prefix="ocr-int8-") as tmp:
        opset13, fused = Path(tmp) / "opset13.onnx", Path(tmp) / "fused.onnx"
        onnx.save(version_converter.convert_version(onnx.load(str(source)), 13), str(opset13))
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        so.optimized_model_filepath = str(fused)
        session = ort.InferenceSession(str(opset13), so, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        model = onnx.load(str(fused))
        weights = {t.name: t for t in model.graph.initializer}
        keep_float = []
        for node in model.graph.node:
            if node.op_type != "Conv":
                continue
            group = next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "group"), 1)
            if group != 1 or list(weights[node.input[1]].dims[2:]) != [1, 1]:
                keep_float.append(node.name)

        class Lines(CalibrationDataReader):
            def __init__(self) -> None:
                self._it = iter({name: x} for x in calibration_lines())

            def get_next(self):
                return next(self._it, None)

        written = Path(tmp) / "int8.onnx"
        quantize_static(str(fused), str(written), Lines(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv", "MatMul"], nodes_to_exclude=keep_float,
                        calibrate_method=CalibrationMethod.MinMax)
        written.replace(target)


def engine_batches(folder: Path, dpi: int) -> list[list[np.ndarray]]:
    """Per recogniser of the default engine (first, second), the input tensors it is given on the first page of
    each PDF of `folder`, rendered as the pipeline renders it."""
    from bench.ocr_phases import first_pages
    from ocr_resources.engines import EngineSettings, ppocr

    rec = ppocr.PpOcrRecognizer(EngineSettings(role="ocr", engine="ppocr", options=(("threads", 1),)))
    seen: list[list[np.ndarray]] = [[] for _ in rec._readers]

    class Recorded:
        def __init__(self, session, k: int):
            self._session, self._k = session, k

        def run(self, names, feed):
            seen[self._k].append(next(iter(feed.values())).copy())
            return self._session.run(names, feed)

        def __getattr__(self, name: str):
            return getattr(self._session, name)

    for k, reader in enumerate(rec._readers):
        reader.session = Recorded(reader.session, k)
    for image, source, used in first_pages(folder, dpi):
        rec.recognize([rec.prepare_page(image, source, used)])
    return seen


def _greedy(out: np.ndarray) -> list[tuple[int, ...]]:
    """Each row's CTC classes, repeats merged and blanks dropped (what the line reads, before the script filter)."""
    rows = []
    for best in out.argmax(-1):
        kept = best[np.r_[True, best[1:] != best[:-1]]]
        rows.append(tuple(int(c) for c in kept[kept != 0]))
    return rows


def compare(float_path: Path, int8_path: Path, batches: list[np.ndarray], rounds: int = 3) -> dict[str, float]:
    """CPU seconds over `batches` (one thread, best of `rounds`, the two models interleaved) and how many lines
    read otherwise, with the characters that differ (insertions + deletions)."""
    import onnxruntime as ort

    def session(path: Path):
        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    sessions = {"float": session(float_path), "int8": session(int8_path)}
    name = sessions["float"].get_inputs()[0].name
    lines = {k: [ln for x in batches for ln in _greedy(s.run(None, {name: x})[0])] for k, s in sessions.items()}
    best = dict.fromkeys(sessions, float("inf"))
    for _ in range(rounds):
        for k, s in sessions.items():
            started = time.process_time()
            for x in batches:
                s.run(None, {name: x})
            best[k] = min(best[k], time.process_time() - started)
    pairs = list(zip(lines["float"], lines["int8"], strict=True))
    diffs = sum(len(a) + len(b) - 2 * sum(m.size for m in difflib.SequenceMatcher(None, a, b).get_matching_blocks())
                for a, b in pairs)
    return {"lines": len(pairs), "changed": sum(a != b for a, b in pairs), "chars": sum(len(a) for a, _ in pairs),
            "char_diffs": diffs, "float_s": best["float"], "int8_s": best["int8"]}


def main() -> None:
    from ocr_resources.engines.ppocr import DEFAULTS, MODEL_SETS, models_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, required=True, help="image-only PDFs (their first pages are read)")
    parser.add_argument("--dpi", type=int, default=144)
    args = parser.parse_args()
    batches = engine_batches(args.folder, args.dpi)
    with tempfile.TemporaryDirectory(prefix="ocr-int8-bench-") as tmp:
        for name, tensors in zip([DEFAULTS["rec"], DEFAULTS["rec_second"]], batches, strict=False):
            if not tensors:
                continue
            source = models_dir() / MODEL_SETS[name][1]
            target = Path(tmp) / f"{name}-int8.onnx"
            quantize_recogniser(source, target)
            r = compare(source, target, tensors)
            print(f"{name}: {r['lines']} lines in {len(tensors)} batches; CPU float {r['float_s']:.2f} s, int8 "
                  f"{r['int8_s']:.2f} s ({r['float_s'] / r['int8_s']:.2f}x); lines read otherwise {r['changed']} "
                  f"({r['changed'] / r['lines']:.1%}), characters {r['char_diffs']} of {r['chars']} "
                  f"({r['char_diffs'] / max(1, r['chars']):.2%})")


if __name__ == "__main__":
    main()
