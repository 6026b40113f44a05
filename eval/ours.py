"""The project's side: the real pipeline through Dagster, one run over the evaluation sets as containers,
on a temporary data directory, then read back from DuckDB what a user would read."""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from eval.datasets import Doc
from eval.peers import Output
from eval.table_metrics import Cell, Table


@dataclass
class PipelineRun:
    store_path: Path
    seconds: float
    run_id: str
    set_seconds: dict[str, float]  # summed stage seconds per set (its container), from the materializations table
    set_pages: dict[str, int]  # pages per set, from the pages table


def container_key(set_name: str) -> str:
    """The partition key the pipeline gives a set's inbox folder (`docbank_digital` -> `docbank-digital`)."""
    from ocr_resources.pipeline.containers import partition_key_for

    return partition_key_for(set_name)


def run_pipeline(sets: dict[str, list[Doc]], workdir: Path, profile: str = "offline") -> PipelineRun:
    """Every set becomes one container (a folder in the inbox); all of them go through one Dagster run
    (a partition range, as `dagster asset materialize --partition-range` does), so each model loads once."""
    os.environ["OCR_PROFILE"] = profile  # read when ocr_assets.assets is imported: set it first
    from dagster import DagsterInstance, materialize

    from ocr_assets.assets import document_assets
    from ocr_assets.partitions import containers
    from ocr_resources.pipeline.containers import inbox_entries
    from ocr_resources.profiles import load_profile
    from ocr_resources.resources import PipelineStorage, model_resources
    from ocr_resources.store import ResultStore

    inbox = workdir / "inbox"
    for name, docs in sets.items():
        folder = inbox / name
        folder.mkdir(parents=True, exist_ok=True)
        for doc in docs:
            shutil.copyfile(doc.pdf, folder / f"{doc.name}.pdf")
    keys = sorted(inbox_entries(inbox))
    store_path = workdir / "ocr.duckdb"
    storage = PipelineStorage(data_dir=str(workdir), duckdb_path=str(store_path))
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(containers.name, keys)
    started = time.perf_counter()
    result = materialize(
        document_assets, instance=instance,
        resources={"storage": storage, **model_resources(load_profile(profile))},
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=True)
    seconds = time.perf_counter() - started
    store = ResultStore(store_path)
    set_of = {key: entry.name for key, entry in inbox_entries(inbox).items()}  # partition key -> set name
    set_seconds = {set_of.get(r["partition_key"], r["partition_key"]): r["s"] for r in store.query(
        "SELECT partition_key, sum(seconds) AS s FROM materializations WHERE run_id = ? GROUP BY 1", [result.run_id])}
    set_pages = {set_of.get(r["container_id"], r["container_id"]): r["n"] for r in store.query(
        "SELECT container_id, count(*) AS n FROM pages GROUP BY 1")}
    logging.getLogger(__name__).info("pipeline run %s: %.1fs", result.run_id, seconds)
    return PipelineRun(store_path, seconds, result.run_id, set_seconds, set_pages)


class Results:
    """What the run stored, per document, in the shapes the scorers take. `container` is the set's partition
    key (`container_key`)."""

    def __init__(self, store_path: Path):
        from ocr_resources.store import ResultStore

        self.store = ResultStore(store_path)

    def markdown(self, container: str, doc: Doc) -> Output:
        rows = self.store.query("SELECT markdown FROM document_markdown WHERE container_id = ? AND document_id = ?",
                                [container, f"{doc.name}.pdf"])
        errors = self.errors(container, doc)
        if not rows:
            return Output(error=errors or "no markdown stored")
        return Output(text=rows[0]["markdown"], markdown=True, error=errors)

    def page_text(self, container: str, doc: Doc) -> Output:
        rows = self.store.query("SELECT page_no, text FROM page_text WHERE container_id = ? AND document_id = ?"
                                " ORDER BY page_no", [container, f"{doc.name}.pdf"])
        pages = [r["text"] for r in rows]
        words = [(w["text"], w["x0"], w["y0"], w["x1"], w["y1"]) for w in self.store.query(
            "SELECT text, x0, y0, x1, y1 FROM words WHERE container_id = ? AND document_id = ? AND page_no = 1"
            " AND source = 'ocr' ORDER BY word_no", [container, f"{doc.name}.pdf"])]
        return Output(text="\n\n".join(pages), pages_text=pages, words=words, error=self.errors(container, doc))

    def tables(self, container: str, doc: Doc) -> Output:
        key = [container, f"{doc.name}.pdf"]
        heads = self.store.query(
            "SELECT t.page_no, t.region_no, r.x0, r.y0, r.x1, r.y1, p.height_pt FROM tables t"
            " JOIN regions r USING (container_id, document_id, page_no, region_no)"
            " JOIN pages p USING (container_id, document_id, page_no)"
            " WHERE t.container_id = ? AND t.document_id = ? ORDER BY t.page_no, t.region_no", key)
        cells: dict[tuple[int, int], list[Cell]] = {}
        for c in self.store.query(
                "SELECT page_no, region_no, row_no, col_no, row_span, col_span, text FROM table_cells"
                " WHERE container_id = ? AND document_id = ?", key):
            cells.setdefault((c["page_no"], c["region_no"]), []).append(
                Cell(c["row_no"], c["col_no"], c["text"] or "", c["row_span"] or 1, c["col_span"] or 1))
        tables = []
        for h in heads:
            height = h["height_pt"]  # stored boxes are top-left origin; the ground truth's are bottom-left
            bbox = (h["x0"], height - h["y1"], h["x1"], height - h["y0"])
            tables.append(Table(h["page_no"], cells.get((h["page_no"], h["region_no"]), []), bbox))
        return Output(tables=tables, error=self.errors(container, doc))

    def regions(self, container: str, document: str) -> list[dict]:
        """The document's layout regions as the pipeline decided them: page_no, label, model_label and the box
        (x0, y0, x1, y1: PDF points, origin top-left, as the words'), with the page's width_pt/height_pt."""
        return self.store.query(
            "SELECT r.page_no, r.region_no, r.label, r.model_label, r.x0, r.y0, r.x1, r.y1, p.width_pt, p.height_pt"
            " FROM regions r JOIN pages p USING (container_id, document_id, page_no)"
            " WHERE r.container_id = ? AND r.document_id = ? ORDER BY r.page_no, r.region_no",
            [container, f"{document}.pdf"])

    def errors(self, container: str, doc: Doc) -> str | None:
        rows = self.store.query("SELECT stage, message FROM errors WHERE container_id = ? AND document_id = ?",
                                [container, f"{doc.name}.pdf"])
        return "; ".join(f"{r['stage']}: {r['message']}" for r in rows) or None
