"""A layout model's labels checked against what the page shows before they decide anything.

The offline layout model (CDLA, trained on Chinese documents) calls a scanned receipt, a screenshot of text
or a page of questions one big "figure"; a figure's words would then stand behind an image marker. Here a
figure whose area is mostly text lines is text. Each override keeps the model's label and says why, so the
decision is recorded (`regions.label_reason`, `texts.label_reason`). Words outside every region are not
decided here: they form blocks (and, where the layout stage has the words, regions) of their own
(`geometry.page.loose_groups`)."""

from __future__ import annotations

from dataclasses import dataclass

from ocr_resources.geometry.lines import Line, lines
from ocr_resources.types import Box, Word

# A figure is text when its lines cover at least this share of its area (line boxes: the words and the
# spaces between them) and their rows at least MIN_ROWS_SHARE of its height, with MIN_LINES lines at least.
# Measured on the figure regions of 12 SROIE receipts and the docling corpus (CDLA labels): receipts 0.18-0.26
# of the area and 0.45-0.70 of the height; diagrams full of labels (redp5110, a Korean flow chart) 0.17-0.27
# and 0.41-0.46; photos and charts under 0.06 and 0.21. Receipts under these bars fill most of their page
# and are read as text by the page-share rule (`geometry.page.PAGE_FIGURE`).
MIN_AREA_SHARE = 0.2
MIN_ROWS_SHARE = 0.5
MIN_LINES = 5
OUTSIDE = "words outside every region"


@dataclass(frozen=True)
class LabelDecision:
    label: str  # the label that decides what happens to the region
    reason: str | None = None  # why it is not the model's; None when the model's label stands


def text_cover(region: Box, region_lines: list[Line]) -> tuple[float, float]:
    """(share of the region's area its text lines cover, share of its height their rows cover)."""
    if not region_lines or region.area <= 0:
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


def check_labels(regions: list[Box], labels: list[str], owned: list[list[Word]]) -> list[LabelDecision]:
    """The decided label of each region, given the words each one holds (`owned`, as `geometry.page.assign`
    gives them: a word goes to the innermost region). A figure whose area is mostly text lines is text."""
    out: list[LabelDecision] = []
    for region, label, words in zip(regions, labels, owned, strict=True):
        if label == "figure" and words:
            region_lines = lines(words)
            area, rows = text_cover(region, region_lines)
            if len(region_lines) >= MIN_LINES and area >= MIN_AREA_SHARE and rows >= MIN_ROWS_SHARE:
                out.append(LabelDecision("text", f"figure mostly text lines ({len(region_lines)} lines over "
                                                 f"{area:.0%} of its area, {rows:.0%} of its height)"))
                continue
        out.append(LabelDecision(label))
    return out
