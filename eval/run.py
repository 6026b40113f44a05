"""Quality against human ground truth, the project beside the tools users would pick instead, in one run.

    python -m eval.run              # every set (make eval)
    python -m eval.run --quick      # a fixed subset of every set, under 5 minutes on 2 cores (make eval-quick)
    python -m eval.run --only icdar --peers camelot_lattice,pdfplumber
    python -m eval.run --only receipts,docbank_digital,docbank_render,tables_tabula,tables_camelot

Sets: docling (digital PDFs, Markdown truth), drawn (generated digital pages with a title set as vector outlines and
words in a pasted picture, eval/drawn.py), twins (the same pages as image-only PDFs), icdar (ICDAR-2013
tables), table_images (each ICDAR truth table cropped from its page at 72-150 dpi, an image-only PDF),
scanned (real scans, human hOCR words), scanned_lowres (the same pages downsampled to 72 or 100 dpi),
receipts (SROIE scanned receipts, human lines),
docbank_digital / docbank_render (arXiv pages, born-digital and as 200-dpi images; tokens with layout labels),
tables_tabula / tables_camelot (those tools' test fixtures: silver, the truth is the tools' own output),
formulas (synthetic formulas typeset by pdflatex, read back by the pipeline's formula finder and scored by
render comparison, eval/formulas.py; split by template; skipped, with the reason printed, without pdflatex).
DocBank digital pages also give `docbank_equation_in_math` (equation tokens inside `$...$`/`$$...$$` or a
formula row's box). No peer writes LaTeX (pymupdf4llm writes a formula's glyphs as text): their formula keys
stay null.

Every set is cut once into a tune half and a report half by a stable hash of the document name
(`datasets.split_of`; a table image takes its source page's half). The top-level figures of
eval/results/latest.json are the report half's (`split: "report"`), the tune half's are under `tune` (for each
peer under `peers.<name>.tune`); the printed table shows report / tune. Speed (pages/s) is over both halves
of a set: stage seconds are measured per set, not per page.
Writes eval/results/latest.json and prints a table. Scores are reported, never asserted here
(tests/test_quality_guard.py holds the floors)."""

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
from eval.formulas import CLASSES as FORMULA_CLASSES
from eval.peers import Output

RESULTS = Path(__file__).resolve().parent / "results"
FIXTURE_SETS = ("tables_tabula", "tables_camelot")
SETS = ("docling", "drawn", "twins", "icdar", "table_images", "scanned", "scanned_lowres", "receipts",
        "docbank_digital", "docbank_render", *FIXTURE_SETS)
TEDS_SETS = ("icdar", *FIXTURE_SETS)  # table sets whose truth has a grid
DIGITAL_SPEED_SETS = ("docling", "docbank_digital", *FIXTURE_SETS)  # digital_pages_per_second: these together
OURS = "ours"
REPORT, TUNE = "report", "tune"
CHECK_TYPES = ("present", "absent", "order", "table", "baseline", "spacing")
KEYS = ("digital_text_ned", "digital_word_f1", "digital_reading_order", "digital_heading_recall", "twins_text_ned",
        "twins_reading_order", "table_detection_recall", "table_cell_f1", "table_adjacency_f1",
        "scanned_word_accuracy", "scanned_pages_per_second", "nonchars")
NEW_KEYS = (
    "receipts_line_recall", "receipts_min_line_recall", "receipts_word_accuracy", "receipts_wer",
    "scanned_lowres_word_accuracy", "drawn_text_ned",
    "docbank_word_recall", "docbank_word_precision", "docbank_render_word_recall", "docbank_render_word_precision",
    # the same of the text as written (LaTeX as words); the keys above score formulas as their glyphs
    "docbank_word_recall_markup", "docbank_word_precision_markup", "docbank_render_word_recall_markup",
    "docbank_render_word_precision_markup",
    "fixtures_cell_recall", "fixtures_detection_recall", "table_teds", "table_teds_structure",
    "digital_pages_per_second",
    # unit checks (eval/checks.py, wired by `score_unit_checks`): None until checks are scored
    "checks_pass_rate", "checks_present_pass_rate", "checks_absent_pass_rate", "checks_order_pass_rate",
    "checks_table_pass_rate", "checks_spacing_pass_rate",
    # the same with formulas scored as written (LaTeX); the keys above read them as the glyphs they draw
    "checks_pass_rate_markup", "checks_present_pass_rate_markup", "checks_order_pass_rate_markup",
    # layout figures (`layout_figures`): None until a layout metric fills them
    "pages_losing_words", "table_image_detection_recall", "layout_label_agreement",
    "table_image_cell_f1", "layout_label_agreement_by_class",
    # tables the truth does not have, on the docling and DocBank sets (`prose_table_pages`; ours only)
    "prose_pages_as_tables",
    # formulas (eval/formulas.py): the synthetic set's render match, and DocBank's equation tokens in math
    "formulas_display_match", "formulas_inline_match", "formulas_simple_match", "docbank_equation_in_math",
    "docbank_paragraph_outside_math",
)
FORMULAS = "formulas"  # the synthetic formula set: not documents the pipeline reads, so not in SETS' loaders
FORMULAS_PEERS_NOTE = ("no peer writes LaTeX: pymupdf4llm writes a formula's glyphs as plain text, pypdfium2 and "
                       "pdfplumber give the text layer as it is, tesseract OCRs glyphs; their formula keys stay null")
