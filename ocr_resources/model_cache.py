"""Process-level model cache: each model is loaded once per process, on first use.

With the in-process executor a Dagster run is one process, so every asset and every partition of the
run shares the same loaded models. Loads are recorded (role, engine, model, seconds, run id) so the
pipeline can write them to DuckDB's `model_load_events` and prove "one load per model per run".
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

from ocr_resources.engines import EngineSettings, engine_class
from ocr_resources.engines.base import Engine

log = logging.getLogger(__name__)

_cache: dict[EngineSettings, Engine] = {}
_lock = threading.Lock()
_load_events: list[ModelLoadEvent] = []


@dataclass(frozen=True)
class ModelLoadEvent:
    run_id: str
    role: str
    engine: str
    model_id: str
    revision: str
    load_seconds: float
    pid: int


def get_engine(settings: EngineSettings, run_id: str = "", logger: logging.Logger | None = None) -> Engine:
    """The loaded engine for these settings, loading it if this process has not yet."""
    with _lock:  # one loader at a time: two threads must not load the same model twice
        engine = _cache.get(settings)
        if engine is not None:
            return engine
        started = time.perf_counter()
        engine = engine_class(settings.role, settings.engine)(settings)
        seconds = time.perf_counter() - started
        _cache[settings] = engine
        ident = engine.identity
        _load_events.append(
            ModelLoadEvent(run_id, settings.role, ident.engine, ident.model_id, ident.revision, seconds, os.getpid())
        )
        (logger or log).info(
            "loaded %s model %s (%s @ %s) in %.2fs in process %d",
            settings.role, ident.model_id, ident.engine, ident.revision[:12], seconds, os.getpid(),
        )
        return engine


def drain_load_events(run_id: str) -> list[ModelLoadEvent]:
    """Remove and return the load events recorded for `run_id` (written to DuckDB by the caller)."""
    with _lock:
        mine = [e for e in _load_events if e.run_id == run_id]
        _load_events[:] = [e for e in _load_events if e.run_id != run_id]
        return mine


def clear() -> None:
    """Forget every loaded model (tests use this to simulate a fresh run process)."""
    with _lock:
        _cache.clear()
        _load_events.clear()
