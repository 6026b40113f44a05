"""Formulas as LaTeX (issue 26): glyph lists laid out as TeX lays them out give back their LaTeX; a PDF's
glyphs and fraction bar are read with baselines and fonts; the eval's normalisation, render comparison and
DocBank shares."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest

from eval.formulas import (
    DISPLAY_ONLY,
    docbank_equation_in_math,
    docbank_paragraph_outside_math,
    latex_match,
    normalize_latex,
    same_render,
    synthetic_set,
)
from ocr_resources.text.formulas import MathChar, inline_math, line_markdown, rebuild_latex
from tests.stage_runner import run_stage

BASE = 100.0


def ch(text: str, x: float, base: float = BASE, size: float = 10.0, font: str = "ABCDEF+CMMI10",
       width: float | None = None, height: float | None = None, unmapped: bool = False) -> MathChar:
    """A glyph whose ink sits on `base` (0.7 em high), `width` wide (0.5 em by default)."""
    w = 0.5 * size if width is None else width
    h = 0.7 * size if height is None else height
    return MathChar(text, x, base - h, x + w, base, size, font, base, unmapped=unmapped)


def script(text: str, x: float, shift: float, font: str = "CMMI7") -> MathChar:
    """A 7 pt glyph raised (shift < 0) or lowered from the main baseline."""
    return ch(text, x, BASE + shift, 7.0, font)


# -- glyphs -> LaTeX ---------------------------------------------------------------------------------------------
def test_superscript_and_subscript_from_baseline_and_size():
    chars = [ch("x", 0), script("2", 5.2, -3.6, "CMR7"), ch("+", 10, font="CMR10"), ch("y", 17),
             script("i", 22.2, 1.5), ch("=", 28, font="CMR10"), ch("e", 35), script("−", 40, -3.6, "CMSY7"),
             script("x", 44.5, -3.6)]
    assert rebuild_latex(chars) == "x^{2}+y_{i}=e^{-x}"


def test_subscript_and_superscript_on_one_symbol_and_nested_script():
    chars = [ch("ζ", 0), script("n", 5.2, 2.0), script("ψ", 5.2, -4.0), ch("a", 20), script("b", 25.2, -3.6),
             ch("2", 28.8, BASE - 5.6, 5.0, "CMR5")]
    assert rebuild_latex(chars) == r"\zeta_{n}^{\psi}a^{b^{2}}"


def test_fraction_from_stacked_runs_over_a_rule():
    # (a+b) over c, the bar at the math axis; a plus after the fraction on the main baseline
    chars = [ch("a", 1, BASE - 6.8), ch("+", 6, BASE - 6.8, font="CMR10"), ch("b", 12, BASE - 6.8),
             ch("c", 6, BASE + 6.8), ch("+", 20, font="CMR10"), ch("1", 27, font="CMR10")]
    bar = (0.5, BASE - 3.0, 17.5, BASE - 2.6)
    assert rebuild_latex(chars, [bar]) == r"\frac{a+b}{c}+1"
    assert rebuild_latex(chars) != r"\frac{a+b}{c}+1"  # without the drawing's rule there is no fraction


def test_nested_fraction_widest_rule_first():
    # 1 over (1 + 1/x): the inner fraction's bar on the denominator's math axis
    chars = [ch("1", 8, BASE - 6.8, font="CMR10"), ch("1", 1, BASE + 8, font="CMR10"),
             ch("+", 6, BASE + 8, font="CMR10"), ch("1", 13, BASE + 3.5, 7, "CMR7"), ch("x", 13, BASE + 12, 7, "CMMI7")]
    rules = [(0.0, BASE - 3.0, 20.0, BASE - 2.6), (12.5, BASE + 5.0, 17.5, BASE + 5.4)]
    assert rebuild_latex(chars, rules) == r"\frac{1}{1+\frac{1}{x}}"


def test_big_operator_limits_from_cmex_code_and_greek():
    # \sum_{i=1}^{n} x_i with the sum drawn from CMEX10 code 0x58 (no Unicode in the PDF)
    chars = [ch("X", 0, BASE + 6, 10, "CMEX10", width=14, height=17, unmapped=True),  # centred on the axis
             script("i", 2, 13.9), script("=", 5, 13.9, "CMR7"), script("1", 10, 13.9, "CMR7"),
             script("n", 5, -12.5), ch("x", 17), script("i", 22.2, 1.5)]
    assert rebuild_latex(chars) == r"\sum_{i=1}^{n}x_{i}"


def test_integral_with_scripts_beside_it():
    chars = [ch("Z", 0, BASE + 8.5, 10, "CMEX10", width=9, height=22, unmapped=True), script("∞", 10, -11, "CMSY7"),
             script("0", 5.5, 9), ch("f", 18), ch("d", 24), ch("x", 29)]
    assert rebuild_latex(chars) == r"\int_{0}^{\infty}fdx"


def test_radical_with_vinculum_and_index():
    # \sqrt[3]{x}: the sign, its rule from the sign's top right over x, the index over the sign's left arm
    chars = [ch("√", 0, BASE + 2.5, 10, "CMSY10", width=8, height=10), ch("3", 0.5, BASE - 4, 5, "CMR5"),
             ch("x", 9)]
    rules = [(8.0, BASE - 7.6, 15.0, BASE - 7.2)]
    assert rebuild_latex(chars, rules) == r"\sqrt[3]{x}"


def test_accent_over_a_letter_and_alphabets_from_fonts():
    chars = [ch("ˆ", 0.5, BASE - 7.5, font="CMR10", height=1.5), ch("x", 0), ch("+", 8, font="CMR10"),
             ch("v", 15, font="CMBX10"), ch("·", 21, font="CMSY10"), ch("A", 26, font="CMSY10"),
             ch("+", 33, font="CMR10"), ch("d", 40, font="CMR10"), ch("t", 45.3)]
    assert rebuild_latex(chars) == r"\hat{x}+\mathbf{v}\cdot\mathcal{A}+\mathrm{d}t"


def test_function_names_with_limits_under_them():
    # \max_i over s: the limit sits under the word, between its letters in x order
    chars = [ch("m", 0, font="CMR10", width=8.5), ch("a", 8.7, font="CMR10"), ch("x", 14.3, font="CMR10"),
             script("i", 8.6, 7.1), ch("s", 22), ch("s", 40, font="CMR10"), ch("i", 45, font="CMR10", width=2.5),
             ch("n", 47.8, font="CMR10"), ch("x", 54)]
    assert rebuild_latex(chars) == r"\max_{i}s\sin x"


def test_growing_delimiters_pair_into_left_right():
    chars = [ch("\x00", 0, BASE + 3.5, 10, "CMEX10", width=3, height=13, unmapped=True),
             ch("a", 4, BASE - 6.8), ch("b", 4, BASE + 6.8),
             ch("\x01", 10, BASE + 3.5, 10, "CMEX10", width=3, height=13, unmapped=True), script("2", 13.5, -6, "CMR7")]
    rules = [(3.5, BASE - 3.0, 9.5, BASE - 2.6)]
    assert rebuild_latex(chars, rules) == r"\left(\frac{a}{b}\right)^{2}"


def test_unicode_math_alphabets_and_ohm_sign():
    chars = [ch("\U0001d465", 0, font="CambriaMath"), ch("\U0001d401", 6, font="CambriaMath"),
             ch("\u2126", 13, font="CambriaMath"), ch("ℝ", 20, font="CambriaMath")]
    assert rebuild_latex(chars) == r"x\mathbf{B}\Omega\mathbb{R}"


# -- math inside a line of text -----------------------------------------------------------------------------
def _words(text: str, x: float, font: str = "CMR10") -> tuple[list[MathChar], float]:
    out = []
    for word in text.split(" "):
        for letter in word:
            out.append(ch(letter, x, font=font))
            x += 5.2
        x += 3.4
    return out, x


def test_inline_math_run_inside_a_sentence():
    # "Let e^{i\pi}+1=0 hold." with the math in CMMI/CMR and the prose in CMR
    before, x = _words("Let", 0)
    math = [ch("e", x), script("i", x + 5, -3.6), script("π", x + 7.5, -3.6), ch("+", x + 14, font="CMR10"),
            ch("1", x + 22, font="CMR10"), ch("=", x + 29, font="CMR10"), ch("0", x + 37, font="CMR10")]
    after, _ = _words("hold.", x + 45.5)
    line = before + math + after
    spans = inline_math(line)
    assert [s.latex for s in spans] == [r"e^{i\pi}+1=0"]
    assert line_markdown(line) == r"Let $e^{i\pi}+1=0$ hold."


def test_prose_digits_and_punctuation_stay_text():
    line, _ = _words("In 2019, (see page 4) we met.", 0)
    assert inline_math(line) == []
    assert line_markdown(line) == "In 2019, (see page 4) we met."


def test_sentence_comma_and_brackets_end_the_run():
    before, x = _words("(where", 0)
    math = [ch("α", x), ch("≤", x + 8, font="CMSY10"), ch("β", x + 16)]
    after, _ = _words("), as", x + 21.8)
    line = before + math + after
    assert [s.latex for s in inline_math(line)] == [r"\alpha\leq\beta"]


def test_a_hyphen_joining_math_to_a_word_is_the_words():
    """"the n-th number", "the x-axis": the math letter is the formula; the hyphen touching the word after it is
    the word's, no minus (taken as one, the formula "$n-$" replaced the whole word and its "th" was lost)."""
    for tail in ("th", "axis"):
        before, x = _words("the", 0)
        math = [ch("n", x), ch("-", x + 5.2, font="CMR10")]
        word, x = _words(tail, x + 8.6)
        after, _ = _words("number.", x)
        line = before + math + word + after
        assert [s.latex for s in inline_math(line)] == ["n"]
        assert line_markdown(line) == f"the $n$-{tail} number."
    # a minus between math and a word set apart stays the formula's: "x - y"
    before, x = _words("so", 0)
    line = before + [ch("x", x), ch("-", x + 8, font="CMR10"), ch("y", x + 16)]
    assert [s.latex for s in inline_math(line)] == ["x-y"]


