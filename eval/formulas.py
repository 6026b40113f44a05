"""Formulas as LaTeX, scored against truth we make ourselves, and DocBank's equation tokens.

The synthetic set: formulas of known LaTeX, from simple to hard by class (powers, indices, Greek, sums and
integrals with limits, fractions, radicals, functions and alphabets, growing delimiters, nested), typeset by
pdflatex (Debian's texlive-latex-base: the Computer Modern fonts arXiv pages use) once displayed (`\\[...\\]`,
alone on a page) and once inline (inside a sentence). Each page's text layer and drawing go through
ocr_resources.text.formulas; what comes back is scored two ways:
- LaTeX match: equal after normalising what does not change the formula (spaces, \\left/\\right and sizes,
  braces around one-token scripts, script order, synonyms such as \\le/\\leq);
- render match (the idea of olmOCR-bench's math check, which renders truth and answer and compares what is
  drawn rather than the source): truth and answer typeset by pdflatex in the same mode, rasterised, cropped
  to their ink, and equal when they draw the same symbols (runs of inked columns) at the same heights, each
  one's ink within 1 px of the other's (>= 97% of pixels); horizontal spacing (\\, and the like) is not
  compared. An answer pdflatex rejects matches nothing.
A page counts only where the pipeline's formula finder (text.page_formulas) gives exactly one formula, of
the truth's kind (displayed, or inline in the sentence). Formulas are split into a tune and a report half
by their TEMPLATE (`template_half`): every formula made from one template (and a classic's displayed and
inline copies) falls in one half, so the report half holds formula shapes the tune half never showed;
within each class the templates alternate between halves in the order of their ids' SHA-1, so every class
has some in each. Without pdflatex the set is skipped, and says so.

DocBank: `docbank_equation_in_math` is the share of a page's equation tokens found inside `$...$`/`$$...$$`
spans of its Markdown (or inside a formula row's box), and `docbank_paragraph_outside_math` the share of its
paragraph tokens found outside them (no prose swallowed into math).

    python -m eval.formulas [--quick] [--half report|tune|all] [--docbank]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

PDFLATEX = "pdflatex"
CLASSES = ("power", "index", "greek", "sum", "integral", "fraction", "radical", "function", "delimiter",
           "nested", "accent", "array", "aligned", "classic")
DISPLAY_ONLY = frozenset({"aligned"})  # multi-line equations: displayed only, as papers set them
SIMPLE = frozenset({"power", "index", "greek", "sum", "integral", "fraction"})
FULL_PER_CLASS, QUICK_PER_CLASS = 30, 6  # formulas of each template class (`make eval`, `make eval-quick`)


@dataclass
class Formula:
    id: str
    cls: str
    mode: str  # display or inline
    latex: str
    template: str = ""  # the template (or classic) it was made from: its half is the template's

    @property
    def half(self) -> str:
        return template_half(self.template or self.id)


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def template_half(template: str) -> str:
    """`tune` or `report` for a template id `<class>-t<k>`: its class's templates ranked by the SHA-1 of their
    ids, even ranks tune, odd ranks report (so each class has templates in both halves)."""
    ranked = _ranked_templates(template.rsplit("-t", 1)[0])
    return "tune" if template not in ranked or ranked.index(template) % 2 == 0 else "report"


def _ranked_templates(cls: str) -> list[str]:
    return sorted((f"{cls}-t{k}" for k in range(_template_count(cls))), key=_sha)


def _template_count(cls: str) -> int:
    return len(CLASSICS) if cls == "classic" else len(_template_list(random.Random(0), cls))


# -- the synthetic set ------------------------------------------------------------------------------------------
_LATIN = "abcdfghkmnpqrstuvwxyz"
_GREEK = ["alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma",
          "tau", "phi", "chi", "psi", "omega", "eta", "zeta", "kappa"]
_GREEK_UP = ["Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega"]


def _template_list(r: random.Random, cls: str) -> list[str]:
    a, b, c, x = r.sample(_LATIN, 4)
    n, m = r.sample("23456789", 2)
    i, j = r.sample("ijkl", 2)
    g1, g2, g3 = (f"\\{g}" for g in r.sample(_GREEK, 3))
    G = f"\\{r.choice(_GREEK_UP)}"
    op = r.choice(["+", "-", "="])
    t = {
        "power": [f"{a}^{{{n}}}", f"{a}^{{{n}}} {op} {b}^{{{m}}}", f"({a}+{b})^{{{n}}}", f"{x}^{{{n}{a}}}",
                  f"{a}^{{-{n}}} = {b}", f"e^{{{a}{x}}}"],
        "index": [f"{a}_{{{i}}}", f"{a}_{{{i}{j}}} = {b}_{{{j}{i}}}", f"{x}_{{{i}+1}} - {x}_{{{i}}}",
                  f"{a}_{{{n}}} {op} {b}_{{{i}}}", f"{a}_{{{i}}}^{{{n}}}"],
        "greek": [f"{g1} {op} {g2}", f"{G} = {g1} {g2}", f"{g1}^{{{n}}} {op} {g3}", f"{g1}_{{{i}}} \\leq {g2}",
                  f"{g1} \\in {G}"],
        "sum": [f"\\sum_{{{i}=1}}^{{{a}}} {x}_{{{i}}}", f"\\prod_{{{i}=0}}^{{{m}}} {a}_{{{i}}}",
                f"\\sum_{{{i}=1}}^{{\\infty}} {g1}^{{{i}}}", f"{b} = \\sum_{{{i}}} {a}_{{{i}}}"],
        "integral": [f"\\int_{{0}}^{{1}} {a}({x}) d{x}", f"\\int_{{{a}}}^{{{b}}} {x}^{{{n}}} d{x}",
                     f"\\int_{{0}}^{{\\infty}} e^{{-{x}}} d{x}", f"\\oint_{{{G}}} {g1}"],
        "fraction": [f"\\frac{{{a}}}{{{b}}}", f"\\frac{{{a}+{b}}}{{{c}}}", f"\\frac{{1}}{{{n}}} {x}",
                     f"{x} = \\frac{{{a}}}{{{b}}} {op} \\frac{{{c}}}{{{n}}}", f"\\frac{{{g1}}}{{{g2}^{{{n}}}}}"],
        "radical": [f"\\sqrt{{{a}}}", f"\\sqrt{{{a}^{{2}}+{b}^{{2}}}}", f"\\sqrt[{n}]{{{x}}}",
                    f"{c} = \\sqrt{{{a}{b}}}"],
        "function": [f"\\sin {x} + \\cos {x}", f"\\log_{{{n}}} {a}", f"\\exp({a}{x})",
                     f"\\mathbf{{{a}}} \\cdot \\mathbf{{{b}}}",
                     f"\\max_{{{i}}} {a}_{{{i}}}", f"\\mathrm{{d}}{x}", f"\\mathcal{{{a.upper()}}}({x})"],
        "delimiter": [f"\\left( \\frac{{{a}}}{{{b}}} \\right)^{{{n}}}", f"\\left[ {x} + \\frac{{1}}{{{n}}} \\right]",
                      f"\\left| \\frac{{{a}}}{{{b}}} \\right|", f"\\left\\{{ {a}_{{{i}}} \\right\\}}"],
        "nested": [f"e^{{-\\frac{{{x}^{{2}}}}{{{n}\\sigma^{{2}}}}}}",
                   f"\\frac{{\\sum_{{{i}=1}}^{{{a}}} {x}_{{{i}}}^{{2}}}}{{\\sqrt{{{a}}}}}",
                   f"{a}^{{{b}^{{{n}}}}}", f"\\frac{{1}}{{1+\\frac{{1}}{{{x}}}}}",
                   f"\\sqrt{{\\frac{{{a}}}{{{b}}}}} = {g1}_{{{i}}}^{{{n}}}",
                   f"\\lambda_{{g}} = \\sum_{{s \\in S}} \\zeta_{{{a}}}^{{\\psi(g s)}}"],
        "accent": [f"\\hat{{{a}}} = \\bar{{{b}}}", f"\\tilde{{{g1}}}_{{{i}}}", f"\\vec{{{x}}} \\cdot \\vec{{{b}}}",
                   f"{a}^{{\\prime}} + {b}^{{\\prime\\prime}}", f"\\dot{{{x}}} = {g1} {x}", f"\\overline{{{a}{b}}}",
                   f"\\mathcal{{{a.upper()}}} \\subset \\mathbb{{R}}^{{{n}}}"],
        "array": [f"\\binom{{{a}}}{{{n}}}", f"\\begin{{pmatrix}} {a} & {b} \\\\ {c} & {x} \\end{{pmatrix}}",
                  f"|{x}| = \\begin{{cases}} {x} & {x} \\geq 0 \\\\ -{x} & {x} < 0 \\end{{cases}}",
                  f"\\det \\begin{{bmatrix}} {a} & 0 \\\\ 0 & {b} \\end{{bmatrix}} = {a}{b}"],
        # multi-line equations: relations aligned with &, a continuation row, three rows, structures in rows,
        # and centred rows
        "aligned": [f"\\begin{{aligned}} {a} &= {b} + {c} \\\\ {x} &= {a}^{{{n}}} \\end{{aligned}}",
                    f"\\begin{{aligned}} f({x}) &= ({x}+{a})^{{2}} \\\\ &= {x}^{{2}} + 2{a}{x} + {a}^{{2}} "
                    f"\\end{{aligned}}",
                    f"\\begin{{aligned}} {a}_{{1}} &\\leq {b}_{{1}} \\\\ {a}_{{2}} &\\leq {b}_{{2}} \\\\ "
                    f"{a}_{{3}} &\\leq {b}_{{3}} \\end{{aligned}}",
                    f"\\begin{{aligned}} \\sum_{{{i}=1}}^{{{n}}} {x}_{{{i}}} &= {a} \\\\ "
                    f"\\frac{{{b}}}{{{c}}} &= {g1} \\end{{aligned}}",
                    f"\\begin{{gathered}} {a} + {b} + {c} = {x} \\\\ {g1} = {g2}^{{{n}}} \\end{{gathered}}"],
    }[cls]
    return t


def _templates(r: random.Random, cls: str, k: int) -> tuple[int, str]:
    """The class's `k`-th formula: (its template's index, its LaTeX). Formulas take the templates in turn, in
    their rank order (`template_half`): every template is used, and even two formulas of a class fall one in
    each half."""
    t = _template_list(r, cls)
    template = int(_ranked_templates(cls)[k % len(t)].rsplit("-t", 1)[1])
    return template, t[template]


# Well-known formulas written as a paper would, not from the templates above and never tuned on: how the
# rebuild does on math it was not shaped by (class "classic", each displayed and inline).
CLASSICS = [
    r"E = mc^{2}", r"x = \frac{-b \pm \sqrt{b^{2} - 4ac}}{2a}", r"e^{i\pi} + 1 = 0",
    r"\int_{-\infty}^{\infty} e^{-x^{2}} dx = \sqrt{\pi}", r"\sum_{n=1}^{\infty} \frac{1}{n^{2}} = \frac{\pi^{2}}{6}",
    r"f(x) = \frac{1}{\sigma\sqrt{2\pi}} e^{-\frac{(x-\mu)^{2}}{2\sigma^{2}}}",
    r"P(A|B) = \frac{P(B|A) P(A)}{P(B)}", r"\nabla \cdot \mathbf{E} = \frac{\rho}{\varepsilon_{0}}",
    r"\nabla \times \mathbf{B} = \mu_{0} \mathbf{J} + \mu_{0} \varepsilon_{0} \frac{\partial \mathbf{E}}{\partial t}",
    r"i\hbar \frac{\partial}{\partial t} \Psi = \hat{H} \Psi", r"\lim_{x \to 0} \frac{\sin x}{x} = 1",
    r"n! \approx \sqrt{2 \pi n} \left( \frac{n}{e} \right)^{n}",
    r"f(x) = \sum_{n=0}^{\infty} \frac{f^{(n)}(a)}{n!} (x-a)^{n}",
    r"\frac{d}{dt} \frac{\partial L}{\partial \dot{q}} - \frac{\partial L}{\partial q} = 0",
    r"\left| \sum_{i=1}^{n} x_{i} y_{i} \right|^{2} \leq \sum_{i=1}^{n} x_{i}^{2} \sum_{i=1}^{n} y_{i}^{2}",
    r"\hat{f}(\xi) = \int_{-\infty}^{\infty} f(x) e^{-2\pi i x \xi} dx", r"\det(A - \lambda I) = 0",
    r"\mathbb{E}[X] = \sum_{x} x \, p(x)", r"\sigma^{2} = \frac{1}{N} \sum_{i=1}^{N} (x_{i} - \bar{x})^{2}",
    r"\binom{n}{k} = \frac{n!}{k!(n-k)!}",
    r"\forall \epsilon > 0 \, \exists \delta > 0 : |x - a| < \delta \Rightarrow |f(x) - f(a)| < \epsilon",
    r"\oint_{C} \mathbf{F} \cdot d\mathbf{r} = \iint_{S} (\nabla \times \mathbf{F}) \cdot d\mathbf{S}",
    r"\zeta(s) = \prod_{p} \frac{1}{1 - p^{-s}}", r"\log_{b} (xy) = \log_{b} x + \log_{b} y",
    r"A = \begin{pmatrix} \cos\theta & -\sin\theta \\ \sin\theta & \cos\theta \end{pmatrix}",
    r"\phi = \frac{1 + \sqrt{5}}{2}", r"\Gamma(z) = \int_{0}^{\infty} t^{z-1} e^{-t} dt",
    r"\mathcal{L}\{f\}(s) = \int_{0}^{\infty} e^{-st} f(t) \, dt",
    r"R_{\mu\nu} - \frac{1}{2} R g_{\mu\nu} + \Lambda g_{\mu\nu} = \frac{8 \pi G}{c^{4}} T_{\mu\nu}",
    r"\lambda_{g} = \sum_{s \in S} \zeta_{n}^{\psi(g s)}",
]


def synthetic_set(per_class: int = 15, seed: int = 26) -> list[Formula]:
    """`per_class` formulas of each class, each once displayed and once inline (distinct formulas), and the
    classics (all of them; the first 4 when `per_class` is under 5), each displayed and inline."""
    r = random.Random(seed)
    out: list[Formula] = []
    for cls in CLASSES:
        if cls == "classic":
            continue
        seen: set[str] = set()
        k = 0
        tries = 0
        while k < per_class and tries < 50 * per_class:
            tries += 1
            template, latex = _templates(r, cls, k)
            if latex in seen:
                continue
            seen.add(latex)
            # a tune and a report template (ranks 2j, 2j+1) share a mode, which turns each round of the
            # templates: both halves get both modes, and every template is set both ways
            n = _template_count(cls)
            mode = "display" if ((k % n) // 2 + k // n) % 2 == 0 or cls in DISPLAY_ONLY else "inline"
            out.append(Formula(f"{cls}-{k:03d}-{mode}", cls, mode, latex, f"{cls}-t{template}"))
            k += 1
    for k, latex in enumerate(CLASSICS[: 4 if per_class < 5 else None]):
        out += [Formula(f"classic-{k:03d}-{mode}", "classic", mode, latex, f"classic-t{k}")
                for mode in ("display", "inline")]
    return out


_SENTENCES = ("We see that {} holds for every case.", "Hence {} and the rest follows.",
              "The value {} is used below.")


def _page(f: Formula) -> str:
    if f.mode == "display":
        return f"\\[ {f.latex} \\]"
    return _SENTENCES[int(hashlib.sha1(f.id.encode()).hexdigest(), 16) % len(_SENTENCES)].format(f"${f.latex}$")


_PREAMBLE = ("\\documentclass[11pt]{article}\n\\usepackage{amsmath,amssymb}\n\\pagestyle{empty}\n"
             "\\begin{document}\n")


def typeset(bodies: list[str], folder: Path, name: str) -> tuple[Path, set[int]]:
    """One page per body; the PDF and the bodies pdflatex reported an error on (by the line they sit on)."""
    lines = _PREAMBLE.count("\n")
    tex = _PREAMBLE + "".join(f"{b}\n\\newpage\n" for b in bodies) + "\\end{document}\n"
    (folder / f"{name}.tex").write_text(tex, encoding="utf-8")
    proc = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-file-line-error",
                           f"{name}.tex"], cwd=folder, capture_output=True, text=True, timeout=600)
    bad: set[int] = set()
    for m in re.finditer(rf"{re.escape(name)}\.tex:(\d+):", proc.stdout):
        k = (int(m.group(1)) - lines - 1) // 2
        if 0 <= k < len(bodies):
            bad.add(k)
    return folder / f"{name}.pdf", bad


def read_pages(pdf_path: Path, formulas: list[Formula]) -> list[str]:
    """Our LaTeX for each page, found as the pipeline finds formulas: '' unless the page gives exactly one
    formula, of the truth's kind (displayed or inline)."""
    import pypdfium2 as pdfium

    from ocr_resources.pipeline.render import display_matrix
    from ocr_resources.text.page_formulas import find_formulas
    from ocr_resources.text.pdf_math import page_math_chars, page_thin_rules

    pdf = pdfium.PdfDocument(str(pdf_path))
    out = []
    try:
        for k, f in enumerate(formulas):
            page = pdf[k]
            display = display_matrix(page)
            textpage = page.get_textpage()
            chars = page_math_chars(textpage, display)
            rules = page_thin_rules(page, display)
            textpage.close()
            found = find_formulas(chars, rules)  # as the pipeline finds them (text.page_formulas)
            out.append(found[0].latex if len(found) == 1 and found[0].kind == f.mode else "")
            page.close()
    finally:
        pdf.close()
    return out


