"""A page's formulas found in its text layer, and its words with each formula as one word of LaTeX.

Found from the glyphs alone (the layout model runs later, on the image): glyphs are banded into lines by
their baselines (a script stays on its line, a fraction's numerator and denominator make bands of their
own), bands are cut at wide gaps (columns, equation numbers). Bands with math and no prose (function names
and equation numbers aside), with the bare bands of digits and brackets stacked with them, are one
displayed formula; elsewhere the math runs inside a line are inline formulas (formulas.inline_math).
The words a formula covers are replaced by one word `$$...$$` (displayed) or `$...$` (inline), so lines,
blocks, reading order and Markdown carry it like any word; each formula is also returned as a record
(box, LaTeX, kind) for the `formulas` table. Only glyphs in math fonts start a formula, so prose set in a
text font (a "±" in a table, "μm" in a sentence) is never turned into math."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from ocr_resources.text.formulas import MathChar, Rule, inline_math, is_mathish, rebuild_latex, text_letter
from ocr_resources.text.math_symbols import FUNCTIONS, is_math_font

WordRecord = tuple[str, float, float, float, float, float | None, bool, bool, int, bool, bool]
SEGMENT_GAP = 2.5  # ems: a wider horizontal gap inside a band is a column gutter or an equation number's
CELL_GAP = 0.8  # ems: in a table, a wider gap between math glyphs is the gap between two cells
GRID_ROWS = 3  # a display group with this many of its bands in a grid is a table's cells, not one formula
_LONE_MARKS = frozenset({r"\bullet", r"\cdot", r"\circ", r"\diamond", r"\star", "*", "-", r"\dagger",
                         r"\ddagger", r"\S", r"\P"})
EQUATION_NUMBER = re.compile(r"^\(\s*[\w.\-]{1,8}\s*\)$")


WRAPPED = "text layer: a sentence's math wrapped onto a line"


@dataclass
class PageFormula:
    box: tuple[float, float, float, float]
    latex: str
    kind: str  # display or inline
    reason: str


def _core(c: MathChar) -> tuple[float, float]:
    base = c.baseline if c.baseline is not None else c.y1
    if base < (c.y0 + c.y1) / 2 and c.y1 - c.y0 > 0.6 * c.size:
        # a tall glyph hanging from its origin (TeX's big operators, radicals, delimiters; not a comma)
        quarter = (c.y1 - c.y0) / 4
        return c.y0 + quarter, c.y1 - quarter
    return base - 0.7 * c.size, base


def bands(chars: list[MathChar]) -> list[list[MathChar]]:
    """Glyphs grouped into lines by the band from their baseline to 0.7 em above it (a script's band overlaps
    its line's; a displayed fraction's numerator and denominator are bands of their own)."""
    out: list[tuple[float, float, list[MathChar]]] = []
    for c in sorted(chars, key=lambda c: (_core(c)[1], c.x0)):
        lo, hi = _core(c)
        for k in range(len(out) - 1, max(-1, len(out) - 4), -1):
            blo, bhi, members = out[k]
            overlap = min(hi, bhi) - max(lo, blo)
            if overlap >= 0.3 * min(hi - lo, bhi - blo):
                out[k] = (min(lo, blo), max(hi, bhi), [*members, c])
                break
        else:
            out.append((lo, hi, [c]))
    return [sorted(m, key=lambda c: c.x0) for _, _, m in out]


def _segments(band: list[MathChar], gap: float = SEGMENT_GAP) -> list[list[MathChar]]:
    """A band's glyphs cut where a horizontal gap is wider than `gap` ems."""
    size = statistics.median(c.size for c in band) or 10.0
    out: list[list[MathChar]] = [[band[0]]]
    right = band[0].x1
    for c in band[1:]:
        if c.x0 - right > gap * size:
            out.append([])
        out[-1].append(c)
        right = max(right, c.x1)
    return out