# -- a PDF's glyphs and rules -------------------------------------------------------------------------------
def test_pdf_glyphs_with_baselines_and_a_drawn_fraction_bar():
    pdfium = pytest.importorskip("pypdfium2")
    from reportlab.pdfgen import canvas

    from ocr_resources.pipeline.render import display_matrix
    from ocr_resources.text.pdf_math import page_math_chars, page_thin_rules

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(200, 200))
    c.setFont("Times-Italic", 12)
    c.drawString(50, 110, "a")  # numerator over the bar, denominator under it
    c.drawString(50, 90, "b")
    c.setFont("Times-Roman", 12)
    c.drawString(70, 100, "+")
    c.setFont("Times-Italic", 12)
    c.drawString(80, 100, "x")
    c.setFont("Times-Roman", 8)
    c.drawString(86, 105, "2")
    c.setLineWidth(0.5)
    c.line(48, 103, 58, 103)
    c.save()
    pdf = pdfium.PdfDocument(buf.getvalue())
    page = pdf[0]
    display = display_matrix(page)
    chars = page_math_chars(page.get_textpage(), display)
    rules = page_thin_rules(page, display)
    assert [x.text for x in chars] == ["a", "b", "+", "x", "2"]
    assert abs(chars[3].baseline - 100) < 0.5 and chars[4].baseline < chars[3].baseline - 4
    assert any(abs(r[1] - 97) < 1 and r[2] - r[0] > 8 for r in rules)
    assert rebuild_latex(chars, rules) == r"\frac{a}{b}+x^{2}"
    pdf.close()


# -- the eval: normalisation, renders, DocBank, the set -------------------------------------------------------
def test_normalized_latex_ignores_what_does_not_change_the_formula():
    assert normalize_latex(r"x^2_i + \left( a \right)") == normalize_latex(r"x_{i}^{2}+(a)")
    assert latex_match(r"\le \dfrac{1}{2}\,\sin x", r"\leq\frac{1}{2}\mathrm{sin}x")
    assert not latex_match(r"x^{2}", r"x_{2}")
    assert not latex_match(r"x", "")


def test_same_render_compares_ink():
    a = np.zeros((20, 40), bool)
    a[5:15, 5:35] = True
    shifted = np.roll(a, 1, axis=1)
    assert same_render(a, a.copy()) and same_render(a, shifted)
    other = a.copy()
    other[:, 18:22] = False  # a gap where the other has ink
    assert not same_render(a, other)
    assert not same_render(a, np.ones((30, 40), bool))
    spaced = np.zeros((20, 48), bool)  # the same two symbols, a thin space further apart
    spaced[5:15, 5:15], spaced[5:15, 25:35] = True, True
    close = np.zeros((20, 40), bool)
    close[5:15, 5:15], close[5:15, 19:29] = True, True
    assert same_render(spaced, close)
    assert not same_render(a, None)


