"""What a cell holds as a unit of meaning: dot leaders and fill characters are layout, not content; a value
keeps its ± error, its unit and its parenthesised share however wide the gaps a typesetter put between them."""

from __future__ import annotations

import re
from dataclasses import replace

from ocr_resources.geometry.boxes import UPRIGHT, turned_box
from ocr_resources.text.math_symbols import FUNCTIONS, GREEK, SYMBOLS
from ocr_resources.types import Box, Word

# A run of fill characters: four or more dots, middle dots, ellipses or underscores (spaces between them
# allowed, as ". . . ." leaders are set). Fewer is text: an ellipsis "...", a ".." marking a missing value.
_FILL_RUN = re.compile(r"(?:[.·•…_](?:\s?[.·•…_]){3,}|…{2,})")
_FILL_ONLY = re.compile(r"^[\s.·•…_\-–—]*$")
_DOTS = re.compile(r"^[.·•…_]{2,}$")  # a word of dots alone: a leader after a word, or a marker alone
_LEADING_DOT = re.compile(r"(?<![\w.])\.(?=[^\W\d_])")  # ".algeria": a stray leader dot stuck to a word
_NUMBER = re.compile(r"^[\-+−–(]?[$€£¥]?\d[\d.,]*%?\)?$")
_CURRENCY = frozenset("$€£¥₹")
BIND_REACH = 3.0  # x the phrase gap: how far apart the parts of one value (a number and its unit) may be set
CURRENCY_REACH = 8.0
_PLUS_MINUS = ("±", "∓", "+/-", "+/−")
# Units that follow a number as part of its value. Only ones that are never a column's value on their own
# (single letters such as "A" or "m" are grades and codes as often as units).
UNITS = frozenset({"%", "‰", "°", "°c", "°f", "kg", "mg", "µg", "μg", "ng", "km", "cm", "mm", "µm", "μm", "nm",
                   "ml", "µl", "μl", "ms", "min", "hrs", "kb", "mb", "gb", "tb", "kbps", "mbps", "hz", "khz",
                   "mhz", "ghz", "kw", "mw", "kwh", "mwh", "kv", "mv", "ma", "kpa", "mpa", "bar", "db", "mol",
                   "mmol", "µmol", "μmol", "ppm", "ppb", "ft", "lbs", "oz"})


def has_fill(text: str) -> bool:
    return bool(_FILL_RUN.search(text))


def strip_fill(text: str) -> tuple[str, bool]:
    """Cell text without its dot leaders and fill characters, and whether it had any. A cell of fill only
    ("....", "—") is a value's marker (not available, not applicable) and stays."""
    if not has_fill(text) or _FILL_ONLY.match(text):
        return text, False
    clean = _FILL_RUN.sub(" ", text)
    clean = _LEADING_DOT.sub("", clean)
    clean = " ".join(t for t in clean.split() if not _FILL_ONLY.match(t) or t in ("-", "–", "—"))
    return clean.strip(" -–—") if _FILL_ONLY.match(clean) else clean, True


def trim_fill_words(line: list[Word]) -> tuple[list[Word], set[int]]:
    """One text line's words (left to right) without their leaders, and the ids of the words returned that
    had fill at or after them. A word that is all fill ("......", or a run of three or more lone dots set
    as words of their own) goes and marks the word before it; a word with fill at one end
    ("Total.........") keeps the box of its letters only (glyphs share the width evenly enough for this),
    so the white space a leader filled separates the columns again."""
    lone = [len(w.text.strip()) == 1 and w.text.strip() in ".·•…_" for w in line]
    run_of = [False] * len(line)
    i = 0
    while i < len(line):
        j = i
        while j < len(line) and lone[j]:
            j += 1
        if j - i >= 3:
            run_of[i:j] = [True] * (j - i)
        i = max(j, i + 1)
    out: list[Word] = []
    flagged: set[int] = set()
    leading: Word | None = None  # the word whose leader is being read
    for w, in_run in zip(line, run_of, strict=True):
        text = w.text
        if not in_run and not has_fill(text) and not _DOTS.match(text):
            out.append(w)
            leading = None
            continue
        if in_run or _DOTS.match(text):
            before = out[-1] if out else None
            if leading is None and (before is None or _DOTS.match(before.text)
                                    or w.box.x0 - before.box.x1 > w.box.height):
                out.append(w)  # fill standing alone in its cell: a marker, not a leader
                continue
            leading = leading or before
            flagged.add(id(leading))
            continue
        leading = None
        clean = strip_fill(text)[0]
        parts = clean.split()
        start = text.find(parts[0]) if parts[0] in text else 0
        end = text.rfind(parts[-1]) + len(parts[-1]) if parts[-1] in text else len(text)
        word = replace(w, text=clean, box=_run_part(w, start, max(end, start + 1)))  # angle, size, bold kept
        flagged.add(id(word))
        out.append(word)
    return out, flagged