def _kind(seg: list[MathChar]) -> str:
    """'math' (math in a math font, no prose), 'bare' (digits, brackets, operators only), 'number' (an
    equation number), or 'text'."""
    text = "".join(c.text for c in seg).strip()
    if EQUATION_NUMBER.match(text) and not any(is_math_font(c.font) for c in seg):
        return "number"
    has_math = any(is_mathish(c) and is_math_font(c.font) for c in seg)
    prose = _prose_letters(seg)
    if has_math and not prose:
        return "math"
    if not has_math and not prose:
        return "bare"
    return "text"


def _prose_letters(seg: list[MathChar]) -> bool:
    """Letters of the text font (Greek too) that are no function name (sin, max) and no single letter
    (\\mathrm{d})."""
    word = ""
    last: MathChar | None = None
    words: list[str] = []
    for c in seg:
        textual = text_letter(c)  # (Greek in the text font too: a Greek sentence is prose)
        if textual and last is not None and c.x0 - last.x1 < 0.15 * c.size:
            word += c.text
        else:
            if word:
                words.append(word)
            word = c.text if textual else ""
        last = c
    if word:
        words.append(word)
    return any(len(w) > 1 and w not in FUNCTIONS for w in words)


def _box(chars: list[MathChar]) -> tuple[float, float, float, float]:
    return (min(c.x0 for c in chars), min(c.y0 for c in chars), max(c.x1 for c in chars), max(c.y1 for c in chars))


def _near(a: tuple[float, ...], b: tuple[float, ...], across: float, down: float) -> bool:
    """Boxes within `across` of each other across and `down` down (a fraction's numerator and denominator
    over its bar, a tall delimiter beside its content)."""
    return max(a[0], b[0]) - min(a[2], b[2]) < across and max(a[1], b[1]) - min(a[3], b[3]) < down


def find_formulas(chars: list[MathChar], rules: list[Rule] | None = None) -> list[PageFormula]:
    """The displayed and inline formulas of a page's glyphs (see the module's docstring)."""
    chars = [c for c in chars if c.text and not c.text.isspace() or is_math_font(c.font)]
    if not any(is_math_font(c.font) for c in chars):
        return []
    rules = rules or []
    segs: list[list[MathChar]] = []
    band_of: list[int] = []
    for i, b in enumerate(bands(chars)):
        for s in _segments(b):
            segs.append(s)
            band_of.append(i)
    kinds = [_kind(s) for s in segs]
    text_segs = [j for j, k in enumerate(kinds) if k == "text"]
    boxes = [_box(s) for s in segs]
    cell_rows = _cell_rows(segs, kinds, band_of, boxes)
    grid_bands = _grid_bands(kinds, band_of) | cell_rows
    out: list[PageFormula] = []
    used: set[int] = set()
    # inline formulas first: the math runs of lines with prose, each with the bands of math stacked right over
    # or under it (an operator's limits, a fraction's parts, an array's rows sit on bands of their own)
    for j, seg in enumerate(segs):
        if kinds[j] != "text":
            continue
        used.add(j)
        for span in inline_math(seg, rules):
            run = seg[span.start:span.end]
            if not any(is_math_font(c.font) for c in run):
                continue
            members, box = list(run), span.box
            grew = True
            while grew:
                grew = False
                em = max(c.size for c in run)
                for k, kk in enumerate(kinds):
                    # (not the math of a table's next row: a limit or a fraction's part has a band of its own)
                    if k not in used and kk in ("math", "bare") and band_of[k] not in cell_rows \
                            and _near(box, boxes[k], 0.3 * em, 0.9 * em) \
                            and boxes[k][2] - boxes[k][0] <= box[2] - box[0] + em:
                        members += segs[k]
                        box = _box(members)
                        used.add(k)
                        grew = True
            latex = rebuild_latex(members, rules) if len(members) > len(run) else span.latex
            if latex and latex not in _LONE_MARKS:
                out.append(PageFormula(box, latex, "inline", "text layer: math glyphs inside a line"))
    # displayed formulas: math segments, with the bare ones stacked against them, grown to a fixed point
    for i, k in enumerate(kinds):
        if k != "math" or i in used:
            continue
        group = {i}
        grew = True
        while grew:
            grew = False
            gb = _box([c for j in group for c in segs[j]])
            em = max(c.size for j in group for c in segs[j])
            for j, kj in enumerate(kinds):
                if j not in group and j not in used and kj in ("math", "bare") \
                        and _near(gb, boxes[j], 0.9 * em, 1.3 * em):
                    group.add(j)
                    grew = True
        used |= group
        if len({band_of[j] for j in group} & grid_bands) >= GRID_ROWS:
            out += _cell_formulas([segs[j] for j in sorted(group) if kinds[j] == "math"], rules)
            continue
        members = [c for j in sorted(group) for c in segs[j]]
        latex = rebuild_latex(members, rules)
        if latex and latex not in _LONE_MARKS:  # (a lone mark: a list's bullet drawn from a math font)
            box = _box(members)
            if len({band_of[j] for j in group}) == 1 and _wrapped_line(box, em, [boxes[j] for j in text_segs]):
                out.append(PageFormula(box, latex, "inline", WRAPPED))
            else:
                out.append(PageFormula(box, latex, "display", "text layer: a line of math glyphs"))
    return out


