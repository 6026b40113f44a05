"""Row buffers that turn result dicts into compact Arrow batches as they arrive (out of order is
fine: every row carries its key), so memory holds columns, not Python dicts, until the commit."""

from __future__ import annotations

from typing import Any

import pyarrow as pa


class RowBuffer:
    def __init__(self, schema: pa.Schema, flush_every: int = 4096):
        self.schema = schema
        self.flush_every = flush_every
        self._pending: list[dict[str, Any]] = []
        self._batches: list[pa.RecordBatch] = []

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

    def __len__(self) -> int:
        return sum(b.num_rows for b in self._batches) + len(self._pending)

    def to_table(self) -> pa.Table:
        self._flush()
        return pa.Table.from_batches(self._batches, schema=self.schema)


def _lineage(*fields: pa.Field) -> pa.Schema:
    return pa.schema([*fields, pa.field("run_id", pa.string()), pa.field("producer_id", pa.string())])


_key = [pa.field("container_id", pa.string()), pa.field("document_id", pa.string())]
_page_key = [*_key, pa.field("page_no", pa.int32())]
_box = [pa.field(n, pa.float64()) for n in ("x0", "y0", "x1", "y1")]

SCHEMAS: dict[str, pa.Schema] = {
    "containers": _lineage(pa.field("container_id", pa.string()), pa.field("source_path", pa.string()),
                           pa.field("document_count", pa.int32()), pa.field("fingerprint", pa.string())),
    "documents": _lineage(*_key, pa.field("file_name", pa.string()), pa.field("source_path", pa.string()),
                          pa.field("sha256", pa.string()), pa.field("size_bytes", pa.int64()),
                          pa.field("page_count", pa.int32()), pa.field("title", pa.string()),
                          pa.field("author", pa.string()), pa.field("creator", pa.string()),
                          pa.field("pdf_producer", pa.string()), pa.field("created", pa.string()),
                          pa.field("status", pa.string())),
    "pages": _lineage(*_page_key, pa.field("width_pt", pa.float64()), pa.field("height_pt", pa.float64()),
                      pa.field("dpi", pa.int32()), pa.field("width_px", pa.int32()), pa.field("height_px", pa.int32()),
                      pa.field("image_sha256", pa.string()), pa.field("image_path", pa.string()),
                      pa.field("has_text_layer", pa.bool_()), pa.field("text_layer_chars", pa.int32())),
    "words": _lineage(*_page_key, pa.field("word_no", pa.int32()), pa.field("source", pa.string()),
                      pa.field("text", pa.string()), *_box, pa.field("confidence", pa.float64())),
    "regions": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("label", pa.string()),
                        pa.field("model_label", pa.string()), pa.field("score", pa.float64()), *_box,
                        pa.field("reading_order", pa.int32())),
    "texts": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("reading_order", pa.int32()),
                      pa.field("label", pa.string()), pa.field("text", pa.string()),
                      pa.field("text_source", pa.string()), pa.field("confidence", pa.float64())),
    "tables": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("n_rows", pa.int32()),
                       pa.field("n_cols", pa.int32()), pa.field("html", pa.string()), pa.field("markdown", pa.string())),
    "table_cells": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("row_no", pa.int32()),
                            pa.field("col_no", pa.int32()), pa.field("row_span", pa.int32()),
                            pa.field("col_span", pa.int32()), pa.field("is_header", pa.bool_()),
                            pa.field("text", pa.string())),
    "charts": _lineage(*_page_key, pa.field("region_no", pa.int32()), pa.field("title", pa.string()),
                       pa.field("columns", pa.list_(pa.string())),
                       pa.field("data_rows", pa.list_(pa.list_(pa.string()))), pa.field("raw", pa.string())),
    "document_markdown": _lineage(*_key, pa.field("markdown", pa.string()), pa.field("export_path", pa.string())),
    "errors": _lineage(pa.field("container_id", pa.string()), pa.field("document_id", pa.string()),
                       pa.field("page_no", pa.int32()), pa.field("stage", pa.string()),
                       pa.field("error_type", pa.string()), pa.field("message", pa.string())),
}


def buffers(*tables: str) -> dict[str, RowBuffer]:
    return {t: RowBuffer(SCHEMAS[t]) for t in tables}
