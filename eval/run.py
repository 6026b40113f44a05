"""Quality against human ground truth, the project beside the tools users would pick instead, in one run.

    python -m eval.run              # every set (make eval)
    python -m eval.run --quick      # a fixed subset of every set, under 5 minutes on 2 cores (make eval-quick)
    python -m eval.run --only icdar --peers camelot_lattice,pdfplumber

Sets: docling (digital PDFs, Markdown truth), twins (the same pages as image-only PDFs), icdar (ICDAR-2013
tables), scanned (real scans, human hOCR words). Writes eval/results/latest.json and prints a table.
Scores are reported, never asserted here (tests/test_quality_guard.py holds the floors)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Any

from eval import datasets, peers
from eval import table_metrics as tm
from eval import text_metrics as xm
from eval.datasets import Doc
from eval.peers import Output

RESULTS = Path(__file__).resolve().parent / "results"
SETS = ("docling", "twins", "icdar", "scanned")
OURS = "ours"
KEYS = ("digital_text_ned", "digital_word_f1", "digital_reading_order", "digital_heading_recall", "twins_text_ned",
        "twins_reading_order", "table_detection_recall", "table_cell_f1", "table_adjacency_f1",
        "scanned_word_accuracy", "scanned_pages_per_second", "nonchars")
# Which peer does which job (None = it does not do that job; its keys stay null).
PEER_JOBS: dict[str, dict[str, Callable[[Path], Output]]] = {
    "pypdfium2": {"docling": peers.pypdfium2_text},
    "pdfplumber": {"docling": peers.pdfplumber_text, "icdar": peers.pdfplumber_tables},
    "camelot_lattice": {"icdar": peers.camelot_lattice},
    "camelot_stream": {"icdar": peers.camelot_stream},
    "pymupdf4llm": {"docling": peers.pymupdf4llm_markdown, "icdar": peers.pymupdf4llm_markdown},
    "tesseract": {"twins": peers.tesseract_pages, "scanned": peers.tesseract_pages},
}

log = logging.getLogger("eval")


# -- scoring one document --------------------------------------------------------------------------------
def score_text(out: Output, truth_md: str) -> dict[str, Any]:
    pred_raw = out.text or ""
    pred, truth = xm.normalize(pred_raw, markdown=out.markdown), xm.normalize(truth_md)
    recall, precision = xm.heading_scores(pred_raw if out.markdown else None, truth_md)
    ordered, pairs = xm.reading_order_counts(pred, truth_md)
    return {"text_ned": xm.ned(pred, truth), "word_f1": xm.word_f1(pred, truth),
            "reading_order": ordered / pairs if pairs else None, "reading_order_pairs": [ordered, pairs],
            "heading_recall": recall,
            "heading_precision": precision, "truth_headings": len(xm.headings(truth_md)),
            "nonchars": xm.nonchars(pred_raw)}


def score_scan(out: Output, doc: Doc) -> dict[str, Any]:
    truth = datasets.scanned_truth(doc)
    truth = xm.normalize(truth, markdown=doc.truth.suffix == ".md")
    pred = xm.normalize(out.text or "", markdown=out.markdown)
    lines = datasets.hocr_lines(doc)
    if lines is not None and out.words is not None:  # words matched by position: OCR, not reading order
        accuracy, recall = xm.positional_word_scores(out.words, lines)
    else:
        accuracy, recall = xm.word_accuracy(pred, truth), xm.word_recall(pred, truth)
    return {"word_accuracy": accuracy, "word_recall": recall, "text_word_accuracy": xm.word_accuracy(pred, truth),
            "text_ned": xm.ned(pred, truth), "nonchars": xm.nonchars(out.text or "")}


def score_tables(out: Output, doc: Doc) -> dict[str, Any]:
    s = tm.score_document(datasets.icdar_truth(doc), out.tables or [])
    return {"tables": s["tables"], "detected": s["detected"], "predicted_tables": s["predicted_tables"],
            "cell_f1": s["cell_f1"], "adjacency": s["adjacency"],
            "nonchars": sum(xm.nonchars(c.text) for t in out.tables or [] for c in t.cells)}


SCORERS = {"docling": lambda out, doc: score_text(out, doc.truth.read_text(encoding="utf-8")),
           "twins": lambda out, doc: score_text(out, doc.truth.read_text(encoding="utf-8")),
           "icdar": score_tables, "scanned": score_scan}


# -- aggregation -----------------------------------------------------------------------------------------
def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(mean(values), 4) if values else None


def _pairs_share(rows: list[dict]) -> float | None:
    """Reading order over all paragraph pairs of a set (micro-average): a document with one pair of
    paragraphs does not weigh as much as one with a thousand."""
    ordered = sum(r["reading_order_pairs"][0] for r in rows)
    pairs = sum(r["reading_order_pairs"][1] for r in rows)
    return round(ordered / pairs, 4) if pairs else None


def aggregate(rows: list[dict[str, Any]], pages_per_second: float | None) -> dict[str, Any]:
    """One tool's overall figures from its per-document rows (None where it did not do that job)."""
    by_set: dict[str, list[dict]] = {}
    for r in rows:
        by_set.setdefault(r["set"], []).append(r)
    fig: dict[str, Any] = dict.fromkeys(KEYS)
    if d := by_set.get("docling"):
        fig["digital_text_ned"] = _mean([r["text_ned"] for r in d])
        fig["digital_word_f1"] = _mean([r["word_f1"] for r in d])
        fig["digital_reading_order"] = _pairs_share(d)
        scored = [r for r in d if r["heading_recall"] is not None]
        if scored:  # micro-average: every ground-truth heading counts once
            total = sum(r["truth_headings"] for r in scored)
            fig["digital_heading_recall"] = round(sum(r["heading_recall"] * r["truth_headings"] for r in scored)
                                                  / total, 4)
            fig["digital_heading_precision"] = _mean([r["heading_precision"] for r in scored])
    if t := by_set.get("twins"):
        fig["twins_text_ned"] = _mean([r["text_ned"] for r in t])
        fig["twins_reading_order"] = _pairs_share(t)
    if i := by_set.get("icdar"):
        total = sum(r["tables"] for r in i)
        fig["table_detection_recall"] = round(sum(r["detected"] for r in i) / total, 4) if total else None
        f1s = [f for r in i for f in r["cell_f1"]]
        fig["table_cell_f1"] = _mean(f1s)  # over detected tables, as the issue defines it
        fig["table_cell_f1_all"] = _mean([f or 0.0 for f in f1s])  # an undetected table counts 0
        adj = [sum(r["adjacency"][k] for r in i) for k in range(3)]
        f = tm.f1(*adj)
        fig["table_adjacency_f1"] = round(f, 4) if f is not None else None
    if s := by_set.get("scanned"):
        fig["scanned_word_accuracy"] = _mean([r["word_accuracy"] for r in s])
        fig["scanned_word_recall"] = _mean([r["word_recall"] for r in s])
        fig["scanned_pages_per_second"] = round(pages_per_second, 3) if pages_per_second else None
    fig["nonchars"] = sum(r.get("nonchars") or 0 for r in rows) if rows else None
    fig["seconds_by_set"] = {name: round(sum(r["seconds"] for r in rs), 2) for name, rs in by_set.items()}
    return fig


