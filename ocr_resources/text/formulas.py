"""LaTeX rebuilt from a born-digital formula's glyphs: what each glyph is (math_symbols), and where it sits.

The page's text layer gives each glyph its code, font, size, ink box and baseline; its drawing gives the
rules (fraction bars, radical vincula). The layout is read outside in:
- a radical sign with the rule that starts at its top right is a root over what lies under that rule (its
  index: the small glyphs over the sign's left arm);
- a rule with glyphs above and below it is a fraction (the widest first, so nested fractions fall inside);
  a rule with glyphs on one side only is an over- or underline;
- a big operator (∑ ∏ ⋃ ...) takes what is stacked right above and below it as its limits;
- an accent glyph (ˆ ˜ ¯ ˙ ⃗) over a glyph puts that accent on it;
- rows stacked between tall delimiters with no rule between them are an array (pmatrix, bmatrix, ...,
  \\binom for one column of two, cases after a lone brace), columns cut at the gaps no row has ink in;
- what is left is one line of symbols on a main baseline (the one most full-size glyphs share); a smaller
  glyph raised above it is a superscript, one lowered below it a subscript, of the symbol before it, and
  each script is read the same way (scripts of scripts);
- tall delimiters from the extension font pair into \\left ... \\right; upright letter runs are function
  names (\\sin) or \\mathrm{...}, bold ones \\mathbf{...}.
Inside a line of text, `inline_math` finds the runs of math (they start at a glyph only math uses) and
rebuilds each. Everything here is pure: glyphs and rules in, LaTeX out, so it is tested on synthetic glyph
lists (tests/test_formulas.py) and scored on pdflatex pages (eval/formulas.py)."""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass, field

from ocr_resources.geometry.lines import BULLET_MARKS
from ocr_resources.text.math_symbols import (
    ACCENTS,
    BIG_OPERATORS,
    CMEX,
    CMSY,
    FUNCTIONS,
    GREEK,
    OPENING,
    font_family,
    is_extension_font,
    is_math_font,
    is_symbol_font,
    letter_style,
    math_alnum,
    symbol_latex,
)

Rule = tuple[float, float, float, float]  # x0, y0, x1, y1 in points, origin top-left


