"""Turning a crooked or sideways scan upright before anything reads it.

A page scanned or photographed a few degrees off square has text lines that rise or fall across the page. The
layout model's boxes and the OCR's word boxes are upright rectangles, so two columns' lines tilted by 2 degrees
overlap in height where they meet, and rows built from them interleave the columns ("tape recorder FORWARD,
REWIND" read across the gutter). The page image is turned straight once, in the render stage, and every later
stage reads the straight image, as ocrmypdf's --deskew and Tesseract's own page layout analysis do.

The angle comes from the projection profile of the page's ink: sheared by the right angle, the ink of each text
line falls into a few rows of pixels and the profile is at its sharpest (the sum of its squares is largest).
A page fed into the scanner sideways or upside down is turned a quarter or half round first (`page_turn`): its
text lines run across the page the right way up where, in each line, more ink stands above the line's densest
band than hangs below it (ascenders outnumber descenders in Latin type). Only pages without a text layer are
turned (a text layer's coordinates are the PDF's own)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

MAX_SKEW = 10.0  # degrees either way that are looked for; beyond this a page is turned, not crooked
MIN_SKEW = 0.4  # degrees; below this the lines of a full-width column stay within their own height
WORK_WIDTH = 800  # pixels: the ink is measured on a copy this wide (the angle needs no finer detail)
MAX_POINTS = 40_000  # ink pixels sampled for the profile (enough for a twentieth of a degree)
MIN_POINTS = 2_000  # fewer ink pixels than this (a blank or nearly blank page) say nothing about an angle
SHARPER = 1.05  # the best angle's profile must be this much sharper than the upright one's to be believed
AGREE = 0.3  # degrees the two halves of a page may differ by and still give one angle


def _ink(gray: Image.Image, scale: float) -> np.ndarray:
    """Where a grey page (shrunk by `scale` where that is below 1) has ink: pixels clearly darker than the page."""
    if scale < 1:
        gray = gray.resize((max(1, round(gray.width * scale)), max(1, round(gray.height * scale))), Image.BILINEAR)
    pixels = np.asarray(gray)
    return pixels < min(128, int(pixels.mean()) - 30)


def _profile_score(ys: np.ndarray, xs: np.ndarray, angle: float) -> float:
    """Sharpness of the rows' ink counts with the ink sheared by `angle` degrees (a line rising to the right by
    that angle lands on one row)."""
    rows = np.round(ys + xs * math.tan(math.radians(angle))).astype(np.int64)
    counts = np.bincount(rows - rows.min())
    return float(np.dot(counts, counts))


def skew_angle(image: Image.Image) -> float:
    """Degrees the page's text lines rise to the right (negative: they fall), 0.0 where no angle stands out."""
    gray = image.convert("L")
    ys, xs = np.nonzero(_ink(gray, WORK_WIDTH / gray.width))
    if ys.size < MIN_POINTS:
        return 0.0
    if ys.size > MAX_POINTS:
        keep = np.random.default_rng(0).choice(ys.size, MAX_POINTS, replace=False)
        ys, xs = ys[keep], xs[keep]
    ys, xs = ys.astype(np.float64), xs.astype(np.float64)
    # Each half of the page on its own: two columns whose lines stand at different heights look sharpest sheared
    # so that the one's lines meet the other's (a straight two-column page would be "turned" by a degree and a
    # half), and a crooked page's true angle is pulled off by them too. The halves must agree.
    middle = np.median(xs)
    found = [_best_angle(ys[half], xs[half]) for half in (xs < middle, xs >= middle)]
    if any(a is None for a in found) or abs(found[0] - found[1]) > AGREE:
        return 0.0
    return round((found[0] + found[1]) / 2, 2)


def _best_angle(ys: np.ndarray, xs: np.ndarray) -> float | None:
    """The angle (degrees) at which this ink's rows are sharpest, searched coarse then fine within MAX_SKEW;
    None where it is no sharper there than upright."""
    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.5)
    best = float(coarse[int(np.argmax([_profile_score(ys, xs, a) for a in coarse]))])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    scores = [_profile_score(ys, xs, a) for a in fine]
    k = int(np.argmax(scores))
    return float(fine[k]) if scores[k] >= SHARPER * _profile_score(ys, xs, 0.0) else None


def straighten(image: Image.Image) -> tuple[Image.Image, float]:
    """The page turned so that its text lines run level, and the degrees it was turned (anticlockwise); the
    image itself and 0.0 where it is straight already or no angle stands out."""
    angle = skew_angle(image)
    if abs(angle) < MIN_SKEW or abs(angle) > MAX_SKEW:
        return image, 0.0
    # lines rising to the right by `angle` level out turned clockwise by as much
    return turn_image(image, -angle), -angle


