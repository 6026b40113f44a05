"""An ONNX model run by OpenVINO's CPU plugin, behind the part of `onnxruntime.InferenceSession` the engines use
(`get_inputs()[i].name`, `get_outputs()[i].shape`, `run(None, feed)`), so an engine can take either runtime.

Why: on CPUs with native bfloat16 arithmetic (AVX-512 BF16, AMX), OpenVINO runs PP-OCR's second recogniser in bf16,
which ONNX Runtime's CPU provider cannot (docs/performance.md, "the second recogniser in bfloat16"). In float32 it
is no faster than ONNX Runtime, so float32 stays on ONNX Runtime.

One infer request serves every calling thread, one call at a time (a lock), each call on `threads` of OpenVINO's
own threads: infer requests of one compiled model run side by side from two Python threads hung the OCR stage now
and then (both threads waiting inside OpenVINO as they set their inputs).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class _Port:
    name: str
    shape: list


@functools.cache
def native_bf16() -> bool:
    """Whether this machine's CPU does bfloat16 arithmetic natively (OpenVINO's own reading of the CPU)."""
    try:
        import openvino as ov
    except ModuleNotFoundError:
        return False
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVinoSession:
    def __init__(self, path: Path, threads: int, precision: str):
        import openvino as ov

        if precision not in ("f32", "bf16"):
            raise ValueError(f"precision must be 'f32' or 'bf16', not {precision!r}")
        core = ov.Core()
        model = core.read_model(str(path))
        config = {
            "INFERENCE_PRECISION_HINT": precision,  # OpenVINO's default is bf16 wherever the CPU has it: say it
            "INFERENCE_NUM_THREADS": max(1, threads),
            "NUM_STREAMS": 1,
            "ENABLE_CPU_PINNING": False,  # the cores are shared with the loader threads and the render workers
        }
        self._model = core.compile_model(model, "CPU", config)
        self._request = self._model.create_infer_request()
        self._lock = threading.Lock()
        self._inputs = [_Port(p.any_name, _shape(p.get_partial_shape())) for p in model.inputs]
        self._outputs = [_Port(p.any_name, _shape(p.get_partial_shape())) for p in model.outputs]

    def get_inputs(self) -> list[_Port]:
        return self._inputs

    def get_outputs(self) -> list[_Port]:
        return self._outputs

    def run(self, output_names, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        wanted = output_names or [p.name for p in self._outputs]
        with self._lock:
            results = self._request.infer({name: np.ascontiguousarray(x, np.float32) for name, x in feed.items()},
                                          share_inputs=True)
            by_name = {port.any_name: value for port, value in results.items()}
            return [np.array(by_name[name], copy=True) for name in wanted]  # the request's buffers are reused


def _shape(partial) -> list:
    return [d.get_length() if d.is_static else None for d in partial]
