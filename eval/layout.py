"""Layout figures per layout engine: each engine's raw regions (before the pipeline checks any label) scored
against DocBank's labelled tokens and against the docling truth's blocks, per class, with pages/s.

    python -m eval.layout [--engines cdla,doclaynet-yolo] [--sets docbank_digital,docling] [--quick]
                          [--half report] [--out /tmp/layout.json]

An engine is a profile name (`offline`, `offline-doclaynet-agpl`, a YAML path) or an alias (`cdla`,
`doclaynet-yolo`); its `layout` role is built as the pipeline builds it. Pages are rendered at the pipeline's
dpi and the regions brought back to points.
- DocBank (`docbank_digital`): every token against the label of the region holding its centre
  (`eval.run.label_agreement_counts`, the same rule as `layout_label_agreement` in `make eval`).
- docling: the truth Markdown's blocks (heading, paragraph, list item, table, formula) matched to the page's
  text-layer words by their text, in reading order; each matched word against the label of the region holding
  it. The truth keeps no boxes and no captions/headers apart from paragraphs, so a paragraph accepts text,
  caption, list and reference.
Timing is the detector's alone (rendering left out), on this machine's CPU threads."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any

from eval import datasets
from eval.datasets import Doc
from eval.run import NO_REGION, label_agreement, label_agreement_counts, region_label_at

log = logging.getLogger(__name__)

ALIASES = {"cdla": "offline", "doclaynet-yolo": "offline-doclaynet-agpl"}
DPI = 144  # ocr_resources.resources: the pipeline's default render resolution
SETS = ("docbank_digital", "docling")
# docling truth block kinds -> canonical labels that agree with them
DOCLING_TO_OURS: dict[str, frozenset[str]] = {
    "section": frozenset({"title"}),
    "paragraph": frozenset({"text", "caption", "list", "reference"}),
    "list": frozenset({"list", "text"}),
    "table": frozenset({"table"}),
    "formula": frozenset({"formula"}),
}
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_TOKEN = re.compile(r"[^\w]+", re.UNICODE)


def available_engines() -> list[str]:
    """The layout engines this install can run offline: CDLA always; the DocLayNet export with its extra; the
    transformers profile's checkpoint where it and torch are already here (never fetched for an eval)."""
    from ocr_resources.engines.yolo_layout import bundled_weights

    names = ["cdla"] + (["doclaynet-yolo"] if bundled_weights() is not None else [])
    try:
        import torch  # noqa: F401
        from huggingface_hub import snapshot_download

        from ocr_resources.profiles import load_profile

        cfg = load_profile("transformers")["layout"]
        model = cfg.get("model", "")
        if Path(model).is_dir() or snapshot_download(model, revision=cfg.get("revision", "main"),
                                                     local_files_only=True):
            names.append("transformers")
    except Exception:  # not installed, or not in the local cache: left out
        pass
    return names


def build_engine(name: str):
    """The `layout` engine of profile `name` (or an alias), built as the pipeline builds it."""
    from ocr_resources.engines import engine_class
    from ocr_resources.profiles import load_profile
    from ocr_resources.resources import ModelResource

    cfg = load_profile(ALIASES.get(name, name))["layout"]
    settings = ModelResource(role="layout", **cfg).settings()
    return engine_class("layout", settings.engine)(settings)


def render_pages(pdf: Path, dpi: int = DPI):
    """(image, scale px/pt, words in points or None) per page; words from the text layer as the pipeline
    reads them (ocr_resources.pipeline.render)."""
    import pypdfium2

    from ocr_resources.pipeline.render import display_matrix, text_layer_words

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        for page in doc:
            scale = dpi / 72
            image = page.render(scale=scale).to_pil().convert("RGB")
            textpage = page.get_textpage()
            words = [(w[0], (w[1], w[2], w[3], w[4])) for w in text_layer_words(textpage, display_matrix(page))]
            textpage.close()
            yield image, scale, words
            page.close()
    finally:
        doc.close()


