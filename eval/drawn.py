"""Text drawn as graphics on born-digital pages (issue 24): a generated set, because no page in ../shared has
drawn text that its truth keeps. Each page has a title set as vector outlines (filled paths traced from the
glyphs), a line of words inside a pasted picture, and paragraphs in the text layer below them. The truth is
the Markdown the page was drawn from. A seeded generator per page picks the words from a fixed vocabulary,
so no page is written by hand and none can be tuned to."""

from __future__ import annotations

import io
import random
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

W, H = 612, 792
PAGES = 12
VOCABULARY = (
    "annual report harbour board river valley planning committee spring meeting garden society northern region "
    "water supply public library museum council market street winter festival city school science museum health "
    "service coastal route village project energy future skills research centre summer program local history "
    "transport network open house family day bridge repair forest trail community fund youth theatre island ferry "
    "mountain rescue village hall railway station design week student union green park music night").split()
BODY = ("The {a} of the {b} takes place in the {c} of next year and is open to every {d}.",
        "Members are asked to register with the {a} before the end of the month at the {b} office.",
        "Tickets for the {a} are sold at the door of the {b} while the supply lasts.",
        "The {a} thanks the {b} for its help with the {c} and the {d} during the last season.",
        "A short report on the {a} and the {b} is sent to every member of the {c} in the autumn.")


def _font(size: int):
    from ocr_assets.samples import _font as font

    return font(size)


def words_image(text: str, height_px: int, fg=(20, 40, 120), bg=(255, 255, 255)) -> Image.Image:
    """`text` drawn into an RGB picture `height_px` tall per line of type (a pasted picture of words)."""
    font = _font(height_px)
    width = int(font.getlength(text)) + height_px
    image = Image.new("RGB", (width, int(height_px * 1.5)), bg)
    ImageDraw.Draw(image).text((height_px // 2, height_px // 6), text, font=font, fill=fg)
    return image


def draw_outlines(c: canvas.Canvas, text: str, at: tuple[float, float], height_pt: float,
                  page_height: float = H) -> None:
    """Text as filled vector paths (the glyph shapes traced from a bitmap): ink with no characters. `at` is the
    top-left corner, in points from the page's top."""
    scale = 8  # bitmap pixels per point
    mask = np.asarray(words_image(text, int(height_pt * scale), fg=(0, 0, 0)).convert("L")) < 128
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    path = c.beginPath()
    for contour in contours:
        pts = contour[:, 0, :] / scale
        path.moveTo(at[0] + pts[0][0], page_height - at[1] - pts[0][1])
        for x, y in pts[1:]:
            path.lineTo(at[0] + x, page_height - at[1] - y)
        path.close()
    c.drawPath(path, stroke=0, fill=1, fillMode=0)  # even-odd: the counters of O, R, ... stay open


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(n))


def page(name: str) -> tuple[bytes, str]:
    """(PDF, Markdown truth) of one generated page, the same for the same name."""
    rng = random.Random(name)
    title = _phrase(rng, rng.randint(5, 7)).title()
    picture = _phrase(rng, rng.randint(5, 7)).capitalize()
    paragraphs = [" ".join(rng.choice(BODY).format(**{k: _phrase(rng, 2) for k in "abcd"}) for _ in range(3))
                  for _ in range(2)]
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H))
    c.setFillColorRGB(0.1, 0.1, 0.1)
    size = rng.choice((24, 28, 32))
    size = min(size, size * (W - 160) / (_font(size * 8).getlength(title) / 8 + size))  # within the margins
    draw_outlines(c, title, (72, 80), size)
    image = words_image(picture, 60, fg=(rng.randint(0, 80), rng.randint(0, 80), rng.randint(60, 160)))
    height = 22.0
    c.drawImage(ImageReader(image), 72, H - 150 - height, image.width * height / image.height, height)
    c.setFont("Helvetica", 11)
    y = 220.0
    for paragraph in paragraphs:
        line: list[str] = []
        for word in paragraph.split() + [None]:
            if word is None or c.stringWidth(" ".join([*line, word]), "Helvetica", 11) > W - 144:
                c.drawString(72, H - y, " ".join(line))
                y += 15
                line = []
            if word is not None:
                line.append(word)
        y += 12
    c.showPage()
    c.save()
    truth = f"# {title}\n\n{picture}\n\n" + "\n\n".join(paragraphs) + "\n"
    return buf.getvalue(), truth


def write_set(folder: Path, pages: int = PAGES) -> list[tuple[str, Path, Path]]:
    """The set's pages as `drawn_NN.pdf` with their `drawn_NN.md` truth in `folder` (written once)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(1, pages + 1):
        name = f"drawn_{k:02d}"
        pdf, md = folder / f"{name}.pdf", folder / f"{name}.md"
        if not (pdf.exists() and md.exists()):
            data, truth = page(name)
            tmp = pdf.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(pdf)
            md.write_text(truth, encoding="utf-8")
        out.append((name, pdf, md))
    return out