def test_docbank_equation_tokens_in_math_and_prose_kept_outside():
    tokens = [{"text": "λ", "label": "equation", "bbox_pt": [10, 10, 15, 20]},
              {"text": "x2", "label": "equation", "bbox_pt": [20, 10, 30, 20]},
              {"text": "(cid:88)", "label": "equation", "bbox_pt": [40, 10, 50, 20]},
              {"text": "holds", "label": "paragraph", "bbox_pt": [0, 30, 20, 40]},
              {"text": "always", "label": "paragraph", "bbox_pt": [25, 30, 45, 40]}]
    md = "Then $\\lambda = x^{2}$ holds always.\n"
    assert docbank_equation_in_math(md, tokens) == 1.0  # the unreadable token counts only by box
    assert docbank_equation_in_math(md, tokens, [(35, 5, 55, 25)]) == 1.0
    assert docbank_equation_in_math("Then λ = x2 holds always.", tokens) == 0.0
    assert docbank_paragraph_outside_math(md, tokens) == 1.0
    assert docbank_paragraph_outside_math("Then $\\lambda = x^{2} holds$ always.", tokens) == 0.5


def test_synthetic_set_classes_modes_and_stable_halves():
    formulas = synthetic_set(per_class=6)
    assert len(formulas) == 13 * 6 + 2 * 30 and {f.mode for f in formulas} == {"display", "inline"}
    assert [f.half for f in formulas] == [f.half for f in synthetic_set(per_class=6)]
    assert 0.3 < sum(f.half == "report" for f in formulas) / len(formulas) < 0.7


def test_synthetic_set_splits_by_template_not_by_formula():
    """Every formula made from one template (and a classic's displayed and inline copies) is in one half, so
    the report half judges formula shapes never tuned on; each class has templates, and modes, in both."""
    formulas = synthetic_set(per_class=6)
    halves: dict[str, set[str]] = {}
    for f in formulas:
        halves.setdefault(f.template, set()).add(f.half)
    assert all(len(h) == 1 for h in halves.values())
    assert sum(1 for h in halves.values() if h == {"report"}) >= 10
    for cls in {f.cls for f in formulas}:
        modes = {"display"} if cls in DISPLAY_ONLY else {"display", "inline"}
        for half in ("tune", "report"):
            assert {f.mode for f in formulas if f.cls == cls and f.half == half} == modes, (cls, half)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (texlive-latex-base)")
def test_formulas_typeset_by_pdflatex_come_back_as_their_latex(tmp_path):
    from eval.formulas import Formula, read_pages, typeset

    formulas = [Formula("a", "nested", "display", r"\lambda_{g}=\sum_{s \in S} \zeta_{n}^{\psi(g s)}"),
                Formula("b", "fraction", "display", r"\left( \frac{a+b}{c^{2}} \right) - \sqrt{x_{1}}"),
                Formula("c", "power", "inline", r"e^{i\pi}+1=0")]
    bodies = [r"\[ " + formulas[0].latex + r" \]", r"\[ " + formulas[1].latex + r" \]",
              "We see that $" + formulas[2].latex + "$ holds."]
    pdf_path, bad = typeset(bodies, tmp_path, "t")
    assert not bad
    ours = read_pages(pdf_path, formulas)
    assert [latex_match(f.latex, o) for f, o in zip(formulas, ours, strict=True)] == [True, True, True], ours


# -- a page's formulas: displayed and inline, its words -----------------------------------------------------
def test_page_formulas_display_inline_and_words_replaced():
    from ocr_resources.text.page_formulas import find_formulas, replace_words

    prose, x = _words("Let", 0)
    inline = [ch("α", x), ch("≤", x + 8, font="CMSY10"), ch("β", x + 16)]
    after, _ = _words("hold.", x + 24)
    line1 = prose + inline + after
    # a displayed fraction further down: a over b, its bar, then = 1
    y = BASE + 40
    display = [ch("a", 40, y - 6.8), ch("b", 40, y + 6.8), ch("=", 50, y, font="CMR10"), ch("1", 58, y, font="CMR10")]
    rules = [(39.0, y - 3.0, 46.0, y - 2.6)]
    # the equation number far to the right stays text
    number, _ = _words("(1)", 200)
    number = [MathChar(c.text, c.x0, c.y0 + 40, c.x1, c.y1 + 40, c.size, c.font, (c.baseline or 0) + 40)
              for c in number]
    found = find_formulas(line1 + display + number, rules)
    assert sorted((f.kind, f.latex) for f in found) == [("display", r"\frac{a}{b}=1"), ("inline", r"\alpha\leq\beta")]
    words = [("Let", 0, 93, 15, 100, 10.0, False, False), ("α≤β", x, 93, x + 21, 100, 10.0, False, False),
             ("hold.", x + 24, 93, x + 50, 100, 10.0, False, False),
             ("a", 40, y - 13.8, 45, y - 6.8, 10.0, False, False), ("b", 40, y, 45, y + 6.8, 10.0, False, False),
             ("=1", 50, y - 7, 63, y, 10.0, False, False), ("(1)", 200, y - 7, 215, y, 10.0, False, False)]
    assert [w[0] for w in replace_words(words, found)] == ["Let", r"$\alpha\leq\beta$", "hold.",
                                                          r"$$\frac{a}{b}=1$$", "(1)"]


def test_a_table_of_numbers_with_math_cells_is_not_one_displayed_formula():
    """A table typeset in math mode (symbols as row labels, "(M_x,0)" headers, numbers in columns) is cells,
    each math cell its own inline formula and each number a word: stacked into one `gathered` formula, its
    cells' words ran together ("8.7599.14") and the tables stage saw no columns."""
    from ocr_resources.text.page_formulas import find_formulas

    def row(k: int, label: list[MathChar], cells: list[str]) -> list[MathChar]:
        base = BASE + 14.4 * k
        out = [MathChar(c.text, c.x0, c.y0 - BASE + base, c.x1, c.y1 - BASE + base, c.size, c.font,
                        c.baseline - BASE + base) for c in label]
        for n, cell in enumerate(cells):  # columns 60 pt apart, gaps of ~3 em
            out += [ch(d, 100 + 60 * n + 5.0 * i, base, font="CMR10") for i, d in enumerate(cell)]
        return out

    header = [ch("(", 100, font="CMR10"), ch("M", 104), script("x", 110, 1.5), ch(",", 114), ch("0", 118, font="CMR10"),
              ch(")", 123, font="CMR10"), ch("(", 160, font="CMR10"), ch("M", 164), script("z", 170, 1.5),
              ch(")", 174, font="CMR10")]
    chars = header + row(1, [ch("R", 40), script("F", 46, 1.5)], ["8.759", "9.14"]) \
        + row(2, [ch("χ", 40), script("2", 46, -3.5, "CMR7")], ["4.198", "4.359"]) \
        + row(3, [ch("R", 40)], ["11.32", "11.71"])
    found = find_formulas(chars)
    assert {f.kind for f in found} == {"inline"}
    assert sorted(f.latex for f in found) == sorted(["(M_{x},0)", "(M_{z})", "R_{F}", r"\chi^{2}", "R"])
    # the numbers stay words of their own
    assert not any(any(d.isdigit() for d in f.latex.replace("\\chi^{2}", "").replace("0", "")) for f in found)

    # a displayed fraction over a matrix-like stack of numbers, no column gutters: still one formula
    fraction = [ch("a", 40, BASE - 6.8), ch("1", 40, BASE + 6.8, font="CMR10"), ch("=", 50, font="CMR10"),
                ch("2", 58, font="CMR10")]
    assert [f.kind for f in find_formulas(fraction, [(39.0, BASE - 3.0, 46.0, BASE - 2.6)])] == ["display"]


