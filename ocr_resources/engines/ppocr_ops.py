"""What runs around PaddleOCR's ONNX models (numpy + OpenCV): detector input, DB box extraction, line crops,
recogniser batches and CTC decoding with character positions. Kept apart from the engine class so each step
can be tested and tuned on its own."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

# DB detector: ImageNet normalisation on BGR input, sides a multiple of 32.
_DET_MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255.0
_DET_STD = np.array([0.229, 0.224, 0.225], np.float32) * 255.0
REC_HEIGHT = 48


def det_resize(bgr: np.ndarray, scale: float) -> tuple[np.ndarray, tuple[float, float]]:
    """`bgr` resized by about `scale` to sides that are multiples of 32 (uint8, kept small while a page
    waits for the model), and the exact (sx, sy)."""
    h, w = bgr.shape[:2]
    out_h = max(32, int(round(h * scale / 32)) * 32)
    out_w = max(32, int(round(w * scale / 32)) * 32)
    interp = cv2.INTER_AREA if out_w < w else cv2.INTER_LINEAR
    return cv2.resize(bgr, (out_w, out_h), interpolation=interp), (out_w / w, out_h / h)


def channel_lut(normalise) -> np.ndarray:
    """(3, 256) float32: what `normalise` (elementwise on an (H, W, 3) uint8 image) makes of each byte value in
    each channel. Indexing it gives the same floats as the arithmetic, bit for bit, at a fraction of the cost
    (one gather per pixel instead of a float image per step)."""
    levels = np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2)  # (256, 1, 3)
    return np.ascontiguousarray(np.asarray(normalise(levels), np.float32)[:, 0, :].T)


def planar(image: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(1, 3, H, W) float32 of an (H, W, 3) uint8 image through a `channel_lut`, channels first."""
    out = np.empty((1, 3, *image.shape[:2]), np.float32)
    for c in range(3):
        np.take(lut[c], image[:, :, c], out=out[0, c])
    return out


_DET_LUT = channel_lut(lambda x: (x.astype(np.float32) - _DET_MEAN) / _DET_STD)


def det_tensor(resized: np.ndarray) -> np.ndarray:
    """The detector's input (1, 3, H, W): ImageNet normalisation of the BGR pixels."""
    return planar(resized, _DET_LUT)


def glyph_height(bgr: np.ndarray) -> float | None:
    """Median height (page pixels) of the page's glyph-sized ink blobs, from connected components of an
    Otsu-binarised half-resolution copy; None where there are too few to tell."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    half = cv2.resize(gray, (max(1, gray.shape[1] // 2), max(1, gray.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(half, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    w, h, area = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    # glyph-like: a few pixels to a fraction of the page tall, not a rule, not a speck, partly filled
    glyph = (h >= 3) & (h <= half.shape[0] // 10) & (w <= 3 * h) & (area >= 6) & (area >= 0.1 * w * h)
    if glyph.sum() < 20:
        return None
    return 2.0 * float(np.median(h[glyph]))


def det_scale(width: int, height: int, max_side: int, min_side: int, glyph: float | None = None,
              glyph_target: float = 0.0) -> float:
    """Detection scale: text brought to about `glyph_target` px (median glyph height; the detector finds
    lines well from there, and its cost grows with area), never above 1 nor the long side above `max_side`;
    small images are upsampled to a short side of `min_side` so small text still gives a blob."""
    scale = min(1.0, max_side / max(width, height))
    if glyph and glyph_target > 0:
        scale = min(scale, glyph_target / glyph)
    if min(width, height) * scale < min_side:
        scale = min(min_side / min(width, height), max_side / max(width, height) * 1.5)
    return scale


def db_boxes(prob: np.ndarray, thresh: float, box_thresh: float, unclip_ratio: float,
             max_candidates: int = 3000, min_size: float = 3.0) -> list[tuple[np.ndarray, float]]:
    """Text-line quads (4x2, clockwise from top-left, in `prob`'s pixels) and their scores from a DB
    probability map: threshold, contours, score = mean probability inside, grow by `unclip_ratio`."""
    mask = (prob > thresh).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    h, w = prob.shape
    out = []
    for contour in contours[:max_candidates]:
        rect = cv2.minAreaRect(contour)
        if min(rect[1]) < min_size:
            continue
        score = _mean_inside(prob, cv2.boxPoints(rect))
        if score < box_thresh:
            continue
        grown = _unclip(cv2.boxPoints(rect), unclip_ratio)
        if grown is None:
            continue
        rect = cv2.minAreaRect(grown)
        if min(rect[1]) < min_size + 2:
            continue
        quad = order_quad(cv2.boxPoints(rect))
        quad[:, 0] = np.clip(quad[:, 0], 0, w)
        quad[:, 1] = np.clip(quad[:, 1], 0, h)
        out.append((quad, float(score)))
    return out


def _mean_inside(prob: np.ndarray, pts: np.ndarray) -> float:
    h, w = prob.shape
    x0, x1 = int(np.clip(np.floor(pts[:, 0].min()), 0, w - 1)), int(np.clip(np.ceil(pts[:, 0].max()), 0, w - 1))
    y0, y1 = int(np.clip(np.floor(pts[:, 1].min()), 0, h - 1)), int(np.clip(np.ceil(pts[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(mask, [(pts - [x0, y0]).astype(np.int32)], 1)
    return cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0]


def _unclip(pts: np.ndarray, ratio: float) -> np.ndarray | None:
    # DB shrinks text regions in training; grow back by area * ratio / perimeter (Vatti clipping offset).
    area = abs(cv2.contourArea(pts.astype(np.float32)))
    length = cv2.arcLength(pts.astype(np.float32), True)
    if length == 0:
        return None
    offset = pyclipper.PyclipperOffset()
    offset.AddPath([tuple(p) for p in pts.astype(np.int64)], pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    grown = offset.Execute(area * ratio / length)
    if len(grown) != 1:
        return None
    return np.asarray(grown[0], np.float32)


def order_quad(pts: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left (image coordinates, y down)."""
    pts = np.asarray(pts, np.float32)
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1])]
    tr, br = right[np.argsort(right[:, 1])]
    return np.array([tl, tr, br, bl], np.float32)