# -- scoring ------------------------------------------------------------------------------------------------
_SIZES = re.compile(r"\\(left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg|displaystyle"
                    r"|textstyle|limits|nolimits)(?![A-Za-z])")
_SPACES = re.compile(r"(?<!\\)\\[,;:! ]|\\quad|\\qquad|~")  # (not a row break's backslash)
_SYNONYMS = {r"\le": r"\leq", r"\ge": r"\geq", r"\ne": r"\neq", r"\to": r"\rightarrow", r"\gets": r"\leftarrow",
             r"\lbrace": r"\{", r"\rbrace": r"\}", r"\vert": "|", r"\Vert": r"\|", r"\dots": r"\ldots",
             r"\dfrac": r"\frac", r"\tfrac": r"\frac", r"\land": r"\wedge", r"\lor": r"\vee",
             r"\lnot": r"\neg", r"\owns": r"\ni", r"\bm": r"\boldsymbol", "'": r"^{\prime}"}
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[^\s]")


def _tokens(latex: str) -> list[str]:
    latex = _SPACES.sub(" ", _SIZES.sub(" ", latex))
    return [_SYNONYMS.get(t, t) for t in _TOKEN.findall(latex)]


def _groups(tokens: list[str], k: int = 0, close: str | None = None) -> tuple[list, int]:
    out: list = []
    while k < len(tokens):
        t = tokens[k]
        if t == close:
            return out, k + 1
        if t == "{":
            inner, k = _groups(tokens, k + 1, "}")
            out.append(inner)
            continue
        out.append(t)
        k += 1
    return out, k