# -- the run ---------------------------------------------------------------------------------------------
def load_sets(names: list[str], quick: bool) -> dict[str, list[Doc]]:
    loaders = {"docling": datasets.docling, "twins": datasets.twins, "icdar": datasets.icdar,
               "scanned": datasets.scanned}
    sets = {name: loaders[name](quick=quick) for name in names}
    return {k: v for k, v in sets.items() if v}


def run_ours(sets: dict[str, list[Doc]], workdir: Path, profile: str) -> tuple[list[dict], float | None, dict]:
    from eval.ours import Results, run_pipeline

    run = run_pipeline(sets, workdir, profile)
    results = Results(run.store_path)
    rows = []
    for set_name, docs in sets.items():
        per_doc = run.set_seconds.get(set_name, 0.0) / max(1, len(docs))  # stage time is per container
        for doc in docs:
            out = (results.markdown(set_name, doc) if set_name in ("docling", "twins")
                   else results.tables(set_name, doc) if set_name == "icdar" else results.page_text(set_name, doc))
            rows.append({"set": set_name, "document": doc.name, "tool": OURS, "seconds": round(per_doc, 3),
                         "error": out.error, **SCORERS[set_name](out, doc)})
    pps = None
    if "scanned" in sets and run.set_seconds.get("scanned"):
        pps = run.set_pages.get("scanned", 0) / run.set_seconds["scanned"]
    info = {"run_id": run.run_id, "wall_seconds": round(run.seconds, 1),
            "stage_seconds_by_set": {k: round(v, 2) for k, v in run.set_seconds.items()}}
    return rows, pps, info


def run_peer(name: str, sets: dict[str, list[Doc]]) -> tuple[list[dict], float | None]:
    rows, scanned_pages, scanned_seconds = [], 0, 0.0
    for set_name, job in PEER_JOBS[name].items():
        if name == "tesseract" and not peers.tesseract_available():
            log.warning("tesseract not installed (make system-deps): its figures stay null")
            continue
        docs = sets.get(set_name, [])

        def one(doc: Doc, job=job) -> tuple[Output, float]:
            t0 = time.perf_counter()
            try:
                out = job(doc.pdf)
            except Exception as exc:  # a peer that fails on a document scores zero there, and says why
                out = Output(error=f"{type(exc).__name__}: {exc}"[:300])
            return out, time.perf_counter() - t0

        started = time.perf_counter()
        if name == "tesseract":
            # As OCRmyPDF runs it: one single-threaded process per core, across pages of all documents.
            workers = len(os.sched_getaffinity(0))
            with ThreadPoolExecutor(workers) as pool:
                done = list(pool.map(lambda d: one(d, lambda pdf: peers.tesseract_pages(pdf, workers=1)), docs))
        else:
            done = [one(doc) for doc in docs]
        wall = time.perf_counter() - started
        for doc, (out, seconds) in zip(docs, done, strict=True):
            if set_name == "scanned":
                scanned_pages += len(out.pages_text) or 1
            rows.append({"set": set_name, "document": doc.name, "tool": name, "seconds": round(seconds, 3),
                         "error": out.error, **SCORERS[set_name](out, doc)})
        if set_name == "scanned":
            scanned_seconds = wall
    return rows, (scanned_pages / scanned_seconds if scanned_seconds else None)


