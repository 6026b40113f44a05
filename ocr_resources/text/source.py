"""Where each region's text comes from on a page that has a text layer: the text layer where it passes the
quality test, OCR where it does not, where it is missing (a picture of text pasted into a born-digital page,
glyphs without a Unicode mapping), and in image regions (a logo, a figure with words). Each choice carries
its reason, recorded per text row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ocr_resources.geometry.boxes import TEXT_LABELS, inside
from ocr_resources.text.drawn import drawn_text_areas
from ocr_resources.text.quality import UNMAPPED, assess
from ocr_resources.types import Box, Word

MIN_REGION_PT = 12.0  # smaller than this in either direction: a rule or a dot, nothing to read
PAGE_SHARE = 0.5  # regions to OCR covering more of the page than this: OCR the page once instead


@dataclass
class OcrRequest:
    region: int | None  # index of the region to OCR; None: the whole page
    reason: str
    verify: bool = False  # keep the text layer if OCR agrees with it
    box: Box | None = None  # an area to OCR that is no region (text drawn as graphics), in points

    @property
    def whole_page(self) -> bool:
        return self.region is None and self.box is None


DRAWN = "text drawn as graphics: ink like text with no text-layer characters"


def plan(words: list[Word], regions: list[Box], labels: list[str], page: Box) -> list[OcrRequest]:
    """What to OCR on a page with a text layer (nothing, some regions, or the whole page)."""
    verdict = assess(words)
    if not verdict.ok or verdict.verify:
        return [OcrRequest(None, verdict.reason, verdict.verify)]
    requests: list[OcrRequest] = []
    for idx, (region, label) in enumerate(zip(regions, labels, strict=True)):
        if region.width < MIN_REGION_PT or region.height < MIN_REGION_PT or label == "table":
            continue
        held = [w for w in words if inside(w.box, region) >= 0.5]
        if not held:
            if label == "figure":
                requests.append(OcrRequest(idx, "image region on a page with a text layer"))
            elif label in TEXT_LABELS and label not in ("header", "footer", "formula"):
                requests.append(OcrRequest(idx, "no text layer in this region"))
            continue
        region_verdict = assess(held)
        if not region_verdict.ok or region_verdict.verify:
            requests.append(OcrRequest(idx, region_verdict.reason, region_verdict.verify))
        elif any(w.unmapped for w in held):  # a few words read by their font codes: kept only if OCR agrees
            requests.append(OcrRequest(idx, UNMAPPED, verify=True))
    area = sum(regions[r.region].area for r in requests if r.region is not None)
    if requests and area > PAGE_SHARE * page.area:
        reasons = sorted({r.reason for r in requests})
        return [OcrRequest(None, "; ".join(reasons), all(r.verify for r in requests))]
    return requests


def drawn_requests(gray: np.ndarray, dpi: float, words: list[Word], regions: list[Box], labels: list[str],
                   requests: list[OcrRequest]) -> list[OcrRequest]:
    """Areas of a text-layer page to OCR because text is drawn there as graphics (`drawn.drawn_text_areas`),
    besides the regions `plan` asks for. Left out: what is read already (the text layer's words, regions OCR'd
    anyway) and what holds ink that is not prose: tables (their rules), formulas, and figures with text-layer
    words (a chart's plot around its labels)."""
    if any(r.whole_page for r in requests):
        return []
    asked = {r.region for r in requests}
    skip = [b for i, (b, label) in enumerate(zip(regions, labels, strict=True))
            if i in asked or label in ("table", "formula")
            or (label == "figure" and any(inside(w.box, b) >= 0.5 for w in words))]
    return [OcrRequest(None, DRAWN, box=b) for b in drawn_text_areas(gray, dpi, [w.box for w in words], skip)]
