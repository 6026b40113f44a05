"""Stage 6: chart data per figure region."""

from __future__ import annotations

import time

from ocr_resources.engines.base import ChartExtractor
from ocr_resources.pipeline.execution import image_size_class, stream_inference
from ocr_resources.pipeline.resume import PageLedger
from ocr_resources.pipeline.stages.base import (
    StageContext,
    StageOutput,
    _crop,
    _crop_chunks,
    _error,
    _lineage,
    _PageParts,
    _results,
)


# -- 6. charts -----------------------------------------------------------------------------------------------
def chart_data(ctx: StageContext, extractor: ChartExtractor | None) -> StageOutput:
    started = time.perf_counter()
    out = ctx.buffers("chart_data", "charts", "errors")
    if extractor is None:  # nothing to compute: replace with nothing (no resume bookkeeping needed)
        return StageOutput(_results(out), seconds=time.perf_counter() - started,
                           stats={"figure_regions": 0, "charts": 0, "chart_engine": "none"})
    ledger = PageLedger(ctx, "chart_data")
    parts = _PageParts(ledger)
    requests = 0
    crops = _crop_chunks(ctx, ledger, ("figure",), with_words=False)
    for o in stream_inference(crops, lambda r: extractor.prepare(_crop(ctx, r)[0]), extractor.extract,
                              extractor.batch_size, ctx.max_in_flight, ctx.loader_threads, image_size_class):
        req = o.item
        requests += 1
        parts.finish(req, o.error is None)
        if o.error is not None:
            out["errors"].add(_error(ctx, "chart_data", req["document_id"], req["page_no"],
                                     type(o.error).__name__, str(o.error)))
            continue
        chart = o.result
        out["charts"].add({"container_id": ctx.container_id, "document_id": req["document_id"],
                           "page_no": req["page_no"], "region_no": req["region_no"], "title": chart.title,
                           "columns": chart.columns, "data_rows": chart.rows, "raw": chart.raw, **_lineage(ctx)})
    results, live = ledger.tables()
    return StageOutput(_results(out), pages=len(ledger.computed), seconds=time.perf_counter() - started,
                       stats={"figure_regions": requests, "charts": len(out["charts"]),
                              "chart_engine": extractor.identity.engine, **ledger.stats()},
                       input_fingerprint=ledger.fingerprint, page_results=results, live_pages=live)


