"""Row buffers that turn result dicts into compact Arrow batches as they arrive (out of order is
fine: every row carries its key), so memory holds columns, not Python dicts, until the commit.

With a spill directory, a buffer whose batches pass `spill_bytes` writes them to a Parquet file under the
data directory and forgets them: a 1,000-page document then costs the same memory as a 20-page one, and
the store commits the files with one `INSERT ... SELECT FROM read_parquet(...)` in the partition's
transaction."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_SPILL_BYTES = 16 << 20  # per table; small partitions never touch the disk
_spill_counter = itertools.count()


@dataclass
class SpilledTable:
    """A table whose rows are partly in Parquet files (spilled) and partly in memory. Quacks enough like a
    pyarrow Table (`num_rows`, `column_names`, `column`, `select`) for metadata previews, which read back
    only the columns they ask for."""

    schema: pa.Schema
    files: list[Path] = field(default_factory=list)
    memory: pa.Table | None = None

    @property
    def num_rows(self) -> int:
        on_disk = sum(pq.ParquetFile(f).metadata.num_rows for f in self.files)
        return on_disk + (self.memory.num_rows if self.memory is not None else 0)

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    def to_table(self, columns: list[str] | None = None) -> pa.Table:
        schema = pa.schema([self.schema.field(c) for c in columns]) if columns else self.schema
        parts = [pq.read_table(f, columns=columns, schema=self.schema).select(schema.names) for f in self.files]
        if self.memory is not None:
            parts.append(self.memory.select(schema.names))
        return pa.concat_tables(parts) if parts else schema.empty_table()

    def column(self, name: str) -> pa.ChunkedArray:
        return self.to_table([name]).column(name)

    def select(self, columns: list[str]) -> pa.Table:
        return self.to_table(list(columns))

    def discard(self) -> None:
        for f in self.files:
            f.unlink(missing_ok=True)
        self.files = []


Rows = pa.Table | SpilledTable


def table_parts(rows: Rows) -> tuple[list[Path], pa.Table | None]:
    """(Parquet files, in-memory table) that make up `rows`."""
    if isinstance(rows, SpilledTable):
        return rows.files, rows.memory
    return [], rows


class RowBuffer:
    def __init__(self, schema: pa.Schema, flush_every: int = 4096, spill_dir: str | Path | None = None,
                 spill_bytes: int = DEFAULT_SPILL_BYTES, name: str = "rows"):
        self.schema = schema
        self.flush_every = flush_every
        self.spill_dir = Path(spill_dir) if spill_dir else None
        self.spill_bytes = spill_bytes
        self.name = name
        self._pending: list[dict[str, Any]] = []
        self._batches: list[pa.RecordBatch] = []
        self._files: list[Path] = []
        self._spilled_rows = 0

    def add(self, row: dict[str, Any]) -> None:
        self._pending.append(row)
        if len(self._pending) >= self.flush_every:
            self._flush()

    def extend(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.add(row)

    def _flush(self) -> None:
        if self._pending:
            self._batches.append(pa.RecordBatch.from_pylist(self._pending, schema=self.schema))
            self._pending = []
        if self.spill_dir is not None and sum(b.nbytes for b in self._batches) >= self.spill_bytes:
            self._spill()

    def _spill(self, path: Path | None = None) -> None:
        path = path or self.spill_dir / f"{self.name}-{os.getpid()}-{next(_spill_counter):06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pq.write_table(pa.Table.from_batches(self._batches, schema=self.schema), tmp, compression="zstd")
        os.replace(tmp, path)  # a crash never leaves half a file under the final name
        self._spilled_rows += sum(b.num_rows for b in self._batches)
        self._files.append(path)
        self._batches = []

    def spill_to(self, path: Path) -> None:
        """Write every buffered row to `path` now (a checkpoint), even a few; an empty buffer writes nothing."""
        if self._pending:
            self._batches.append(pa.RecordBatch.from_pylist(self._pending, schema=self.schema))
            self._pending = []
        if self._batches:
            self._spill(path)

    def adopt(self, path: Path) -> None:
        """Take over a Parquet file of rows written earlier (by a run that crashed after its checkpoint)."""
        self._files.append(path)
        self._spilled_rows += pq.ParquetFile(path).metadata.num_rows

    def held_bytes(self) -> int:
        """Bytes held in memory: Arrow batches exactly, rows not yet batched estimated (~256 B each)."""
        return sum(b.nbytes for b in self._batches) + 256 * len(self._pending)

    def __len__(self) -> int:
        return self._spilled_rows + sum(b.num_rows for b in self._batches) + len(self._pending)

    def result(self) -> Rows:
        """The rows gathered: a pyarrow Table, or a SpilledTable when some went to disk."""
        self._flush()
        memory = pa.Table.from_batches(self._batches, schema=self.schema)
        if not self._files:
            return memory
        return SpilledTable(self.schema, list(self._files), memory)

    def to_table(self) -> pa.Table:
        """Everything in memory (reads spilled files back): for small tables and tests."""
        result = self.result()
        return result.to_table() if isinstance(result, SpilledTable) else result


def _lineage(*fields: pa.Field) -> pa.Schema:
    return pa.schema([*fields, pa.field("run_id", pa.string()), pa.field("producer_id", pa.string())])


_key = [pa.field("container_id", pa.string()), pa.field("document_id", pa.string())]
_page_key = [*_key, pa.field("page_no", pa.int32())]
_box = [pa.field(n, pa.float64()) for n in ("x0", "y0", "x1", "y1")]

SCHEMAS: dict[str, pa.Schema] = {
    "containers": _lineage(pa.field("container_id", pa.string()), pa.field("source_path", pa.string()),
                           pa.field("document_count", pa.int32()), pa.field("fingerprint", pa.string()),
                           pa.field("path_bytes", pa.binary())),
    "documents": _lineage(*_key, pa.field("file_name", pa.string()), pa.field("source_path", pa.string()),
                          pa.field("sha256", pa.string()), pa.field("size_bytes", pa.int64()),
                          pa.field("page_count", pa.int32()), pa.field("title", pa.string()),
                          pa.field("author", pa.string()), pa.field("creator", pa.string()),
                          pa.field("pdf_producer", pa.string()), pa.field("created", pa.string()),
                          pa.field("status", pa.string()), pa.field("path_bytes", pa.binary())),
    "pages": _lineage(*_page_key, pa.field("width_pt", pa.float64()), pa.field("height_pt", pa.float64()),
                      pa.field("dpi", pa.int32()), pa.field("width_px", pa.int32()), pa.field("height_px", pa.int32()),
                      pa.field("image_sha256", pa.string()), pa.field("image_path", pa.string()),
                      pa.field("has_text_layer", pa.bool_()), pa.field("text_layer_chars", pa.int32()),
                      pa.field("source_dpi", pa.float64()),
                      pa.field("drawn_areas", pa.list_(pa.list_(pa.float64()))),
                      pa.field("deskew_degrees", pa.float64())),
    "words": _lineage(*_page_key, pa.field("word_no", pa.int32()), pa.field("source", pa.string()),
                      pa.field("text", pa.string()), *_box, pa.field("confidence", pa.float64()),
                      pa.field("font_size", pa.float64()), pa.field("bold", pa.bool_()),
                      pa.field("hidden", pa.bool_()), pa.field("angle", pa.int16()), pa.field("mono", pa.bool_()),
                      pa.field("unmapped", pa.bool_())),
    "page_rules": _lineage(*_page_key, pa.field("rule_no", pa.int32()), *_box, pa.field("kind", pa.string()),
                           pa.field("source", pa.string())),
    "formulas": _lineage(*_page_key, pa.field("formula_no", pa.int32()), *_box, pa.field("latex", pa.string()),
                         pa.field("kind", pa.string()), pa.field("source", pa.string()),
                         pa.field("reason", pa.string())),
    "regions": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("label", pa.string()),
                        pa.field("model_label", pa.string()), pa.field("score", pa.float64()), *_box,
                        pa.field("reading_order", pa.int32()), pa.field("table_reason", pa.string()),
                        pa.field("label_reason", pa.string())),
    "texts": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("reading_order", pa.int32()),
                      pa.field("label", pa.string()), pa.field("text", pa.string()),
                      pa.field("text_source", pa.string()), pa.field("confidence", pa.float64()), *_box,
                      pa.field("font_size", pa.float64()), pa.field("bold", pa.bool_()),
                      pa.field("heading_level", pa.int32()), pa.field("text_source_reason", pa.string()),
                      pa.field("label_reason", pa.string())),
    "tables": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("n_rows", pa.int32()),
                       pa.field("n_cols", pa.int32()), pa.field("html", pa.string()),
                       pa.field("markdown", pa.string()), pa.field("structure_source", pa.string())),
    "table_cells": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("row_no", pa.int32()),
                            pa.field("col_no", pa.int32()), pa.field("row_span", pa.int32()),
                            pa.field("col_span", pa.int32()), pa.field("is_header", pa.bool_()),
                            pa.field("text", pa.string()), pa.field("header_path", pa.list_(pa.string())),
                            pa.field("fill_stripped", pa.bool_())),
    "charts": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("title", pa.string()),
                       pa.field("columns", pa.list_(pa.string())),
                       pa.field("data_rows", pa.list_(pa.list_(pa.string()))), pa.field("raw", pa.string())),
    "document_markdown": _lineage(*_key, pa.field("markdown", pa.string()), pa.field("export_path", pa.string())),
    "errors": _lineage(pa.field("container_id", pa.string()), pa.field("document_id", pa.string()),
                       pa.field("page_no", pa.int32()), pa.field("stage", pa.string()),
                       pa.field("error_type", pa.string()), pa.field("message", pa.string()),
                       pa.field("severity", pa.string())),
}


def buffers(*tables: str, spill_dir: str | Path | None = None,
            spill_bytes: int = DEFAULT_SPILL_BYTES) -> dict[str, RowBuffer]:
    return {t: RowBuffer(SCHEMAS[t], spill_dir=spill_dir, spill_bytes=spill_bytes, name=t) for t in tables}