@dataclass(slots=True)
class MathChar:
    """One glyph of a formula: its text (Unicode as the PDF maps it; the raw code where it maps none), ink
    box and baseline in points (origin top-left), font size in points and font name."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    font: str = ""
    baseline: float | None = None  # y of the glyph's origin; None: estimated from its box
    bold: bool = False
    unmapped: bool = False  # the PDF gives no Unicode for it: `text` is the font's own code


@dataclass
class _Elem:
    latex: str
    x0: float
    y0: float
    x1: float
    y1: float
    base: float
    size: float
    kind: str = "ord"  # ord, bigop, delim, piece, radical, accent, frac, limits, group, script-base
    style: str = ""  # for letters: their alphabet (see letter_style)
    letter: str = ""  # the plain letter of an alphabetic glyph (for function names and alphabets)
    tall: bool = False  # a delimiter from the extension font (grows with its content)
    members: list[_Elem] = field(default_factory=list)

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


def _union(elems: list[_Elem]) -> tuple[float, float, float, float]:
    return (min(e.x0 for e in elems), min(e.y0 for e in elems), max(e.x1 for e in elems), max(e.y1 for e in elems))


# -- glyphs -> atoms ------------------------------------------------------------------------------------------
def _atom(c: MathChar) -> _Elem | None:
    text = c.text
    if not text or text == "\ufffe" or ((text.isspace() or text == "\x00") and not is_extension_font(c.font)):
        return None
    base = c.baseline if c.baseline is not None else c.y1 - 0.05 * c.size
    e = _Elem("", c.x0, c.y0, c.x1, c.y1, base, c.size or (c.y1 - c.y0))
    code = ord(text[0])
    if is_extension_font(c.font) and (c.unmapped or code < 0x80):
        latex, kind = CMEX.get(code, ("", "ord"))
        if not latex:
            return None
        e.latex, e.kind, e.tall = latex, kind, kind in ("delim", "piece")
        return e
    if is_symbol_font(c.font) and (c.unmapped or code < 0x20) and code in CMSY:
        e.latex = CMSY[code]
    elif len(text) > 1 and text.isalpha():  # a ligature (fi) pdfium gives as one glyph
        e.latex, e.letter, e.style = text, text, letter_style(c.font, c.bold)
        return e
    else:
        ch = text[0]
        alnum = math_alnum(ch)
        if alnum is not None:
            e.style, plain = alnum
            e.latex = plain
            e.letter = plain if plain.isalpha() else ""
            return e
        if ch.isascii() and ch.isalpha():
            e.latex, e.letter, e.style = ch, ch, letter_style(c.font, c.bold)
            if e.style == "mathcal" and ch.islower():
                e.style = ""
            return e
        if ch.isdigit():
            e.latex, e.style = ch, ("mathbf" if letter_style(c.font, c.bold) in ("mathbf", "boldsymbol") else "")
            return e
        known = symbol_latex(ch)
        if known is None and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            return None  # a control or private-use code with no math meaning known: nothing to write
        e.latex = known or ch
        if ch in "Γ∆ΔΘΛΞΠΣΥΦΨΩ" and letter_style(c.font, c.bold) in ("mathbf",):
            e.style = "mathbf"
    if e.latex == r"\sqrt":
        e.kind = "radical"
    elif e.latex in BIG_OPERATORS:
        e.kind = "bigop"
    elif text[0] in ACCENTS and text[0] not in "^~→":
        e.kind, e.latex = "accent", ACCENTS[text[0]]
    return e


def _merge_pieces(elems: list[_Elem]) -> list[_Elem]:
    """Tall delimiters drawn from several extension-font pieces stacked at one place become one."""
    out: list[_Elem] = []
    for e in sorted(elems, key=lambda e: (e.x0, e.y0)):
        prev = next((p for p in reversed(out[-4:]) if p.tall and p.latex == e.latex), None) if e.tall else None
        if prev is not None and min(prev.x1, e.x1) - max(prev.x0, e.x0) > 0.5 * min(e.x1 - e.x0, prev.x1 - prev.x0) \
                and e.y0 <= prev.y1 + 1.0:
            prev.x0, prev.y0, prev.x1, prev.y1 = _union([prev, e])
            prev.base = max(prev.base, e.base)
            continue
        out.append(e)
    for e in out:
        if e.kind == "piece":
            e.kind = "delim"
    return _multiple_integrals(out)


_MULTIPLE = {2: r"\iint", 3: r"\iiint", 4: r"\iiiint"}


def _multiple_integrals(elems: list[_Elem]) -> list[_Elem]:
    """Integral signs of one height that overlap (amsmath draws \iint as two signs kerned into each other;
    `\int\int` and even `\int\!\int` leave a gap) are one multiple integral."""
    out: list[_Elem] = []
    count = 1
    for e in elems:  # (sorted left to right)
        prev = out[-1] if out else None
        if prev is not None and e.kind == prev.kind == "bigop" and e.latex == r"\int" \
                and prev.latex in (r"\int", *_MULTIPLE.values()) and abs(e.y0 - prev.y0) < 0.5 \
                and abs(e.y1 - prev.y1) < 0.5 and e.x0 < prev.x1 - 0.02 * e.size and count < 4:
            count += 1
            prev.latex = _MULTIPLE[count]
            prev.x1 = max(prev.x1, e.x1)
            continue
        count = 1
        out.append(e)
    return out


# -- two-dimensional structures -------------------------------------------------------------------------------
def _em(elems: list[_Elem]) -> float:
    sizes = [e.size for e in elems if e.kind == "ord" and e.size > 0]
    return max(sizes) if sizes else (statistics.median(e.size for e in elems) if elems else 10.0)


def _take_radicals(elems: list[_Elem], rules: list[Rule]) -> tuple[list[_Elem], list[Rule]]:
    for rad in [e for e in elems if e.kind == "radical"]:
        tol = max(1.5, 0.25 * (rad.x1 - rad.x0))
        rule = next((r for r in sorted(rules, key=lambda r: abs(r[0] - rad.x1))
                     if abs(r[0] - rad.x1) <= tol and abs(r[1] - rad.y0) <= max(1.5, 0.15 * rad.size)), None)
        others = [e for e in elems if e is not rad]
        if rule is not None:
            body = [e for e in others if rule[0] - 0.5 <= e.cx <= rule[2] + 0.5 and e.cy >= rule[1]
                    and e.y0 <= rad.y1 + 0.1 * rad.size]
            rest_rules = [r for r in rules if r is not rule]
        else:  # no vinculum in the drawing: the root covers what follows it within the sign's height
            body = [e for e in others if e.x0 >= rad.x1 - 0.5 and e.y0 >= rad.y0 - 0.5 and e.y1 <= rad.y1 + 0.5
                    and e.x0 - rad.x1 < 0.6 * rad.size]
            body = body[:1]
            rest_rules = rules
        index = [e for e in others if e not in body and e.x1 <= rad.x0 + 0.7 * (rad.x1 - rad.x0)
                 and e.x0 >= rad.x0 - 0.6 * rad.size and e.y1 <= rad.cy + 0.1 * rad.size
                 and e.y1 >= rad.y0 + 0.15 * (rad.y1 - rad.y0)
                 and e.size < 0.9 * rad.size]
        if not body:
            continue
        inner_rules = [r for r in rest_rules if rule is not None and rule[0] - 0.5 <= r[0] and r[2] <= rule[2] + 0.5
                       and r[1] > rule[1]]
        built = _structure(body, inner_rules)
        latex_body = _line(built)
        latex_index = _layout(index, []) if index else ""
        x0, y0, x1, y1 = _union([rad, *body, *index])
        base = _main_baseline(built)
        group = _Elem((r"\sqrt[" + latex_index + "]" if latex_index else r"\sqrt") + "{" + latex_body + "}",
                      x0, y0, x1, y1, base, max(rad.size, _em(body)), "group")
        taken = {id(e) for e in (rad, *body, *index)}
        elems = [e for e in elems if id(e) not in taken] + [group]
        rules = [r for r in rest_rules if r not in inner_rules]
    return elems, rules


def _take_fractions(elems: list[_Elem], rules: list[Rule]) -> list[_Elem]:
    em = _em(elems)
    for rule in sorted(rules, key=lambda r: r[0] - r[2]):  # widest first: nested fractions lie inside
        x0, y, x1 = rule[0], (rule[1] + rule[3]) / 2, rule[2]
        if x1 - x0 < 1.0:
            continue
        inside = [e for e in elems if x0 - 0.5 <= e.cx <= x1 + 0.5]
        above = [e for e in inside if e.y1 <= y + 0.3 and e.y1 >= y - 4 * em]
        below = [e for e in inside if e.y0 >= y - 0.3 and e.y0 <= y + 4 * em]
        above, below = _connected(above, y, em), _connected(below, y, em)
        stacked = above + below
        if stacked and x1 - x0 > max(e.x1 for e in stacked) - min(e.x0 for e in stacked) + 2 * em:
            continue  # a bar or a line spans what it draws over; a rule far wider is a table's or a separator
        inner = [r for r in rules if r is not rule and x0 - 0.5 <= r[0] and r[2] <= x1 + 0.5]
        if above and below:
            num_rules = [r for r in inner if r[1] < y]
            den_rules = [r for r in inner if r[1] > y]
            latex = r"\frac{" + _layout(above, num_rules) + "}{" + _layout(below, den_rules) + "}"
            members = above + below
        elif above and not below and y - max(e.y1 for e in above) < 0.6 * em:
            latex, members = r"\underline{" + _layout(above, inner) + "}", above
        elif below and not above and min(e.y0 for e in below) - y < 0.6 * em:
            latex, members = r"\overline{" + _layout(below, inner) + "}", below
        else:
            continue
        bx0, by0, bx1, by1 = _union(members)
        size = max(e.size for e in members)
        # a fraction sits on the math axis, a quarter em above the baseline of what surrounds it
        base = y + 0.25 * em if latex.startswith(r"\frac") else _main_baseline(members)
        taken = {id(e) for e in members}
        elems = [e for e in elems if id(e) not in taken] + [
            _Elem(latex, min(bx0, x0), min(by0, y), max(bx1, x1), max(by1, y), base, size, "frac")]
        rules = [r for r in rules if r is not rule and r not in inner]
    return elems


def _connected(elems: list[_Elem], y: float, em: float) -> list[_Elem]:
    """The glyphs stacked against a rule: those reachable from the rule with gaps under an em."""
    if not elems:
        return []
    elems = sorted(elems, key=lambda e: abs((e.y1 if e.cy < y else e.y0) - y))
    reach_lo = reach_hi = y
    out = []
    for e in elems:
        if e.y1 >= reach_lo - 0.9 * em and e.y0 <= reach_hi + 0.9 * em:
            out.append(e)
            reach_lo, reach_hi = min(reach_lo, e.y0), max(reach_hi, e.y1)
    return out


_LIMIT_WORDS = frozenset({"max", "min", "lim", "sup", "inf", "limsup", "liminf", "det", "Pr", "gcd", "argmax",
                          "argmin"})


def _limit_stack(op: _Elem, pool: list[_Elem], side: int) -> list[_Elem]:
    """The glyphs stacked right above (side -1) or below (+1) an operator, a limit wider than its operator
    taking in its glyphs beside the first ones found."""
    w = op.x1 - op.x0

    def beyond(e: _Elem) -> bool:
        return e.y1 <= op.y0 + 0.15 * op.size if side < 0 else e.y0 >= op.y1 - 0.15 * op.size

    def near(e: _Elem) -> bool:
        return (op.y0 - e.y1 if side < 0 else e.y0 - op.y1) < 0.8 * op.size

    group = [e for e in pool if beyond(e) and near(e)
             and min(e.x1, op.x1) - max(e.x0, op.x0) > 0.2 * min(w, e.x1 - e.x0)]
    grew = True
    while grew and group:
        grew = False
        gx0, gy0, gx1, gy1 = _union(group)
        for e in pool:
            if e not in group and beyond(e) and e.y0 >= gy0 - 0.3 * e.size and e.y1 <= gy1 + 0.3 * e.size \
                    and gx0 - 0.6 * e.size <= e.x1 and e.x0 <= gx1 + 0.6 * e.size:
                group.append(e)
                grew = True
    return group


def _take_limits(elems: list[_Elem]) -> list[_Elem]:
    ops = [e for e in elems if e.kind == "bigop" or (e.style == "mathrm" and e.letter in _LIMIT_WORDS)]
    for op in sorted(ops, key=lambda e: e.x0):
        pool = [e for e in elems if e is not op and e.kind != "bigop"]
        upper, lower = _limit_stack(op, pool, -1), _limit_stack(op, pool, 1)
        if not upper and not lower:
            continue
        head = op.latex if op.kind == "bigop" else "\\" + op.letter
        latex = head + (r"\limits" if head.startswith(r"\int") else "")
        if lower:
            latex += "_{" + _layout(lower, []) + "}"
        if upper:
            latex += "^{" + _layout(upper, []) + "}"
        members = [op, *upper, *lower]
        taken = {id(e) for e in members}
        x0, y0, x1, y1 = _union(members)
        base = op.cy + 0.25 * op.size if op.kind == "bigop" else op.base
        elems = [e for e in elems if id(e) not in taken] + [
            _Elem(latex, x0, y0, x1, y1, base, op.size, "limits", members=[op])]
    return elems


def _merge_words(elems: list[_Elem]) -> list[_Elem]:
    """Upright letters side by side on one baseline as one word (a function name: max, sin); a script or
    limit between them in x order (max's limit starts under its 'a') does not separate them."""
    out: list[_Elem] = []
    for e in sorted(elems, key=lambda e: e.x0):
        last = next((o for o in reversed(out) if abs(o.base - e.base) <= 0.1 * e.size
                     and abs(o.size - e.size) <= 0.1 * e.size), None)
        if (last is not None and e.letter and last.letter and e.style == last.style == "mathrm"
                and -0.05 * e.size <= e.x0 - last.x1 < 0.12 * e.size):
            last.latex += e.latex
            last.letter += e.letter
            last.x1, last.y0, last.y1 = e.x1, min(last.y0, e.y0), max(last.y1, e.y1)
            continue
        out.append(e)
    return out


def _take_accents(elems: list[_Elem]) -> list[_Elem]:
    for acc in [e for e in elems if e.kind == "accent"]:
        under = [e for e in elems if e is not acc and e.kind not in ("accent",) and e.y0 >= acc.cy - 0.1 * acc.size
                 and e.x0 - 0.3 * acc.size <= acc.cx <= e.x1 + 0.3 * acc.size and e.y0 - acc.y1 < 0.6 * acc.size]
        if not under:
            acc.kind, acc.latex = "ord", {"hat": r"\hat{}", "tilde": r"\sim", "bar": "-"}.get(acc.latex, "")
            continue
        # an accent over one symbol covers it alone (a script beside it stays a script); a wide one (CMEX's,
        # or a glyph stretched over several) covers the symbols under its span
        nearest = min(under, key=lambda e: abs(e.cx - acc.cx) + abs(e.y0 - acc.y1))
        wide = acc.latex.startswith("wide") or (acc.x1 - acc.x0) > 1.6 * (nearest.x1 - nearest.x0)
        under = [e for e in under if e.size >= 0.85 * nearest.size]
        if wide:
            under = [e for e in under if acc.x0 - 0.3 * acc.size <= e.cx <= acc.x1 + 0.3 * acc.size] or under[:1]
        else:
            under = [nearest]
        name = acc.latex
        if len(under) > 1 and name in ("hat", "tilde"):
            name = "wide" + name
        body = _layout(under, []) if len(under) > 1 else _alphabet(under[0])
        x0, y0, x1, y1 = _union([acc, *under])
        taken = {id(e) for e in (acc, *under)}
        elems = [e for e in elems if id(e) not in taken] + [
            _Elem("\\" + name + "{" + body + "}", x0, y0, x1, y1, _main_baseline(under), max(e.size for e in under),
                  "group")]
    return elems


# -- one line: baseline, scripts ----------------------------------------------------------------------------
def _main_baseline(elems: list[_Elem]) -> float:
    """The baseline most of the largest ordinary glyphs share (groups and fractions vote too)."""
    if not elems:
        return 0.0
    # full-size glyphs' own baselines vote first: a fraction's or an operator's is estimated from its axis
    sized = [e for e in elems if e.kind in ("ord", "group", "frac", "limits", "radical")] or elems
    top = max(e.size for e in sized + [e for e in elems if e.kind in ("delim", "bigop")])
    voters = ([e for e in sized if e.kind in ("ord", "group") and e.size >= 0.85 * top]
              or [e for e in sized if e.size >= 0.85 * top]
              or [e for e in sized if e.kind in ("frac", "limits", "radical")] or sized)
    top = max(e.size for e in voters)
    tol = 0.12 * top
    best, best_score = voters[0].base, -1.0
    for v in voters:
        score = sum((e.x1 - e.x0) + 1 for e in voters if abs(e.base - v.base) <= tol)
        if score > best_score:
            best, best_score = v.base, score
    return best


def _alphabet(e: _Elem) -> str:
    if e.style and e.letter:
        return "\\" + e.style + "{" + e.latex + "}"
    if e.style in ("mathbf",) and e.latex.isdigit():
        return r"\mathbf{" + e.latex + "}"
    if e.style in ("mathbf", "boldsymbol") and e.latex.startswith("\\"):
        return r"\boldsymbol{" + e.latex + "}"
    return e.latex


def _structure(elems: list[_Elem], rules: list[Rule]) -> list[_Elem]:
    """The two-dimensional structures (roots, fractions, accents, limits) of a set of glyphs, each one
    element, leaving one line of symbols."""
    elems = _merge_words(elems)
    elems, rules = _take_radicals(elems, rules)
    elems = _take_fractions(elems, rules)
    elems = _take_accents(elems)
    elems = _take_limits(elems)
    return _take_aligned(_take_arrays(elems))


# Relations an aligned row is aligned on (`&=`): the first of them in each row
_RELATIONS = frozenset({"=", "<", ">", r"\leq", r"\geq", r"\neq", r"\approx", r"\equiv", r"\sim", r"\simeq",
                        r"\cong", r"\propto", r"\in", r"\subset", r"\subseteq", r"\rightarrow", r"\to",
                        r"\Rightarrow", r"\Leftrightarrow", r"\iff", r"\le", r"\ge", r"\ll", r"\gg", ":="})


_STOPS = (".", ",", ";")  # a sentence's punctuation after a displayed formula


def _take_aligned(elems: list[_Elem]) -> list[_Elem]:
    """A displayed formula of several lines (what is left after fractions, limits and arrays are taken is
    rows of full-size symbols on baselines more than half an em apart) is one `aligned` block: each row cut
    before its first relation (`&=`) when those relations stand one above the other, as `&` aligns them;
    `gathered` (rows centred) when they do not. Without this, a lower line read as a subscript run."""
    rows = _rows(elems)
    if len(rows) < 2:
        return elems
    em = _em(elems)
    rows.sort(key=lambda r: _main_baseline(r))
    # lines of their own: a line's ink ends where the next one's starts (a tall delimiter around a fraction,
    # a script hanging from a symbol, reach into the other "row"), baselines a line apart
    for upper, lower in zip(rows, rows[1:], strict=False):
        if (max(e.y1 for e in upper) > min(e.y0 for e in lower) + 0.15 * em
                or _main_baseline(lower) - _main_baseline(upper) < 1.0 * em):
            return elems
    tail = ""
    rels = [next((e for e in sorted(r, key=lambda e: e.x0) if e.kind == "ord" and e.latex in _RELATIONS
                  and abs(e.base - _main_baseline(r)) <= 0.2 * em), None) for r in rows]
    if all(r is not None for r in rels) and max(r.x0 for r in rels) - min(r.x0 for r in rels) <= 0.3 * em:
        lines = []
        for row, rel in zip(rows, rels, strict=True):
            left = [e for e in row if e.x1 <= rel.x0 + 0.1]
            right = [e for e in row if e.x1 > rel.x0 + 0.1]
            lines.append((_line(left) if left else "") + "&" + _line(right))
        env = "aligned"
    else:
        # rows cut into the same columns by gaps no row has ink in, a value in every cell: a matrix set without
        # delimiters (an array), not centred lines; a stop after it is no column
        right = max(e.x1 for e in elems if e.latex not in _STOPS)
        stop = [e for e in elems if e.latex in _STOPS and e.x0 >= right]
        cells = _cells([[e for e in r if all(e is not t for t in stop)] for r in rows])
        if len(cells[0]) >= 2 and all(all(row) for row in cells):
            lines, env = ["&".join(row) for row in cells], "matrix"
            tail = "".join(e.latex for e in stop)
        else:
            lines, env = [_line(r) for r in rows], "gathered"
    latex = r"\begin{" + env + "}" + r"\\".join(lines) + r"\end{" + env + "}" + tail
    x0, y0, x1, y1 = _union(elems)
    return [_Elem(latex, x0, y0, x1, y1, (y0 + y1) / 2 + 0.25 * em, em, "group")]


def _take_arrays(elems: list[_Elem]) -> list[_Elem]:
    """Rows of symbols stacked between tall delimiters (no rule between them: not a fraction) are an array:
    a matrix in its delimiters' kind, \\binom for one column of two, cases after a lone tall brace."""
    tall = sorted([e for e in elems if e.kind == "delim" and e.tall], key=lambda e: e.x0)
    for k, left in enumerate(tall):
        if left.latex not in OPENING and left.latex not in ("|", r"\|"):
            continue
        right = next((r for r in tall[k + 1:] if abs(r.cy - left.cy) < 0.3 * (left.y1 - left.y0)
                      and (r.latex not in OPENING)), None)
        x_end = right.x0 if right is not None else float("inf")
        if right is None and left.latex != r"\{":
            continue
        inside = [e for e in elems if e is not left and e is not right and e.x0 >= left.x1 - 0.5
                  and e.x1 <= x_end + 0.5 and e.cy >= left.y0 and e.cy <= left.y1]
        rows = _rows(inside)
        if len(rows) < 2:
            continue
        cells = _cells(rows)
        n_cols = max(len(r) for r in cells)
        if right is None:
            env, head, tail = "cases", "", ""
        else:
            env = {"(": "pmatrix", "[": "bmatrix", "|": "vmatrix", r"\|": "Vmatrix", r"\{": "Bmatrix"}.get(left.latex,
                                                                                                       "matrix")
            head = tail = ""
        if env == "pmatrix" and n_cols == 1 and len(rows) == 2:
            latex = r"\binom{" + cells[0][0] + "}{" + cells[1][0] + "}"
        else:
            body = r"\\".join("&".join(row) for row in cells)
            latex = head + r"\begin{" + env + "}" + body + r"\end{" + env + "}" + tail
        members = [left, *inside] + ([right] if right is not None else [])
        x0, y0, x1, y1 = _union(members)
        taken = {id(e) for e in members}
        elems = [e for e in elems if id(e) not in taken] + [
            _Elem(latex, x0, y0, x1, y1, left.cy + 0.25 * _em(inside), left.size, "group")]
        return _take_arrays(elems)
    return elems


def _rows(elems: list[_Elem]) -> list[list[_Elem]]:
    """Elements grouped in rows by the baselines of the full-size ones (a script joins the row nearest its own
    baseline); one row when nothing is stacked."""
    if not elems:
        return []
    em = _em(elems)
    # (a full stop or comma after the formula sits on the display's middle line: it makes no row of its own)
    full = sorted([e for e in elems if e.size >= 0.85 * em and e.kind in ("ord", "group", "frac", "limits")
                   and e.latex not in _STOPS], key=lambda e: e.base)
    bases: list[list[float]] = []
    for e in full:
        if bases and e.base - statistics.mean(bases[-1]) < 0.6 * em:
            bases[-1].append(e.base)
        else:
            bases.append([e.base])
    if len(bases) < 2:
        return [elems]
    centers = [statistics.mean(b) for b in bases]
    rows: list[list[_Elem]] = [[] for _ in centers]
    for e in elems:
        # a tall delimiter hangs from its origin (TeX's extension font): its middle, not its origin, says whose
        # row it is (a row's middle is about 0.3 em above its baseline)
        at = e.cy + 0.3 * em if e.tall else e.base
        rows[min(range(len(centers)), key=lambda i: abs(at - centers[i]))].append(e)
    return [r for r in rows if r]


def _cells(rows: list[list[_Elem]]) -> list[list[str]]:
    """Each row's LaTeX cut into columns at the gaps no row has ink in (half an em or wider)."""
    em = _em([e for r in rows for e in r])
    spans = sorted((e.x0, e.x1) for r in rows for e in r)
    cuts: list[float] = []
    right = spans[0][1]
    for x0, x1 in spans[1:]:
        if x0 - right >= 0.5 * em:
            cuts.append((x0 + right) / 2)
        right = max(right, x1)
    out = []
    for row in rows:
        cols: list[list[_Elem]] = [[] for _ in range(len(cuts) + 1)]
        for e in row:
            cols[sum(1 for c in cuts if e.cx > c)].append(e)
        out.append([_line(c) if c else "" for c in cols])
    return out


def _layout(elems: list[_Elem], rules: list[Rule]) -> str:
    """LaTeX for a set of glyphs and rules that make one expression."""
    return _line(_structure(elems, rules)) if elems else ""


def _on_line(e: _Elem, base: float, em: float) -> bool:
    if e.kind == "frac":
        return abs(e.base - base) <= 0.2 * em
    if e.kind in ("bigop", "delim", "limits", "radical") or (e.kind == "group" and e.size >= 0.85 * em):
        return e.y0 < base and e.y1 > base - 0.4 * em
    return abs(e.base - base) <= 0.12 * em and e.size >= 0.8 * em or (
        abs(e.base - base) <= 0.12 * em and e.size >= 0.6 * em and e.kind == "ord" and not e.letter)


def _line(elems: list[_Elem]) -> str:
    elems = sorted(elems, key=lambda e: (e.x0, e.y0))
    voters = [e for e in elems if e.kind in ("ord", "group", "frac", "limits")] or elems
    em = max(e.size for e in voters)
    base = _main_baseline(elems)
    mains: list[tuple[_Elem, list[_Elem]]] = []
    lead: list[_Elem] = []  # scripts before any symbol on the line (a pre-superscript)
    for e in elems:
        if _on_line(e, base, em) or not mains and not lead and abs(e.base - base) <= 0.12 * em:
            mains.append((e, []))
        elif mains:
            mains[-1][1].append(e)
        else:
            lead.append(e)
    parts: list[str] = []
    if lead:
        parts.append(_scripts(None, lead, base, em))
    for k, (e, scripts) in enumerate(mains):
        parts.append(_scripts(e, scripts, base, em, mains, k))
    return _join(_words(parts, mains, bool(lead)))


def _scripts(e: _Elem | None, scripts: list[_Elem], base: float, em: float,
             mains: list | None = None, k: int = 0) -> str:
    ref_base, ref_mid = (base, base - 0.25 * em)
    if e is not None and e.kind in ("bigop",):
        ref_mid = e.cy
    sup = [s for s in scripts if (s.base < ref_base - 0.12 * em if e is None or e.kind != "bigop" else s.cy < ref_mid)]
    sub = [s for s in scripts if s not in sup]
    out = "{}" if e is None else _head(e, mains, k)
    if sub:
        out += "_{" + _line(sub) + "}"
    if sup:
        out += "^{" + _line(sup) + "}"
    return out


def _head(e: _Elem, mains: list | None, k: int) -> str:
    if e.kind == "delim" and e.tall:
        return _tall_delim(e, mains or [], k)
    return e.latex if e.letter or (e.style and e.latex.isdigit()) else _alphabet(e)


def _tall_delim(e: _Elem, mains: list, k: int) -> str:
    """A delimiter from the extension font grows with its content: \\left and \\right where it pairs with a
    tall one on the other side, else as drawn."""
    opening = e.latex in OPENING or (e.latex in ("|", r"\|") and _has_partner(mains, k, forward=True))
    if opening:
        return r"\left" + _delim_tex(e.latex) if _has_partner(mains, k, forward=True) else e.latex
    return r"\right" + _delim_tex(e.latex) if _has_partner(mains, k, forward=False) else e.latex


def _delim_tex(d: str) -> str:
    return d if not d[0].isalpha() else " " + d


def _has_partner(mains: list, k: int, forward: bool) -> bool:
    """Whether the tall delimiter at `k` has an unmatched partner ahead (forward) or behind it: nested pairs
    between them are skipped (behind, a bar `|` opens nothing)."""
    depth = 0
    for e, _ in (mains[k + 1:] if forward else reversed(mains[:k])):
        if e.kind == "delim" and e.tall:
            nests = e.latex in OPENING if forward else e.latex not in OPENING and e.latex not in ("|", r"\|")
            if nests:
                depth += 1
            elif depth == 0:
                return True
            else:
                depth -= 1
    return False


def _words(parts: list[str], mains: list, lead: bool) -> list[str]:
    """Upright letters side by side as one word: a function name (\\sin) or \\mathrm{...}; runs of one
    alphabet (bold, calligraphic) in one command."""
    offset = 1 if lead else 0
    out: list[str] = parts[:offset]
    k = 0
    while k < len(mains):
        e, scripts = mains[k]
        if e.letter and e.style and len(e.letter) > 1 and e.style == "mathrm":
            tail = parts[offset + k][len(e.latex):]
            word = e.letter
            if word in FUNCTIONS:
                out.append("\\" + word + tail)
            elif _split_function(word):
                head, rest = _split_function(word)
                out.append("\\" + head + r"\mathrm{" + rest + "}" + tail)
            else:
                out.append(r"\mathrm{" + word + "}" + tail)
            k += 1
            continue
        if e.letter and e.style:
            j = k
            while (j + 1 < len(mains) and not mains[j][1] and mains[j + 1][0].letter
                   and mains[j + 1][0].style == e.style
                   and mains[j + 1][0].x0 - mains[j][0].x1 < 0.12 * e.size):
                j += 1
            word = "".join(m[0].latex for m in mains[k:j + 1])
            tail = parts[offset + j][len(mains[j][0].latex):]  # the last letter's scripts
            if e.style == "mathrm" and word in FUNCTIONS:
                out.append("\\" + word + tail)
            elif e.style == "mathrm" and len(word) > 1 and _split_function(word):
                head, rest = _split_function(word)
                out.append("\\" + head + r"\mathrm{" + rest + "}" + tail)
            else:
                out.append("\\" + e.style + "{" + word + "}" + tail)
            k = j + 1
            continue
        out.append(parts[offset + k])
        k += 1
    return out


def _split_function(word: str) -> tuple[str, str] | None:
    for n in range(len(word) - 1, 1, -1):
        if word[:n] in FUNCTIONS:
            return word[:n], word[n:]
    return None


_CONTROL_WORD_END = re.compile(r"\\[A-Za-z]+$")


def _join(parts: list[str]) -> str:
    out = ""
    for p in parts:
        if not p:
            continue
        if out and _CONTROL_WORD_END.search(out) and p[0].isalpha():
            out += " "
        out += p
    return out


# -- public -------------------------------------------------------------------------------------------------
def rebuild_latex(chars: list[MathChar], rules: list[Rule] | None = None) -> str:
    """LaTeX for one formula from its glyphs and the rules drawn in its box ('' when nothing is readable)."""
    atoms = [a for a in (_atom(c) for c in chars) if a is not None]
    if not atoms:
        return ""
    atoms = _merge_pieces(atoms)
    x0, y0, x1, y1 = _union(atoms)
    pad = 0.5 * _em(atoms)
    near = [r for r in (rules or []) if r[2] > x0 - pad and r[0] < x1 + pad and r[3] > y0 - pad and r[1] < y1 + pad
            and (r[3] - r[1]) <= 3.0 and (r[2] - r[0]) > (r[3] - r[1])]
    return _layout(atoms, near).strip()


def is_mathish(c: MathChar) -> bool:
    """A glyph that belongs to math whatever surrounds it: set in a math font, or a symbol only math uses."""
    from ocr_resources.text.math_symbols import is_math_font, is_math_symbol

    if not c.text:
        return False
    if is_math_font(c.font):
        return True  # (extension-font glyphs may carry control codes: \x0c is a tall bar's piece)
    if c.text.isspace() or c.text in "•◦▪·":
        return False
    return is_math_symbol(c.text[0])


__all__ = ["MathChar", "Rule", "rebuild_latex", "is_mathish", "font_family"]


# -- math inside a line of text -------------------------------------------------------------------------------
_NEUTRAL = frozenset("0123456789=+-*/()[]<>|,.;:!'")
_TRAILING = ".,;:"  # (not "!": a factorial)


@dataclass
class InlineMath:
    """A run of math inside a line of text: the glyphs it spans (indices into the line, left to right) and
    its LaTeX."""

    start: int
    end: int  # exclusive
    latex: str
    box: tuple[float, float, float, float]


def _line_baseline(chars: list[MathChar]) -> tuple[float, float]:
    sizes = [c.size for c in chars if c.size > 0]
    size = statistics.median(sizes) if sizes else 10.0
    full = [c for c in chars if c.size >= 0.9 * size] or chars
    bases = sorted(c.baseline if c.baseline is not None else c.y1 for c in full)
    return bases[len(bases) // 2], size


_LIST_MARKS = BULLET_MARKS + "\u2218\u22c6\u2605\u22c4\u25c7\u2013\u2212*"


def text_letter(c: MathChar) -> bool:
    """A letter set in a text font: Latin, and Greek too (not the math alphabets, 𝑔 𝐸, whatever their font)."""
    return c.text.isalpha() and not is_math_font(c.font) and math_alnum(c.text[0]) is None


def _text_font_words(line: list[MathChar], size: float) -> list[int]:
    """Indices of the Greek glyphs (left to right) that are letters of a word set in a text font: a word of two
    letters or more, or of one in a line that has such Greek words (the article "η" in a Greek sentence). A lone
    α in a line of Latin prose is a variable."""
    runs: list[list[int]] = []
    for k, c in enumerate(line):
        if text_letter(c) and runs and runs[-1] and c.x0 - line[runs[-1][-1]].x1 < 0.15 * size:
            runs[-1].append(k)
        else:
            runs.append([k] if text_letter(c) else [])
    greek = [[k for k in run if line[k].text in GREEK] for run in runs]
    in_greek = any(len(g) > 1 for g in greek)
    return [k for g in greek if len(g) > 1 or (g and in_greek) for k in g]


def inline_math(line: list[MathChar], rules: list[Rule] | None = None) -> list[InlineMath]:
    """The math runs of one line of text (its glyphs sorted left to right). A run starts at a glyph only math
    uses (a math font, a Greek letter, a relation), takes in the digits, brackets and operators beside it, and
    the raised or lowered small glyphs that are its scripts; text letters in the text font end it, and
    sentence punctuation at its end is left to the sentence."""
    if not line:
        return []
    base, size = _line_baseline(line)

    def shifted(c: MathChar) -> bool:
        b = c.baseline if c.baseline is not None else c.y1
        return c.size < 0.85 * size and abs(b - base) > 0.12 * size

    kinds = []
    for c in line:
        if is_mathish(c):
            kinds.append("M")
        elif shifted(c) or (c.text in ACCENTS and c.y1 < base - 0.45 * size):
            kinds.append("S")  # a script, a fraction's part, an accent over a symbol: never prose
        elif c.text[:1] in _NEUTRAL:
            kinds.append("N")
        else:
            kinds.append("T")
    for k in _text_font_words(line, size):
        kinds[k] = "T"  # (a Greek word set in the text font is prose: "Θεώρημα", "είναι" beside a formula's 𝑔)
    _function_names(line, kinds, size)
    if line[0].text in _LIST_MARKS and (len(line) == 1 or line[1].x0 - line[0].x1 >= 0.3 * line[0].size):
        kinds[0] = "T"  # a list's bullet set from a math font (LaTeX's itemize) starts no formula: "• 16-bit"
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(line):
        if kinds[i] != "M":
            i += 1
            continue
        start = i
        while start > 0 and kinds[start - 1] in "NS" and line[start - 1].text not in _TRAILING \
                and line[start].x0 - line[start - 1].x1 < (0.35 if kinds[start - 1] == "S"
                                                           or line[start - 1].text in "([|" else 0.15) * size:
            start -= 1
        end = i + 1
        while end < len(line) and kinds[end] != "T":
            if line[end - 1].text == "," and kinds[end - 1] in "NS" and line[end].x0 - line[end - 1].x1 >= 0.3 * size:
                break  # "x, y and z": a comma and a word space end the formula
            end += 1
        while end > start and kinds[end - 1] in "NS" and line[end - 1].text in _TRAILING:
            end -= 1
        if start < end - 1 < len(line) - 1 and line[end - 1].text in "-\u2010\u2011" and kinds[end] == "T" \
                and line[end].text.isalpha() and line[end].x0 - line[end - 1].x1 < 0.1 * size:
            end -= 1  # a hyphen joining the math to a word ("n-th", "x-axis", "p-value") is the word's, no minus
        end = _closed(line, start, end, size)
        start, end = _balanced(line, start, end)
        if runs and start <= runs[-1][1]:
            start = runs[-1][0]
            runs.pop()
        runs.append((start, end))
        i = max(end, i + 1)
    out = []
    for start, end in runs:
        run = line[start:end]
        if not run:
            continue
        latex = rebuild_latex(run, rules)
        if latex:
            out.append(InlineMath(start, end, latex, (min(c.x0 for c in run), min(c.y0 for c in run),
                                                      max(c.x1 for c in run), max(c.y1 for c in run))))
    return out


def _function_names(line: list[MathChar], kinds: list[str], size: float) -> None:
    """Upright letters spelling a function name (sin, log, max) right before math are math, and so is an
    upright d touching a math letter (a differential)."""
    i = 0
    while i < len(line):
        if kinds[i] != "T" or not line[i].text.isalpha():
            i += 1
            continue
        j = i
        while j + 1 < len(line) and kinds[j + 1] == "T" and line[j + 1].text.isalpha() \
                and line[j + 1].x0 - line[j].x1 < 0.1 * size:
            j += 1
        word = "".join(c.text for c in line[i:j + 1])
        before = i == 0 or line[i].x0 - line[i - 1].x1 >= 0.1 * size or kinds[i - 1] != "T"
        after = j + 1 < len(line) and line[j + 1].x0 - line[j].x1 < 0.6 * size and (
            kinds[j + 1] in "MS" or (line[j + 1].text == "(" and "M" in kinds[j + 2: j + 6]))
        if word in FUNCTIONS and before and after:
            for k in range(i, j + 1):
                kinds[k] = "M"
        elif word == "d" and before and j + 1 < len(line) and kinds[j + 1] == "M" and line[j + 1].text.isalpha() \
                and line[j + 1].x0 - line[j].x1 < 0.1 * size:
            kinds[i] = "M"  # an upright differential touching its variable (\mathrm{d}x); prose has a space there
        elif i == j and before and letter_style(line[i].font, line[i].bold) == "mathbf" \
                and _by_operator(line, kinds, i, size):
            kinds[i] = "M"  # a bold vector beside an operator (v · w)
        i = j + 1


def _by_operator(line: list[MathChar], kinds: list[str], i: int, size: float) -> bool:
    """A lone bold letter beside an operator (v · w), or touching a math glyph or script (μ₀J)."""
    for k in (i - 1, i + 1):
        if not (0 <= k < len(line)) or kinds[k] not in "MS":
            continue
        gap = min(abs(line[k].x0 - line[i].x1), abs(line[i].x0 - line[k].x1))
        if gap < (0.45 if not line[k].text.isalpha() else 0.2) * size:
            return True
    return False


def _closed(line: list[MathChar], start: int, end: int, size: float, reach: int = 12) -> int:
    """A run left inside an open bracket ("γ(" before a bold "k)": the argument set in a text font) takes in
    the glyphs up to the closing bracket where they touch (no word space, a dozen glyphs at most): the
    argument is the formula's. Otherwise an opening bracket at the run's end goes back to the sentence."""
    text = "".join(c.text for c in line[start:end])
    depth = text.count("(") - text.count(")")
    if depth > 0 and line[end - 1].text not in _TRAILING:
        k = end
        while k < min(len(line), end + reach) and line[k].x0 - line[k - 1].x1 < 0.2 * size \
                and not line[k].text.isspace():
            depth += (line[k].text == "(") - (line[k].text == ")")
            k += 1
            if depth == 0:
                return k
    while end > start + 1 and line[end - 1].text in "([":
        end -= 1
    return end


def _balanced(line: list[MathChar], start: int, end: int) -> tuple[int, int]:
    """An unmatched bracket at a run's edge belongs to the sentence ("(see $x$)")."""
    while end > start:
        text = "".join(c.text for c in line[start:end])
        if line[end - 1].text == ")" and text.count(")") > text.count("("):
            end -= 1
        elif line[start].text == "(" and text.count("(") > text.count(")"):
            start += 1
        else:
            break
    return start, end


def line_markdown(line: list[MathChar], rules: list[Rule] | None = None) -> str:
    """One line of text with its math runs as `$...$` (words split at gaps of a third of an em)."""
    spans = inline_math(line, rules)
    out, k = "", 0
    base_size = _line_baseline(line)[1] if line else 10.0
    prev_x1: float | None = None
    for span in [*spans, None]:
        stop = span.start if span is not None else len(line)
        for c in line[k:stop]:
            if prev_x1 is not None and c.x0 - prev_x1 > 0.2 * base_size and out and not out.endswith(" "):
                out += " "
            out += c.text
            prev_x1 = c.x1
        if span is None:
            break
        if out and not out.endswith(" ") and prev_x1 is not None and line[span.start].x0 - prev_x1 > 0.1 * base_size:
            out += " "
        out += "$" + span.latex + "$"
        prev_x1 = line[span.end - 1].x1
        k = span.end
    return out
