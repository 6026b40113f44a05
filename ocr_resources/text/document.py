"""Decisions that need a whole document: hyphenation (its vocabulary), page furniture (repetition across
pages), heading levels (its body type size), and list blocks."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ocr_resources.geometry.boxes import union, x_overlap, y_overlap
from ocr_resources.geometry.lines import BULLET_MARKS, rows
from ocr_resources.geometry.page import EDGE, LINE_NUMBERS, WATERMARK, Block
from ocr_resources.geometry.paragraphs import code_marks
from ocr_resources.geometry.reading_order import reading_order
from ocr_resources.text.blocks import TextBlock, sizes_differ
from ocr_resources.text.furniture import BESIDE_TEXT, furniture_decisions
from ocr_resources.text.hyphens import Vocabulary, dehyphenate
from ocr_resources.text.markdown import FURNITURE
from ocr_resources.text.structure import CAPTION_START, heading_levels, list_items

OCR_SIZE_PER_HEIGHT = 0.8  # an OCR line box is about 1.25 font sizes high (ascenders, descenders, padding)
# Code: a block whose characters are at least CODE_SHARE in a fixed-pitch font (`Word.mono`), in a document whose
# text is at least PROSE_SHARE not (a listing in a paper, a manual's page that is mostly listings), or whose
# characters are at least CODE_SYMBOLS code's brackets and operators (a page of listing on its own; a line alone:
# `_listing_alone`); a document typed all in Courier is prose, not code
CODE_SHARE = 0.8
PROSE_SHARE = 0.2
CODE_SYMBOLS = 0.06
LINE_CODE_SYMBOLS = 0.25
_CODE_CHARS = frozenset("{}[]()<>=;\\/|&*#$%@_^~`")
CODE_LABELS = ("text", "list", "reference", "other", "formula")  # (the layout model calls a listing any of these)
CODE_REASON = "fixed-pitch lines in a document of proportional text"
PICTURE_LABELS = ("table", "figure")  # (their words are no measure of the document's type)


@dataclass
class PageBlocks:
    page_no: int
    width: float
    height: float
    blocks: list[Block]


@dataclass
class BlockText:
    block: Block
    label: str
    text: str
    size: float | None
    bold: bool
    heading_level: int | None = None
    reason: str | None = None  # why a document-wide decision (furniture) gave it another label than its block's


def block_font(block: Block) -> tuple[float | None, bool]:
    """Median font size of a block's words (their line height, scaled, for OCR words) and whether most of
    its characters are bold."""
    words = block.words
    if not words:
        return None, False
    sizes = [w.size if w.size else w.box.height * OCR_SIZE_PER_HEIGHT for w in words]
    chars = sum(len(w.text) for w in words) or 1
    bold = sum(len(w.text) for w in words if w.bold) * 2 > chars
    return statistics.median(sizes), bold


def _mono_share(blocks: list[Block]) -> float:
    """The share of the blocks' characters that are code's: set in a fixed-pitch font, or a comment after a
    fixed-pitch mark."""
    chars = mono = 0
    for block in blocks:
        for line in block.lines:  # (a comment set in roman type after a fixed-pitch mark counts as code)
            for w, code in zip(line.words, code_marks(line.words), strict=True):
                chars += len(w.text)
                mono += len(w.text) if code else 0
    return mono / chars if chars else 0.0


def _listing_alone(block: Block) -> bool:
    """Code on a page typed in one fixed-pitch type, by its brackets and operators: CODE_SYMBOLS of its characters;
    a line alone needs two of them or more, or a quarter of it (a listing's "}" or "\\matrix(A.pal)", not a typed
    form's "Task #:")."""
    text = "".join(w.text for w in block.words)
    symbols = sum(ch in _CODE_CHARS for ch in text)
    share = symbols / len(text) if text else 0.0
    if len(block.lines) >= 2:
        return share >= CODE_SYMBOLS
    return share >= LINE_CODE_SYMBOLS or (symbols >= 2 and share >= CODE_SYMBOLS)


def _bulleted_term(block: Block) -> bool:
    """A list item's term set in typewriter type on a line of its own ("• Provides" over its description): a
    list's item, not a listing (no listing starts with a bullet)."""
    words = block.words
    return len(block.lines) == 1 and len(words) <= 4 and words[0].text[:1] in BULLET_MARKS and not words[0].mono


def code_text(block: Block) -> str:
    """A code block's lines as the document set them: whole rows (code's aligned columns are no gutters), each
    line's indent and the runs of spaces between its words counted in the font's cells (a word's width over its
    characters), so nesting and aligned columns stay; no hyphen joined."""
    cells = sorted(w.box.width / len(w.text) for w in block.words if w.mono and w.text)
    cell = cells[len(cells) // 2] if cells else 0.0
    if cell <= 0:
        return "\n".join(ln.text for ln in block.lines)
    lines = [sorted(row, key=lambda w: w.box.x0) for row in rows(block.words)]
    left = min(row[0].box.x0 for row in lines)
    heights = sorted(max(w.box.y1 for w in row) - min(w.box.y0 for w in row) for row in lines)
    gaps = [min(w.box.y0 for w in row) - max(w.box.y1 for w in lines[i - 1]) for i, row in enumerate(lines) if i]
    # a blank line of the listing: a gap most of a row taller than the listing's usual gap between rows (its
    # lower quartile: a listing set double-spaced has a row's height between all its rows and no blank line)
    usual = max(0.0, sorted(gaps)[len(gaps) // 4]) if gaps else 0.0
    blank = usual + 0.8 * heights[len(heights) // 2]
    out = []
    for i, row in enumerate(lines):
        if i and gaps[i - 1] > blank:
            out.append("")
        text = " " * max(0, round((row[0].box.x0 - left) / cell))
        for k, w in enumerate(row):
            if k:
                text += " " * max(1, round((w.box.x0 - row[k - 1].box.x1) / cell))
            text += w.text
        out.append(text)
    return "\n".join(out)


def finish_document(pages: list[PageBlocks], context: list[TextBlock] | None = None) -> list[list[BlockText]]:
    """Per page, per block (same order as given): final label, text, font and heading level. `context`
    holds blocks of the document's other pages (computed earlier) that inform repetition and sizes."""
    vocab = Vocabulary(b.text for p in pages for b in p.blocks)
    for tb in context or []:
        vocab.add(tb.text)
    results: list[list[BlockText]] = []
    flat: list[TextBlock] = []
    where: list[tuple[int, int]] = []
    # (the document's proportional text is all of it, headings and captions too: a manual's page of register
    # tables in Courier under a proportional heading and note is no document typed in Courier)
    code_allowed = _mono_share([b for p in pages for b in p.blocks if b.label not in PICTURE_LABELS]) <= 1 - PROSE_SHARE
    for pi, page in enumerate(pages):
        row = []
        for bi, block in enumerate(page.blocks):
            size, bold = block_font(block)
            if block.reason in (LINE_NUMBERS, WATERMARK):  # furniture as found on the page: no decision to take
                row.append(BlockText(block, "footer", block.text, size, bold, reason=block.reason))
                continue
            # (a line of code the layout model took for a title is code too; a heading set in bold typewriter
            # type is a heading)
            if (block.label in CODE_LABELS or (block.label == "title" and not bold)) and not _bulleted_term(block) \
                    and _mono_share([block]) >= CODE_SHARE and (code_allowed or _listing_alone(block)):
                row.append(BlockText(block, "code", code_text(block), size, bold, reason=CODE_REASON))
                continue  # (no furniture, heading or list decision: its lines are as the document set them)
            text = "\n".join(dehyphenate([ln.text for ln in block.lines], vocab))
            row.append(BlockText(block, block.label, text, size, bold))
            if block.label not in ("table", "figure"):
                ink = bool(block.words) and not any(w.size for w in block.words)  # OCR words: no font size
                flat.append(TextBlock(page.page_no, page.width, page.height, block.box, block.label, text, size, bold,
                                      max(1, len(block.lines)), block.form_row, block.figure_labels, ink))
                where.append((pi, bi))
        results.append(row)
    n_own = len(flat)
    flat.extend(context or [])
    relabel = furniture_decisions(flat)
    moved: dict[int, list[BlockText]] = {}
    for k, decision in relabel.items():
        if k < n_own:
            pi, bi = where[k]
            if results[pi][bi].label in FURNITURE and decision.reason.endswith(BESIDE_TEXT):
                moved.setdefault(pi, []).append(results[pi][bi])  # (a title set large stays first, as it was read)
            results[pi][bi].label, results[pi][bi].reason = decision.label, decision.reason
            flat[k].label = decision.label
    levels = heading_levels(flat)
    for k in range(n_own):
        pi, bi = where[k]
        bt = results[pi][bi]
        if k in levels:
            bt.label, bt.heading_level = "title", levels[k]
        elif bt.label == "title":
            # a "title" that is a caption is one; one too long to be a heading is a paragraph
            bt.label = "caption" if CAPTION_START.match(" ".join(bt.text.split())) else "text"
        # a bulleted or numbered list, also where the layout model took it for a reference list (each item
        # then a line of its own, not one paragraph)
        if bt.label in ("text", "reference") and list_items(bt.text.split("\n")):
            bt.label = "list"
    for pi, blocks in moved.items():  # (after every decision that finds a block by its index in its row)
        _into_reading_order(results[pi], blocks)
    for row in results:
        _merge_split_headings(row)
        _merge_code_beside(row)
        _merge_code_below(row)
    return results


def _into_reading_order(row: list[BlockText], moved: list[BlockText]) -> None:
    """Blocks the layout model called header or footer that stand beside the page's own text were read first
    (last), as furniture is: each now follows the block it comes after in the page's reading order (a CV's
    details at the top right, after the name and address at the top left); the others keep their order. (A
    header that is a title set large, or a filing's long stamp, stays where it was read: first.)"""
    for bt in moved:  # (by position alone: the page's furniture, read first or last, is no predecessor)
        order = reading_order([b.block.box for b in row])
        at = order.index(row.index(bt))
        before = row[order[at - 1]] if at else None
        row.remove(bt)
        row.insert(row.index(before) + 1 if before is not None else 0, bt)


def _merge_code_below(row: list[BlockText]) -> None:
    """Pieces of one listing read one after the other, the next right under the last in the same type (the layout
    model, or a paragraph rule such as an outdent, cut it), are one block, so that its lines keep their indents
    from one left edge and a blank line between them stays one."""
    last: BlockText | None = None
    for bt in row:
        if not bt.text:
            continue
        if (last is not None and bt.label == last.label == "code" and bt.size and last.size
                and not sizes_differ(bt.size, last.size)):
            a, b = last.block.box, bt.block.box
            line = statistics.median(ln.box.height for ln in last.block.lines)
            if min(a.x1, b.x1) > max(a.x0, b.x0) and -0.5 * line <= b.y0 - a.y1 <= 3.0 * line:
                lines = last.block.lines + bt.block.lines
                last.block = Block(last.block.region, last.block.label, union(ln.box for ln in lines), lines)
                last.text, bt.text = code_text(last.block), ""
                continue
        last = bt


def _merge_code_beside(row: list[BlockText]) -> None:
    """Code blocks side by side on one page (a listing's comment column, taken for a column of its own) are one
    listing, read row by row; not listings in two columns of the page's text that happen to share a height."""
    code = [bt for bt in row if bt.label == "code" and bt.text]
    prose = [bt.block.box for bt in row if bt.label not in ("code", *FURNITURE) and bt.text]

    def columns(box):  # the page's text around it: a column's prose holds a listing and its comments alike
        return {k for k, p in enumerate(prose) if x_overlap(p, box) > 0}

    paragraphs = [bt.block.box for bt in row if bt.label in ("text", "list", "reference") and bt.text
                  and len(bt.block.lines) >= 2 and 2 * sum(w.mono for w in bt.block.words) < len(bt.block.words)]

    def own_column(a, b) -> bool:  # prose paragraphs at a's left edge, clear of b: a's page column's text
        return any(abs(p.x0 - a.x0) <= EDGE and x_overlap(p, b) <= 0 for p in paragraphs)

    def other_column(a, b) -> bool:
        # listings at one height in two columns of the page's text (a newsletter's), or b, read after a, in a page
        # column whose paragraphs start at its left edge (a vignette's R output in the right column, beside a listing
        # in the left one, under a caption across both); a listing's comment column starts where no paragraph does
        return bool((ca := columns(a)) and (cb := columns(b)) and not ca & cb) or own_column(b, a)

    def join(bt: BlockText, other: BlockText) -> None:
        lines = bt.block.lines + other.block.lines
        bt.block = Block(bt.block.region, bt.block.label, union(ln.box for ln in lines), lines)
        bt.text, other.text = code_text(bt.block), ""

    joined = set()
    for k, bt in enumerate(code):
        for other in code[k + 1:]:
            a, b = bt.block.box, other.block.box
            if not other.text or min(a.y1, b.y1) - max(a.y0, b.y0) <= 0 or other_column(a, b):
                continue
            join(bt, other)
            joined.add(id(bt))
    # a line of code on its own beside a listing that took a piece beside it already (a table in Courier whose
    # left column the layout model left line by line: its first line joined the right column, the others were read
    # after it); not a listing's whole column (two listings side by side in a page's two columns stay two)
    for other in code:
        if other.text and len(other.block.lines) == 1:
            host = next((bt for bt in code if id(bt) in joined and bt.text and bt is not other
                         and y_overlap(bt.block.box, other.block.box) > 0.5 * other.block.box.height
                         and not other_column(bt.block.box, other.block.box)), None)
            if host is not None:
                join(host, other)


def _merge_split_headings(row: list[BlockText]) -> None:
    """A heading the layout model cut in two boxes (one per line, or two on one line): consecutive headings of
    one level and type, one right under the other or the next just right of the other on its line, become
    one."""
    last: BlockText | None = None
    for bt in row:
        if bt.label in ("header", "footer") or not bt.text:
            continue
        if (last is not None and bt.label == last.label == "title" and bt.heading_level == last.heading_level
                and bt.bold == last.bold and (bt.size or 0) == (last.size or 0)):
            a, b = last.block.box, bt.block.box
            below = 0 <= b.y0 - a.y1 <= 0.8 * max(a.height, 1.0) and min(a.x1, b.x1) > max(a.x0, b.x0)
            line_height = min(a.height, b.height)
            beside = (0 <= b.x0 - a.x1 <= line_height and abs(b.y0 - a.y0) <= 0.25 * line_height
                      and min(a.y1, b.y1) - max(a.y0, b.y0) >= 0.6 * line_height)
            if below or beside:
                last.text = last.text + ("\n" if below else " ") + bt.text
                bt.text = ""
                continue
        last = bt