def _canon(items: list) -> str:
    """A token tree as text with every script argument braced and subscripts before superscripts."""
    out: list[str] = []
    k = 0
    while k < len(items):
        t = items[k]
        if t in ("_", "^"):
            scripts = {}
            while k < len(items) and items[k] in ("_", "^") and k + 1 < len(items):
                arg = items[k + 1]
                arg = _canon(arg) if isinstance(arg, list) else arg
                scripts[items[k]] = scripts.get(items[k], "") + arg
                k += 2
            for s in ("_", "^"):
                if s in scripts:
                    out.append(s + "{" + scripts[s] + "}")
            continue
        if isinstance(t, list):
            inner = _canon(t)
            out.append("{" + inner + "}")
        else:
            out.append(t)
        k += 1
    text = "".join(out)
    return re.sub(r"\^\{\\prime\}\^\{", r"^{\\prime", text)


def normalize_latex(latex: str) -> str:
    """LaTeX with what does not change the formula taken out (see the module's docstring)."""
    tree, _ = _groups(_tokens(latex))
    text = _canon(tree)
    text = re.sub(r"\\(mathrm|operatorname)\{([A-Za-z]+)\}", lambda m: "\\" + m.group(2)
                  if m.group(2) in _FUNCTIONS else m.group(0), text)
    return text