# Figures whose value is lower-is-better (the printed table says so)
LOWER_IS_BETTER = ("digital_text_ned", "drawn_text_ned", "twins_text_ned", "receipts_wer", "nonchars")
# Which peer does which job (None = it does not do that job; its keys stay null).
PEER_JOBS: dict[str, dict[str, Callable[[Path], Output]]] = {
    "pypdfium2": {"docling": peers.pypdfium2_text, "drawn": peers.pypdfium2_text,
                  "docbank_digital": peers.pypdfium2_text},
    "pdfplumber": {"docling": peers.pdfplumber_text, "icdar": peers.pdfplumber_tables,
                   "tables_tabula": peers.pdfplumber_tables, "tables_camelot": peers.pdfplumber_tables},
    "camelot_lattice": {"icdar": peers.camelot_lattice, "tables_tabula": peers.camelot_lattice,
                        "tables_camelot": peers.camelot_lattice},
    "camelot_stream": {"icdar": peers.camelot_stream, "tables_tabula": peers.camelot_stream,
                       "tables_camelot": peers.camelot_stream},
    "pymupdf4llm": {"docling": peers.pymupdf4llm_markdown, "drawn": peers.pymupdf4llm_markdown,
                    "icdar": peers.pymupdf4llm_markdown,
                    "receipts": peers.pymupdf4llm_markdown, "docbank_digital": peers.pymupdf4llm_markdown,
                    "tables_tabula": peers.pymupdf4llm_markdown, "tables_camelot": peers.pymupdf4llm_markdown},
    "tesseract": {"twins": peers.tesseract_pages, "scanned": peers.tesseract_pages,
                  "scanned_lowres": peers.tesseract_pages,
                  "receipts": peers.tesseract_pages, "docbank_render": peers.tesseract_pages},
}
SILVER_NOTE = ("tables_tabula / tables_camelot are silver: their truth is tabula-java's and camelot's own "
               "expected output (often for a hand-set area or columns), not independent human ground truth")

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
    s = tm.score_document(datasets.icdar_truth(doc), out.tables or [], with_teds=True)
    return {"tables": s["tables"], "detected": s["detected"], "predicted_tables": s["predicted_tables"],
            "cell_f1": s["cell_f1"], "adjacency": s["adjacency"], "teds": s["teds"],
            "teds_structure": s["teds_structure"],
            "nonchars": sum(xm.nonchars(c.text) for t in out.tables or [] for c in t.cells)}


def score_receipt(out: Output, doc: Doc) -> dict[str, Any]:
    """Line recall (a truth line found with similarity >= 0.9 in some predicted line or window of words),
    order-aware WER of the whole page against the truth lines read top to bottom, and word accuracy (by
    position where the tool gives word boxes, as for `scanned`; else 1 - WER floored at 0). Case-insensitive."""
    truth_lines = datasets.receipt_truth(doc)
    found, total = xm.line_recall_counts(truth_lines, out.text or "", markdown=out.markdown)
    # case folded throughout: SROIE's human lines are upper case where the receipt prints mixed case
    truth = xm.normalize("\n".join(truth_lines), markdown=False).casefold()
    pred = xm.normalize(out.text or "", markdown=out.markdown).casefold()
    boxes = datasets.receipt_lines(doc)
    if boxes is not None and out.words is not None:
        accuracy, _ = xm.positional_word_scores([(w.casefold(), *box) for w, *box in out.words],
                                                [(box, [w.casefold() for w in ws]) for box, ws in boxes])
        by = "position"
    else:
        accuracy, by = xm.word_accuracy(pred, truth), "text"
    return {"lines_found": found, "lines": total, "line_recall": found / total if total else None,
            "wer": xm.wer(pred, truth), "word_accuracy": accuracy, "word_accuracy_by": by,
            "nonchars": xm.nonchars(out.text or "")}


def score_docbank(out: Output, doc: Doc) -> dict[str, Any]:
    """Bag-of-words word recall and precision, hyphen-tolerant, overall and per DocBank label: of the content
    (formulas as the glyphs they draw, diacritics folded: `bag_of_words_counts(content=True)`; DocBank's truth
    is the text layer's glyphs, "θ0" where a formula is written "$\\theta_0$"), and of the text as written
    (`*_markup`: LaTeX counts as words). The same for every tool; a text without `$` formulas differs only by
    its diacritics."""
    tokens = datasets.docbank_tokens(doc)
    c = xm.bag_of_words_counts(out.text or "", tokens, markdown=out.markdown, content=True)
    m = xm.bag_of_words_counts(out.text or "", tokens, markdown=out.markdown, content=False)
    return {"words_matched": c["matched"], "words_truth": c["truth"], "words_pred": c["pred"],
            "word_recall": c["matched"] / c["truth"] if c["truth"] else None,
            "word_precision": c["matched"] / c["pred"] if c["pred"] else None,
            "by_label": c["by_label"],
            "words_matched_markup": m["matched"], "words_truth_markup": m["truth"], "words_pred_markup": m["pred"],
            "word_recall_markup": m["matched"] / m["truth"] if m["truth"] else None,
            "by_label_markup": m["by_label"], "nonchars": xm.nonchars(out.text or "")}


def score_fixture(out: Output, doc: Doc) -> dict[str, Any]:
    s = tm.score_fixture_document(datasets.fixture_truth(doc), out.tables or [])
    return {**s, "nonchars": sum(xm.nonchars(c.text) for t in out.tables or [] for c in t.cells)}


SCORERS = {"docling": lambda out, doc: score_text(out, doc.truth.read_text(encoding="utf-8")),
           "drawn": lambda out, doc: score_text(out, doc.truth.read_text(encoding="utf-8")),
           "twins": lambda out, doc: score_text(out, doc.truth.read_text(encoding="utf-8")),
           "icdar": score_tables, "table_images": score_tables, "scanned": score_scan, "receipts": score_receipt,
           "scanned_lowres": score_scan,
           "docbank_digital": score_docbank, "docbank_render": score_docbank,
           "tables_tabula": score_fixture, "tables_camelot": score_fixture}


