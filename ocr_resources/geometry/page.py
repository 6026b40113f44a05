"""A page's words and layout regions composed into blocks of text lines, in reading order.

- Each word goes to the innermost region holding most of it, so nested boxes (a big text box around its
  paragraphs) never split a line between them: the outer box keeps only the words no inner box holds.
- Words outside every region are not appended at the end: a line that continues a region's line (a box that
  clips the end of its line), or sits right under or over a text region's column, joins that region; the rest
  become blocks of their own, placed in the flow by their position like any region.
- Lines are built per block, so they never run across a column gutter, and a block's lines are read in the
  same above-graph order as the page's blocks (a box that spans two columns is still read column by column).
- Captions are moved next to the figure or table they describe (before it, as docling's Markdown has it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ocr_resources.geometry.boxes import TEXT_LABELS, inside, union, x_overlap, y_overlap
from ocr_resources.geometry.lines import GAP_FACTOR, Line, is_rtl, lines, rows
from ocr_resources.geometry.reading_order import reading_order
from ocr_resources.types import Box, Word

_BODY = frozenset({"text", "title", "list", "reference", "caption", "formula", "other"})
PAGE_FIGURE = 0.4  # share of the page a "figure" must cover to be taken for a page of text


@dataclass
class Block:
    region: int | None  # index of its layout region; None for words outside every region
    label: str
    box: Box  # what reading order used: a text region's words' box, else the region's box
    lines: list[Line] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def assign(words: list[Word], regions: list[Box], min_inside: float = 0.5) -> list[int | None]:
    """For each word, the smallest region holding at least `min_inside` of it (None when none does)."""
    out: list[int | None] = []
    for word in words:
        best = None
        for idx, region in enumerate(regions):
            if inside(word.box, region) >= min_inside and (best is None or region.area < regions[best].area):
                best = idx
        out.append(best)
    return out


def _join_cut_lines(words: list[Word], owner: list[int | None], regions: list[Box],
                    labels: list[str]) -> list[int | None]:
    """Text boxes that cut a line in two (an inner box narrower than the lines around it, two boxes that
    meet mid-line) are one box: where two words on one baseline, a word space apart, went to different
    text regions, the larger region takes all the words of both."""
    parent = list(range(len(regions)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    index = {id(w): k for k, w in enumerate(words)}
    joined = False
    for row in rows(words):
        row.sort(key=lambda w: w.box.x0)
        for a, b in zip(row, row[1:], strict=False):
            ra, rb = owner[index[id(a)]], owner[index[id(b)]]
            if ra is None or rb is None or find(ra) == find(rb):
                continue
            if labels[ra] not in _BODY or labels[rb] not in _BODY:
                continue
            h = min(a.box.height, b.box.height)
            if b.box.x0 - a.box.x1 <= 0.6 * h and y_overlap(a.box, b.box) >= 0.7 * h:
                big, small = (ra, rb) if regions[ra].area >= regions[rb].area else (rb, ra)
                parent[find(small)] = find(big)
                joined = True
    if not joined:
        return owner
    return [None if o is None else find(o) for o in owner]


def _adopt(line: Line, regions: list[Box], labels: list[str], members: list[list[Word]]) -> int | None:
    """The region an orphan line belongs to: one whose words continue it on the same baseline, or a text
    region whose column it extends by one line (a box drawn a line too short)."""
    h = line.height
    best, best_gap = None, None
    for idx in range(len(regions)):
        for w in members[idx]:
            if y_overlap(w.box, line.box) > 0.5 * min(w.box.height, h):
                g = max(line.box.x0 - w.box.x1, w.box.x0 - line.box.x1)
                if g <= GAP_FACTOR * h and (best_gap is None or g < best_gap):
                    best, best_gap = idx, g
    if best is not None:
        return best
    for idx, region in enumerate(regions):
        if labels[idx] not in TEXT_LABELS or not members[idx]:
            continue
        g = max(region.y0 - line.box.y1, line.box.y0 - region.y1)
        if -0.5 * h <= g <= 0.8 * h and x_overlap(line.box, region) >= 0.6 * line.box.width:
            if best_gap is None or g < best_gap:
                best, best_gap = idx, g
    return best


def _same_type(a: Line, b: Line) -> bool:
    if a.bold != b.bold:
        return False
    if a.size and b.size:
        return 0.9 <= a.size / b.size <= 1.1
    return 0.67 <= a.height / max(b.height, 1e-6) <= 1.5


def _group_orphans(orphan_lines: list[Line]) -> list[list[Line]]:
    """Lines outside every region into paragraphs: a line joins the block whose last line it continues
    (just below it, overlapping its column, in the same type, no wider gap than the block's line spacing)."""
    groups: list[list[Line]] = []
    for line in sorted(orphan_lines, key=lambda ln: (ln.box.y0, ln.box.x0)):
        h = line.height
        for group in reversed(groups):
            last = group[-1]
            g = line.box.y0 - last.box.y1
            spacing = last.box.y0 - group[-2].box.y1 if len(group) > 1 else None
            if (-0.3 * h <= g <= 0.9 * h and x_overlap(line.box, last.box) > 0 and _same_type(line, last)
                    and (spacing is None or g <= spacing + 0.25 * h)):
                group.append(line)
                break
        else:
            groups.append([line])
    return groups


def order_lines(block_lines: list[Line], rtl: bool = False) -> list[Line]:
    return [block_lines[i] for i in reading_order([ln.box for ln in block_lines], rtl=rtl)]


def attach_captions(order: list[int], boxes: list[Box], labels: list[str]) -> list[int]:
    """`order` with each caption moved right before the figure or table it is nearest to (vertically
    adjacent, sharing its column). Captions with no such neighbour stay where they are."""
    targets = [i for i in order if labels[i] in ("figure", "table")]
    moved: dict[int, list[int]] = {}
    for c in order:
        if labels[c] != "caption":
            continue
        cap = boxes[c]
        best, best_gap = None, None
        for t in targets:
            box = boxes[t]
            if x_overlap(cap, box) < 0.3 * min(cap.width, box.width):
                continue
            g = max(box.y0 - cap.y1, cap.y0 - box.y1)
            if g <= max(3 * cap.height, 24.0) and (best_gap is None or g < best_gap):
                best, best_gap = t, g
        if best is not None:
            moved.setdefault(best, []).append(c)
    attached = {c for cs in moved.values() for c in cs}
    out: list[int] = []
    for i in order:
        if i in attached:
            continue
        out.extend(moved.get(i, []))
        out.append(i)
    return out


def _container(idx: int, regions: list[Box]) -> bool:
    return any(j != idx and inside(r, regions[idx]) >= 0.8 for j, r in enumerate(regions))


def compose(words: list[Word], regions: list[Box], labels: list[str], rtl: bool | None = None,
            page: Box | None = None, keep_whole: frozenset[int] = frozenset()) -> list[Block]:
    """Blocks for the regions (empty ones included, except outer boxes emptied by the boxes inside them) and
    for the words outside every region, in reading order. A figure covering much of the `page` whose words
    are prose is followed by its paragraphs as blocks of their own (unless its index is in `keep_whole`)."""
    page_rtl = is_rtl(words) if rtl is None else rtl
    owner = _join_cut_lines(words, assign(words, regions), regions, labels)
    members: list[list[Word]] = [[] for _ in regions]
    orphans: list[Word] = []
    for word, idx in zip(words, owner, strict=True):
        (orphans if idx is None else members[idx]).append(word)
    loose: list[Line] = []
    for line in lines(orphans):
        idx = _adopt(line, regions, labels, members)
        if idx is None:
            loose.append(line)
        else:
            members[idx].extend(line.words)
    blocks: list[Block] = []
    empty: list[Block] = []  # text boxes left without words: kept (after the flow), never ordered
    for idx, (region, label) in enumerate(zip(regions, labels, strict=True)):
        region_lines = order_lines(lines(members[idx]), page_rtl)
        if not region_lines and label in TEXT_LABELS:
            if not _container(idx, regions):  # (an outer box whose words all went inside has nothing of its own)
                empty.append(Block(idx, label, region, []))
            continue
        box = region
        if region_lines and label in TEXT_LABELS:
            box = union(ln.box for ln in region_lines)
        elif region_lines:
            box = union([region, *(ln.box for ln in region_lines)])
        blocks.append(Block(idx, label, box, region_lines))
    for group in form_rows(_group_orphans(loose), page_rtl):
        blocks.append(Block(None, "text", union(ln.box for ln in group),
                            group if _is_row(group) else order_lines(group, page_rtl)))
    inner: dict[int, list[Block]] = {}
    for k, block in enumerate(blocks):
        # A page of text the layout model took for one picture is read as text; the words of a real picture
        # (a screenshot, a chart, labels of a drawing) stay with it.
        large = page is None or block.box.area >= PAGE_FIGURE * page.area
        if block.label == "figure" and block.region not in keep_whole and large and is_prose(block.lines):
            inner[k] = _paragraphs(block.lines, page_rtl)
            block.lines = []
    for k, block in enumerate(blocks):
        head = _leading_heading(block)
        if head:
            body = block.lines[head:]
            inner.setdefault(k, []).insert(0, Block(block.region, block.label, union(ln.box for ln in body), body))
            block.lines = block.lines[:head]
            block.box = union(ln.box for ln in block.lines)
    for k, block in enumerate(blocks):
        parts = [block, *inner.get(k, [])]
        split: list[Block] = []
        for part in parts:
            split.extend(_split_paragraphs(part))
        if len(split) > len(parts):
            blocks[k] = split[0]
            inner[k] = split[1:]
    boxes = [b.box for b in blocks]
    block_labels = [b.label for b in blocks]
    order = attach_captions(reading_order(boxes, block_labels, page_rtl), boxes, block_labels)
    return [b for i in order for b in [blocks[i], *inner.get(i, [])]] + empty


def _leading_heading(block: Block, max_lines: int = 2, max_words: int = 16) -> int:
    """How many first lines of a text block are a heading set in another type than the rest (bold over
    regular, or larger): the layout model often boxes a heading with its paragraph."""
    if block.label not in ("text", "list") or len(block.lines) < 2:
        return 0
    for k in range(1, min(max_lines, len(block.lines) - 1) + 1):
        head, rest = block.lines[:k], block.lines[k:]
        if sum(len(ln.words) for ln in head) > max_words:
            return 0
        rest_size = sorted(ln.size or ln.height for ln in rest)[len(rest) // 2]
        rest_bold = sum(ln.bold for ln in rest) * 2 > len(rest)
        sizes = [ln.size or ln.height for ln in head]
        if not all(_same_type(head[0], ln) for ln in head):
            return 0
        if head[-1].text[-1:] in ".,;:":
            return 0
        if ((head[0].bold and not rest_bold) or min(sizes) >= 1.08 * rest_size) and (
                head[-1].bold != rest[0].bold or (head[-1].size or head[-1].height) >= 1.08 * (rest[0].size or
                                                                                              rest[0].height)):
            return k
    return 0


_SENTENCE_END = ".!?:;。！？\"”’)"


def _split_paragraphs(block: Block) -> list[Block]:
    """A text block holding several paragraphs (one layout box around them) split where a paragraph ends:
    a wider gap than the block's line spacing, or, in justified text, a short line ending a sentence, or a
    first-line indent after a sentence end."""
    ls = block.lines
    if block.label != "text" or len(ls) < 3:
        return [block]
    gaps = [b.box.y0 - a.box.y1 for a, b in zip(ls, ls[1:], strict=False)]
    pairs = zip(gaps, ls, ls[1:], strict=False)
    if any(g < -0.5 * ln.height or x_overlap(ln.box, nxt.box) <= 0 for g, ln, nxt in pairs):
        return [block]  # not one column of lines read top to bottom
    spacing = sorted(gaps)[len(gaps) // 2]
    left, right = min(ln.box.x0 for ln in ls), max(ln.box.x1 for ln in ls)
    width = right - left
    rtl = sum(ln.rtl for ln in ls) * 2 > len(ls)
    if rtl:  # mirror: right-to-left lines start at the right edge
        ls = [Line(ln.words, Box(-ln.box.x1, ln.box.y0, -ln.box.x0, ln.box.y1), ln.rtl) for ln in ls]
        left, right = -right, -left
    justified = sorted(ln.box.x1 for ln in ls[:-1])[(len(ls) - 1) // 2] >= right - 0.05 * width
    starts = [0]
    for i in range(len(ls) - 1):
        a, b = ls[i], ls[i + 1]
        h = a.height
        ends = a.text[-1:] in _SENTENCE_END
        begins = not b.text[:1].islower()
        wide_gap = gaps[i] > spacing + 0.5 * h
        short_end = justified and ends and a.box.x1 < right - 0.15 * width and begins
        indent = (ends and begins and b.box.x0 > left + 0.8 * h
                  and (i + 2 >= len(ls) or ls[i + 2].box.x0 < left + 0.4 * h))
        if wide_gap or short_end or indent:
            starts.append(i + 1)
    if len(starts) == 1:
        return [block]
    out = []
    for s, e in zip(starts, [*starts[1:], len(ls)], strict=True):
        part = block.lines[s:e]
        out.append(Block(block.region, block.label, union(ln.box for ln in part), part))
    return out


def is_prose(block_lines: list[Line], min_lines: int = 3, min_words: int = 6) -> bool:
    """Running text rather than labels: a few lines of several words each."""
    return sum(1 for ln in block_lines if len(ln.words) >= min_words) >= min_lines


def _paragraphs(block_lines: list[Line], rtl: bool) -> list[Block]:
    """The text inside a figure that holds prose (a page the layout model took for a picture), as blocks
    of their own in reading order, after the figure."""
    groups = form_rows(_group_orphans(block_lines), rtl)
    boxes = [union(ln.box for ln in g) for g in groups]
    return [Block(None, "text", boxes[i], groups[i] if _is_row(groups[i]) else order_lines(groups[i], rtl))
            for i in reading_order(boxes, rtl=rtl)]


def _is_row(group: list[Line]) -> bool:
    return len(group) > 1 and x_overlap(group[0].box, group[1].box) <= 0


def form_rows(groups: list[list[Line]], rtl: bool = False) -> list[list[Line]]:
    """A column of labels beside a column of values (a form) read row by row, each label with its value,
    not all labels and then all values. Labels are a ragged column of short lines that start at one edge
    (left; right on right-to-left pages), most of which have a value line on their baseline; two columns of
    running text fill their lines and are left alone."""
    boxes = [union(ln.box for ln in g) for g in groups]
    edge = [(-b.x1 if rtl else b.x0) for b in boxes]
    for i in sorted(range(len(groups)), key=lambda k: edge[k]):
        column = [j for j in range(len(groups)) if abs(edge[j] - edge[i]) <= 3.0]
        labels = [ln for j in column for ln in groups[j]]
        lx0, lx1 = min(boxes[j].x0 for j in column), max(boxes[j].x1 for j in column)
        ly0, ly1 = min(boxes[j].y0 for j in column), max(boxes[j].y1 for j in column)
        beside = [j for j, bb in enumerate(boxes) if j not in column and ((bb.x1 <= lx0) if rtl else (bb.x0 >= lx1))
                  and ly0 - 0.5 * bb.height <= bb.center[1] <= ly1 + 0.5 * bb.height]
        values = sorted((ln for j in beside for ln in groups[j]), key=lambda ln: ln.box.center[1])
        if not _labels_beside(labels, values):
            continue
        keys = sorted(labels, key=lambda ln: ln.box.y0)
        rows_: list[list[Line]] = [[v for v in values if v.box.center[1] < keys[0].box.y0]]
        for k, key in enumerate(keys):
            end = keys[k + 1].box.y0 if k + 1 < len(keys) else float("inf")
            rows_.append([key, *(v for v in values if key.box.y0 <= v.box.center[1] < end)])
        rest = [g for j, g in enumerate(groups) if j not in column and j not in beside]
        return form_rows(rest, rtl) + [r for r in rows_ if r]
    return groups


def _labels_beside(a: list[Line], b: list[Line]) -> bool:
    if len(a) < 3 or len(b) < 3:
        return False
    width = union(ln.box for ln in a).width
    ragged = sum(1 for ln in a if ln.box.width < 0.8 * width)
    paired = sum(1 for ln in a if any(y_overlap(ln.box, v.box) > 0.5 * min(ln.height, v.height) for v in b))
    return ragged >= 0.5 * len(a) and paired >= max(3, 0.5 * len(a))
