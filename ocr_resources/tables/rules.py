"""Ruling lines: the horizontal and vertical strokes a table is drawn with.

Read from the PDF's drawing operations (path objects: stroked lines, thin filled rectangles, the edges of
shaded cells), or found in a page image for scanned pages. A rule is kept as a thin box in PDF points,
origin top-left, like the words. Reading pdfium's objects happens in the render worker processes (pdfium is
not thread-safe); everything else here is plain geometry."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

MAX_THICKNESS = 3.0  # pt: thicker filled rectangles are shaded areas, whose edges count as rules
MIN_LENGTH = 4.0  # pt: shorter strokes are glyph parts, bullets, tick marks
MAX_PATH_SEGMENTS = 200_000  # per page: beyond this a page is a drawing (a map, a plot), not a table
_WHITE = 245  # fill/stroke components above this on all channels are paper colour: invisible


@dataclass(frozen=True)
class Rule:
    x0: float
    y0: float
    x1: float
    y1: float
    kind: str = "line"  # 'line': a stroke or a thin bar; 'edge': the border of a shaded area

    @property
    def horizontal(self) -> bool:
        return (self.x1 - self.x0) >= (self.y1 - self.y0)

    @property
    def length(self) -> float:
        return max(self.x1 - self.x0, self.y1 - self.y0)

    @property
    def pos(self) -> float:
        """Centre line: y of a horizontal rule, x of a vertical one."""
        return (self.y0 + self.y1) / 2 if self.horizontal else (self.x0 + self.x1) / 2

    @property
    def start(self) -> float:
        return self.x0 if self.horizontal else self.y0

    @property
    def end(self) -> float:
        return self.x1 if self.horizontal else self.y1

    def as_tuple(self) -> tuple[float, float, float, float, str]:
        return (self.x0, self.y0, self.x1, self.y1, self.kind)


# -- from the PDF's drawing ----------------------------------------------------------------------------------
def _matrix(pdfium_c, obj) -> tuple[float, ...]:
    m = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(m)):
        return (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _compose(inner: tuple[float, ...], outer: tuple[float, ...]) -> tuple[float, ...]:
    """inner then outer (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _visible(pdfium_c, obj, getter) -> bool:
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    if not getter(obj, ctypes.byref(r), ctypes.byref(g), ctypes.byref(b), ctypes.byref(a)):
        return True  # unknown colour: assume ink
    return a.value > 0 and not (r.value > _WHITE and g.value > _WHITE and b.value > _WHITE)


def _path_rules(pdfium_c, obj, matrix: tuple[float, ...], budget: list[int]) -> list[Rule]:
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj, ctypes.byref(fill_mode), ctypes.byref(stroke)):
        return []
    filled = (fill_mode.value != pdfium_c.FPDF_FILLMODE_NONE
              and _visible(pdfium_c, obj, pdfium_c.FPDFPageObj_GetFillColor))
    stroked = bool(stroke.value) and _visible(pdfium_c, obj, pdfium_c.FPDFPageObj_GetStrokeColor)
    if not (filled or stroked):
        return []
    n = pdfium_c.FPDFPath_CountSegments(obj)
    budget[0] -= max(0, n)
    if n <= 0 or budget[0] < 0:
        return []
    a, b, c, d, e, f = matrix
    width = ctypes.c_float()
    line_width = 0.0
    if stroked and pdfium_c.FPDFPageObj_GetStrokeWidth(obj, ctypes.byref(width)):
        line_width = width.value * max(abs(a) + abs(c), abs(b) + abs(d)) / 1.0
    x, y = ctypes.c_float(), ctypes.c_float()
    subpaths: list[list[tuple[float, float]]] = []
    curved: list[bool] = []
    for i in range(n):
        seg = pdfium_c.FPDFPath_GetPathSegment(obj, i)
        if not seg or not pdfium_c.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y)):
            continue
        point = (a * x.value + c * y.value + e, b * x.value + d * y.value + f)
        kind = pdfium_c.FPDFPathSegment_GetType(seg)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO or not subpaths:
            subpaths.append([point])
            curved.append(False)
        else:
            subpaths[-1].append(point)
            curved[-1] = curved[-1] or kind == pdfium_c.FPDF_SEGMENT_BEZIERTO
        if pdfium_c.FPDFPathSegment_GetClose(seg) and subpaths[-1][0] != point:
            subpaths[-1].append(subpaths[-1][0])
    rules: list[Rule] = []
    for points, is_curved in zip(subpaths, curved, strict=True):
        if is_curved or len(points) < 2:
            continue
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = (min(xs), min(ys), max(xs), max(ys))
        w, h = box[2] - box[0], box[3] - box[1]
        rectangle = len(points) >= 4 and _axis_aligned(points)
        if filled and rectangle and min(w, h) <= MAX_THICKNESS:
            rules.append(Rule(*box))  # a rule drawn as a thin filled rectangle
            continue
        if filled and rectangle:  # a shaded area: its edges separate it from its neighbours
            x0, y0, x1, y1 = box
            rules += [Rule(x0, y0, x1, y0, "edge"), Rule(x0, y1, x1, y1, "edge"),
                      Rule(x0, y0, x0, y1, "edge"), Rule(x1, y0, x1, y1, "edge")]
            continue
        if stroked:
            half = line_width / 2
            for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
                if abs(y1 - y0) <= 0.5 and abs(x1 - x0) > abs(y1 - y0):
                    rules.append(Rule(min(x0, x1), min(y0, y1) - half, max(x0, x1), max(y0, y1) + half))
                elif abs(x1 - x0) <= 0.5 and abs(y1 - y0) > abs(x1 - x0):
                    rules.append(Rule(min(x0, x1) - half, min(y0, y1), max(x0, x1) + half, max(y0, y1)))
    return rules