@dataclass
class LineCrop:
    """One detected text line: its quad in page pixels with the reading direction from corner 0 to 1,
    and the upright crop the recogniser reads."""

    quad: np.ndarray  # 4x2: top-left, top-right, bottom-right, bottom-left in reading orientation
    image: np.ndarray  # BGR crop, text running left to right
    det_score: float
    turned: bool = False  # a tall box, turned 90 degrees to read
    mark: bool = False  # not a detected line: a short mark found from the ink (`missed_marks`)


def crop_line(bgr: np.ndarray, quad: np.ndarray) -> LineCrop | None:
    """Upright crop of a quad. Near-axis-aligned lines (scanned documents) are sliced; skewed ones are
    warped; tall narrow boxes are taken as text running bottom-to-top and turned (a 180-degree check
    happens later, on low confidence)."""
    width = int(round(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[3] - quad[2]))))
    height = int(round(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))))
    if width < 2 or height < 2:
        return None
    dy = abs(float(quad[1][1] - quad[0][1])) + abs(float(quad[3][0] - quad[0][0]))
    if dy <= 1.5:  # axis-aligned within a pixel or so
        x0, y0 = np.floor(quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
        x0, y0 = max(0, x0), max(0, y0)
        crop = bgr[y0:y1, x0:x1]
    else:
        target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
        matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
        crop = cv2.warpPerspective(bgr, matrix, (width, height), flags=cv2.INTER_CUBIC,
                                   borderMode=cv2.BORDER_REPLICATE)
    if crop.shape[0] < 2 or crop.shape[1] < 2:
        return None
    if crop.shape[0] >= 1.5 * crop.shape[1]:
        crop = cv2.rotate(crop, cv2.ROTATE_90_COUNTERCLOCKWISE)
        return LineCrop(quad=quad[[1, 2, 3, 0]], image=np.ascontiguousarray(crop), det_score=0.0, turned=True)
    return LineCrop(quad=quad, image=np.ascontiguousarray(crop), det_score=0.0)


def rotate_180(line: LineCrop) -> LineCrop:
    return LineCrop(quad=line.quad[[2, 3, 0, 1]], image=np.ascontiguousarray(line.image[::-1, ::-1]),
                    det_score=line.det_score, turned=line.turned, mark=line.mark)


def rec_width(crop: np.ndarray, max_width: int) -> int:
    h, w = crop.shape[:2]
    return int(min(max_width, max(REC_HEIGHT // 2, math.ceil(REC_HEIGHT * w / h))))


def padded_width(width: int, max_width: int) -> int:
    """The width a line is padded to, from its own width alone. The recogniser mixes features along the whole
    line, padding included, so padding to the widest line of a batch made a line's reading depend on which
    lines shared its batch (2 in 112 lines of the twins read other characters, more other confidences): a
    page read alone, on resume, came out unlike the same page read in a full run. Steps of 32 px, or of
    about a tenth of the width beyond 320 px, keep the padding small."""
    step = 32
    while step < width:
        step += max(32, step // 10 // 32 * 32)
    return min(step, max_width)


def rec_batches(crops: list[np.ndarray], max_width: int, max_pixels: int, max_lines: int) -> list[list[int]]:
    """Indices of crops grouped by padded width (`padded_width`: every line of a batch has the padding it
    would have alone), each group at most `max_pixels` of padded width in total and `max_lines` long."""
    padded = [padded_width(rec_width(c, max_width), max_width) for c in crops]
    order = sorted(range(len(crops)), key=lambda i: padded[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        width = padded[i]
        if current and (width != padded[current[0]] or width * (len(current) + 1) > max_pixels
                        or len(current) >= max_lines):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def rec_input(crops: list[np.ndarray], max_width: int) -> tuple[np.ndarray, list[int]]:
    """(N, 3, 48, W) tensor of crops resized to height 48 (scaled to [-1, 1], padded with 0 on the right to
    the widest `padded_width`) and each crop's resized width."""
    widths = [rec_width(c, max_width) for c in crops]
    batch = np.zeros((len(crops), 3, REC_HEIGHT, max(padded_width(w, max_width) for w in widths)), np.float32)
    for k, (crop, width) in enumerate(zip(crops, widths, strict=True)):
        resized = cv2.resize(crop, (width, REC_HEIGHT), interpolation=cv2.INTER_LINEAR)
        # np.take: the table's values as indexing gives them, at half its cost (looked up in the crop's own layout)
        batch[k, :, :, :width] = np.take(_REC_LUT, resized).transpose(2, 0, 1)
    return batch, widths


_REC_LUT = np.arange(256, dtype=np.uint8).astype(np.float32) / 127.5 - 1.0  # a byte's value in [-1, 1], as computed


@dataclass
class DecodedLine:
    chars: list[str]
    probs: list[float]
    steps: list[int]  # CTC time step of each character
    n_steps: int


def ctc_decode(preds: np.ndarray, charset: list[str], allowed: np.ndarray | None) -> list[DecodedLine]:
    """Greedy CTC decode of (N, T, C) probabilities; index 0 is the blank. Where `allowed` (C bools) is
    given, a step whose best class is not allowed takes the best allowed class instead (a foreign
    character becomes a blank or a low-probability allowed one, never itself)."""
    best = preds.argmax(axis=2)
    if allowed is not None:
        foreign = ~allowed[best]
        if foreign.any():
            best[foreign] = (preds[foreign] * allowed).argmax(axis=1)
    prob = np.take_along_axis(preds, best[:, :, None], axis=2)[:, :, 0]
    out = []
    for row, row_prob in zip(best, prob, strict=True):
        keep = np.flatnonzero((row != 0) & np.concatenate(([True], row[1:] != row[:-1])))
        out.append(DecodedLine([charset[c] for c in row[keep]], row_prob[keep].tolist(), keep.tolist(), len(row)))
    return out


def span_quad(quad: np.ndarray, f0: float, f1: float, g0: float = 0.0, g1: float = 1.0
              ) -> tuple[float, float, float, float]:
    """Page-pixel bounding box of the part of a line quad between fractions f0..f1 of its length and
    g0..g1 of its height (reading orientation)."""
    f0, f1, g0, g1 = max(0.0, f0), min(1.0, f1), max(0.0, g0), min(1.0, g1)
    pts = []
    for f in (f0, f1):
        top, bottom = quad[0] + f * (quad[1] - quad[0]), quad[3] + f * (quad[2] - quad[3])
        pts += [top + g0 * (bottom - top), top + g1 * (bottom - top)]
    pts = np.stack(pts)
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


@dataclass
class LineInk:
    """The ink of a line crop, in the rows that belong to the line: its body (x-height band, the rows
    holding a fair share of the ink) with room for ascenders, capitals and descenders. Rows further out
    are left out: neighbouring lines' descenders and ascenders reach into a detector's padded box."""

    dark: np.ndarray  # bool (rows, width): ink pixels of rows top .. top + rows
    top: int
    body_height: float

    def blank_runs(self, centers: list[float]) -> list[int]:
        """The widest run of ink-free columns between each pair of neighbouring character centres (crop x)."""
        # a list of bools, walked in plain Python: iterating the numpy array gave a numpy scalar per column
        blank = (self.dark.sum(axis=0) <= 1).tolist()  # a lone speckle pixel is not ink
        runs = []
        for a, b in zip(centers, centers[1:], strict=False):
            longest = run = 0
            for is_blank in blank[max(0, math.floor(a)) : min(len(blank), math.ceil(b))]:
                run = run + 1 if is_blank else 0
                if run > longest:
                    longest = run
            runs.append(longest)
        return runs

    def extent(self, x0: float, x1: float) -> tuple[int, int, int, int] | None:
        """The ink's bounding box (crop pixels, end-exclusive) within columns x0..x1; None where there is no
        more ink there than a speck."""
        a, b = int(max(0, np.floor(x0))), int(min(self.dark.shape[1], np.ceil(x1)))
        if b <= a:
            return None
        cols = np.flatnonzero(self.dark[:, a:b].any(axis=0))
        rows = np.flatnonzero(self.dark[:, a:b].any(axis=1))
        if cols.size == 0 or rows[-1] - rows[0] + 1 < 0.5 * self.body_height:  # a speck, not the word
            return None
        return a + int(cols[0]), self.top + int(rows[0]), a + int(cols[-1]) + 1, self.top + int(rows[-1]) + 1


def line_ink(crop: np.ndarray) -> LineInk | None:
    """The line's ink (see LineInk); None where the crop has too little contrast to tell ink from paper."""
    if crop.ndim == 3 and crop.shape[2] == 3 and crop.dtype == np.uint8:
        # crop.mean(axis=2)'s values (the exact sum of three bytes over 3, in float64), without numpy's slow reduction
        # over the short last axis: this runs for every line
        gray = (crop[..., 0].astype(np.uint16) + crop[..., 1] + crop[..., 2]) / 3.0
    else:
        gray = crop.mean(axis=2) if crop.ndim == 3 else crop.astype(np.float32)
    lo, hi = np.percentile(gray, (5, 95))  # one partition for both (the same values as two calls)
    if hi - lo < 40:
        return None
    dark = gray < (lo + hi) / 2
    # Table rules and underlines are not text: rows inked across most of the width, and columns inked
    # over most of the height, are taken out before the body is looked for.
    dark[dark.mean(axis=1) > 0.8] = False
    dark[:, dark.mean(axis=0) > 0.9] = False
    per_row = dark.sum(axis=1)
    if per_row.max() == 0:
        return None
    body = np.flatnonzero(per_row >= 0.25 * per_row.max())
    top, bottom = int(body[0]), int(body[-1]) + 1
    body_height = float(bottom - top)
    lo_row, hi_row = max(0, int(top - 0.7 * body_height)), int(bottom + 0.6 * body_height)
    return LineInk(dark[lo_row:hi_row], lo_row, body_height)


def missed_marks(bgr: np.ndarray, quads: list[np.ndarray]) -> tuple[list[np.ndarray], dict[int, float]]:
    """Short marks the detector leaves out, found from the page's ink: a table's "-" or lone digit, a minus
    sign set apart from its number. The DB detector, run at a glyph height of a few pixels, gives no blob for
    a mark a pixel or two high. An ink component outside every detected box, no taller than the detected
    line whose row it sits on (its centre within that line's height), is such a mark; marks on one row close
    together are one. Returns new axis-aligned quads (page pixels, the row's height) for marks standing
    alone in a column of detected lines, and {index of a detected quad: its new (left, right) edges} for a
    minus just before a detected line (read with it, so "-4.3%" stays one word). Marks on no detected
    line's row (specks, stamps, rules) or in no column are left out."""
    rows = []  # (index, x0, y0, x1, y1) of the detected axis-aligned lines read as they stand (not turned)
    for i, q in enumerate(quads):
        x0, y0 = q.min(axis=0)
        x1, y1 = q.max(axis=0)
        if 1.5 * (x1 - x0) > y1 - y0 >= 4 and abs(float(q[1][1] - q[0][1])) <= 2:
            rows.append((i, float(x0), float(y0), float(x1), float(y1)))
    if not rows:
        return [], {}
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    covered = np.zeros_like(ink)
    for q in quads:
        cv2.fillPoly(covered, [np.round(q).astype(np.int32)], 1)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    # share of each component's ink inside a detected box: a mark the box's edge only grazes is still left out
    # (the covered pixels' labels counted, not every pixel's label weighted by a float copy of the page's mask:
    # the same counts at a tenth of the cost)
    inside = np.bincount(labels[covered.astype(bool)], minlength=n) / np.maximum(stats[:, 4], 1)
    box = np.array([[r[1], r[2], r[3], r[4]] for r in rows], np.float32)
    heights = box[:, 3] - box[:, 1]
    # the ink outside every box: x, y, w, h, label
    free = np.column_stack([stats[:, :4], np.arange(n)])[1:][inside[1:] <= 0.5]
    marks: list[tuple[float, float, float, float, int]] = []  # x0, y0, x1, y1, row
    # most components are glyphs inside a detected box: only the others are looked at one by one
    looked = (stats[:, 4] >= 3) & (inside <= 0.5)
    looked[0] = False  # the background
    for k in np.flatnonzero(looked).tolist():
        x, y, w, h, area = (int(v) for v in stats[k])
        cy = y + h / 2
        on = np.flatnonzero((box[:, 1] <= cy) & (cy <= box[:, 3]) & (h <= heights) & (w <= 1.5 * heights))
        if on.size == 0:
            continue
        # the row's tallest line (a word with capitals, not a lone digit) sets the height a lone mark is read at
        near = on[np.argmax(heights[on])]
        # a dot of a dotted rule, or a piece of a broken line, has more ink just above or below it (closer than
        # a quarter of a line); a table's dash or digit has paper there
        gap = 0.25 * heights[near]
        chain = ((free[:, 0] < x + w) & (free[:, 0] + free[:, 2] > x) & (free[:, 1] < y + h + gap)
                 & (free[:, 1] + free[:, 3] > y - gap) & (free[:, 4] != k)
                 & (free[:, 2] <= heights[near]) & (free[:, 3] <= heights[near]))  # not a frame around it
        if chain.any():
            continue
        marks.append((x, y, x + w, y + h, int(near)))
    marks.sort(key=lambda m: (m[4], m[0]))
    groups: list[list[float]] = []
    for x0, y0, x1, y1, r in marks:
        g = groups[-1] if groups else None
        if g is not None and g[4] == r and x0 - g[2] <= 0.5 * heights[r]:
            g[1], g[2], g[3] = min(g[1], y0), max(g[2], x1), max(g[3], y1)
        else:
            groups.append([x0, y0, x1, y1, r])
    new, grow, alone = [], {}, []
    for x0, y0, x1, y1, r in groups:
        height = float(heights[r])
        if y1 - y0 <= 0.3 * height and x1 - x0 > 1.2 * height:
            continue  # a rule (solid or dotted) along the row, longer than any dash
        ry0, ry1 = box[r, 1], box[r, 3]
        row = (box[:, 1] <= (ry0 + ry1) / 2) & ((ry0 + ry1) / 2 <= box[:, 3])
        after = np.flatnonzero(row & (x0 < box[:, 0]) & (box[:, 0] - x1 <= 0.6 * height))
        before = np.flatnonzero(row & (box[:, 2] < x1) & (x0 - box[:, 2] <= 0.6 * height))
        if after.size or before.size:
            # a minus sign just before a detected number is read with it ("-4.3%" stays one word); other ink
            # beside a line is a piece of its letters, read with the line already
            if after.size and x1 - x0 >= 1.5 * (y1 - y0) and y1 - y0 <= 0.3 * height:
                j = int(after[np.argmin(box[after, 0])])
                grow[rows[j][0]] = (min(grow.get(rows[j][0], (np.inf,))[0], x0 - 0.25 * height), box[j, 2])
            continue
        if (row & (box[:, 0] < x1) & (box[:, 2] > x0)).any():
            continue  # within a line's span: a piece of its letters
        # the recogniser reads a lone mark only with some paper around it, up to its neighbours on the row
        left = max([x0 - height, *box[row & (box[:, 2] <= x0), 2]])
        right = min([x1 + height, *box[row & (box[:, 0] >= x1), 0]])
        alone.append((left, ry0, right, ry1))
    # standing alone, a mark is a table's cell only in a column: a detected line or a mark taken already a few
    # rows above or below it, overlapping it (rules, frames and chart strokes on a text row have none)
    column = [tuple(b) for b in box]
    while alone:
        taken = [m for m in alone if any(abs((m[1] + m[3] - c[1] - c[3]) / 2) <= 4 * (m[3] - m[1])
                                         and abs(m[1] + m[3] - c[1] - c[3]) > 0.5 * (m[3] - m[1])
                                         and c[0] <= m[2] and c[2] >= m[0] for c in column)]
        if not taken:
            break
        column += taken
        alone = [m for m in alone if m not in taken]
        new += [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32) for x0, y0, x1, y1 in taken]
    return new, grow