_FUNCTIONS = frozenset({"sin", "cos", "tan", "log", "ln", "exp", "max", "min", "sup", "inf", "lim", "det"})


def latex_match(truth: str, ours: str) -> bool:
    return bool(ours) and normalize_latex(truth) == normalize_latex(ours)


def _well_formed(latex: str) -> bool:
    depth = 0
    for t in _TOKEN.findall(latex):
        depth += t == "{"
        depth -= t == "}"
        if depth < 0:
            return False
    lefts = len(re.findall(r"\\left(?![A-Za-z])", latex))
    return depth == 0 and lefts == len(re.findall(r"\\right(?![A-Za-z])", latex)) and "$" not in latex


def _ink(image):
    import numpy as np

    a = np.asarray(image.convert("L")) < 128
    ys, xs = np.nonzero(a)
    if len(ys) == 0:
        return None
    return a[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def same_render(a, b, tol_px: int = 2, agree: float = 0.97) -> bool:
    """Two rasterised formulas draw the same thing: the same symbols (runs of inked columns) at the same
    heights, each one's ink within a pixel of the other's on `agree` of its pixels. Horizontal spacing is
    not compared (a thin space \\, the answer leaves out draws nothing): each run is compared aligned on its
    own left edge; where the runs do not pair up, the whole formulas are, blank columns squeezed."""
    if a is None or b is None or abs(a.shape[0] - b.shape[0]) > tol_px:
        return False
    runs_a, runs_b = _runs(a), _runs(b)
    if len(runs_a) == len(runs_b) and all(abs(x.shape[1] - y.shape[1]) <= tol_px
                                          for x, y in zip(runs_a, runs_b, strict=True)):
        pairs = list(zip(runs_a, runs_b, strict=True))
    else:
        pairs = [(_squeeze(a), _squeeze(b))]
    hits_a = hits_b = total_a = total_b = 0
    for x, y in pairs:
        if abs(x.shape[1] - y.shape[1]) > tol_px:
            return False
        ha, hb, ta, tb = _agreement(x, y)
        hits_a, hits_b, total_a, total_b = hits_a + ha, hits_b + hb, total_a + ta, total_b + tb
    return hits_a >= agree * total_a and hits_b >= agree * total_b


def _agreement(a, b) -> tuple[int, int, int, int]:
    """Pixels of each within a pixel of the other's ink (both placed at the top left), and their counts."""
    import numpy as np

    h, w = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    pa = np.zeros((h, w), bool)
    pb = np.zeros((h, w), bool)
    pa[: a.shape[0], : a.shape[1]] = a
    pb[: b.shape[0], : b.shape[1]] = b
    return int((pa & _dilate(pb)).sum()), int((pb & _dilate(pa)).sum()), int(pa.sum()), int(pb.sum())


def _runs(a) -> list:
    """The formula cut at its blank columns: its symbols, each with the formula's full height."""
    inked = a.any(axis=0)
    out, start = [], None
    for x, on in enumerate(inked):
        if on and start is None:
            start = x
        elif not on and start is not None:
            out.append(a[:, start:x])
            start = None
    if start is not None:
        out.append(a[:, start:])
    return out


def _squeeze(a):
    """Every run of blank columns one column wide: the symbols and their vertical layout are compared, not
    the horizontal spacing between them (a thin space \\, the answer leaves out draws nothing)."""
    import numpy as np

    inked = a.any(axis=0)
    keep = inked | np.concatenate(([False], inked[:-1]))  # an inked column, or the first blank one after it
    return a[:, keep]


def _dilate(a):
    """Ink grown by one pixel in each of the 8 directions."""
    import numpy as np

    p = np.pad(a, 1)
    h, w = a.shape
    out = np.zeros_like(a)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            out |= p[dy: dy + h, dx: dx + w]
    return out


def render_matches(formulas: list[Formula], ours: list[str], folder: Path) -> list[bool]:
    """Truth and ours typeset side by side (same mode), compared as images."""
    import pypdfium2 as pdfium

    def body(latex: str, mode: str) -> str:
        return f"\\[ {latex} \\]" if mode == "display" else f"${latex}$"

    ok = [bool(o) and _well_formed(o) for o in ours]
    bodies = [body(f.latex, f.mode) for f in formulas] + [body(o if good else "?", f.mode)
                                                          for f, o, good in zip(formulas, ours, ok, strict=True)]
    pdf_path, bad = typeset(bodies, folder, "renders")
    pdf = pdfium.PdfDocument(str(pdf_path))
    n = len(formulas)
    out = []
    try:
        if len(pdf) != 2 * n:
            raise RuntimeError(f"pdflatex gave {len(pdf)} pages for {2 * n} formulas")
        for k in range(n):
            if not ok[k] or (n + k) in bad:
                out.append(False)
                continue
            a = _ink(pdf[k].render(scale=3).to_pil())
            b = _ink(pdf[n + k].render(scale=3).to_pil())
            out.append(same_render(a, b))
    finally:
        pdf.close()
    return out


@dataclass
class Scored:
    formula: Formula
    ours: str
    latex_ok: bool
    render_ok: bool


def score_synthetic(per_class: int = 15, folder: Path | None = None) -> list[Scored] | None:
    """The synthetic set typeset, read back and scored; None without pdflatex."""
    if shutil.which(PDFLATEX) is None:
        return None
    formulas = synthetic_set(per_class)
    with tempfile.TemporaryDirectory(prefix="formulas-") as tmp:
        work = folder or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        pdf_path, bad = typeset([_page(f) for f in formulas], work, "truth")
        if bad:
            raise RuntimeError(f"pdflatex rejected {len(bad)} truth formulas, e.g. {formulas[min(bad)].latex!r}")
        ours = read_pages(pdf_path, formulas)
        renders = render_matches(formulas, ours, work)
    return [Scored(f, o, latex_match(f.latex, o), r) for f, o, r in zip(formulas, ours, renders, strict=True)]


def summarize(scored: list[Scored], half: str = "report") -> dict[str, float | int | None]:
    """Keys for eval/results: render match of display and inline formulas, of the simple classes, and
    the LaTeX match; per class as `formulas_<class>_match`."""
    rows = [s for s in scored if half == "all" or s.formula.half == half]

    def share(items: list[Scored], attr: str = "render_ok") -> float | None:
        return round(sum(getattr(s, attr) for s in items) / len(items), 3) if items else None

    out: dict[str, float | int] = {
        "formulas_display_match": share([s for s in rows if s.formula.mode == "display"]),
        "formulas_inline_match": share([s for s in rows if s.formula.mode == "inline"]),
        "formulas_simple_match": share([s for s in rows if s.formula.cls in SIMPLE]),
        "formulas_latex_match": share(rows, "latex_ok"),
        "formulas_count": len(rows),
    }
    for cls in CLASSES:
        out[f"formulas_{cls}_match"] = share([s for s in rows if s.formula.cls == cls])
    return out


def table(scored: list[Scored], half: str) -> str:
    rows = [s for s in scored if half == "all" or s.formula.half == half]
    lines = [f"{'class':<10} {'display n':>9} {'render':>7} {'latex':>6} {'inline n':>9} {'render':>7} {'latex':>6}"]
    for cls in (*CLASSES, "all"):
        cells = []
        for mode in ("display", "inline"):
            items = [s for s in rows if s.formula.mode == mode and (cls == "all" or s.formula.cls == cls)]
            n = len(items)
            r = sum(s.render_ok for s in items) / n if n else 0.0
            t = sum(s.latex_ok for s in items) / n if n else 0.0
            cells.append(f"{n:>9} {r:>7.2f} {t:>6.2f}" if n else f"{n:>9} {'-':>7} {'-':>6}")
        lines.append(f"{cls:<10} " + " ".join(cells))
    return "\n".join(lines)


# -- DocBank ------------------------------------------------------------------------------------------------
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)


