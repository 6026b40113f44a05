"""Text lines and phrases: the words of a table region grouped the way a reader sees them."""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field

from ocr_resources.geometry.boxes import UPRIGHT, turned_box
from ocr_resources.geometry.lines import is_rtl, order_words
from ocr_resources.tables.cells import bind_reach
from ocr_resources.text.hyphens import Vocabulary, dehyphenate
from ocr_resources.types import Box, Word


@dataclass
class Line:
    """Words on one baseline, left to right."""

    words: list[Word] = field(default_factory=list)

    @property
    def box(self) -> Box:
        return Box(min(w.box.x0 for w in self.words), min(w.box.y0 for w in self.words),
                   max(w.box.x1 for w in self.words), max(w.box.y1 for w in self.words))

    @property
    def height(self) -> float:
        return statistics.median(w.box.height for w in self.words)


def text_lines(words: list[Word]) -> list[Line]:
    """Words grouped into lines by vertical overlap (at least half the smaller height), top to bottom. A
    word joins the line it overlaps most, so a superscript stays on its line. A glyph far taller than the
    text (a bullet from a symbol font, whose font box reaches far above the line) counts by its lower part."""
    if not words:
        return []
    typical = median_height(words)

    def extent(w: Word) -> tuple[float, float]:
        if w.box.height > 1.8 * typical:
            return (w.box.y1 - typical, w.box.y1)
        return (w.box.y0, w.box.y1)

    lines: list[Line] = []
    bands: list[tuple[float, float]] = []
    extents = [extent(w) for w in words]  # each word's once (this runs for every cell and candidate region)
    for k in sorted(range(len(words)), key=lambda k: (sum(extents[k]), words[k].box.x0)):
        word, (y0, y1) = words[k], extents[k]
        best, best_overlap = None, 0.0
        # words come in order of their middles: only the last few lines can still take one
        for i in range(max(0, len(bands) - 4), len(bands)):
            top, bottom = bands[i]
            overlap = min(bottom, y1) - max(top, y0)
            if overlap > best_overlap and overlap > 0.5 * min(bottom - top, y1 - y0):
                best, best_overlap = i, overlap
        if best is None:
            lines.append(Line([word]))
            bands.append((y0, y1))
        else:
            lines[best].words.append(word)
            top, bottom = bands[best]
            # only a word mostly on the line widens its band: a cell centred on two lines of the next column
            # (a row-spanning "Sacramento" beside "Health Net" over "Kaiser Foundation") joins the upper one
            # without bridging it to the lower one
            if best_overlap >= 0.8 * min(bottom - top, y1 - y0):
                bands[best] = (min(top, y0), max(bottom, y1))
    for line in lines:
        line.words.sort(key=lambda w: w.box.x0)
    order = sorted(range(len(lines)), key=lambda i: bands[i][0])
    return [lines[i] for i in order]


def split_phrases(words: list[Word], max_gap: float, cuts: list[tuple[float, float]] = (),
                  walls: list[float] = ()) -> list[list[Word]]:
    """A line's words (left to right) cut into phrases at gaps wider than `max_gap`, at narrower gaps (over
    half of it) that fall on one of `cuts` (x-ranges known to separate columns), and wherever a word is on
    the other side of one of `walls` (x of ruling lines)."""
    phrases: list[list[Word]] = []
    for word in words:
        if phrases:
            last = phrases[-1][-1]
            gap = word.box.x0 - last.box.x1
            if any(last.box.center[0] < x < word.box.center[0] for x in walls):
                phrases.append([word])
                continue
            # whether the gap falls on a cut matters only for a gap between half of max_gap and max_gap: asked there
            if gap < max_gap and not (gap > max_gap / 2 and any(
                    min(b, word.box.x0) - max(a, last.box.x1) >= 0 or a <= (last.box.x1 + word.box.x0) / 2 <= b
                    for a, b in cuts)):
                phrases[-1].append(word)
                continue
            if gap < bind_reach(phrases[-1], word) * max_gap:
                phrases[-1].append(word)  # one value however set: 68.3 ± 19.7, 12 kg, 566 (45% of all)
                continue
        phrases.append([word])
    return phrases