def _run_part(w: Word, start: int, end: int) -> Box:
    """The box of characters `start:end` of a word, its glyphs taken as sharing its length evenly, measured
    along the way the word runs (`Word.angle`: a turned heading's leader runs down or up the page)."""
    turn, back = UPRIGHT.get(w.angle, (None, None))
    box = turned_box(w.box, turn) if turn else w.box
    per = box.width / max(len(w.text), 1)
    part = Box(box.x0 + per * start, box.y0, box.x0 + per * end, box.y1)
    return turned_box(part, back) if back else part


def _numeric(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def bind_reach(phrase: list[Word], word: Word) -> float:
    """How far (in phrase gaps) `word` may be from `phrase` and still belong to its value (`binds`); 0 when
    it does not. A currency sign stands at the left edge of its column, far from a right-aligned amount."""
    if not binds(phrase, word):
        return 0.0
    return CURRENCY_REACH if phrase[-1].text in _CURRENCY else BIND_REACH


def binds(phrase: list[Word], word: Word) -> bool:
    """Does `word` belong to the value that `phrase` (the words before it on the line) ends with, whatever
    the gap: the two sides of a ± (68.3 ± 19.7), a unit after its number (12 kg), a parenthesised share or
    note after its number (566 (45.4% of total)), or the rest of a parenthesis the phrase left open? A
    parenthesis holding a number alone ((1,234), a negative amount) is a value of its own."""
    last, text = phrase[-1].text, word.text
    if last.endswith(_PLUS_MINUS) or text.startswith(_PLUS_MINUS):
        return True
    if last in _CURRENCY and _numeric(text):
        return True  # "$ 178": the currency sign set apart from its amount
    joined = " ".join(w.text for w in phrase)
    if joined.count("(") > joined.count(")"):
        return True  # inside an open parenthesis
    if not _numeric(last) or last.endswith(")"):
        return False
    if text.lower() in UNITS:
        return True
    # a share or a note in parentheses; a closed parenthesis round a bare number is a value of its own
    return text.startswith("(") and ("%" in text or not text.endswith(")"))


# An inline formula the text layer's math finder wrote as one word of LaTeX (text.page_formulas): "$\geq18$"
_INLINE_MATH = re.compile(r"^([(\[]?)\$([^$]+)\$([.,;:)\]]?)$")  # the whole word, as replace_words makes it
_STYLED = re.compile(r"\\(?:mathrm|mathit|mathbf|mathsf|mathtt|mathcal|boldsymbol|text|operatorname)\{([^{}]*)\}")
_SCRIPT = re.compile(r"[\^_]\{([^{}]*)\}|[\^_](\S)")
_COMMAND = re.compile(r"\\([A-Za-z]+|\|)")


def _latex_glyphs() -> dict[str, str]:
    out: dict[str, str] = {}
    for ch, name in GREEK.items():
        out.setdefault(name, ch)
    for ch, latex in SYMBOLS.items():
        if latex.startswith("\\") and latex[1:].isalpha():
            out.setdefault(latex[1:], ch)
    return out


_GLYPHS = _latex_glyphs()


def plain_math(text: str) -> str:
    """A word with an inline formula in it back as the characters it was printed with: a table cell keeps
    its text ("≥18", not "$\\geq18$"); the formula finder reads a page's glyphs before anyone knows where its
    tables are. Commands become their glyphs, function names their name ("\\log" -> "log"), styles, script
    marks and layout commands go (an underline or a fraction bar is drawn, not written: "\\underline{[11]}" is
    "[11]"), spacing commands are spaces."""
    m = _INLINE_MATH.match(text)
    if m is None:  # "US$ 100", "$5": a currency, not a formula
        return text
    body = m.group(2)
    while _STYLED.search(body):
        body = _STYLED.sub(r"\1", body)
    body = re.sub(r"\\[,;:! ]", " ", body)
    body = _SCRIPT.sub(lambda s: s.group(1) if s.group(1) is not None else s.group(2), body)
    body = body.replace("\\{", "\x00").replace("\\}", "\x01")  # literal braces, kept
    body = _COMMAND.sub(lambda c: _GLYPHS.get(c.group(1), c.group(1) if c.group(1) in FUNCTIONS else ""), body)
    body = body.replace("{", "").replace("}", "").replace("\x00", "{").replace("\x01", "}")
    return m.group(1) + body.strip() + m.group(3)