def math_spans(markdown: str) -> tuple[str, str]:
    """A Markdown's math (the contents of its `$...$`/`$$...$$` spans) and its prose (the rest)."""
    math = [m.group(1) or m.group(2) or "" for m in _MATH_SPAN.finditer(markdown)]
    return " ".join(math), _MATH_SPAN.sub(" ", markdown)


def _token_forms(text: str) -> list[str]:
    """What a token may look like in our output: itself, and the LaTeX of its symbols (α -> \\alpha)."""
    from ocr_resources.text.math_symbols import symbol_latex

    text = re.sub(r"\(cid:\d+\)", "", text)
    latex = "".join(symbol_latex(ch) or ch for ch in text)
    return [f for f in dict.fromkeys((text, latex, latex.replace(" ", ""))) if f]


def _compact(text: str) -> str:
    return re.sub(r"[\s{}]|\\(?:mathrm|mathbf|mathcal|mathit|left|right|limits|frac)(?![A-Za-z])|[_^]", "", text)


def docbank_equation_in_math(markdown: str, tokens: list[dict],
                             formula_boxes: list[tuple[float, float, float, float]] | None = None) -> float | None:
    """Share of the page's equation tokens inside a math span of the Markdown (their symbols found there, in
    LaTeX or as written) or, given `formula_boxes`, whose centre lies in a formula row's box. Tokens with
    nothing readable (unmapped glyphs: "(cid:88)") count only by box. None: no equation token."""
    hits, total = docbank_equation_counts(markdown, tokens, formula_boxes)
    return round(hits / total, 3) if total else None