def wins_on_pages(rows: list[dict], a: str, b: str, metric: str = "word_accuracy") -> dict[str, int] | None:
    ours = {r["document"]: r[metric] for r in rows if r["tool"] == a and r["set"] == "scanned"}
    theirs = {r["document"]: r[metric] for r in rows if r["tool"] == b and r["set"] == "scanned"}
    common = set(ours) & set(theirs)
    if not common:
        return None
    return {"pages": len(common), "at_least_as_good": sum(ours[d] >= theirs[d] for d in common)}


def print_table(report: dict[str, Any]) -> None:
    tools = [OURS, *report["peers"]]
    figs = {OURS: report, **report["peers"]}
    width = 11
    print()
    print(f"{'metric':<26}" + "".join(f"{t[:width]:>{width + 1}}" for t in tools))
    for key in (*KEYS[:9], "table_cell_f1_all", *KEYS[9:]):
        cells = []
        for t in tools:
            v = figs[t].get(key)
            cells.append(f"{'-' if v is None else (f'{v:.3f}' if isinstance(v, float) else v):>{width + 1}}")
        print(f"{key:<26}" + "".join(cells))
    def timing(t: str) -> str:
        return " ".join(f"{k[:2]}{v:.0f}" for k, v in figs[t].get("seconds_by_set", {}).items())

    print(f"{'seconds by set':<26}" + "".join(f"{timing(t):>{width + 1}}" for t in tools))
    print("(text NED: lower is better; every other figure: higher is better; '-': the tool does not do that job)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a fixed subset of every set (< 5 minutes)")
    parser.add_argument("--only", default=",".join(SETS), help=f"comma-separated sets, of {','.join(SETS)}")
    parser.add_argument("--peers", default=",".join(peers.ALL_PEERS),
                        help="comma-separated peers to run ('' for none)")
    parser.add_argument("--profile", default="offline", help="the pipeline's model profile (OCR_PROFILE)")
    parser.add_argument("--no-ours", action="store_true", help="score the peers only")
    parser.add_argument("--workdir", help="keep the pipeline's data directory here (default: a temp dir)")
    parser.add_argument("--out", default=str(RESULTS / "latest.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[eval %(asctime)s] %(message)s", datefmt="%H:%M:%S")
    warnings.filterwarnings("ignore")  # the peers' own deprecation chatter; scores are what this prints

    names = [s for s in args.only.split(",") if s]
    unknown = set(names) - set(SETS)
    if unknown:
        parser.error(f"unknown sets {sorted(unknown)}; sets are {SETS}")
    started = time.perf_counter()
    sets = load_sets(names, args.quick)
    if not sets:
        print(f"no evaluation data under {datasets.SHARED}", file=sys.stderr)
        return 1
    log.info("sets: %s", {k: len(v) for k, v in sets.items()})

    rows: list[dict] = []
    report: dict[str, Any] = {"mode": "quick" if args.quick else "full", "profile": args.profile}
    if not args.no_ours:
        with tempfile.TemporaryDirectory(prefix="ocr-eval-") as tmp:
            workdir = Path(args.workdir) if args.workdir else Path(tmp)
            log.info("pipeline: one Dagster run over %s in %s", list(sets), workdir)
            ours_rows, pps, info = run_ours(sets, workdir, args.profile)
        rows += ours_rows
        report.update(aggregate(ours_rows, pps))
        report["pipeline"] = info
    else:
        report.update(dict.fromkeys(KEYS))
    report["peers"] = {}
    for name in [p for p in args.peers.split(",") if p]:
        if name not in PEER_JOBS:
            parser.error(f"unknown peer {name!r}; peers are {list(PEER_JOBS)}")
        if not set(PEER_JOBS[name]) & set(sets):
            continue
        log.info("peer: %s", name)
        peer_rows, pps = run_peer(name, sets)
        rows += peer_rows
        report["peers"][name] = aggregate(peer_rows, pps)
    report["scanned_pages_at_least_tesseract"] = wins_on_pages(rows, OURS, "tesseract")
    report["documents"] = rows
    report["machine"] = {"python": platform.python_version(), "cpus": len(os.sched_getaffinity(0)),
                         "platform": platform.platform()}
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str))
    print_table(report)
    print(f"\n{report['mode']} run in {report['seconds']}s; per document: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