def test_a_tables_column_of_math_beside_cells_of_words_is_a_formula_per_cell():
    """multiobjective's table: "dominance | \\dom | x ≺ y" row after row; the Sample column was stacked into one
    `gathered` formula over the rows, which the tables stage then cut into glyph soup. A displayed formula whose
    rows have the other column's prose beside them stays one formula."""
    from ocr_resources.text.page_formulas import find_formulas

    def word(text: str, x: float, base: float, font: str = "CMR10") -> list[MathChar]:
        return [ch(t, x + 5.0 * i, base, font=font) for i, t in enumerate(text)]

    def math(base: float, x: float = 200) -> list[MathChar]:
        return [ch("x", x, base), ch("\u227a", x + 8, base, font="CMSY10"), ch("y", x + 18, base)]

    rows = [word(name, 20, BASE + 12 * k) + word(cmd, 120, BASE + 12 * k, "CMTT10") + math(BASE + 12 * k)
            for k, (name, cmd) in enumerate([("dominance", "\\dom"), ("weak", "\\weakdom"), ("strict", "\\strictdom"),
                                             ("better", "\\better")])]
    found = find_formulas([c for r in rows for c in r])
    assert [(f.kind, f.latex) for f in found] == [("inline", r"x\prec y")] * 4
    # the two columns of words too close to be cut apart: one segment, wider than a cell but of a few words; the
    # last row's math, in its words' segment, must not take the rows above as its stacked parts
    rows = []
    for k, name in enumerate(["neg. strict dominance", "neg. weak dominance", "neg. dominance", "better still"]):
        cells = f"{name} \\neg{name.split()[-1]}dom"
        # (a word space 0.3 em, the glyphs' own gaps none)
        glyphs = [ch(t, 10 + 5.0 * i + 3.0 * cells[:i].count(" "), BASE + 12 * k, font="CMR10")
                  for i, t in enumerate(cells) if t != " "]
        # the math set off by a gutter, but on the last row, whose math sits closer, within that row's words
        rows.append(glyphs + math(BASE + 12 * k, glyphs[-1].x1 + (8 if k == 3 else 30)))
    found = find_formulas([c for r in rows for c in r])
    assert [(f.kind, f.latex) for f in found] == [("inline", r"x\prec y")] * 4
    # a formula's own bands are no table rows: its limits ("i=1" under three sums) and a numerator's script beside its
    # base hold no words (the synthetic set's classics lost their sums' limits when they were taken for rows)
    from ocr_resources.text.page_formulas import _box, _cell_rows, _kind
    limits = [[ch("i", x, BASE, 7.0), ch("=", x + 4, BASE, 7.0, "CMR7"), ch("1", x + 9, BASE, 7.0, "CMR7")]
              for x in (40, 100, 160)]
    script = [[ch("x", 40)], [ch("2", 70, font="CMR10")]]
    for segs in (limits, script):
        assert _cell_rows(segs, [_kind(s) for s in segs], [0] * len(segs), [_box(s) for s in segs]) == set()
    # three rows of a display in the left column, lines of the right column's prose on their bands
    prose = "the other column of a two column page runs on here"
    display = [c for k in range(3) for c in math(BASE + 12 * k, 60) + word(prose, 300, BASE + 12 * k)]
    assert [f.kind for f in find_formulas(display)] == ["display"]


def test_text_fonts_make_no_formulas():
    from ocr_resources.text.page_formulas import find_formulas

    line, x = _words("A table of ±0.5 and 10 μm values.", 0, font="Times-Roman")
    assert find_formulas(line) == []


def test_the_text_faces_of_math_font_families_make_no_formulas():
    # a heading set in STIX Two's text face came out as "\\mathrm{A}\\mathrm{Common}\\mathrm{formulas}..."
    from ocr_resources.text.math_symbols import is_math_font
    from ocr_resources.text.page_formulas import find_formulas

    assert not is_math_font("YCDCLH+STIXTwoText-Bold") and not is_math_font("XITS-Regular")
    assert is_math_font("STIXTwoMath-Regular") and is_math_font("XITSMath") and is_math_font("STIXGeneral-Italic")
    line, _ = _words("A Common formulas for derivatives and integrals", 0, font="YCDCLH+STIXTwoText")
    assert find_formulas(line) == []


def test_markdown_display_math_on_its_own_lines_latex_unescaped_and_scanned_formula_marker():
    from ocr_resources.text.markdown import render

    rows = [{"label": "text", "text": "We have $x_{i}$ and\n$$\\sum_{i}x_{i}=1$$\nfor all snake_case.", "page_no": 1,
             "region_no": 0},
            {"label": "formula", "text": "Σ x i = l", "text_source": "ocr", "text_source_reason": "no text layer",
             "page_no": 1, "region_no": 1, "x0": 72.0, "y0": 300.0, "x1": 300.0, "y1": 330.0},
            {"label": "formula", "text": "Table 1 values", "text_source": "ocr", "page_no": 2, "region_no": 0,
             "text_source_reason": "region is a figure on a text-layer page", "x0": 1, "y0": 2, "x1": 3, "y1": 4}]
    md = render(rows)
    assert md == ("We have $x_{i}$ and\n\n$$\\sum_{i}x_{i}=1$$\n\nfor all snake\\_case.\n\n"
                  "<!-- formula (image): page 1, box 72, 300, 300, 330 pt -->\n\nTable 1 values\n")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (texlive-latex-base)")