def docbank_equation_counts(markdown: str, tokens: list[dict],
                            formula_boxes: list[tuple[float, float, float, float]] | None = None) -> tuple[int, int]:
    """(equation tokens in math, equation tokens counted): `docbank_equation_in_math`'s parts, to pool pages."""
    math, _ = math_spans(markdown)
    pool = _compact(math)
    hits = total = 0
    for t in tokens:
        if t.get("label") != "equation":
            continue
        forms = [_compact(f) for f in _token_forms(t["text"])]
        forms = [f for f in forms if f]
        in_box = formula_boxes is not None and _in_boxes(t, formula_boxes)
        if not forms and not in_box:
            continue
        total += 1
        if in_box or any(f in pool for f in forms):
            hits += 1
    return hits, total


def docbank_paragraph_outside_math(markdown: str, tokens: list[dict]) -> float | None:
    """Share of the page's prose tokens (paragraph tokens of two letters or more set in a text font: DocBank
    labels inline math 'paragraph' too) found in its prose, outside every math span."""
    found, total = docbank_paragraph_counts(markdown, tokens)
    return round(found / total, 3) if total else None


def docbank_paragraph_counts(markdown: str, tokens: list[dict]) -> tuple[int, int]:
    """(prose tokens outside math, prose tokens counted): `docbank_paragraph_outside_math`'s parts."""
    from ocr_resources.text.math_symbols import is_math_font

    _, prose = math_spans(markdown)
    prose = unicodedata.normalize("NFKC", re.sub(r"\s+", " ", prose.replace("\\_", "_")))
    words = [unicodedata.normalize("NFKC", t["text"]) for t in tokens if t.get("label") == "paragraph"
             and sum(ch.isalpha() for ch in t["text"]) >= 2 and "(cid:" not in t["text"]
             and not is_math_font(t.get("font", ""))]
    return sum(1 for w in words if w in prose), len(words)