def quarter_and_rest(degrees: float) -> tuple[int, float]:
    """A page's whole turn (pages.deskew_degrees) as its quarter turns (0, 90, 180, 270: `page_turn`, applied
    to the page's /Rotate) and the few degrees left (`straighten`, applied to the image)."""
    quarter = round(degrees / 90) * 90
    return quarter % 360, round(degrees - quarter, 4)


def turn_image(image: Image.Image, degrees: float) -> Image.Image:
    """`image` turned `degrees` anticlockwise about its centre, at the same size, the corners it uncovers white
    (a page rendered again at another dpi is turned as its first rendering was). Bicubic: it keeps a receipt's
    small print sharper for the recogniser than bilinear does."""
    if not degrees:
        return image
    fill = 255 if image.mode == "L" else (255,) * len(image.getbands())
    return image.rotate(degrees, resample=Image.BICUBIC, expand=False, fillcolor=fill)


# A page lying sideways shows no more than this many lines of ink across it (a table's rows, a column of digits,
# are lines whichever way they lean; the lean alone is no sign: a column of right-aligned numbers, turned, leans)
FEW_LINES = 3
MIN_SIDE = 500  # pixels: a strip cut from a page (a table's image) is not turned, only a page is
MIN_LINES = 12  # text lines needed to tell which way up a page is (a chart's grid and bars make fewer)
# the lines' mean lean (above minus below their densest band, over both) needed to turn a page: upright pages of
# Latin type lean 0.1-0.7 a line (less where they are lists of short lines, figures or capitals); a script
# without ascenders, digits or a drawing lean either way by little. Below it a page is left as it is.
CLEAR = 0.3
TURN_SIDE = 1700  # pixels: which way up a page is is read on a copy no larger (a letter page at 144 dpi is 1584
# high): its letters' ascenders must stay a few pixels tall


def _upright_score(ink: np.ndarray) -> tuple[float, int]:
    """Evidence that level text lines stand the right way up, and how many lines gave it. In Latin (and Greek,
    Cyrillic) type more letters rise above the x-height (capitals, b d f h k l t, dots) than hang below it (g j p
    q y): each line's ink is heavier above its densest band than below it. Upside down, the other way round."""
    rows = ink.sum(axis=1).astype(np.float64)
    if not rows.any():
        return 0.0, 0
    # a row between two lines holds some ink where descenders meet ascenders: "off" is relative to a line's core
    on = rows > 0.2 * np.percentile(rows[rows > 0], 90)
    score, lines, y = 0.0, 0, 0
    while y < len(rows):
        if not on[y]:
            y += 1
            continue
        end = y
        while end < len(rows) and on[end]:
            end += 1
        band = rows[y:end]
        if end - y >= 6:  # (a line of digits or capitals leans no way: it counts as a line all the same)
            core = np.nonzero(band >= 0.5 * band.max())[0]
            above, below = band[: core[0]].sum(), band[core[-1] + 1:].sum()
            lines += 1
            if above + below > 0:
                score += (above - below) / (above + below)
        y = end
    return score, lines


def page_turn(image: Image.Image) -> int:
    """Degrees (anticlockwise: 0, 90, 180, 270) to turn a scanned page so that its text reads upright. A page
    with hardly a line of ink across it and many up or down it (scanned sideways) is turned a quarter, the way
    its letters' ascenders say; a level page is turned half round only where the evidence is clear. 0 where
    nothing stands out (a page of figures, of digits, of a script without ascenders; a strip such as a table's
    image; a page both sideways and crooked): the OCR's own line classifier still reads an upside-down page's
    lines (engines.ppocr)."""
    if min(image.size) < MIN_SIDE:
        return 0
    gray = image.convert("L")
    ink = _ink(gray, TURN_SIDE / max(gray.size))
    if ink.sum() < MIN_POINTS:
        return 0
    score, lines = _upright_score(ink)
    turned_score, turned_lines = _upright_score(np.rot90(ink, 1))  # (numpy's rot90 turns anticlockwise, as PIL)
    if lines <= FEW_LINES and turned_lines >= MIN_LINES and abs(turned_score) >= CLEAR * turned_lines:
        return 90 if turned_score > 0 else 270  # no line runs across the page, many up or down it
    return 180 if lines >= MIN_LINES and score < -CLEAR * lines else 0