def checks_text(out: Output) -> str:
    """What unit checks read of a tool's output: its text or Markdown; a tool that gives tables only
    (camelot, pdfplumber's find_tables) is read as its tables in Markdown."""
    if out.text:
        return out.text
    return "\n\n".join(tm.to_markdown(t) for t in out.tables or [])


# -- hooks for metrics written beside this file ------------------------------------------------------------
def score_unit_checks(rows: list[dict], texts: dict[tuple[str, str, str], str],
                      sets: dict[str, list[Doc]]) -> None:
    """HOOK (unit checks, olmOCR-bench style): eval/checks.py generates each document's checks from its ground
    truth (`generate(set_name, pdf, truth) -> list[dict]`, each with a "type") and scores one against a tool's
    text (`score(check, text) -> bool`). Each row gets `checks = {type: [passed, total]}` for its tool's text
    of that document; `aggregate` turns the counts into `checks_*_pass_rate` (report and tune halves apart).
    Without eval/checks.py the rows get nothing and the keys stay None."""
    try:
        from eval import checks
    except ImportError:
        log.info("eval/checks.py not present: checks_* figures stay null")
        return
    except Exception as exc:  # a broken checks module must not cost the run its other figures
        log.warning("eval/checks.py failed to import (%s: %s): checks_* figures stay null", type(exc).__name__, exc)
        return
    started = time.perf_counter()
    by_doc: dict[tuple[str, str], list[dict]] = {}
    for set_name, docs in sets.items():
        for doc in docs:
            try:
                by_doc[(set_name, doc.name)] = checks.generate(set_name, doc.pdf, doc.truth)
            except Exception as exc:  # a checks bug must not cost the whole run its other figures
                log.warning("checks for %s/%s not generated: %s: %s", set_name, doc.name, type(exc).__name__, exc)
    for row in rows:
        doc_checks = by_doc.get((row["set"], row["document"]))
        text = texts.get((row["tool"], row["set"], row["document"]))
        if not doc_checks or text is None:
            continue
        counts: dict[str, list[int]] = {}
        markup: dict[str, list[int]] = {}  # formulas as written (LaTeX); only a text with "$" can differ
        for check in doc_checks:
            passed = bool(checks.score(check, text))
            for form, ok in ((counts, passed), (markup, bool(checks.score(check, text, math=False))
                                                if "$" in text else passed)):
                c = form.setdefault(check.get("type", "?"), [0, 0])
                c[0] += ok
                c[1] += 1
        row["checks"], row["checks_markup"] = counts, markup
    log.info("unit checks: %d checks on %d documents, scored in %.1fs", sum(map(len, by_doc.values())),
             len(by_doc), time.perf_counter() - started)


# DocBank's token labels -> the canonical labels (ocr_resources.types.CANONICAL_LABELS) of a region that agrees
# with them. Where our label set has no exact counterpart, every label a faithful reader would give is
# accepted: DocBank's `footer` holds footnotes and page numbers (we have no footnote label: a page footer, or
# text); an abstract, an author line, a date are body text to us; a list is a list or text; a reference
# (a bibliography entry) is `reference` (CDLA's) or text/list; a section heading and the title are `title`.
DOCBANK_TO_OURS: dict[str, frozenset[str]] = {
    "paragraph": frozenset({"text"}), "abstract": frozenset({"text"}), "author": frozenset({"text"}),
    "date": frozenset({"text"}), "list": frozenset({"list", "text"}), "section": frozenset({"title"}),
    "title": frozenset({"title"}), "caption": frozenset({"caption"}), "equation": frozenset({"formula"}),
    "table": frozenset({"table"}), "figure": frozenset({"figure"}), "footer": frozenset({"footer", "text"}),
    "reference": frozenset({"reference", "text", "list"}),
}
NO_REGION = "(none)"  # a token whose centre no region holds


