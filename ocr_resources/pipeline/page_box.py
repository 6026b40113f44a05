"""A page's box as pdfium sees it, repaired once where the file's boxes are broken.

A PDF says where its page is with a MediaBox and an optional CropBox, and both can lie: `[0 0 0 0]`, inverted
(`[612 792 0 0]`), unreadable (NaN, a flipped byte: `[ 0"0 595 842 ]`), or a CropBox outside the MediaBox.
pdfium renders such a page with a box of its own (normalised, intersected, US Letter when nothing usable is
left), while the raw numbers put its words hundreds of points off the page. So the box is read here, from
pdfium, once per page; a box pdfium cannot use is replaced on the page in memory (never in the file); and the
same box gives the display matrix of rendering, the text layer's words, the ruling lines, layout and export."""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

LETTER = (0.0, 0.0, 612.0, 792.0)  # pdfium's page when no box is usable

Rect = tuple[float, float, float, float]  # left, bottom, right, top in PDF user space
Display = tuple[float, float, float, float, float, float]  # x' = a*x + c*y + e, y' = b*x + d*y + f


@dataclass(frozen=True)
class PageBox:
    box: Rect  # the visible page in PDF user space (pdfium's crop box intersected with the media box)
    rotation: int  # 0, 90, 180 or 270
    repair: str | None = None  # what was wrong with the file's boxes and what is used instead

    @property
    def display(self) -> Display:
        """PDF user space -> the page as rendered: points, origin top-left, the box's corner at 0 and the
        page's /Rotate applied."""
        x0, y0, x1, y1 = self.box
        return {
            0: (1.0, 0.0, 0.0, -1.0, -x0, y1),
            90: (0.0, 1.0, 1.0, 0.0, -y0, -x0),
            180: (-1.0, 0.0, 0.0, 1.0, x1, -y0),
            270: (0.0, -1.0, -1.0, 0.0, y1, x1),
        }[self.rotation]


def _fmt(rect: Rect) -> str:
    return "[" + " ".join(f"{v:g}" for v in rect) + "]"


def _usable(rect: Rect) -> bool:
    return all(math.isfinite(v) for v in rect) and rect[2] > rect[0] and rect[3] > rect[1]


def _normal(rect: Rect) -> Rect:
    return (min(rect[0], rect[2]), min(rect[1], rect[3]), max(rect[0], rect[2]), max(rect[1], rect[3]))


def _raw_box(page, getter) -> Rect | None:
    values = [ctypes.c_float() for _ in range(4)]
    if not getter(page.raw, *(ctypes.byref(v) for v in values)):
        return None
    return tuple(float(v.value) for v in values)  # type: ignore[return-value]


def _pdfium_box(page) -> Rect:
    import pypdfium2.raw as raw

    rect = raw.FS_RECTF()
    if not raw.FPDF_GetPageBoundingBox(page.raw, ctypes.byref(rect)):
        return (math.nan,) * 4  # type: ignore[return-value]
    return (rect.left, rect.bottom, rect.right, rect.top)


def _problems(media: Rect | None, crop: Rect | None) -> list[str]:
    """What is wrong with the file's boxes, as pdfium read them (unreadable numbers come back as 0)."""
    out = []
    if media is None:
        out.append("the page has no MediaBox")
    elif not _usable(_normal(media)):
        out.append(f"MediaBox {_fmt(media)} is empty or unreadable")
    elif not _usable(media):
        out.append(f"MediaBox {_fmt(media)} is inverted")
    if crop is not None:
        if not _usable(_normal(crop)):
            out.append(f"CropBox {_fmt(crop)} is empty or unreadable")
        elif not _usable(crop):
            out.append(f"CropBox {_fmt(crop)} is inverted")
    return out


def normalise(page) -> PageBox:
    """The page's box as pdfium renders it. Where pdfium is left with no visible page (a CropBox outside the
    MediaBox), the MediaBox (or US Letter) is set as the page's CropBox in memory, so rendering and text agree.
    `repair` says what was wrong, for a warning row; None when the file's boxes were fine."""
    import pypdfium2.raw as raw

    media = _raw_box(page, raw.FPDFPage_GetMediaBox)
    crop = _raw_box(page, raw.FPDFPage_GetCropBox)
    problems = _problems(media, crop)
    box = _pdfium_box(page)
    if not _usable(box):
        fallback = _normal(media) if media is not None and _usable(_normal(media)) else LETTER
        if crop is not None and _usable(_normal(crop)):
            problems.append(f"CropBox {_fmt(crop)} lies outside the MediaBox {_fmt(fallback)}")
        raw.FPDFPage_SetCropBox(page.raw, *fallback)
        box = _pdfium_box(page)
        if not _usable(box):  # nothing pdfium accepts: the page as US Letter
            raw.FPDFPage_SetMediaBox(page.raw, *LETTER)
            raw.FPDFPage_SetCropBox(page.raw, *LETTER)
            box = _pdfium_box(page)
    rotation = (page.get_rotation() or 0) % 360
    repair = None
    if problems:
        repair = f"page box repaired: {'; '.join(problems)}; the page is read as {_fmt(box)}"
    return PageBox(box, rotation if rotation in (0, 90, 180, 270) else 0, repair)