def words_box(words: list[Word]) -> Box:
    return Box(min(w.box.x0 for w in words), min(w.box.y0 for w in words),
               max(w.box.x1 for w in words), max(w.box.y1 for w in words))


def cell_lines(words: list[Word]) -> list[str]:
    """A cell's words as its lines of text, top to bottom, words in reading order (left to right, or right
    to left in right-to-left script)."""
    return [" ".join(w.text for w in order_words(line.words, is_rtl(line.words))) for line in text_lines(words)]


def join_text(words: list[Word], vocab: Vocabulary | None = None) -> str:
    """A cell's words as text: its lines joined by a space. With `vocab` (the table's words), a word broken
    across two lines of the cell is joined as body text joins it ("Preva-" + "lence" is "Prevalence",
    "Jean-" + "Paul" keeps its hyphen: `text.hyphens.join_choice`)."""
    if not words:
        return ""
    if len(words) == 1:
        return words[0].text.strip()
    angle = words[0].angle if words else 0
    if angle in UPRIGHT and all(w.angle == angle for w in words):  # a turned heading: read in its own frame
        turn = UPRIGHT[angle][0]
        return join_text([dataclasses.replace(w, box=turned_box(w.box, turn), angle=0) for w in words], vocab)
    if (vertical := vertical_text(words)) is not None:
        return vertical
    lines = cell_lines(words)
    if vocab is not None and len(lines) > 1:
        lines = dehyphenate(lines, vocab)
    return " ".join(lines).strip()


def vertical_text(words: list[Word]) -> str | None:
    """The text of a cell set sideways (a rotated column heading), or None when it is not: the text layer
    gives such text as single glyphs stacked down the page, one "line" each. Stacks are read bottom to top
    (text turned a quarter anticlockwise, as sideways headings are), stacks left to right, unless the glyphs
    read top to bottom start with a capital that bottom to top would end with (turned clockwise: stacks
    then read right to left). A gap between glyphs wider than a thin space is a word space."""
    if len(words) < 3 or any(len(w.text.strip()) > 2 for w in words):
        return None
    # a glyph turned sideways is wider (its height) than tall (its advance); upright letters are the other way
    if statistics.median(w.box.width for w in words) < 1.3 * statistics.median(w.box.height for w in words):
        return None
    stacks: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.box.x0, w.box.y0)):
        for stack in stacks:
            ref = stack[0].box
            if min(ref.x1, w.box.x1) - max(ref.x0, w.box.x0) > 0.5 * min(ref.width, w.box.width):
                stack.append(w)
                break
        else:
            stacks.append([w])
    if any(len(st) < 2 for st in stacks) or len(stacks) * 3 > len(words):
        return None  # not stacks of glyphs: short words side by side
    for st in stacks:
        st.sort(key=lambda w: w.box.y0)
        gaps = [b.box.y0 - a.box.y1 for a, b in zip(st, st[1:], strict=False)]
        if statistics.median(gaps) > 0.3 * statistics.median(w.box.width for w in st):
            return None  # glyphs of a word touch; lines of a cell stand apart
    first = "".join(w.text for w in stacks[0])
    down = first[:1].isupper() and first[-1:].islower()
    out = []
    for st in (stacks[::-1] if down else stacks):
        glyphs = st if down else st[::-1]
        width = statistics.median(w.box.width for w in st)
        text = glyphs[0].text
        for a, b in zip(glyphs, glyphs[1:], strict=False):
            gap = (b.box.y0 - a.box.y1) if down else (a.box.y0 - b.box.y1)
            text += (" " if gap > 0.15 * width else "") + b.text
        out.append(text.strip())
    return " ".join(out)


def median_height(words: list[Word], default: float = 10.0) -> float:
    heights = [w.box.height for w in words if w.box.height > 0]
    return statistics.median(heights) if heights else default
