"""Stage 5: table structure and cells per table region."""

from __future__ import annotations

import html
import time
from collections import defaultdict
from dataclasses import replace
from typing import Any

from ocr_resources.engines.base import TableStructureRecognizer
from ocr_resources.geometry.lines import lines
from ocr_resources.pipeline.execution import image_size_class, stream_inference
from ocr_resources.pipeline.resume import PageLedger
from ocr_resources.pipeline.stages.base import (
    StageContext,
    StageOutput,
    _box,
    _crop,
    _crop_chunks,
    _error,
    _lineage,
    _PageParts,
    _results,
)
from ocr_resources.tables.cells import plain_math
from ocr_resources.tables.detect import RELABEL, region_verdict
from ocr_resources.tables.rules import Rule
from ocr_resources.tables.structure import in_reading_order
from ocr_resources.types import Box, TableCrop, TableStructure, Word


# -- 5. tables -----------------------------------------------------------------------------------------------
def table_markdown(structure: TableStructure) -> str:
    grid = [[""] * structure.n_cols for _ in range(structure.n_rows)]
    for cell in structure.cells:
        grid[cell.row][cell.col] = cell.text.replace("|", "\\|").replace("\n", " ")
    if not grid:
        return ""
    lines = ["| " + " | ".join(grid[0]) + " |", "|" + "---|" * structure.n_cols]
    lines += ["| " + " | ".join(row) + " |" for row in grid[1:]]
    return "\n".join(lines)


def table_html(structure: TableStructure) -> str:
    rows: dict[int, list[str]] = defaultdict(list)
    for cell in sorted(structure.cells, key=lambda c: (c.row, c.col)):
        tag = "th" if cell.is_header else "td"
        span = (f' rowspan="{cell.row_span}"' if cell.row_span > 1 else "") + (
            f' colspan="{cell.col_span}"' if cell.col_span > 1 else "")
        rows[cell.row].append(f"<{tag}{span}>{html.escape(cell.text)}</{tag}>")
    body = "".join(f"<tr>{''.join(rows[r])}</tr>" for r in sorted(rows))
    direction = ' dir="rtl"' if structure.rtl else ""
    return f"<table{direction}>{body}</table>"


def _is_table(region: dict[str, Any], page: dict[str, Any], words: list[Word], rules: list[tuple]) -> bool:
    """A table region (on a page without a text layer: unless its OCR words are prose), or a figure region of
    a page without a text layer whose OCR words form a grid (the text stage labelled its text row a table by
    the same verdict: the layout stage had no words there), or on such a page a region labelled otherwise
    that is the page's whole table, or the region standing for the whole page where the layout model found
    none (`tables.detect.scanned_verdict`)."""
    if page["has_text_layer"] or not words:
        return region["label"] == "table"
    return region_verdict(words, region, [Rule(*r) for r in rules])[0]


def table_words(words: list[Word], region: Box, extent: Box) -> list[Word]:
    """The words a table is built from: those the text stage read as the table's (its `texts` row's box, the
    `extent`), taken line by line, where a line has a word inside the layout region. So a line the region's
    edge cuts is the table's whole, as the text stage has it (its words outside the box were lost), and
    running text the text stage read apart at the region's edge (`tables.detect.table_edges`) is not."""
    held = [w for w in words if extent.contains_point(*w.box.center)]
    if extent == region:  # (every word held is then inside the region: the lines need not be built)
        return held
    kept = {id(w) for ln in lines(held) if any(region.contains_point(*w.box.center) for w in ln.words)
            for w in ln.words}
    return [w for w in held if id(w) in kept]  # in the page's order, as the structure has always had them


def crop_word(word: Word, scale: float, x0: float, y0: float) -> Word:
    """A page word (points) in a crop's pixels from (x0, y0), its text with an inline formula made plain;
    the way it runs (angle) kept, which the structure needs for turned headings and sideways tables."""
    return replace(word, text=plain_math(word.text), box=word.box.scaled(scale).shifted(-x0, -y0))


def tables(ctx: StageContext, recognizer: TableStructureRecognizer) -> StageOutput:
    started = time.perf_counter()
    ledger = PageLedger(ctx, "tables")
    parts = _PageParts(ledger)
    out = ctx.buffers("tables", "tables", "table_cells", "errors")
    requests = 0

    def load(req: dict[str, Any]) -> TableCrop:
        region = _box(req)
        extent = Box(*req["_extent"]) if req.get("_extent") else region
        crop, (cx0, cy0, cx1, cy1) = _crop(ctx, {**req, "x0": extent.x0, "y0": extent.y0, "x1": extent.x1,
                                                 "y1": extent.y1})
        scale = req["dpi"] / 72.0
        inside = req["_inside"] = table_words(req["_words"], region, extent)
        # words and ruling lines into the crop's pixel coordinates, where the engine works; an inline formula
        # the text layer's math finder made of a cell's glyphs is the cell's characters again
        local = [crop_word(w, scale, cx0, cy0) for w in inside]
        frame = Box(cx0 / scale, cy0 / scale, cx1 / scale, cy1 / scale)
        rules = [Box(*r[:4]).scaled(scale).shifted(-cx0, -cy0) for r in req["_rules"]
                 if r[4] == "line" and r[2] >= frame.x0 and r[0] <= frame.x1 and r[3] >= frame.y0 and r[1] <= frame.y1]
        return TableCrop(image=crop, words=local, rules=rules, scale=scale, text_layer=req["_text_layer"])

    sources: dict[str, int] = defaultdict(int)
    requests_iter = _crop_chunks(ctx, ledger, ("table",), with_words=True, with_rules=True,
                                 keep=_is_table, scanned_labels=RELABEL, with_extents=True)
    for o in stream_inference(requests_iter, load, recognizer.recognize,
                              recognizer.batch_size, ctx.max_in_flight, ctx.loader_threads,
                              lambda crop: image_size_class(crop.image)):
        req = o.item
        requests += 1
        parts.finish(req, o.error is None)
        if o.error is not None:
            out["errors"].add(_error(ctx, "tables", req["document_id"], req["page_no"], type(o.error).__name__,
                                     str(o.error)))
            continue
        structure: TableStructure = in_reading_order(o.result, req["_inside"])  # words as load() chose them
        key = {"container_id": ctx.container_id, "document_id": req["document_id"], "page_no": req["page_no"],
               "region_no": req["region_no"]}
        if not structure.cells:
            out["errors"].add(_error(ctx, "tables", req["document_id"], req["page_no"], "empty_table",
                                     f"no cells found in table region {req['region_no']}"))
            continue
        sources[structure.method] += 1
        out["tables"].add({**key, "n_rows": structure.n_rows, "n_cols": structure.n_cols,
                           "html": table_html(structure), "markdown": table_markdown(structure),
                           "structure_source": structure.method, **_lineage(ctx)})
        out["table_cells"].extend([{**key, "row_no": c.row, "col_no": c.col, "row_span": c.row_span,
                                    "col_span": c.col_span, "is_header": c.is_header, "text": c.text,
                                    "header_path": list(c.header_path) if not c.is_header else None,
                                    "fill_stripped": c.fill, **_lineage(ctx)} for c in structure.cells])
    results, live = ledger.tables()
    return StageOutput(_results(out), pages=len(ledger.computed), seconds=time.perf_counter() - started,
                       stats={"table_regions": requests, "tables": len(out["tables"]),
                              "cells": len(out["table_cells"]), "structure_sources": dict(sources),
                              **ledger.stats()},
                       input_fingerprint=ledger.fingerprint, page_results=results, live_pages=live)