@pytest.mark.timeout(300)
def test_pipeline_stores_formula_rows_and_writes_latex_into_markdown(tmp_path):
    """A pdflatex page through the stages: formula rows with lineage, `$...$` inside the sentence and
    `$$...$$` on lines of its own in the Markdown."""
    from eval.formulas import typeset
    from ocr_resources.engines import EngineSettings, engine_class
    from ocr_resources.engines.base import LayoutDetector, ModelIdentity
    from ocr_resources.pipeline import stages
    from ocr_resources.store import ResultStore

    class NoRegions(LayoutDetector):
        batch_size = 1
        identity = ModelIdentity("none", "none", "1")

        def detect(self, images):
            return [[] for _ in images]

    folder = tmp_path / "inbox" / "box"
    folder.mkdir(parents=True)
    pdf_path, bad = typeset([r"We know that $e^{i\pi}+1=0$ holds, and that \[ \frac{a+b}{c^{2}} = \sum_{i=1}^{n} "
                             r"x_{i} \] for all of them."], tmp_path, "page")
    assert not bad
    (folder / "page.pdf").write_bytes(pdf_path.read_bytes())
    store = ResultStore(tmp_path / "ocr.duckdb")
    ocr = engine_class("ocr", "rapidocr")(EngineSettings(role="ocr", engine="rapidocr"))

    def stage(asset, fn):
        run_stage(tmp_path, store, "box", asset, fn, run_id=f"run-{asset}")

    stage("source_documents", lambda c: stages.source_documents(c, folder))
    stage("rendered_pages", lambda c: stages.rendered_pages(c, 72))
    stage("layout_regions", lambda c: stages.layout_regions(c, NoRegions()))
    stage("ocr_text", lambda c: stages.ocr_text(c, ocr))
    stage("document_markdown", lambda c: stages.document_markdown(c, tmp_path / "export"))
    rows = store.query("SELECT kind, latex, source, run_id, producer_id FROM formulas ORDER BY kind")
    assert [(r["kind"], r["latex"]) for r in rows] == [
        ("display", r"\frac{a+b}{c^{2}}=\sum_{i=1}^{n}x_{i}"), ("inline", r"e^{i\pi}+1=0")]
    assert all(r["source"] == "text_layer" and r["run_id"] == "run-rendered_pages" for r in rows)
    md = store.query("SELECT markdown FROM document_markdown")[0]["markdown"]
    assert r"We know that $e^{i\pi}+1=0$ holds, and that" in md
    assert "\n\n$$\\frac{a+b}{c^{2}}=\\sum_{i=1}^{n}x_{i}$$\n\nfor all of them." in md


def test_control_and_private_use_codes_write_nothing():
    chars = [ch("x", 0), ch("\ue000", 6, font="CMR10"), ch("\ud835", 12, font="CMR10"), ch("y", 18)]
    assert rebuild_latex(chars) == "xy"


def test_matrix_binomial_and_cases_from_stacked_rows():
    big = {"font": "CMEX10", "width": 4.0, "height": 24.0, "unmapped": True}
    # a 2x2 matrix between tall parentheses: rows 12 pt apart, columns 8 pt apart
    matrix = [ch("\x30", 0, BASE + 9.5, **big), ch("a", 6, BASE - 6), ch("b", 19, BASE - 6), ch("c", 6, BASE + 6),
              ch("d", 19, BASE + 6), ch("\x31", 26, BASE + 9.5, **big)]
    assert rebuild_latex(matrix) == r"\begin{pmatrix}a&b\\c&d\end{pmatrix}"
    binom = [ch("\x30", 0, BASE + 9.5, **big), ch("n", 6, BASE - 6), ch("k", 6, BASE + 6),
             ch("\x31", 13, BASE + 9.5, **big)]
    assert rebuild_latex(binom) == r"\binom{n}{k}"
    cases = [ch("f", 0), ch("=", 7, font="CMR10"), ch("\x3a", 15, BASE + 9.5, **big),
             ch("1", 22, BASE - 6, font="CMR10"), ch("x", 40, BASE - 6), ch("0", 22, BASE + 6, font="CMR10"),
             ch("y", 40, BASE + 6)]
    assert rebuild_latex(cases) == r"f=\begin{cases}1&x\\0&y\end{cases}"


def test_narrow_accent_leaves_the_script_beside_its_symbol():
    chars = [ch("˜", 0.5, BASE - 7.5, font="CMR10", height=1.5), ch("ϕ", 0), script("i", 5.2, 1.5)]
    assert rebuild_latex(chars) == r"\tilde{\phi}_{i}"


def test_inline_bold_vector_after_a_script_and_factorial_kept():
    before, x = _words("so", 0)
    math = [ch("µ", x), script("0", x + 5.5, 1.5, "CMR7"), ch("J", x + 9.5, font="CMBX10"),
            ch("=", x + 18, font="CMR10"), ch("n", x + 26), ch("!", x + 31.3, font="CMR10", width=2.8)]
    after, _ = _words("here.", x + 38)
    assert [s.latex for s in inline_math(before + math + after)] == [r"\mu_{0}\mathbf{J}=n!"]


def test_list_bullets_and_office_symbol_font_make_no_formulas():
    from ocr_resources.text.page_formulas import find_formulas

    item, _ = _words("first item of the list", 12, font="Times-Roman")
    bullet_cmsy = [ch("•", 0, font="CMSY10")] + item  # a LaTeX itemize bullet
    bullet_symbol = [ch("•", 0, font="Symbol")] + item
    table_cell = [ch("≥", 0, font="SymbolMT"), ch("1", 6, font="Arial"), ch("8", 11, font="Arial")]
    assert find_formulas(bullet_cmsy) == [] and find_formulas(bullet_symbol) == [] and find_formulas(table_cell) == []
    # an item that starts with digits ("• 16-bit extension"): the bullet did start a formula "\bullet16-", whose
    # box then took the word "16-bit" and lost "bit"
    digits, _ = _words("16-bit extension of TeX", 12, font="Palatino-Roman")
    assert find_formulas([ch("•", 0, font="CMSY10")] + digits) == []
    # a product dot touching its operands stays math
    dot = [ch("a", 0), ch("·", 5.5, font="CMSY10"), ch("b", 9)]
    assert [f.latex for f in find_formulas(dot)] == [r"a\cdot b"]


