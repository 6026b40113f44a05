"""Tables printed sideways on a digital page. The text layer's words carry the way they run (their glyphs'
rotation, `Word.angle`); words from elsewhere (OCR, a text layer read without the angle) come as a glyph each,
stacked down the page ("r e n 3 6 1 9 ..."). Such a table is read in its own orientation: its words (or
glyphs), rules and region are turned upright, glyphs are joined into words there, and the structure found
upright is the table's (cell boxes turned back onto the page)."""

from __future__ import annotations

import dataclasses
import statistics

from ocr_resources.geometry.boxes import UPRIGHT, Turn, turned_box
from ocr_resources.tables.lines import text_lines
from ocr_resources.tables.rules import Rule
from ocr_resources.types import Box, TableStructure, Word

# Text read bottom to top (turned a quarter anticlockwise) is made upright by turning the page a quarter
# clockwise, and the other way round.
_UPRIGHT: dict[str, tuple[Turn, Turn]] = {"anticlockwise": UPRIGHT[90], "clockwise": UPRIGHT[270]}
SIDEWAYS_SHARE = 0.9  # of the words: turned sideways (a sideways heading in an upright table is not enough)
_WAY = {90: "anticlockwise", 270: "clockwise"}  # Word.angle: degrees anticlockwise the word runs


def _glyph_sideways(w: Word) -> bool:
    # a glyph turned sideways is wider (its height) than tall (its advance); upright letters are the other way
    return len(w.text.strip()) == 1 and w.box.width > 1.3 * w.box.height


def _turned(w: Word) -> bool:
    return w.angle in _WAY or _glyph_sideways(w)


def sideways(words: list[Word]) -> str | None:
    """'anticlockwise' or 'clockwise' when most of these words are glyphs set sideways, else None. Which way:
    words of the stacks read top to bottom begin with a capital (turned clockwise) or end with one
    (anticlockwise, read bottom to top); anticlockwise when nothing tells."""
    if len(words) < 8 or sum(map(_turned, words)) < SIDEWAYS_SHARE * len(words):
        return None
    known = [_WAY[w.angle] for w in words if w.angle in _WAY]
    if len(known) * 2 > len(words):  # the text layer says which way
        return max(sorted(set(known)), key=known.count)
    votes = 0
    for stack in _stacks([w for w in words if _glyph_sideways(w)]):
        text = "".join(w.text for w in stack)
        if len(text) >= 3 and text.isalpha():
            votes += (text[0].isupper() and text[1:].islower()) - (text[-1].isupper() and text[:-1].islower())
    return "clockwise" if votes > 0 else "anticlockwise"


def _stacks(glyphs: list[Word]) -> list[list[Word]]:
    """Glyphs that touch one above the other in one column: the words of sideways text, top to bottom."""
    out: list[list[Word]] = []
    for g in sorted(glyphs, key=lambda w: (round(w.box.x0), w.box.y0)):
        last = out[-1][-1] if out else None
        if (last is not None and abs(last.box.x0 - g.box.x0) < 0.3 * g.box.width
                and -0.3 * g.box.height <= g.box.y0 - last.box.y1 < 0.15 * g.box.width):
            out[-1].append(g)
        else:
            out.append([g])
    return out


def _words_upright(glyphs: list[Word]) -> list[Word]:
    """Upright glyphs joined into words: glyphs on one line with less than a thin space between them."""
    out: list[Word] = []
    for line in text_lines(glyphs):
        height = statistics.median(g.box.height for g in line.words)
        word = [line.words[0]]
        for g in line.words[1:]:
            if g.box.x0 - word[-1].box.x1 > 0.15 * height:
                out.append(_join(word))
                word = [g]
            else:
                word.append(g)
        out.append(_join(word))
    return out


def _join(glyphs: list[Word]) -> Word:
    box = Box(min(g.box.x0 for g in glyphs), min(g.box.y0 for g in glyphs), max(g.box.x1 for g in glyphs),
              max(g.box.y1 for g in glyphs))
    return Word("".join(g.text for g in glyphs), box, min((g.confidence for g in glyphs), default=1.0))


def upright(words: list[Word], rules: list[Rule], region: Box,
            way: str) -> tuple[list[Word], list[Rule], Box, Turn]:
    """The table's words (joined from glyphs where they come as glyphs), rules and region turned upright, and
    the turn back."""
    turn, back = _UPRIGHT[way]
    glyphs = [Word(w.text, turned_box(w.box, turn), w.confidence) for w in words]
    boxes = [(turned_box(Box(r.x0, r.y0, r.x1, r.y1), turn), r.kind) for r in rules]
    turned_rules = [Rule(b.x0, b.y0, b.x1, b.y1, kind) for b, kind in boxes]
    whole = sum(w.angle in _WAY for w in words) * 2 > len(words)  # words the text layer joined already
    return glyphs if whole else _words_upright(glyphs), turned_rules, turned_box(region, turn), back


def turned_back(table: TableStructure, back: Turn) -> TableStructure:
    """The structure found upright with its cell boxes on the page again."""
    cells = [dataclasses.replace(c, box=turned_box(c.box, back) if c.box else None) for c in table.cells]
    return dataclasses.replace(table, cells=cells)
