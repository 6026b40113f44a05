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


# A list's bullet drawn as a picture or a path (an HTML converter's ball image, a browser's disc) beside its item's
# first word: no glyph in the text layer, so the item read as a paragraph of the list's other items. Looked for left of
# each line's first word, within this many of the word's heights, set this far off it at least
BULLET_REACH, BULLET_GAP = 2.2, 0.15
# the bullet's size as a share of the word's height (a dot, a ball, a square: not a speck, not a letter's height)
BULLET_MIN, BULLET_MAX = 0.2, 0.85
BULLET_FILL = 0.4  # share of its box the mark fills (a disc 0.79, a square 1): an outline or a dash is no bullet
BULLET_ALIGN = 1.5  # points: bullets of one list stand at one left edge, one size
BULLET_INK = 160  # grey level under which a pixel is the mark's (a coloured ball is darker than the paper)


def drawn_bullets(gray: np.ndarray, dpi: float, words: list[Box]) -> list[Box]:
    """Bullets drawn as graphics (PDF points): for each word that starts a line (no word on its row ends within
    `BULLET_REACH` of its height before it), one compact, solid, roughly square mark of ink in the space left of it,
    centred on its row, where no text-layer word is; two such marks at least, at one left edge. Only those small
    windows are looked at."""
    if not words:
        return []
    px = dpi / 72.0
    h_img, w_img = gray.shape[:2]
    x0, y0, x1, y1 = (np.array(v) for v in zip(*((b.x0, b.y0, b.x1, b.y1) for b in words), strict=True))
    heights = y1 - y0
    # a line's first word: the word before it on its row (rows by their middles, binned at half a line's height: a
    # sort, not a comparison of every pair) ends before its reach
    reach = x0 - BULLET_REACH * heights
    rows = np.round((y0 + y1) / (np.median(heights) or 1.0))
    order = np.lexsort((x0, rows))
    first = np.ones(len(words), dtype=bool)
    first[order[1:]] = (rows[order[1:]] != rows[order[:-1]]) | (x1[order[:-1]] <= reach[order[1:]])
    out: list[Box] = []
    for i in np.flatnonzero(first & (heights > 0)).tolist():
        b, h = words[i], heights[i]
        wx0, wx1 = int(max(0, reach[i] * px)), int(max(0, (b.x0 - BULLET_GAP * h) * px))
        wy0, wy1 = int(max(0, b.y0 * px)), int(min(h_img, b.y1 * px + 1))
        if wx1 - wx0 < 2 or wy1 - wy0 < 2 or wx1 > w_img:
            continue
        window = (gray[wy0:wy1, wx0:wx1] < BULLET_INK).astype(np.uint8)  # (dark marks on a light page)
        if not window.any():
            continue
        n, _, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(window), connectivity=8)
        big = [k for k in range(1, n) if stats[k, cv2.CC_STAT_AREA] >= 4]
        if len(big) != 1:
            continue  # nothing there but specks, or more than one mark (a number, letters drawn as paths)
        k = big[0]
        cx, cy, cw, ch = (int(stats[k, c]) for c in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH,
                                                       cv2.CC_STAT_HEIGHT))
        size = h * px
        if not (BULLET_MIN * size <= cw <= BULLET_MAX * size and BULLET_MIN * size <= ch <= BULLET_MAX * size):
            continue
        if not 0.6 <= cw / ch <= 1.6 or stats[k, cv2.CC_STAT_AREA] < BULLET_FILL * cw * ch:
            continue
        if cy == 0 or cy + ch >= wy1 - wy0 or cx == 0:
            continue  # it runs out of the row or the window: part of something larger (a rule, a picture)
        mid = wy0 + cy + ch / 2
        if not b.y0 * px + 0.15 * size <= mid <= b.y1 * px - 0.1 * size:
            continue  # off the row's middle: an underline's end, a mark above the line
        mark = Box((wx0 + cx) / px, (wy0 + cy) / px, (wx0 + cx + cw) / px, (wy0 + cy + ch) / px)
        if np.any((x0 < mark.x1) & (x1 > mark.x0) & (y0 < mark.y1) & (y1 > mark.y0)):
            continue  # a text-layer word there (a row's words binned apart): its glyph, not a bullet
        out.append(mark)
    # a list has items: a mark counts where another of its size stands at its left edge (a lone dot beside a
    # drawing's label, a point of a plot, is no bullet)
    return [m for m in out if any(o is not m and abs(o.x0 - m.x0) <= BULLET_ALIGN and abs(o.height - m.height)
                                  <= BULLET_ALIGN for o in out)]