def test_inline_operator_keeps_limits_that_sit_on_bands_of_their_own():
    from ocr_resources.text.page_formulas import find_formulas

    before, x = _words("Take", 0)
    # a text-style sum hanging from its origin (CMEX 0x50), its limits raised and lowered beyond the line
    op = MathChar("P", x, BASE - 7.5, x + 10, BASE + 2.5, 10.0, "CMEX10", BASE - 7.5, unmapped=True)
    limits = [script("n", x + 10.5, -7.5), script("k", x + 10.5, 3.0), script("=", x + 13.5, 3.0, "CMR7"),
              script("1", x + 18.5, 3.0, "CMR7")]
    body = [ch("a", x + 24), script("k", x + 29.2, 1.5)]
    after, _ = _words("now.", x + 36)
    found = find_formulas(before + [op] + limits + body + after)
    assert [(f.kind, f.latex) for f in found] == [("inline", r"\sum_{k=1}^{n}a_{k}")]


def test_a_page_without_a_math_font_is_not_read_twice():
    """The text layer's own glyph fonts decide whether the formula finder reads the page again (issue 27):
    a math font, or a space-like code that is not a true space (TeX's extension font draws glyphs there), does."""
    pdfium = pytest.importorskip("pypdfium2")
    from reportlab.pdfgen import canvas

    from ocr_resources.pipeline.render import display_matrix, text_layer, text_layer_words
    from ocr_resources.text.math_symbols import is_math_font
    from ocr_resources.text.pdf_chars import PdfChar
    from ocr_resources.text.pdf_math import may_hold_math, page_math_chars

    glyph = PdfChar("x", 0, 0, 5, 8, font="Times-Italic")
    assert not may_hold_math([glyph, PdfChar(" ", 0, 0, 0, 0), PdfChar("\n", 0, 0, 0, 0, generated=True)])
    assert may_hold_math([glyph, PdfChar("x", 0, 0, 5, 8, font="CMMI10")])
    assert may_hold_math([glyph, PdfChar("\x0c", 0, 0, 0, 0)])  # a glyph of cmex10 at code 12

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(200, 200))
    c.setFont("Times-Italic", 12)
    c.drawString(50, 110, "a + b = c")
    c.save()
    pdf = pdfium.PdfDocument(buf.getvalue())
    page = pdf[0]
    display = display_matrix(page)
    textpage = page.get_textpage()
    words, math = text_layer(textpage, display)
    assert not math and words == text_layer_words(textpage, display)
    assert not any(is_math_font(ch.font) for ch in page_math_chars(textpage, display))
    pdf.close()