def detect_regions(engine, image, scale: float) -> tuple[list[dict], float]:
    """The engine's regions on one page, in points (origin top-left), and the seconds it took."""
    started = time.perf_counter()
    found = engine.detect([engine.prepare(image)])[0]
    seconds = time.perf_counter() - started
    return [{"x0": r.box.x0 / scale, "y0": r.box.y0 / scale, "x1": r.box.x1 / scale, "y1": r.box.y1 / scale,
             "label": r.label} for r in found], seconds


def _norm(token: str) -> str:
    return _TOKEN.sub("", token).lower()


def docling_blocks(markdown: str) -> list[tuple[str, list[str]]]:
    """The truth's blocks as (kind, normalised words), in reading order. Pictures carry no words; code
    blocks are left out (no layout class of ours or DocLayNet's is `code`)."""
    blocks: list[tuple[str, list[str]]] = []
    in_code = in_formula = False
    for chunk in re.split(r"\n\s*\n", markdown):
        text = chunk.strip()
        if not text:
            continue
        if in_code or text.startswith("```"):
            in_code = (text.count("```") % 2 == 1) != in_code
            continue
        if in_formula or text.startswith("$$"):
            kind = "formula"
            in_formula = (text.count("$$") % 2 == 1) != in_formula
        elif text.startswith("<!--"):
            continue
        elif text.startswith("#"):
            kind = "section"
        elif text.startswith("|"):
            kind = "table"
        elif all(_LIST_ITEM.match(line) for line in text.splitlines() if line.strip()):
            kind = "list"
        else:
            kind = "paragraph"
        words = [n for n in (_norm(t) for t in text.replace("|", " ").split()) if n]
        blocks.append((kind, words))
    return blocks


def match_words(blocks: list[tuple[str, list[str]]], page_words: list[tuple[int, str, tuple]]
                ) -> list[tuple[str, int, tuple]]:
    """(kind, page index, box) for each truth word found among the text-layer words: the first unused word
    of the same text at or after the last match (reading order), else the first unused one anywhere."""
    positions: dict[str, list[int]] = {}
    for i, (_, text, _) in enumerate(page_words):
        positions.setdefault(text, []).append(i)
    used: set[int] = set()
    cursor = 0
    out = []
    for kind, words in blocks:
        for word in words:
            candidates = [i for i in positions.get(word, ()) if i not in used]
            if not candidates:
                continue
            ahead = [i for i in candidates if i >= cursor]
            pick = ahead[0] if ahead else candidates[0]
            used.add(pick)
            cursor = pick
            page, _, box = page_words[pick]
            out.append((kind, page, box))
    return out