def _in_boxes(token: dict, boxes: list[tuple[float, float, float, float]]) -> bool:
    x0, y0, x1, y1 = token["bbox_pt"]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes)


def docbank_page_counts(results, container: str, doc) -> dict[str, int]:
    """One DocBank page's math counts from the pipeline's results (eval.ours.Results): equation tokens in a
    math span or a formula row's box, and prose tokens outside math (each with its total)."""
    import json

    from eval.datasets import docbank_words

    tokens = docbank_words(json.loads(doc.truth.read_text(encoding="utf-8")))
    markdown = results.markdown(container, doc).text or ""
    boxes = [(r["x0"], r["y0"], r["x1"], r["y1"]) for r in results.store.query(
        "SELECT x0, y0, x1, y1 FROM formulas WHERE container_id = ? AND document_id = ?",
        [container, f"{doc.name}.pdf"])]
    eq_hit, eq_n = docbank_equation_counts(markdown, tokens, boxes)
    prose_hit, prose_n = docbank_paragraph_counts(markdown, tokens)
    return {"equation_in_math": eq_hit, "equation_tokens": eq_n, "prose_outside_math": prose_hit,
            "prose_tokens": prose_n}


def docbank_figures(counts: list[dict[str, int]]) -> dict[str, float | None]:
    """`docbank_equation_in_math` and `docbank_paragraph_outside_math`, pooled over pages' tokens."""
    def pooled(hit: str, total: str) -> float | None:
        n = sum(c.get(total, 0) for c in counts)
        return round(sum(c.get(hit, 0) for c in counts) / n, 3) if n else None

    return {"docbank_equation_in_math": pooled("equation_in_math", "equation_tokens"),
            "docbank_paragraph_outside_math": pooled("prose_outside_math", "prose_tokens")}