@pytest.mark.timeout(300)
def test_scanned_formula_read_by_the_formula_role_records_the_engine_as_its_source(tmp_path):
    """The formula role end to end: a tiny TeX OCR checkpoint built here, loaded through ModelResource (the
    model cache and engine registry, as a run loads it); on an image-only page, the formula region's crop
    is read as LaTeX: a formulas row whose source is the engine, `$$...$$` in the Markdown instead of the image
    marker. Without the engine (the offline default) the marker stays."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from PIL import Image, ImageDraw

    from ocr_resources import model_cache
    from ocr_resources.engines.base import LayoutDetector, ModelIdentity, TextRecognizer
    from ocr_resources.pipeline import stages
    from ocr_resources.resources import ModelResource
    from ocr_resources.store import ResultStore
    from ocr_resources.types import Box, DetectedRegion, OcrResult
    from tests import tiny_models

    class FormulaBand(LayoutDetector):  # one formula region across the page's middle band
        batch_size = 1
        identity = ModelIdentity("band", "band", "1")

        def detect(self, images):
            return [[DetectedRegion(Box(im.width * 0.2, im.height * 0.4, im.width * 0.8, im.height * 0.5),
                                    "formula", "equation", 0.9)] for im in images]

    class ReadsNothing(TextRecognizer):
        batch_size = 1
        identity = ModelIdentity("nothing", "nothing", "1")

        def recognize(self, images):
            return [OcrResult("", [], None) for _ in images]

    page = Image.new("RGB", (850, 1100), "white")
    ImageDraw.Draw(page).text((300, 480), "E = m c^2", fill="black")
    folder = tmp_path / "inbox" / "scan"
    folder.mkdir(parents=True)
    page.save(folder / "scan.pdf", resolution=100.0)  # an image-only PDF: no text layer
    model_cache.clear()
    formula = ModelResource(role="formula", engine="tex_ocr", model=tiny_models.build_tex_ocr(tmp_path / "tex"),
                            device="cpu", max_new_tokens=4).load()

    def run(name: str, reader) -> tuple[list[dict], str]:
        store = ResultStore(tmp_path / f"{name}.duckdb")

        def stage(asset, fn):
            run_stage(tmp_path, store, "scan", asset, fn, run_id=f"run-{asset}")

        stage("source_documents", lambda c: stages.source_documents(c, folder))
        stage("rendered_pages", lambda c: stages.rendered_pages(c, 72))
        stage("layout_regions", lambda c: stages.layout_regions(c, FormulaBand()))
        stage("ocr_text", lambda c: stages.ocr_text(c, ReadsNothing(), reader))
        stage("document_markdown", lambda c: stages.document_markdown(c, tmp_path / f"export-{name}"))
        rows = store.query("SELECT latex, kind, source, reason, run_id, x0, y0, x1, y1 FROM formulas")
        return rows, store.query("SELECT markdown FROM document_markdown")[0]["markdown"]

    rows, md = run("with", formula)
    assert len(rows) == 1 and rows[0]["source"] == "tex_ocr" and rows[0]["kind"] == "display"
    assert rows[0]["latex"] and "$" not in rows[0]["latex"] and rows[0]["run_id"] == "run-ocr_text"
    assert "without a text layer, read by tex_ocr" in rows[0]["reason"]
    assert rows[0]["x0"] > 100 and rows[0]["x1"] < 520  # the region's box, in points
    assert f"$${rows[0]['latex']}$$" in md and "formula (image)" not in md
    rows, md = run("without", None)
    assert rows == [] and "<!-- formula (image): page 1, box" in md


def test_rows_of_a_displayed_formula_are_an_aligned_block():
    """Lines of a displayed formula 14 pt apart are rows (not a subscript run): `aligned` at their first
    relation when those stand one above the other (a continuation row starts with `&=`), else `gathered`."""
    r = "CMR10"
    two = [ch("f", 0), ch("=", 8, font=r), ch("a", 16), ch("+", 22, font=r), ch("b", 30),
           ch("=", 8, BASE + 14, font=r), ch("c", 16, BASE + 14)]
    assert rebuild_latex(two) == r"\begin{aligned}f&=a+b\\&=c\end{aligned}"
    centred = [ch("a", 0), ch("=", 8, font=r), ch("b", 16), ch("x", 20, BASE + 14), ch("=", 28, BASE + 14, font=r),
               ch("y", 36, BASE + 14)]
    assert rebuild_latex(centred) == r"\begin{gathered}a=b\\x=y\end{gathered}"
    # a fraction's parts and a sum's limits are no rows
    bar = (0.5, BASE - 3.0, 8.5, BASE - 2.6)
    frac = [ch("a", 1, BASE - 6.8), ch("b", 1, BASE + 6.8), ch("=", 12, font=r), ch("c", 20)]
    assert rebuild_latex(frac, [bar]) == r"\frac{a}{b}=c"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (texlive-latex-base)")
def test_aligned_equations_by_pdflatex_and_no_rows_in_a_grown_delimiter(tmp_path):
    from eval.formulas import Formula, read_pages, typeset

    formulas = [Formula("a", "aligned", "display", r"\begin{aligned} f(x) &= (x+a)^{2} \\ &= x^{2}+2ax+a^{2} "
                                                   r"\end{aligned}"),
                Formula("b", "delimiter", "display", r"\left( \frac{y}{q} \right)^{4}")]
    pdf_path, bad = typeset([r"\[ " + f.latex + r" \]" for f in formulas], tmp_path, "t")
    assert not bad
    ours = read_pages(pdf_path, formulas)
    assert [latex_match(f.latex, o) for f, o in zip(formulas, ours, strict=True)] == [True, True], ours


def test_eval_run_pools_docbank_math_counts_and_skips_formulas_without_pdflatex(monkeypatch, capsys):
    """eval.run: `docbank_equation_in_math` pooled over the DocBank rows' tokens (ours only: a peer's rows carry
    no math counts, its key stays null); the synthetic set skipped, saying why, where pdflatex is missing."""
    from eval import formulas as fx
    from eval import run

    rows = [{"set": "docbank_digital", "words_matched": 1, "words_truth": 1, "words_pred": 1, "by_label": {},
             "seconds": 0.0, "math": {"equation_in_math": 9, "equation_tokens": 10, "prose_outside_math": 5,
                                      "prose_tokens": 5}},
            {"set": "docbank_digital", "words_matched": 1, "words_truth": 1, "words_pred": 1, "by_label": {},
             "seconds": 0.0, "math": {"equation_in_math": 0, "equation_tokens": 10, "prose_outside_math": 4,
                                      "prose_tokens": 5}}]
    fig = run.aggregate(rows, None)
    assert fig["docbank_equation_in_math"] == 0.45 and fig["docbank_paragraph_outside_math"] == 0.9
    assert run.aggregate([{k: v for k, v in r.items() if k != "math"} for r in rows], None)[
        "docbank_equation_in_math"] is None
    monkeypatch.setattr(fx.shutil, "which", lambda name: None)
    assert run.formula_figures(quick=True) is None
    assert "formulas: skipped, pdflatex not found" in capsys.readouterr().out


def test_inline_upright_differential_touching_its_variable_is_math():
    """`\\mathrm{d}x` in a sentence: the upright d glued to the math letter joins the run; a word ending in d
    before a space does not."""
    before, x = _words("with", 0)
    math = [ch("d", x, font="CMR10", width=5.5), ch("x", x + 5.5)]
    after, _ = _words("and", x + 15)
    assert [s.latex for s in inline_math(before + math + after)] == [r"\mathrm{d}x"]
    words, x = _words("and", 0)
    assert [s.latex for s in inline_math(words + [ch("x", x + 3.5)])] == ["x"]


def test_overlapping_integral_signs_are_a_multiple_integral():
    """amsmath kerns \\iint's two signs into each other; \\int\\int leaves a gap between them."""
    sign = {"font": "CMEX10", "width": 9.7, "height": 24.3, "unmapped": True, "size": 10.9}
    f = [ch("f", 24, font="CMMI10")]
    iint = [ch("Z", 0, BASE + 7.2, **sign), ch("Z", 7.3, BASE + 7.2, **sign)] + f
    assert rebuild_latex(iint) == r"\iint f"
    apart = [ch("Z", 0, BASE + 7.2, **sign), ch("Z", 12.7, BASE + 7.2, **sign)] + [ch("f", 26, font="CMMI10")]
    assert rebuild_latex(apart) == r"\int\int f"


def test_an_argument_in_a_text_font_stays_inside_its_formulas_brackets():
    """"γ(k)" with k bold upright (CMBX, a text font): the run no longer stops at "(" and leaves "k)" behind
    (the word was replaced by "$\\gamma($)" and "k" lost); an open bracket that closes nowhere near goes back to
    the sentence."""
    before, x = _words("factor", 0)
    math = [ch("γ", x), ch("(", x + 5.5, font="CMR10", width=3.9), ch("k", x + 9.4, font="CMBX10", width=6.1),
            ch(")", x + 15.5, font="CMR10", width=3.9)]
    after, _ = _words("linearly", x + 23)
    assert [s.latex for s in inline_math(before + math + after)] == [r"\gamma(\mathbf{k})"]
    assert line_markdown(before + math + after) == r"factor $\gamma(\mathbf{k})$ linearly"
    far, _ = _words("see page", x + 12)  # "γ (see page" : the bracket opens a remark, not an argument
    spans = inline_math(before + math[:2] + far)
    assert [s.latex for s in spans] == [r"\gamma"]


def test_a_table_rule_under_a_cells_formula_is_no_underline():
    """A table's row rule runs under a cell's "[11]" a few points below it: far wider than the glyphs, it is
    the table's, not an \\underline (nor, with glyphs of the next row under it, a fraction bar)."""
    chars = [ch("[", 0, font="CMR10", width=2.8), ch("1", 2.8, font="CMR10"), ch("1", 7.8, font="CMR10"),
             ch("]", 12.8, font="CMR10", width=2.8)]
    row_rule = (-300.0, BASE + 3.0, 130.0, BASE + 3.4)
    assert rebuild_latex(chars, [row_rule]) == "[11]"
    below = [ch("2", 2.8, BASE + 12, font="CMR10")]
    assert rebuild_latex(chars + below, [row_rule]) == r"\begin{gathered}[11]\\2\end{gathered}"
    assert rebuild_latex(chars, [(-0.5, BASE + 3.0, 16.1, BASE + 3.4)]) == r"\underline{[11]}"  # a real underline


