"""Straightening a crooked scan before anything reads it.

A page scanned or photographed a few degrees off square has text lines that rise or fall across the page. The
layout model's boxes and the OCR's word boxes are upright rectangles, so two columns' lines tilted by 2 degrees
overlap in height where they meet, and rows built from them interleave the columns ("tape recorder FORWARD,
REWIND" read across the gutter). The page image is turned straight once, in the render stage, and every later
stage reads the straight image, as ocrmypdf's --deskew and Tesseract's own page layout analysis do.

The angle comes from the projection profile of the page's ink: sheared by the right angle, the ink of each text
line falls into a few rows of pixels and the profile is at its sharpest (the sum of its squares is largest).
Only pages without a text layer are straightened (a text layer's coordinates are the PDF's own)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

MAX_SKEW = 10.0  # degrees either way that are looked for; beyond this a page is turned, not crooked
MIN_SKEW = 0.4  # degrees; below this the lines of a full-width column stay within their own height
WORK_WIDTH = 800  # pixels: the ink is measured on a copy this wide (the angle needs no finer detail)
MAX_POINTS = 80_000  # ink pixels sampled for the profile
MIN_POINTS = 2_000  # fewer ink pixels than this (a blank or nearly blank page) say nothing about an angle
SHARPER = 1.05  # the best angle's profile must be this much sharper than the upright one's to be believed


def _profile_score(ys: np.ndarray, xs: np.ndarray, angle: float) -> float:
    """Sharpness of the rows' ink counts with the ink sheared by `angle` degrees (a line rising to the right by
    that angle lands on one row)."""
    rows = np.round(ys + xs * math.tan(math.radians(angle))).astype(np.int64)
    counts = np.bincount(rows - rows.min())
    return float(np.dot(counts, counts))


def skew_angle(image: Image.Image) -> float:
    """Degrees the page's text lines rise to the right (negative: they fall), 0.0 where no angle stands out."""
    gray = image.convert("L")
    if gray.width > WORK_WIDTH:
        gray = gray.resize((WORK_WIDTH, max(1, round(gray.height * WORK_WIDTH / gray.width))), Image.BILINEAR)
    pixels = np.asarray(gray)
    ys, xs = np.nonzero(pixels < min(128, int(pixels.mean()) - 30))  # ink: clearly darker than the page
    if ys.size < MIN_POINTS:
        return 0.0
    if ys.size > MAX_POINTS:
        keep = np.random.default_rng(0).choice(ys.size, MAX_POINTS, replace=False)
        ys, xs = ys[keep], xs[keep]
    ys, xs = ys.astype(np.float64), xs.astype(np.float64)
    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.5)
    scores = [_profile_score(ys, xs, a) for a in coarse]
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.05)
    fine_scores = [_profile_score(ys, xs, a) for a in fine]
    k = int(np.argmax(fine_scores))
    if fine_scores[k] < SHARPER * _profile_score(ys, xs, 0.0):
        return 0.0
    return round(float(fine[k]), 2)


def straighten(image: Image.Image) -> tuple[Image.Image, float]:
    """The page turned so that its text lines run level, and the degrees it was turned (anticlockwise); the
    image itself and 0.0 where it is straight already or no angle stands out."""
    angle = skew_angle(image)
    if abs(angle) < MIN_SKEW or abs(angle) > MAX_SKEW:
        return image, 0.0
    # lines rising to the right by `angle` level out turned clockwise by as much
    return turn_image(image, -angle), -angle


def turn_image(image: Image.Image, degrees: float) -> Image.Image:
    """`image` turned `degrees` anticlockwise about its centre, at the same size, the corners it uncovers white
    (a page rendered again at another dpi is turned as its first rendering was)."""
    if not degrees:
        return image
    fill = 255 if image.mode == "L" else (255,) * len(image.getbands())
    return image.rotate(degrees, resample=Image.BILINEAR, expand=False, fillcolor=fill)