def score_docbank(workdir: Path, quick: bool = False) -> dict[str, float | int | None]:
    """The pipeline on DocBank's digital pages that hold equation tokens: the share of equation tokens in a
    math span or a formula row's box, and of prose tokens outside math, pooled over the pages' tokens."""
    import json

    from eval.datasets import SHARED, Doc
    from eval.ours import Results, run_pipeline
    from ocr_resources.pipeline.containers import partition_key_for

    docs = []
    for truth in sorted((SHARED / "benchmark" / "docbank_digital").glob("*.words.json")):
        if any(w.get("label") == "equation" for w in json.loads(truth.read_text(encoding="utf-8"))["words"]):
            name = truth.name[: -len(".words.json")]
            docs.append(Doc(name, truth.with_name(f"{name}.pdf"), truth))
    docs = docs[:4] if quick else docs
    run = run_pipeline({"docbank_digital": docs}, workdir)
    results, container = Results(run.store_path), partition_key_for("docbank_digital")
    counts = [docbank_page_counts(results, container, doc) for doc in docs]
    return {**docbank_figures(counts), "docbank_equation_pages": len(docs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few formulas of each class")
    parser.add_argument("--half", choices=("report", "tune", "all"), default="report")
    parser.add_argument("--per-class", type=int, default=FULL_PER_CLASS)
    parser.add_argument("--show-failures", type=int, default=0)
    parser.add_argument("--docbank", action="store_true", help="also run the pipeline on DocBank's equation pages")
    args = parser.parse_args(argv)
    if args.docbank:
        with tempfile.TemporaryDirectory(prefix="formulas-docbank-") as tmp:
            for key, value in score_docbank(Path(tmp), args.quick).items():
                print(f"{key}: {value}")
    scored = score_synthetic(QUICK_PER_CLASS if args.quick else args.per_class)
    if scored is None:
        print("formulas: skipped, pdflatex not found (apt-get install texlive-latex-base)")
        return 0
    print(table(scored, args.half))
    for key, value in summarize(scored, args.half).items():
        print(f"{key}: {value}")
    shown = 0
    for s in scored:
        if shown < args.show_failures and not s.render_ok and (args.half == "all" or s.formula.half == args.half):
            print(f"  {s.formula.id}: truth {s.formula.latex!r}  ours {s.ours!r}")
            shown += 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