def test_a_row_with_tall_delimiters_stays_its_own_row_of_an_aligned_block():
    # TeX's extension font hangs a big delimiter from its origin, at its top: by its origin the "(" of the second
    # row sat nearer the first row, whose ink then ran into the second's, and five equations came out as one
    # stack of scripts
    r, low = "CMR10", BASE + 18

    def tall(code: str, x: float) -> MathChar:
        return MathChar(code, x, low - 11, x + 4, low + 3, 10, "CMEX10", low - 11, unmapped=True)

    chars = [ch("a", 0), ch("=", 8, font=r), ch("b", 16),
             tall("\x00", -6), ch("c", -1, low), tall("\x01", 4), ch("=", 8, low, font=r), ch("d", 16, low)]
    assert rebuild_latex(chars) == r"\begin{aligned}a&=b\\\left(c\right)&=d\end{aligned}"


def test_math_wrapped_onto_a_line_of_its_own_stays_inline():
    # "... the value of" / "B." at the paragraph's left edge and line spacing is the sentence's end, not a display;
    # the same symbol set apart (a wider gap above, centred) is displayed
    from ocr_resources.text.page_formulas import find_formulas, replace_words

    r = "CMR10"
    prose = [ch(t, 6 * k, font=r) for k, t in enumerate("the value of")]
    wrapped = [ch("B", 0, BASE + 12, font="CMMIB10"), ch(".", 6, BASE + 12, font=r)]
    found = find_formulas(prose + wrapped)
    assert [(f.kind, f.latex) for f in found] == [("inline", r"\boldsymbol{B}.")]
    word = ("B.", 0, BASE + 5, 12, BASE + 12, 10.0, False, False, 0, False, False)
    assert replace_words([word], found)[0][0] == r"$\boldsymbol{B}$."  # the sentence's stop after the math
    apart = [ch("B", 60, BASE + 24, font="CMMIB10"), ch(".", 66, BASE + 24, font=r)]
    assert [f.kind for f in find_formulas(prose + apart)] == ["display"]
    # a display as wide as the column, at its edge right under the prose, stays displayed
    wide = [ch(t, 6 * k, BASE + 12, font="CMMI10") for k, t in enumerate("xyzwuvab")]
    assert [f.kind for f in find_formulas(prose + wide)] == ["display"]
    # only a wrapped line's stop is set after it: an inline formula found in its line keeps its ellipsis
    from ocr_resources.text.page_formulas import PageFormula

    inline = PageFormula((80, BASE - 7, 113, BASE), "M=0,1,2,...", "inline", "text layer: math glyphs inside a line")
    word = ("M=0,1,2,...", 80, BASE - 7, 113, BASE, 10.0, False, False, 0, False, False)
    assert replace_words([word], [inline])[0][0] == "$M=0,1,2,...$"


def test_a_matrix_set_without_delimiters_is_a_matrix_with_its_stop_after_it():
    # an array of numbers in four rows, a full stop after it on the display's middle line: the stop made a row of
    # its own between two rows, and the rows came out as scripts of one another
    r, rows = "CMR10", [["1", "-1", "0", "0"], ["-1", "1", "0", "0"], ["0", "0", "0", "0"], ["0", "0", "0", "0"]]
    chars = [ch(v, 20 * k + (0 if len(v) == 1 else -6), BASE + 17 * i, font=r) if len(v) == 1 else
             ch("−", 20 * k - 8, BASE + 17 * i, font="CMSY10") for i, row in enumerate(rows) for k, v in enumerate(row)]
    chars += [ch("1", 20 * k, BASE + 17 * i, font=r) for i, row in enumerate(rows) for k, v in enumerate(row)
              if v == "-1"]
    chars.append(ch(".", 80, BASE + 25, font=r, width=2, height=1.5))
    assert rebuild_latex(chars) == r"\begin{matrix}1&-1&0&0\\-1&1&0&0\\0&0&0&0\\0&0&0&0\end{matrix}."


def test_a_function_name_whose_word_runs_into_its_math_arguments_keeps_only_the_name():
    """PARI's manual: "ispolygonal(x, s, {&N})" with the name in bold text type and the arguments in math; pdfium's
    word "ispolygonal(x," holds the name and the formula's start. The formula is placed with the words after it,
    so the name's word loses the "(x," it shares with the formula (it was read twice: "ispolygonal(x, $(x,s...$").
    A word with no bracket where the formula starts stays whole."""
    from ocr_resources.text.page_formulas import PageFormula, replace_words

    def word(text, x0, x1):
        return (text, x0, 75.0, x1, 86.0, 10.0, True, False, 0, False, False)

    words = [word("ispolygonal(x,", 109.0, 181.0), word("s,", 183.0, 192.0), word("{&N}).", 194.0, 232.0),
             word("True", 238.0, 260.0)]
    formula = PageFormula((171.0, 75.0, 228.0, 86.0), r"(x,s,\{\&N\})", "inline", "text layer")
    out = replace_words(words, [formula])
    assert [w[0] for w in out] == ["ispolygonal", r"$(x,s,\{\&N\})$.", "True"]
    assert out[0][3] == 171.0  # the name's box ends where the formula starts
    # no opening bracket where the formula starts: the word is left as it was
    words[0] = word("ispolygonal-x,", 109.0, 181.0)
    assert replace_words(words, [formula])[0][0] == "ispolygonal-x,"


def test_greek_words_in_the_text_font_are_prose_beside_math():
    """A Greek theorem set in EB Garamond with its variables from Garamond-Math ("Έστω ότι η 𝑔 είναι μια ..."):
    Greek letters are math's, but a word of them in the text font is prose, and so is a one-letter word ("η") in a
    line of such words. In a line of Latin prose a lone α in the text font is still a variable."""
    font = "ICOQIU+EBGaramond-Italic"
    before, x = _words("Έστω ότι η", 0, font=font)
    g = ch("\U0001d454", x, font="BSECZW+Garamond-Math")
    after, _ = _words("είναι μια συνάρτηση", x + 9, font=font)
    line = before + [g] + after
    assert [s.latex for s in inline_math(line)] == ["g"]
    assert line_markdown(line) == "Έστω ότι η $g$ είναι μια συνάρτηση"
    latin, x = _words("the level", 0, font="Times-Roman")
    alpha = ch("α", x, font="Times-Roman")
    rest, _ = _words("is fixed", x + 9, font="Times-Roman")
    assert [s.latex for s in inline_math(latin + [alpha] + rest)] == [r"\alpha"]
    # a line of such words with math in it is text, not a displayed formula
    from ocr_resources.text.page_formulas import _kind

    assert _kind(line) == "text"
