"""Generated benchmark documents with known text: born-digital pages (text layer) and image-only
(scanned-looking) pages. Sizes are parameters; everything is deterministic from a seed."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from ocr_assets.samples import scanned_page_image

WORDS = (
    "river station sample report water quality measured nitrate phosphorus basin summer winter annual "
    "network data portal public access treatment plant upgrade catchment level flow rate average total "
    "north south east west region district council budget energy solar wind battery storage coast town "
    "delivery invoice service desk parts order payment week month year number table figure value result"
).split()


def text_lines(rng: random.Random, n: int, words: tuple[int, int] = (5, 9)) -> list[str]:
    """`n` lines of plain English-like words (what Tesseract and PP-OCR both read)."""
    out = []
    for _ in range(n):
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(*words)))
        out.append(line[0].upper() + line[1:] + (f" {rng.randint(10, 9999)}" if rng.random() < 0.3 else ""))
    return out


def digital_pdf(path: Path, pages: int, seed: int = 1, lines_per_page: int = 30) -> Path:
    """A born-digital PDF: a heading and `lines_per_page` lines of text on each page."""
    rng = random.Random(seed)
    c = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    for n in range(1, pages + 1):
        c.setFont("Helvetica-Bold", 16)
        c.drawString(72, height - 72, f"Section {n}: {' '.join(rng.choice(WORDS) for _ in range(4)).title()}")
        c.setFont("Helvetica", 11)
        y = height - 110
        for line in text_lines(rng, lines_per_page):
            c.drawString(72, y, line)
            y -= 18
        c.drawString(width / 2, 40, str(n))
        c.showPage()
    c.save()
    return path


def scanned_pages(count: int, seed: int = 2, lines: int = 8, dpi: int = 200) -> list[tuple[Image.Image, str]]:
    """Image-only pages (grey paper, blur, speckle) and the text drawn on each."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        page_lines = text_lines(rng, lines)
        out.append((scanned_page_image(page_lines, dpi=dpi, seed=seed * 1000 + i), "\n".join(page_lines)))
    return out


def scanned_pdf(path: Path, count: int, seed: int = 2, lines: int = 8, dpi: int = 200) -> list[str]:
    """A multi-page image-only PDF; returns the known text of each page."""
    pages = scanned_pages(count, seed, lines, dpi)
    buf = io.BytesIO()
    first, *rest = [p[0] for p in pages]
    first.save(buf, format="PDF", resolution=dpi, save_all=True, append_images=rest)
    path.write_bytes(buf.getvalue())
    return [p[1] for p in pages]
