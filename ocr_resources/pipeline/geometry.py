"""Page geometry helpers: reading order of regions, words into regions, words into lines of text."""

from __future__ import annotations

from ocr_resources.types import Box, Word


def reading_order(boxes: list[Box], page_width: float) -> list[int]:
    """Indices of `boxes` in reading order: top to bottom, but a band of side-by-side columns is read
    column by column (left column first). Full-width regions separate the bands."""
    if not boxes:
        return []
    mid = page_width / 2
    order: list[int] = []
    band: list[int] = []

    def flush() -> None:
        left = sorted((i for i in band if boxes[i].center[0] < mid), key=lambda i: boxes[i].y0)
        right = sorted((i for i in band if boxes[i].center[0] >= mid), key=lambda i: boxes[i].y0)
        order.extend(left + right)
        band.clear()

    for i in sorted(range(len(boxes)), key=lambda i: (boxes[i].y0, boxes[i].x0)):
        full_width = boxes[i].x0 < mid - 0.05 * page_width and boxes[i].x1 > mid + 0.05 * page_width
        if full_width:
            flush()
            order.append(i)
        else:
            band.append(i)
    flush()
    return order


def suppress_duplicates(boxes: list[Box], scores: list[float], iou_threshold: float = 0.7) -> list[int]:
    """Indices to keep when a detector reports the same area twice under different labels (e.g. CDLA's
    title + header on one line): the higher score wins."""
    keep: list[int] = []
    for i in sorted(range(len(boxes)), key=lambda i: -scores[i]):
        if all(_iou(boxes[i], boxes[j]) < iou_threshold for j in keep):
            keep.append(i)
    return sorted(keep)


def _iou(a: Box, b: Box) -> float:
    inter = a.intersection(b)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def line_segments(words: list[Word], gap_factor: float = 1.5) -> list[Word]:
    """Words joined into runs of one text line (a gap wider than ~1.5 text heights starts a new run, so
    the columns of a page or a table stay apart). Assigning runs rather than words to regions keeps a
    sentence whole when a region box clips the edge of its line."""
    segments: list[Word] = []
    for line in words_to_lines(words):
        for word in line:
            if segments and segments[-1] is not None and _same_run(segments[-1], word, gap_factor):
                last = segments[-1]
                box = Box(last.box.x0, min(last.box.y0, word.box.y0), max(last.box.x1, word.box.x1),
                          max(last.box.y1, word.box.y1))
                segments[-1] = Word(f"{last.text} {word.text}", box, min(last.confidence, word.confidence))
            else:
                segments.append(word)
        segments.append(None)  # line break: runs never continue onto the next line
    return [s for s in segments if s is not None]


def _same_run(run: Word, word: Word, gap_factor: float) -> bool:
    height = max(1e-6, min(run.box.height, word.box.height))
    return 0 <= word.box.x0 - run.box.x1 < gap_factor * height or word.box.x0 < run.box.x1 <= word.box.x1


def assign_words(words: list[Word], regions: list[Box], min_overlap: float = 0.5) -> list[int | None]:
    """For each word, the index of the region holding most of it (None when no region holds enough)."""
    out: list[int | None] = []
    for word in words:
        area = max(word.box.area, 1e-6)
        best, best_frac = None, min_overlap
        for idx, region in enumerate(regions):
            frac = word.box.intersection(region) / area
            if frac > best_frac or (frac == best_frac and best is not None and region.area < regions[best].area):
                best, best_frac = idx, frac
        out.append(best)
    return out


def words_to_lines(words: list[Word]) -> list[list[Word]]:
    """Words grouped into text lines (vertical overlap), top to bottom, left to right."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.box.center[1], w.box.x0)):
        if lines:
            last = lines[-1]
            top = min(w.box.y0 for w in last)
            bottom = max(w.box.y1 for w in last)
            overlap = min(bottom, word.box.y1) - max(top, word.box.y0)
            if overlap > 0.5 * min(bottom - top, word.box.height):
                last.append(word)
                continue
        lines.append([word])
    return [sorted(line, key=lambda w: w.box.x0) for line in lines]


def words_to_text(words: list[Word]) -> str:
    return "\n".join(" ".join(w.text for w in line) for line in words_to_lines(words))