def region_label_at(box: tuple[float, float, float, float], regions: list[dict]) -> str:
    """The label of the region holding the centre of `box` (both in points, origin top-left): the smallest
    such region where regions nest or overlap; `NO_REGION` where none does."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    holding = [r for r in regions if r["x0"] <= cx <= r["x1"] and r["y0"] <= cy <= r["y1"]]
    if not holding:
        return NO_REGION
    return min(holding, key=lambda r: (r["x1"] - r["x0"]) * (r["y1"] - r["y0"]))["label"] or NO_REGION


def label_agreement_counts(tokens: list[tuple[str, str, tuple[float, float, float, float]]],
                           regions: list[dict]) -> dict[str, dict[str, int]]:
    """Per DocBank label: how many of its tokens the region holding them labels with each of our labels
    (a confusion row; `NO_REGION` for none). Tokens of labels outside `DOCBANK_TO_OURS` are left out."""
    counts: dict[str, dict[str, int]] = {}
    for _, label, box in tokens:
        if label not in DOCBANK_TO_OURS:
            continue
        ours = region_label_at(box, regions)
        row = counts.setdefault(label, {})
        row[ours] = row.get(ours, 0) + 1
    return counts


def label_agreement(counts: dict[str, dict[str, int]]) -> tuple[float | None, dict[str, float | None]]:
    """(overall agreement over every token, agreement per DocBank label) from `label_agreement_counts`."""
    agreed = {label: sum(n for ours, n in row.items() if ours in DOCBANK_TO_OURS[label])
              for label, row in counts.items()}
    totals = {label: sum(row.values()) for label, row in counts.items()}
    return (_share(sum(agreed.values()), sum(totals.values())),
            {label: _share(agreed[label], totals[label]) for label in sorted(counts)})


def _layout_label_figures(store_path: Path, rows: list[dict]) -> dict[str, dict[str, Any]]:
    """`layout_label_agreement` (+ by class, token counts, confusion) per half, over the docbank_digital
    pages this run scored: each DocBank token against the label of our region holding its centre."""
    from eval.ours import Results, container_key

    names = {r["document"] for r in rows if r["set"] == "docbank_digital" and r["tool"] == OURS}
    docs = [d for d in datasets.docbank_digital(quick=False) if d.name in names]
    out: dict[str, dict[str, Any]] = {REPORT: {}, TUNE: {}}
    if not docs:
        return out
    results, key = Results(store_path), container_key("docbank_digital")
    merged: dict[str, dict[str, dict[str, int]]] = {REPORT: {}, TUNE: {}}
    for doc in docs:
        regions = results.regions(key, doc.name)
        if any(r["x1"] > r["width_pt"] + 1 or r["y1"] > r["height_pt"] + 1 for r in regions):
            log.warning("layout agreement: %s has regions outside the page (not points?)", doc.name)
        # DocBank pages are one page each: page 1's regions
        counts = label_agreement_counts(datasets.docbank_tokens(doc), [r for r in regions if r["page_no"] == 1])
        half = merged[datasets.doc_split(doc)]
        for label, row in counts.items():
            for ours, n in row.items():
                half.setdefault(label, {})[ours] = half.get(label, {}).get(ours, 0) + n
    for half, counts in merged.items():
        if not counts:
            continue
        overall, by_class = label_agreement(counts)
        out[half] = {"layout_label_agreement": overall, "layout_label_agreement_by_class": by_class,
                     "layout_label_tokens_by_class": {k: sum(v.values()) for k, v in sorted(counts.items())},
                     "layout_label_confusion": counts}
    return out


def layout_figures(store_path: Path, rows: list[dict]) -> dict[str, dict[str, Any]]:
    """HOOK (layout figures, read from the pipeline's DuckDB while it exists), per half: `pages_losing_words`
    from eval/words_lost.py where present; `layout_label_agreement` (DocBank tokens against our regions'
    labels). `table_image_detection_recall` is scored per document (the table_images set), in `aggregate`."""
    out: dict[str, dict[str, Any]] = {REPORT: {}, TUNE: {}}
    try:
        for half, values in _layout_label_figures(store_path, rows).items():
            out[half].update(values)
    except Exception as exc:  # a bug here must not cost the run its other figures
        log.warning("layout_label_agreement failed: %s: %s", type(exc).__name__, exc)
    try:
        from eval.words_lost import pages_losing_words

        _, pages = pages_losing_words(store_path)
    except ImportError:
        return out
    except Exception as exc:
        log.warning("pages_losing_words failed: %s: %s", type(exc).__name__, exc)
        return out
    for half in (REPORT, TUNE):
        mine = [p for p in pages
                if datasets.split_of(datasets.source_of(str(p.get("document_id", "")).removesuffix(".pdf"))) == half]
        out[half]["pages_losing_words"] = len(mine)
        out[half]["pages_losing_words_pages"] = mine
    return out


# -- aggregation -----------------------------------------------------------------------------------------
def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(mean(values), 4) if values else None


def _share(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _pairs_share(rows: list[dict]) -> float | None:
    """Reading order over all paragraph pairs of a set (micro-average): a document with one pair of
    paragraphs does not weigh as much as one with a thousand."""
    ordered = sum(r["reading_order_pairs"][0] for r in rows)
    pairs = sum(r["reading_order_pairs"][1] for r in rows)
    return round(ordered / pairs, 4) if pairs else None


def _docbank_figures(rows: list[dict], form: str = "") -> tuple[float | None, float | None,
                                                                 dict[str, float | None]]:
    """(recall, precision, recall per label): micro-averaged over the set's words; form "_markup": of the text
    as written (`score_docbank`; a row without that form counts as its content figures)."""
    def total(key: str) -> float:
        return sum(r.get(key + form, r[key]) for r in rows)

    recall = _share(total("words_matched"), total("words_truth"))
    precision = _share(total("words_matched"), total("words_pred"))
    by_label = {}
    for label in datasets.DOCBANK_LABELS:
        got = sum(r.get("by_label" + form, r["by_label"]).get(label, [0, 0])[0] for r in rows)
        count = sum(r.get("by_label" + form, r["by_label"]).get(label, [0, 0])[1] for r in rows)
        by_label[label] = _share(got, count)
    return recall, precision, by_label


def aggregate(rows: list[dict[str, Any]], pages_per_second: float | None) -> dict[str, Any]:
    """One tool's overall figures from its per-document rows (None where it did not do that job)."""
    by_set: dict[str, list[dict]] = {}
    for r in rows:
        by_set.setdefault(r["set"], []).append(r)
    fig: dict[str, Any] = dict.fromkeys((*KEYS, *NEW_KEYS))
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
    if dr := by_set.get("drawn"):  # text drawn as graphics on digital pages (generated, eval/drawn.py)
        fig["drawn_text_ned"] = _mean([r["text_ned"] for r in dr])
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
    if ti := by_set.get("table_images"):  # every table image weighs the same (one table each)
        fig["table_image_detection_recall"] = _share(sum(r["detected"] for r in ti), sum(r["tables"] for r in ti))
        f1s = [f for r in ti for f in r["cell_f1"]]
        fig["table_image_cell_f1"] = _mean(f1s)  # over detected tables, as table_cell_f1
        fig["table_image_cell_f1_all"] = _mean([f or 0.0 for f in f1s])  # an undetected table counts 0
    if s := by_set.get("scanned"):
        fig["scanned_word_accuracy"] = _mean([r["word_accuracy"] for r in s])
        fig["scanned_word_recall"] = _mean([r["word_recall"] for r in s])
        fig["scanned_pages_per_second"] = round(pages_per_second, 3) if pages_per_second else None
    if sl := by_set.get("scanned_lowres"):
        fig["scanned_lowres_word_accuracy"] = _mean([r["word_accuracy"] for r in sl])
        fig["scanned_lowres_word_recall"] = _mean([r["word_recall"] for r in sl])
    if rc := by_set.get("receipts"):  # each receipt weighs the same
        recalls = [r["line_recall"] for r in rc if r["line_recall"] is not None]
        fig["receipts_line_recall"] = _mean(recalls)
        fig["receipts_min_line_recall"] = round(min(recalls), 4) if recalls else None
        fig["receipts_word_accuracy"] = _mean([r["word_accuracy"] for r in rc])
        fig["receipts_wer"] = _mean([r["wer"] for r in rc])
    if db := by_set.get("docbank_digital"):
        fig["docbank_word_recall"], fig["docbank_word_precision"], fig["docbank_word_recall_by_label"] = (
            _docbank_figures(db))
        (fig["docbank_word_recall_markup"], fig["docbank_word_precision_markup"],
         fig["docbank_word_recall_by_label_markup"]) = _docbank_figures(db, "_markup")
        math = [r["math"] for r in db if r.get("math")]  # ours only: the formula rows and $...$ spans
        if math:
            from eval.formulas import docbank_figures

            fig.update(docbank_figures(math))
    if dr := by_set.get("docbank_render"):
        (fig["docbank_render_word_recall"], fig["docbank_render_word_precision"],
         fig["docbank_render_word_recall_by_label"]) = _docbank_figures(dr)
        fig["docbank_render_word_recall_markup"], fig["docbank_render_word_precision_markup"], _ = (
            _docbank_figures(dr, "_markup"))
    fixtures = [r for name in FIXTURE_SETS for r in by_set.get(name, [])]
    if fixtures:  # every fixture table weighs the same; an undetected one counts 0
        fig["fixtures_cell_recall"] = _mean([v for r in fixtures for v in r["cell_recall"]])
        fig["fixtures_detection_recall"] = _share(sum(r["detected"] for r in fixtures),
                                                  sum(r["tables"] for r in fixtures))
        fig["fixtures_by_set"] = {
            name: {"cell_recall": _mean([v for r in by_set[name] for v in r["cell_recall"]]),
                   "detection_recall": _share(sum(r["detected"] for r in by_set[name]),
                                              sum(r["tables"] for r in by_set[name])),
                   "tables": sum(r["tables"] for r in by_set[name])}
            for name in FIXTURE_SETS if by_set.get(name)}
    teds_rows = {name: by_set[name] for name in TEDS_SETS if by_set.get(name)}
    if teds_rows:  # every truth table with a grid weighs the same; an undetected one counts 0
        fig["table_teds"] = _mean([v for rs in teds_rows.values() for r in rs for v in r["teds"]])
        fig["table_teds_structure"] = _mean([v for rs in teds_rows.values() for r in rs for v in r["teds_structure"]])
        fig["teds_by_set"] = {name: {"teds": _mean([v for r in rs for v in r["teds"]]),
                                     "teds_structure": _mean([v for r in rs for v in r["teds_structure"]]),
                                     "tables": sum(len(r["teds"]) for r in rs)} for name, rs in teds_rows.items()}
    checked = [r for r in rows if r.get("checks")]
    if checked:  # every check counts once
        totals = {k: [sum(r["checks"].get(k, [0, 0])[i] for r in checked) for i in (0, 1)]
                  for k in {k for r in checked for k in r["checks"]}}
        fig["checks_pass_rate"] = _share(sum(p for p, _ in totals.values()), sum(n for _, n in totals.values()))
        for k, (p, n) in totals.items():
            fig[f"checks_{k}_pass_rate"] = _share(p, n)
        fig["checks_count"] = sum(n for _, n in totals.values())
        markup = {k: [sum(r.get("checks_markup", r["checks"]).get(k, [0, 0])[i] for r in checked) for i in (0, 1)]
                  for k in totals}  # the same with formulas scored as written
        fig["checks_pass_rate_markup"] = _share(sum(p for p, _ in markup.values()), sum(n for _, n in markup.values()))
        for k, (p, n) in markup.items():
            fig[f"checks_{k}_pass_rate_markup"] = _share(p, n)
        fig["checks_by_set"] = {
            name: _share(sum(p for r in rs if r.get("checks") for p, _ in r["checks"].values()),
                         sum(n for r in rs if r.get("checks") for _, n in r["checks"].values()))
            for name, rs in by_set.items() if any(r.get("checks") for r in rs)}
    if prose := [r for r in rows if r.get("prose_table_pages") is not None]:
        fig["prose_pages_as_tables"] = sum(len(r["prose_table_pages"]) for r in prose)
        fig["prose_pages_as_tables_pages"] = [f"{r['set']}/{r['document']} p{p}" for r in prose
                                              for p in r["prose_table_pages"]]
    fig["nonchars"] = sum(r.get("nonchars") or 0 for r in rows) if rows else None
    fig["seconds_by_set"] = {name: round(sum(r["seconds"] for r in rs), 2) for name, rs in by_set.items()}
    return fig


def speed(pages: dict[str, int], seconds: dict[str, float]) -> dict[str, Any]:
    """Pages, timed seconds and pages per second per set (both halves of each set)."""
    pps = {name: round(pages[name] / seconds[name], 3) for name in pages if seconds.get(name)}
    digital = [name for name in DIGITAL_SPEED_SETS if name in pages]
    return {"pages_per_second_by_set": pps, "pages_by_set": pages,
            "timed_seconds_by_set": {k: round(v, 2) for k, v in seconds.items()},
            "digital_speed_sets": digital}


def _digital_pps(pages: dict[str, int], seconds: dict[str, float], run_sets: list[str]) -> float | None:
    """`digital_pages_per_second`: pages over seconds of the digital sets of this run together (docling,
    docbank_digital, the fixtures), only where the tool read every one of them (the same inputs as ours)."""
    wanted = [name for name in DIGITAL_SPEED_SETS if name in run_sets]
    if not wanted or any(name not in pages or not seconds.get(name) for name in wanted):
        return None
    return round(sum(pages[n] for n in wanted) / sum(seconds[n] for n in wanted), 3)


def figures(rows: list[dict], pps: float | None, pages: dict[str, int], seconds: dict[str, float],
            run_sets: list[str]) -> dict[str, Any]:
    """A tool's figures: the report half's at the top, the tune half's under `tune`, speed over both."""
    report = aggregate([r for r in rows if r["split"] == REPORT], pps)
    tune = aggregate([r for r in rows if r["split"] == TUNE], pps)
    fast = speed(pages, seconds)
    digital = _digital_pps(pages, seconds, run_sets)
    for half in (report, tune):
        half["digital_pages_per_second"] = digital
    return {**report, "split": REPORT, "tune": tune, **fast}


# -- the run ---------------------------------------------------------------------------------------------
LOADERS: dict[str, Callable[..., list[Doc]]] = {
    "docling": datasets.docling, "drawn": datasets.drawn, "twins": datasets.twins, "icdar": datasets.icdar,
    "table_images": datasets.table_images, "scanned": datasets.scanned, "scanned_lowres": datasets.scanned_lowres,
    "receipts": datasets.receipts, "docbank_digital": datasets.docbank_digital,
    "docbank_render": datasets.docbank_render, "tables_tabula": datasets.tables_tabula,
    "tables_camelot": datasets.tables_camelot}


def load_sets(names: list[str], quick: bool) -> dict[str, list[Doc]]:
    sets = {name: LOADERS[name](quick=quick) for name in names}
    return {k: v for k, v in sets.items() if v}


def _ours_output(results, set_name: str, doc: Doc) -> tuple[Output, str]:
    """What is scored of ours for a set, and the Markdown unit checks read."""
    from eval.ours import container_key

    key = container_key(set_name)
    md = results.markdown(key, doc)
    if set_name in ("docling", "drawn", "twins", "docbank_digital", "docbank_render"):
        return md, md.text or ""
    if set_name in TEDS_SETS or set_name == "table_images":
        return results.tables(key, doc), md.text or ""
    return results.page_text(key, doc), md.text or ""  # scanned, receipts: OCR words by position


PROSE_TABLE_SETS = ("docling", "docbank_digital", "docbank_render")  # sets whose truth says where tables are


def prose_table_pages(results, set_name: str, doc: Doc) -> list[int]:
    """Pages where the pipeline stored a table the truth does not have (`table_metrics.prose_table_pages`):
    docling's truth tables are its Markdown's (one document, no pages), DocBank's its tokens labelled table."""
    from eval.ours import container_key

    preds = results.tables(container_key(set_name), doc).tables or []
    if not preds:
        return []
    if set_name == "docling":
        truth = tm.from_markdown(doc.truth.read_text(encoding="utf-8"), 1)
        return tm.prose_table_pages(preds, tm.table_words([c.text for t in truth for c in t.cells]))
    tokens = [text for text, label, _ in datasets.docbank_tokens(doc) if label == "table"]
    return tm.prose_table_pages(preds, {1: tm.table_words(tokens)})  # a DocBank page is one page


def run_ours(sets: dict[str, list[Doc]], workdir: Path, profile: str) -> tuple[list[dict], float | None, dict]:
    """The pipeline over every set in one Dagster run, scored. Returns (rows, scanned pages/s, info); info
    carries the texts unit checks read, pages and stage seconds per set, and the layout figures."""
    from eval.ours import Results, run_pipeline

    run = run_pipeline(sets, workdir, profile)
    results = Results(run.store_path)
    rows, texts = [], {}
    for set_name, docs in sets.items():
        per_doc = run.set_seconds.get(set_name, 0.0) / max(1, len(docs))  # stage time is per container
        for doc in docs:
            out, md = _ours_output(results, set_name, doc)
            texts[(OURS, set_name, doc.name)] = md
            rows.append({"set": set_name, "document": doc.name, "split": datasets.doc_split(doc),
                         "tool": OURS, "seconds": round(per_doc, 3), "error": out.error,
                         **SCORERS[set_name](out, doc)})
            if set_name in PROSE_TABLE_SETS:
                rows[-1]["prose_table_pages"] = prose_table_pages(results, set_name, doc)
            if set_name == "docbank_digital":
                rows[-1]["math"] = _docbank_math(results, set_name, doc)
    pps = None
    if "scanned" in sets and run.set_seconds.get("scanned"):
        pps = run.set_pages.get("scanned", 0) / run.set_seconds["scanned"]
    info = {"run_id": run.run_id, "wall_seconds": round(run.seconds, 1),
            "stage_seconds_by_set": {k: round(v, 2) for k, v in run.set_seconds.items()},
            "pages_by_set": dict(run.set_pages), "texts": texts,
            "layout": layout_figures(run.store_path, rows)}
    return rows, pps, info


def _docbank_math(results, set_name: str, doc: Doc) -> dict[str, int] | None:
    """A DocBank page's math counts (eval.formulas.docbank_page_counts); None if they cannot be read."""
    from eval.formulas import docbank_page_counts
    from eval.ours import container_key

    try:
        return docbank_page_counts(results, container_key(set_name), doc)
    except Exception as exc:  # a bug here must not cost the run its other figures
        log.warning("docbank math counts for %s failed: %s: %s", doc.name, type(exc).__name__, exc)
        return None


def formula_figures(quick: bool) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The synthetic formula set (eval/formulas.py) typeset, read back and scored: (report half, tune half)
    figures; None without pdflatex (the reason is printed)."""
    from eval import formulas

    started = time.perf_counter()
    scored = formulas.score_synthetic(formulas.QUICK_PER_CLASS if quick else formulas.FULL_PER_CLASS)
    if scored is None:
        print("formulas: skipped, pdflatex not found (make eval-system-deps installs texlive-latex-base)")
        return None
    log.info("formulas: %d synthetic formulas scored in %.1fs", len(scored), time.perf_counter() - started)
    return formulas.summarize(scored, REPORT), formulas.summarize(scored, TUNE)


def run_peer(name: str, sets: dict[str, list[Doc]]) -> tuple[list[dict], float | None, dict]:
    """One peer over every set it does, one set at a time, timed while nothing else of the eval runs.
    Returns (rows, scanned pages/s, info with the texts unit checks read, pages and seconds per set)."""
    rows, texts, pages_by_set, seconds_by_set = [], {}, {}, {}
    scanned_pps = None
    for set_name, job in PEER_JOBS[name].items():
        if name == "tesseract" and not peers.tesseract_available():
            log.warning("tesseract not installed (make system-deps): its figures stay null")
            continue
        docs = sets.get(set_name, [])
        if not docs:
            continue

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
        pages = sum(datasets.page_count(doc.pdf) for doc in docs)
        pages_by_set[set_name], seconds_by_set[set_name] = pages, wall
        for doc, (out, seconds) in zip(docs, done, strict=True):
            texts[(name, set_name, doc.name)] = checks_text(out)
            rows.append({"set": set_name, "document": doc.name, "split": datasets.doc_split(doc),
                         "tool": name, "seconds": round(seconds, 3), "error": out.error,
                         **SCORERS[set_name](out, doc)})
        if set_name == "scanned":
            scanned_pps = pages / wall if wall else None
    return rows, scanned_pps, {"texts": texts, "pages_by_set": pages_by_set, "seconds_by_set": seconds_by_set}


def wins_on_pages(rows: list[dict], a: str, b: str, metric: str = "word_accuracy") -> dict[str, int] | None:
    ours = {r["document"]: r[metric] for r in rows if r["tool"] == a and r["set"] == "scanned"}
    theirs = {r["document"]: r[metric] for r in rows if r["tool"] == b and r["set"] == "scanned"}
    common = set(ours) & set(theirs)
    if not common:
        return None
    return {"pages": len(common), "at_least_as_good": sum(ours[d] >= theirs[d] for d in common)}


# -- the printed table -----------------------------------------------------------------------------------
PRINTED = (*KEYS[:9], "table_cell_f1_all", *KEYS[9:11], "scanned_lowres_word_accuracy", "drawn_text_ned",
           "receipts_line_recall",
           "receipts_min_line_recall",
           "receipts_word_accuracy", "receipts_wer", "docbank_word_recall", "docbank_word_precision",
           *(f"docbank_word_recall_by_label.{label}" for label in datasets.DOCBANK_LABELS),
           "docbank_word_recall_markup", "docbank_word_precision_markup",
           "docbank_render_word_recall", "docbank_render_word_precision",
           *(f"docbank_render_word_recall_by_label.{label}" for label in datasets.DOCBANK_LABELS),
           "docbank_render_word_recall_markup", "docbank_render_word_precision_markup",
           "fixtures_cell_recall", "fixtures_detection_recall",
           *(f"fixtures_by_set.{name}.cell_recall" for name in FIXTURE_SETS),
           "table_teds", "table_teds_structure",
           *(f"teds_by_set.{name}.{k}" for name in TEDS_SETS for k in ("teds", "teds_structure")),
           "checks_pass_rate", *(f"checks_{k}_pass_rate" for k in CHECK_TYPES),
           "checks_pass_rate_markup", "checks_present_pass_rate_markup", "checks_order_pass_rate_markup",
           "pages_losing_words", "prose_pages_as_tables", "table_image_detection_recall", "table_image_cell_f1",
           "layout_label_agreement",
           *(f"layout_label_agreement_by_class.{label}" for label in DOCBANK_TO_OURS),
           "formulas_display_match", "formulas_inline_match", "formulas_simple_match", "formulas_latex_match",
           *(f"formulas_{cls}_match" for cls in FORMULA_CLASSES),
           "docbank_equation_in_math", "docbank_paragraph_outside_math", "nonchars")
SPEED_PRINTED = ("digital_pages_per_second", "scanned_pages_per_second",
                 *(f"pages_per_second_by_set.{name}" for name in SETS),
                 *(f"timed_seconds_by_set.{name}" for name in SETS))


def _label(key: str) -> str:
    """The printed name of a figure: nested ones indented under their parent."""
    parts = key.split(".")
    if len(parts) == 1:
        return key + (" (lower is better)" if key in LOWER_IS_BETTER else "")
    names = {"docbank_word_recall_by_label": "docbank recall", "docbank_render_word_recall_by_label":
             "render recall", "fixtures_by_set": "cell recall", "pages_per_second_by_set": "pages/s",
             "timed_seconds_by_set": "seconds timed", "layout_label_agreement_by_class": "label agreement"}
    if parts[0] == "teds_by_set":
        return f"  {'teds structure' if parts[2] == 'teds_structure' else 'teds'}: {parts[1]}"
    return f"  {names.get(parts[0], parts[0])}: {parts[1]}"


def _get(fig: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(fig, dict):
            return None
        fig = fig.get(part)
    return fig


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def print_table(report: dict[str, Any]) -> None:
    tools = [OURS, *report["peers"]]
    figs = {OURS: report, **report["peers"]}
    width = 13
    print()
    print("report half / tune half (documents split by a stable hash of their name; '-': not measured)")
    print(f"{'metric':<38}" + "".join(f"{t[:width]:>{width + 1}}" for t in tools))
    for key in PRINTED:
        cells = [(_get(figs[t], key), _get(figs[t].get("tune") or {}, key)) for t in tools]
        if all(a is None and b is None for a, b in cells):
            continue
        print(f"{_label(key)[:38]:<38}" + "".join(f"{_fmt(a) + '/' + _fmt(b):>{width + 1}}" for a, b in cells))
    print("speed over both halves of each set, each tool timed while nothing else of the eval runs:")
    for key in SPEED_PRINTED:
        cells = [_get(figs[t], key) for t in tools]
        if all(v is None for v in cells):
            continue
        print(f"{_label(key)[:38]:<38}" + "".join(f"{_fmt(v):>{width + 1}}" for v in cells))
    print("(every figure but those marked 'lower is better': higher is better; ours' seconds: the pipeline's "
          "stage seconds per set)")
    if any(name in report.get("sets", {}) for name in ("scanned", "receipts")):
        print("note: scanned/receipts word accuracy is by position (words on truth lines) for tools that give word "
              "boxes (ours, tesseract), else 1 - WER of the text in its order (pymupdf4llm)")
    if any(name in report.get("sets", {}) for name in FIXTURE_SETS):
        print(f"note: {SILVER_NOTE}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a fixed subset of every set (< 5 minutes)")
    parser.add_argument("--only", default=",".join((*SETS, FORMULAS)),
                        help=f"comma-separated sets, of {','.join((*SETS, FORMULAS))}")
    parser.add_argument("--peers", default=",".join(peers.ALL_PEERS),
                        help="comma-separated peers to run ('' for none)")
    parser.add_argument("--profile", default="offline", help="the pipeline's model profile (OCR_PROFILE)")
    parser.add_argument("--no-ours", action="store_true", help="score the peers only")
    parser.add_argument("--no-checks", action="store_true", help="leave the unit checks out")
    parser.add_argument("--workdir", help="keep the pipeline's data directory here (default: a temp dir)")
    parser.add_argument("--out", default=str(RESULTS / "latest.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[eval %(asctime)s] %(message)s", datefmt="%H:%M:%S")
    warnings.filterwarnings("ignore")  # the peers' own deprecation chatter; scores are what this prints

    names = [s for s in args.only.split(",") if s]
    unknown = set(names) - {*SETS, FORMULAS}
    if unknown:
        parser.error(f"unknown sets {sorted(unknown)}; sets are {(*SETS, FORMULAS)}")
    peer_names = [p for p in args.peers.split(",") if p]
    for name in peer_names:
        if name not in PEER_JOBS:
            parser.error(f"unknown peer {name!r}; peers are {list(PEER_JOBS)}")
    started = time.perf_counter()
    sets = load_sets([n for n in names if n != FORMULAS], args.quick)
    if not sets and FORMULAS not in names:
        print(f"no evaluation data under {datasets.SHARED}", file=sys.stderr)
        return 1
    log.info("sets: %s", {k: len(v) for k, v in sets.items()})

    rows: list[dict] = []
    texts: dict[tuple[str, str, str], str] = {}
    report: dict[str, Any] = {"mode": "quick" if args.quick else "full", "profile": args.profile}
    run_sets = list(sets)
    ours_info: dict[str, Any] | None = None
    if not args.no_ours and sets:
        with tempfile.TemporaryDirectory(prefix="ocr-eval-") as tmp:
            workdir = Path(args.workdir) if args.workdir else Path(tmp)
            log.info("pipeline: one Dagster run over %s in %s", list(sets), workdir)
            ours_rows, ours_pps, ours_info = run_ours(sets, workdir, args.profile)
        rows += ours_rows
        texts.update(ours_info.pop("texts"))
    peer_runs: dict[str, tuple[list[dict], float | None, dict]] = {}
    for name in peer_names:
        if not set(PEER_JOBS[name]) & set(sets):
            continue
        log.info("peer: %s", name)
        peer_rows, pps, info = run_peer(name, sets)
        rows += peer_rows
        texts.update(info.pop("texts"))
        peer_runs[name] = (peer_rows, pps, info)
    if not args.no_checks:  # after every tool has been timed: scoring checks is not part of anyone's speed
        score_unit_checks(rows, texts, sets)

    if ours_info is not None:
        report.update(figures([r for r in rows if r["tool"] == OURS], ours_pps, ours_info["pages_by_set"],
                              ours_info["stage_seconds_by_set"], run_sets))
        for half, values in ours_info.pop("layout").items():
            (report if half == REPORT else report["tune"]).update(values)
        report["pipeline"] = ours_info
    else:
        report.update(dict.fromkeys((*KEYS, *NEW_KEYS)))
        report["split"] = REPORT
    report["peers"] = {name: figures([r for r in rows if r["tool"] == name], pps, info["pages_by_set"],
                                     info["seconds_by_set"], run_sets)
                       for name, (_, pps, info) in peer_runs.items()}
    if FORMULAS in names and not args.no_ours:
        report.setdefault("tune", {})
        found = formula_figures(args.quick)
        if found is not None:
            report.update(found[0])
            report["tune"].update(found[1])
        report["formulas_peers"] = FORMULAS_PEERS_NOTE
    report["scanned_pages_at_least_tesseract"] = wins_on_pages(
        [r for r in rows if r["split"] == REPORT], OURS, "tesseract")
    if "tune" in report:
        report["tune"]["scanned_pages_at_least_tesseract"] = wins_on_pages(
            [r for r in rows if r["split"] == TUNE], OURS, "tesseract")
    report["sets"] = {name: {"documents": len(docs), REPORT: sum(datasets.doc_split(d) == REPORT for d in docs),
                             TUNE: sum(datasets.doc_split(d) == TUNE for d in docs)}
                      for name, docs in sets.items()}
    report["split_rule"] = ("sha1(document name, UTF-8): first byte even -> report, odd -> tune "
                            "(eval/datasets.py split_of)")
    report["speed_scope"] = "pages/s over both halves of each set; each tool timed while nothing else of the eval runs"
    if any(name in sets for name in FIXTURE_SETS):
        report["silver"] = SILVER_NOTE
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