def docling_counts(matched: list[tuple[str, int, tuple]], regions: list[list[dict]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for kind, page, box in matched:
        ours = region_label_at(box, regions[page])
        row = counts.setdefault(kind, {})
        row[ours] = row.get(ours, 0) + 1
    return counts


def docling_agreement(counts: dict[str, dict[str, int]]) -> tuple[float | None, dict[str, float | None]]:
    agreed = {k: sum(n for ours, n in row.items() if ours in DOCLING_TO_OURS[k]) for k, row in counts.items()}
    totals = {k: sum(row.values()) for k, row in counts.items()}
    share = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
    return share(sum(agreed.values()), sum(totals.values())), {k: share(agreed[k], totals[k]) for k in sorted(counts)}


def _merge(into: dict[str, dict[str, int]], counts: dict[str, dict[str, int]]) -> None:
    for label, row in counts.items():
        for ours, n in row.items():
            into.setdefault(label, {})[ours] = into.setdefault(label, {}).get(ours, 0) + n


def score_engines(names: list[str], docs_by_set: dict[str, list[Doc]]) -> dict[str, dict[str, Any]]:
    """Per engine, per set, per half: agreement overall and per class, token counts, confusion, pages, pages/s.
    Every page is rendered once and handed to the engines in turn, so a busy machine slows them alike."""
    engines = {name: build_engine(name) for name in names}
    out: dict[str, dict[str, Any]] = {
        name: {"identity": {"engine": e.identity.engine, "model_id": e.identity.model_id,
                            "revision": e.identity.revision, "params": e.identity.params}}
        for name, e in engines.items()}
    for set_name, docs in docs_by_set.items():
        merged: dict[str, dict[str, dict[str, dict[str, int]]]] = {name: {} for name in engines}
        timing: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
        for doc in docs:
            half = datasets.doc_split(doc)
            pages_regions: dict[str, list[list[dict]]] = {name: [] for name in engines}
            page_words = []
            for page_index, (image, scale, words) in enumerate(render_pages(doc.pdf)):
                page_words.extend((page_index, _norm(text), box) for text, box in words)
                for name, engine in engines.items():
                    regions, seconds = detect_regions(engine, image, scale)
                    pages_regions[name].append(regions)
                    timing[name].setdefault(half, []).append(seconds)
            tokens = datasets.docbank_tokens(doc) if set_name == "docbank_digital" else None
            matched = (None if tokens is not None else
                       match_words(docling_blocks(doc.truth.read_text(encoding="utf-8")),
                                   [w for w in page_words if w[1]]))
            for name in engines:
                counts = (label_agreement_counts(tokens, pages_regions[name][0]) if tokens is not None
                          else docling_counts(matched, pages_regions[name]))
                _merge(merged[name].setdefault(half, {}), counts)
        for name in engines:
            for half, counts in merged[name].items():
                overall, by_class = (label_agreement(counts) if set_name == "docbank_digital"
                                     else docling_agreement(counts))
                seconds = timing[name].get(half, [])
                out[name].setdefault(set_name, {})[half] = {
                    "agreement": overall, "agreement_by_class": by_class,
                    "tokens_by_class": {k: sum(v.values()) for k, v in sorted(counts.items())},
                    "unlabelled_by_class": {k: round(v.get(NO_REGION, 0) / max(1, sum(v.values())), 4)
                                            for k, v in sorted(counts.items())},
                    "confusion": counts, "pages": len(seconds),
                    "pages_per_s": round(len(seconds) / sum(seconds), 3) if seconds and sum(seconds) else None,
                }
    return out


def markdown_table(results: dict[str, dict[str, Any]], set_name: str, half: str) -> str:
    """One row per class, one column per engine: agreement (tokens); then overall and pages/s."""
    engines = [e for e in results if set_name in results[e] and half in results[e][set_name]]
    if not engines:
        return ""
    classes = sorted({c for e in engines for c in results[e][set_name][half]["agreement_by_class"]})
    lines = [f"| {set_name} ({half} half) | " + " | ".join(engines) + " |",
             "| --- | " + " | ".join("---" for _ in engines) + " |"]
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    for c in classes:
        tokens = max(results[e][set_name][half]["tokens_by_class"].get(c, 0) for e in engines)
        lines.append(f"| {c} ({tokens} tokens) | "
                     + " | ".join(fmt(results[e][set_name][half]["agreement_by_class"].get(c)) for e in engines)
                     + " |")
    lines.append("| **all tokens** | " + " | ".join(fmt(results[e][set_name][half]["agreement"]) for e in engines)
                 + " |")
    lines.append("| pages/s | " + " | ".join(fmt(results[e][set_name][half]["pages_per_s"]) for e in engines)
                 + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.layout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="available",
                        help="comma-separated profiles or aliases (cdla, doclaynet-yolo); `available`: every "
                             "layout engine installed here (what `make eval` runs)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of {', '.join(SETS)}")
    parser.add_argument("--half", choices=("report", "tune", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="the fixed --quick subsets of eval.run")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    docs_by_set = {}
    for set_name in args.sets.split(","):
        if set_name not in SETS:
            parser.error(f"unknown set {set_name!r}")
        docs = getattr(datasets, set_name)(quick=args.quick)
        if args.half != "both":
            docs = [d for d in docs if datasets.doc_split(d) == args.half]
        docs_by_set[set_name] = docs
    names = available_engines() if args.engines == "available" else args.engines.split(",")
    started = time.perf_counter()
    results = score_engines(names, docs_by_set)
    log.info("%s scored in %.0fs", ", ".join(names), time.perf_counter() - started)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, sort_keys=True))
    for set_name in docs_by_set:
        for half in ("report", "tune"):
            table = markdown_table(results, set_name, half)
            if table:
                print(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