def _wrapped_line(box: tuple[float, ...], em: float, prose: list[tuple[float, ...]]) -> bool:
    """A short line of math alone that starts where the line of prose right above it starts, at that
    paragraph's line spacing, is the end of a sentence wrapped onto a line of its own ("... the value of" /
    "B."): a displayed formula is set apart by a wider gap above it or an indent, or is as wide as the column."""
    return any(abs(t[0] - box[0]) <= 0.5 * em and -0.1 * em <= box[1] - t[3] <= 0.6 * em
               and box[2] - box[0] <= 0.5 * (t[2] - t[0]) for t in prose)


def _grid_bands(kinds: list[str], band_of: list[int]) -> set[int]:
    """Bands that are a table's row: two or more math or bare segments side by side (cut apart by a gutter),
    one of them bare (a number). Equation numbers are not counted, nor prose (the other column's line beside
    a displayed formula)."""
    counts: dict[int, list[int]] = {}
    for kind, band in zip(kinds, band_of, strict=True):
        if kind in ("math", "bare"):
            n = counts.setdefault(band, [0, 0])
            n[0] += 1
            n[1] += kind == "bare"
    return {band for band, (n, bare) in counts.items() if n >= 2 and bare}


# a table's cells of words beside math are no wider, or have fewer words (two cells a gutter too narrow to cut apart,
# "neg. strict dominance  \negstrictdom"), than a line of the other column's prose beside a displayed formula
TABLE_CELL, CELL_WORDS = 16.0, 7


def _cell_rows(segs: list[list[MathChar]], kinds: list[str], band_of: list[int],
               boxes: list[tuple[float, float, float, float]]) -> set[int]:
    """Bands that are a table's row with a cell of math: two segments or more (cut apart by gutters; an equation
    number not counted), every one short (TABLE_CELL, CELL_WORDS), one of them words, and math glyphs among them (a
    table's "Operator" and "Command" columns beside its "Sample" of math: stacked, that column became one `gathered`
    formula over the rows). Prose beside a displayed formula, the other column's lines, is wider than a cell; a
    formula's limits and scripts are no words."""
    count: dict[int, int] = {}
    short: dict[int, bool] = {}
    math: set[int] = set()
    words: set[int] = set()  # bands with a cell of words (math's limits and scripts have none)
    for seg, kind, band, box in zip(segs, kinds, band_of, boxes, strict=True):
        if kind == "number":
            continue
        em = statistics.median(c.size for c in seg) or 10.0
        count[band] = count.get(band, 0) + 1
        if kind == "text":
            words.add(band)
        gaps = sum(1 for a, b in zip(seg, seg[1:], strict=False) if b.x0 - a.x1 > 0.25 * em)  # word spaces
        short[band] = short.get(band, True) and (box[2] - box[0] <= TABLE_CELL * em or gaps < CELL_WORDS)
        if any(is_math_font(c.font) for c in seg):
            math.add(band)
    return {band for band in math & words if count[band] >= 2 and short[band]}


