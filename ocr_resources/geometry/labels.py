"""A layout model's labels checked against what the page shows before they decide anything.

The offline layout model (CDLA, trained on Chinese documents) calls a scanned receipt, a screenshot of text
or a page of questions one big "figure"; a figure's words would then stand behind an image marker. Here a
figure whose area is mostly text lines is text. Each override keeps the model's label and says why, so the
decision is recorded (`regions.label_reason`, `texts.label_reason`). Words outside every region are not
decided here: they form blocks (and, where the layout stage has the words, regions) of their own
(`geometry.page.loose_groups`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ocr_resources.geometry.boxes import UPRIGHT, turned_box, union
from ocr_resources.geometry.lines import Line, lines
from ocr_resources.geometry.paragraphs import code_lines, fixed_pitch, is_tick
from ocr_resources.tables.detect import RELABEL, scanned_verdict
from ocr_resources.tables.rules import Rule
from ocr_resources.types import Box, Word

# A figure is text when, over the extent of its text (the box round its lines: a photographed receipt's
# background is not counted), the lines cover at least MIN_AREA_SHARE of the area (line boxes: the words and
# the spaces between them) and their rows at least MIN_ROWS_SHARE of the height, with MIN_LINES lines at
# least. Measured on the CDLA figure regions of the docling corpus and of 40 SROIE receipts (12 to tune, 28
# held out): receipts 0.19-0.40 of the area and 0.49-0.88 of the height; diagrams full of labels (redp5110's,
# a Korean flow chart) under one bar or the other (0.12-0.23, 0.46-0.58), but for one flow chart at 0.21 and
# 0.50; charts and drawings under 0.12 and 0.23; two pages of text the model took for a picture (0.53, 0.58
# and over) pass, as they should. The receipts under these bars fill most of their page and are read as text
# by the page-share rule (`geometry.page.PAGE_FIGURE`). A figure whose lines are mostly one or two numbers in at
# most two columns (a chart's tick labels) is a chart whatever its cover: a bar chart's value labels beside its
# ticks made rows as wide as the chart (`_axis_like`; a table of figures has more columns, and is read as text).
MIN_AREA_SHARE = 0.2
# A figure is text too where it holds a listing: at least LISTING_SHARE of its lines (MIN_LINES at least) in a
# fixed-pitch font, LISTING_CHARS characters a line on average, their rows over MIN_ROWS_SHARE of its height. Code
# is short lines over white (a full-page numbered listing: 31 % of its area), under the area bar above; a
# diagram's labels in typewriter type are shorter and scattered.
LISTING_SHARE, LISTING_CHARS = 2 / 3, 12
LISTING = "figure holds a listing"  # the reason such a figure is text (`geometry.page.compose` reads it as code)
MIN_ROWS_SHARE = 0.5
MIN_LINES = 5
OUTSIDE = "words outside every region"
# A "formula" on a scan is written as an image marker (OCR's glyphs of math are soup), so a paragraph the model
# took for one would be lost: it is prose when at least PROSE_WORDS of its OCR words are plain words of three
# letters or more, and they make at least PROSE_SHARE of its words (OCR of a formula gives symbols, single
# letters and digits, and at most a "where" or an "exp").
PROSE_WORDS = 8
PROSE_SHARE = 0.6


@dataclass(frozen=True)
class LabelDecision:
    label: str  # the label that decides what happens to the region
    reason: str | None = None  # why it is not the model's; None when the model's label stands


def text_cover(region: Box, region_lines: list[Line]) -> tuple[float, float]:
    """(share of the area its text lines cover, share of the height their rows cover), over the extent of
    the lines inside `region`."""
    if not region_lines:
        return 0.0, 0.0
    extent = union(ln.box for ln in region_lines)
    region = Box(max(region.x0, extent.x0), max(region.y0, extent.y0), min(region.x1, extent.x1),
                 min(region.y1, extent.y1))
    if region.area <= 0:
        return 0.0, 0.0
    area = sum(ln.box.intersection(region) for ln in region_lines)
    spans = sorted((max(ln.box.y0, region.y0), min(ln.box.y1, region.y1)) for ln in region_lines)
    covered, top, bottom = 0.0, None, None
    for y0, y1 in spans:  # union of the rows' vertical spans
        if top is None or y0 > bottom:
            covered += 0.0 if top is None else bottom - top
            top, bottom = y0, y1
        else:
            bottom = max(bottom, y1)
    covered += bottom - top
    return area / region.area, max(0.0, covered) / region.height if region.height > 0 else 0.0


def _upright(region: Box, words: list[Word]) -> tuple[Box, list[Word]]:
    """A region whose words mostly run turned (`Word.angle`: a sideways table, a page of turned text) with
    its words, in their own orientation: its rows of text are then measured across its lines, not along."""
    angles = [w.angle for w in words if w.angle in UPRIGHT]
    if len(angles) * 2 <= len(words):
        return region, words
    angle = max(sorted(set(angles)), key=angles.count)
    turn = UPRIGHT[angle][0]
    return turned_box(region, turn), [replace(w, box=turned_box(w.box, turn), angle=0) for w in words]


def _axis_like(region_lines: list[Line]) -> bool:
    """Mostly lines of a number or two, in at most two columns: a chart's axis (its ticks down one edge, a bar's
    value level with some). A table of figures has three columns or more of them."""
    numbers = [ln for ln in region_lines if len(ln.words) <= 2 and all(is_tick(w.text) for w in ln.words)]
    if 2 * len(numbers) < len(region_lines):
        return False
    height = sorted(ln.height for ln in numbers)[len(numbers) // 2]
    edges = sorted(ln.box.x1 for ln in numbers)  # (numbers are set flush right)
    columns, members = 0, 1
    for a, b in zip(edges, edges[1:], strict=False):
        if b - a > 2 * height:
            columns += members >= 3
            members = 0
        members += 1
    columns += members >= 3
    return columns <= 2


def check_labels(regions: list[Box], labels: list[str], owned: list[list[Word]],
                 ocr_words: list[Word] | None = None, rules: list[Rule] = ()) -> list[LabelDecision]:
    """The decided label of each region, given the words each one holds (`owned`, as `geometry.page.assign`
    gives them: a word goes to the innermost region). A figure whose area is mostly text lines, or that holds a
    listing, is text.
    `ocr_words`: all the words of a page without a text layer, read after the layout stage ran; a figure
    whose OCR words form a grid is then a table, and so is a region labelled otherwise that holds the page's
    whole content where they do (a table image; `tables.detect.scanned_verdict`, which the tables
    stage asks too), before it could be taken for text lines; a table whose OCR words are prose or make one
    column (by them and the page's ruling lines, `rules`), and a formula whose OCR words are prose, is text."""
    out: list[LabelDecision] = []
    for region, label, words in zip(regions, labels, owned, strict=True):
        if label in RELABEL and words and ocr_words:
            ok, why = scanned_verdict(ocr_words, region, label)
            if ok:
                out.append(LabelDecision("table", why))
                continue
        if label == "table" and words and ocr_words:
            ok, why = scanned_verdict(ocr_words, region, label, rules=rules)
            if not ok:  # prose the model took for a table (the tables stage asks the same)
                out.append(LabelDecision("text", why))
                continue
        if label == "formula" and words and ocr_words:
            plain = sum(1 for w in words if len(w.text) >= 3 and w.text.strip(".,;:()").isalpha())
            if plain >= PROSE_WORDS and plain >= PROSE_SHARE * len(words):
                out.append(LabelDecision("text", f"formula reads as prose ({plain} of {len(words)} OCR words "
                                                 "are plain words)"))
                continue
        if label == "figure" and words:
            upright_region, upright_words = _upright(region, words)
            region_lines = lines(upright_words)
            area, rows = text_cover(upright_region, region_lines)
            if len(region_lines) >= MIN_LINES and area >= MIN_AREA_SHARE and rows >= MIN_ROWS_SHARE \
                    and not _axis_like(region_lines):
                out.append(LabelDecision("text", f"figure mostly text lines ({len(region_lines)} lines over "
                                                 f"{area:.0%} of their extent's area, {rows:.0%} of its height)"))
                continue
            code = [ln for ln, is_code in zip(region_lines, code_lines(region_lines), strict=True) if is_code]
            source = [ln for ln in code if fixed_pitch(ln)]  # (not its line numbers)
            if len(code) >= MIN_LINES and len(code) >= LISTING_SHARE * len(region_lines) and rows >= MIN_ROWS_SHARE \
                    and sum(len(ln.text) for ln in source) >= LISTING_CHARS * len(source) > 0:
                out.append(LabelDecision("text", f"{LISTING} ({len(code)} of {len(region_lines)} lines in a "
                                                 f"fixed-pitch font, {rows:.0%} of its height)"))
                continue
        out.append(LabelDecision(label))
    return out
