"""Text drawn as graphics on a page with a text layer: a title set as vector outlines, words inside a picture
pasted onto a born-digital page. The text layer has no characters there, so only the page image shows them.

`drawn_text_areas` finds them cheaply, with no model: the page's ink outside the text layer's word boxes (and
outside areas that are read otherwise), split into connected components; components of glyph size that sit side
by side on a common band, three or more, make a line of drawn text; nearby lines make one area. Only these
areas are given to OCR (`source.plan` requests them), so a page whose ink is all text-layer text costs one
image read and no model call."""

from __future__ import annotations

import cv2
import numpy as np

from ocr_resources.types import Box

WORK_DPI = 72.0  # the ink is looked at about this coarse: a 10 pt glyph is still 7 px tall
MIN_GLYPH_PT = 5.0  # shorter ink is a speck, a rule's end or punctuation, not a letter to read
MAX_GLYPH_SHARE = 0.2  # taller than this share of the page: a picture, not a letter
MIN_GLYPHS = 3  # letters side by side on one band: fewer is a logo mark, an arrow, an icon
WORD_PAD = 0.3  # text-layer word boxes grow by this share of their height (accents, descenders, italics)
MAX_AREAS = 8  # per page: past this the page is mostly graphics, and its figures are read as figures


def drawn_text_areas(gray: np.ndarray, dpi: float, words: list[Box], skip: list[Box]) -> list[Box]:
    """Areas (PDF points, page origin top-left) of a page image (`gray`, uint8, at `dpi`) holding ink that looks
    like lines of text where no text-layer word (`words`, points) is, outside the `skip` areas (points)."""
    ink = _ink(gray)
    if ink is None:
        return []
    k = max(1, round(dpi / WORK_DPI))  # ink pooled k x k (any ink in a block): cheap, and no glyph is lost
    if k > 1:
        h, w = ink.shape[0] // k * k, ink.shape[1] // k * k
        pooled = ink[0:h:k, 0:w:k].copy()
        for dy in range(k):
            for dx in range(k):
                pooled |= ink[dy:h:k, dx:w:k]
        ink = pooled
    px = dpi / k / 72.0  # work pixels per point
    h, w = ink.shape
    for b in words:
        pad = WORD_PAD * b.height
        _clear(ink, Box(b.x0 - pad, b.y0 - pad, b.x1 + pad, b.y1 + pad), px)
    for b in skip:
        _clear(ink, b, px)
    if not ink.any():
        return []
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= MIN_GLYPHS:
        return []
    x, y = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
    cw, ch, area = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    fill = area / (cw * ch)
    # a glyph, or letters the pooling ran together (a word: wide, but not solid like a bar nor thin like a frame)
    glyph = ((ch >= MIN_GLYPH_PT * px) & (ch <= MAX_GLYPH_SHARE * h) & (cw >= 0.08 * ch) & (fill >= 0.12)
             & ((cw <= 3 * ch) | ((cw <= 15 * ch) & (fill <= 0.85))))
    idx = np.flatnonzero(glyph)
    letters = np.maximum(1, np.round(cw / (0.7 * ch))).astype(int)  # about how many letters a component holds
    lines = _lines([(int(x[i]), int(y[i]), int(x[i] + cw[i]), int(y[i] + ch[i]), int(letters[i])) for i in idx])
    areas = _merge([b for b, count in lines if count >= MIN_GLYPHS])
    areas.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    return [Box(b[0] / px, b[1] / px, b[2] / px, b[3] / px) for b in areas[:MAX_AREAS]]


def _ink(gray: np.ndarray) -> np.ndarray | None:
    """Ink as 1, paper as 0 (uint8): Otsu's split, the scarcer side being the ink (light letters on a dark
    poster too); None on a page with too little contrast to tell."""
    if gray.size == 0 or int(gray.max()) - int(gray.min()) < 60:
        return None
    _, dark = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return dark if dark.mean() <= 0.5 else 1 - dark


def _clear(ink: np.ndarray, b: Box, px: float) -> None:
    h, w = ink.shape
    x0, y0 = max(0, int(np.floor(b.x0 * px))), max(0, int(np.floor(b.y0 * px)))
    x1, y1 = min(w, int(np.ceil(b.x1 * px))), min(h, int(np.ceil(b.y1 * px)))
    if x1 > x0 and y1 > y0:
        ink[y0:y1, x0:x1] = 0


def _lines(glyphs: list[tuple[int, int, int, int, int]]) -> list[tuple[tuple[int, int, int, int], int]]:
    """Glyph boxes (x0, y0, x1, y1, letters) chained into lines, left to right: the next glyph overlaps the
    line's band by half its height, is of a like size, and starts within a glyph height of the line's end (a
    word space fits, a column gap does not). Returns (line box, letters)."""
    lines: list[list] = []  # [x0, y0, x1, y1, letters, tallest glyph]
    for *g, n in sorted(glyphs):
        gh = g[3] - g[1]
        for ln in lines:
            overlap = min(ln[3], g[3]) - max(ln[1], g[1])
            if overlap >= 0.5 * min(gh, ln[5]) and 0.4 <= gh / ln[5] <= 2.5 and g[0] - ln[2] <= 1.2 * max(gh, ln[5]):
                ln[0], ln[1], ln[2], ln[3] = min(ln[0], g[0]), min(ln[1], g[1]), max(ln[2], g[2]), max(ln[3], g[3])
                ln[4] += n
                ln[5] = max(ln[5], gh)
                break
        else:
            lines.append([*g, n, gh])
    return [((ln[0], ln[1], ln[2], ln[3]), ln[4]) for ln in lines]


def _merge(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Lines one above the other (overlapping in x, less than a line height apart) as one area: one crop to
    read instead of one per line."""
    out = [list(b) for b in boxes]
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                gap = max(a[1], b[1]) - min(a[3], b[3])
                tall = max(a[3] - a[1], b[3] - b[1])
                if min(a[2], b[2]) > max(a[0], b[0]) and gap < tall:
                    out[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return [tuple(b) for b in out]