def _axis_aligned(points: list[tuple[float, float]]) -> bool:
    return all(abs(x1 - x0) <= 0.5 or abs(y1 - y0) <= 0.5
               for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False))


def page_objects(page, outer: tuple[float, ...], max_depth: int = 8):
    """Every object drawn on a pypdfium2 page, the contents of Form XObjects included (to `max_depth`), as
    (object, type, the matrix of its parent composed onto `outer`): `_compose(_matrix(raw, obj), parent)` places
    the object itself; only callers that need it pay for it. Call only where pdfium runs."""
    import pypdfium2.raw as pdfium_c

    def walk(count, get, parent, parent_matrix: tuple[float, ...], depth: int):
        for i in range(count(parent)):
            obj = get(parent, i)
            if not obj:
                continue
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            yield obj, kind, parent_matrix
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < max_depth:
                yield from walk(pdfium_c.FPDFFormObj_CountObjects, pdfium_c.FPDFFormObj_GetObject, obj,
                                _compose(_matrix(pdfium_c, obj), parent_matrix), depth + 1)

    yield from walk(pdfium_c.FPDFPage_CountObjects, pdfium_c.FPDFPage_GetObject, page.raw, outer, 0)


def pdf_page_rules(page, display: tuple[float, ...]) -> list[Rule]:
    """Rules drawn on a pypdfium2 page (Form XObjects included), merged, in display coordinates: `display`
    maps PDF user space onto the rendered page (points, origin top-left; see render.display_matrix). Call
    only where pdfium runs (the render workers)."""
    import pypdfium2.raw as pdfium_c

    rules: list[Rule] = []
    budget = [MAX_PATH_SEGMENTS]
    for obj, kind, parent in page_objects(page, display):
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            rules.extend(_path_rules(pdfium_c, obj, _compose(_matrix(pdfium_c, obj), parent), budget))
            if budget[0] < 0:
                break
    if budget[0] < 0:
        return []
    return merge_rules([r for r in rules if r.length >= MIN_LENGTH])


# -- from a page image ---------------------------------------------------------------------------------------
def image_rules(image, dpi: float, min_length_pt: float = 20.0) -> list[Rule]:
    """Long thin dark strokes of a page image (scanned pages): morphological opening with a long, one-pixel
    kernel keeps only what is at least `min_length_pt` long in one direction. Boxes in PDF points."""
    import cv2
    import numpy as np

    gray = np.asarray(image.convert("L"))
    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 15, 10)
    length = max(8, int(min_length_pt * dpi / 72))
    to_pt = 72.0 / dpi
    rules: list[Rule] = []
    for horizontal in (True, False):
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if horizontal else (1, length))
        lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, kernel)
        n, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        for x, y, w, h, _area in stats[1:n]:
            thick = h if horizontal else w
            if thick * to_pt > MAX_THICKNESS * 2:
                continue  # a solid block (a photo, a black bar), not a line
            rules.append(Rule(x * to_pt, y * to_pt, (x + w) * to_pt, (y + h) * to_pt))
    return merge_rules(rules)


# -- cleaning ------------------------------------------------------------------------------------------------
def merge_rules(rules: list[Rule], tol: float = 1.5, gap: float = 1.5) -> list[Rule]:
    """Collinear rules that touch or overlap become one (tables are often drawn one cell edge at a time;
    double rules a point apart become one)."""
    out: list[Rule] = []
    for horizontal, kind in ((True, "line"), (False, "line"), (True, "edge"), (False, "edge")):
        group = sorted((r for r in rules if r.horizontal == horizontal and r.kind == kind),
                       key=lambda r: (r.pos, r.start))
        lanes: list[list[Rule]] = []  # rules on (about) the same line
        for r in group:
            if lanes and abs(lanes[-1][-1].pos - r.pos) <= tol:
                lanes[-1].append(r)
            else:
                lanes.append([r])
        for lane in lanes:
            lane.sort(key=lambda r: r.start)
            cur = lane[0]
            for r in lane[1:]:
                if r.start <= cur.end + gap:
                    cur = Rule(min(cur.x0, r.x0), min(cur.y0, r.y0), max(cur.x1, r.x1), max(cur.y1, r.y1), kind)
                else:
                    out.append(cur)
                    cur = r
            out.append(cur)
    return out