def _cell_formulas(segments: list[list[MathChar]], rules: list[Rule]) -> list[PageFormula]:
    """A table's math (a column of symbols beside columns of numbers, "3.13 (8)" set in math mode): each cell
    its own inline formula, cut at the gaps between cells; the bare numbers stay words, so the tables stage
    sees the table's cells and not one formula over them all."""
    out = []
    for seg in segments:
        for cell in _segments(seg, CELL_GAP):
            if not any(is_math_font(c.font) for c in cell):
                continue
            latex = rebuild_latex(cell, rules)
            if latex and latex not in _LONE_MARKS:
                out.append(PageFormula(_box(cell), latex, "inline", "text layer: math glyphs in a table's cell"))
    return out


def replace_words(words: list[WordRecord], formulas: list[PageFormula]) -> list[WordRecord]:
    """The page's words with the words each formula covers replaced by one word of LaTeX (a sentence's
    punctuation or bracket glued to a covered word is kept beside it)."""
    if not formulas:
        return words
    out: list[WordRecord] = []
    placed: dict[int, int] = {}
    hits = [_hit(w, formulas) for w in words]
    hit_formulas = set(hits)
    for w, hit in zip(words, hits, strict=True):
        if hit is None:
            out.append(_before_formula(w, formulas, hit_formulas))
            continue
        pad = _pad(w)
        f = formulas[hit]
        fence = "$$" if f.kind == "display" else "$"
        lead = w[0][0] if w[0][:1] in "([" and w[1] < f.box[0] - pad else ""
        tail = w[0][-1] if w[0][-1:] in ".,;:)]" and w[3] > f.box[2] + pad \
            and not f.latex.endswith(w[0][-1]) else ""
        if hit not in placed:
            placed[hit] = len(out)
            latex = f.latex
            if f.reason == WRAPPED and latex[-1:] in ".,;:" and not tail:  # the sentence's stop after its math
                latex, tail = latex[:-1], latex[-1]
            out.append((lead + fence + latex + fence + tail, f.box[0], f.box[1], f.box[2], f.box[3], w[5], False,
                        w[7], *w[8:]))
        else:
            k = placed[hit]
            text = out[k][0]
            if tail and not text.endswith(tail):
                out[k] = (text + tail, *out[k][1:])
    return out


def _pad(w: WordRecord) -> float:
    """Slack around a word's box against a formula's: a word's box is its glyphs' advance and font height, a
    formula's their ink (a quarter em)."""
    return 0.25 * (w[5] or max(1.0, w[4] - w[2]))


def _hit(w: WordRecord, formulas: list[PageFormula]) -> int | None:
    """The formula covering at least half of the word's box, if any."""
    pad = _pad(w)
    area = max(1e-6, (w[3] - w[1]) * (w[4] - w[2]))
    for k, f in enumerate(formulas):
        ix = min(w[3], f.box[2] + pad) - max(w[1], f.box[0] - pad)
        iy = min(w[4], f.box[3] + pad) - max(w[2], f.box[1] - pad)
        if ix > 0 and iy > 0 and ix * iy >= 0.5 * area:
            return k
    return None


def _before_formula(w: WordRecord, formulas: list[PageFormula], placed: set[int | None]) -> WordRecord:
    """A word whose end is the start of a formula placed with the words after it ("ispolygonal(x," before
    "s, {&N})": a function's name in the text font, its arguments in math) loses that end, cut at the opening
    bracket where the formula starts, so the arguments are not read twice. Without such a bracket near where
    the formula's box starts, the word stays whole."""
    text = w[0]
    pad = _pad(w)
    for k, f in enumerate(formulas):
        if k not in placed or not (w[1] < f.box[0] - pad < w[3]) or min(w[4], f.box[3]) <= max(w[2], f.box[1]):
            continue
        guess = round(len(text) * (f.box[0] - w[1]) / max(1e-6, w[3] - w[1]))
        cuts = [i for i, ch in enumerate(text) if ch in "([{" and 0 < i and abs(i - guess) <= 2]
        if cuts:
            cut = min(cuts, key=lambda i: abs(i - guess))
            return (text[:cut], w[1], w[2], f.box[0], w[4], *w[5:])
    return w
