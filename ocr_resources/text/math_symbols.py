"""What a math glyph is in LaTeX: Unicode symbols, Mathematical Alphanumeric Symbols (STIX, Cambria Math),
and the codes of TeX's math fonts where a PDF carries no Unicode for them (Computer Modern / Latin Modern
CMEX and CMSY: pdfium then reports the glyph's raw code, as pdfminer writes "(cid:88)")."""

from __future__ import annotations

import unicodedata

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "varepsilon", "ϵ": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ϑ": "vartheta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "µ": "mu",
    "ν": "nu", "ξ": "xi", "π": "pi", "ϖ": "varpi", "ρ": "rho", "ϱ": "varrho", "σ": "sigma", "ς": "varsigma",
    "τ": "tau", "υ": "upsilon", "φ": "varphi", "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
    "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma",
    "Υ": "Upsilon", "Φ": "Phi", "Ψ": "Psi", "\u03a9": "Omega", "∆": "Delta", "\u2126": "Omega",
}
# Greek capitals that look like Latin ones are Latin letters in LaTeX.
GREEK_AS_LATIN = {"Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
                  "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X", "ο": "o"}

SYMBOLS = {
    "±": r"\pm", "∓": r"\mp", "×": r"\times", "÷": r"\div", "·": r"\cdot", "⋅": r"\cdot", "∗": "*", "∘": r"\circ",
    "•": r"\bullet", "−": "-", "–": "-", "≤": r"\leq", "≥": r"\geq", "≦": r"\leq", "≧": r"\geq", "≠": r"\neq",
    "≈": r"\approx", "≡": r"\equiv", "∼": r"\sim", "≃": r"\simeq", "≅": r"\cong", "∝": r"\propto",
    "≪": r"\ll", "≫": r"\gg", "≺": r"\prec", "≻": r"\succ", "⪯": r"\preceq", "⪰": r"\succeq", "≍": r"\asymp",
    "∈": r"\in", "∉": r"\notin", "∋": r"\ni", "⊂": r"\subset", "⊃": r"\supset", "⊆": r"\subseteq",
    "⊇": r"\supseteq", "∪": r"\cup", "∩": r"\cap", "∧": r"\wedge", "∨": r"\vee", "¬": r"\neg", "∀": r"\forall",
    "∃": r"\exists", "∅": r"\emptyset", "∞": r"\infty", "∂": r"\partial", "∇": r"\nabla", "→": r"\rightarrow",
    "←": r"\leftarrow", "↔": r"\leftrightarrow", "⇒": r"\Rightarrow", "⇐": r"\Leftarrow", "⇔": r"\Leftrightarrow",
    "↦": r"\mapsto", "↑": r"\uparrow", "↓": r"\downarrow", "⟶": r"\longrightarrow", "⟹": r"\Longrightarrow",
    "⊕": r"\oplus", "⊗": r"\otimes", "⊖": r"\ominus", "⊙": r"\odot", "⊥": r"\perp", "∥": r"\parallel",
    "′": r"\prime", "″": r"\prime\prime", "…": r"\ldots", "⋯": r"\cdots", "⋮": r"\vdots", "⋱": r"\ddots",
    "∑": r"\sum", "∏": r"\prod", "∐": r"\coprod", "∫": r"\int", "∬": r"\iint", "∭": r"\iiint", "∮": r"\oint",
    "⋃": r"\bigcup", "⋂": r"\bigcap", "⨁": r"\bigoplus", "⨂": r"\bigotimes", "⋀": r"\bigwedge", "⋁": r"\bigvee",
    "√": r"\sqrt", "⟨": r"\langle", "⟩": r"\rangle", "〈": r"\langle", "〉": r"\rangle", "⌊": r"\lfloor",
    "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil", "ℓ": r"\ell", "ℏ": r"\hbar", "ℜ": r"\Re", "ℑ": r"\Im",
    "ℵ": r"\aleph", "∖": r"\setminus", "⊢": r"\vdash", "⊨": r"\models", "△": r"\triangle", "∠": r"\angle",
    "°": r"^{\circ}", "{": r"\{", "}": r"\}", "‖": r"\|", "∣": "|", "⋆": r"\star", "†": r"\dagger",
    "‡": r"\ddagger", "♯": r"\sharp", "♭": r"\flat", "℘": r"\wp", "ı": r"\imath", "ȷ": r"\jmath",
    "∤": r"\nmid", "⊊": r"\subsetneq", "≜": r"\triangleq", "≔": ":=", "⊤": r"\top", "⊣": r"\dashv",
    "∔": r"\dotplus", "∡": r"\measuredangle", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}", "ℚ": r"\mathbb{Q}",
    "ℝ": r"\mathbb{R}", "ℂ": r"\mathbb{C}", "ℙ": r"\mathbb{P}", "ℎ": "h", "%": r"\%", "&": r"\&", "#": r"\#",
    "$": r"\$", "_": r"\_", "\\": r"\backslash", "~": r"\sim", "^": r"\wedge",
}
BIG_OPERATORS = frozenset({r"\sum", r"\prod", r"\coprod", r"\int", r"\iint", r"\iiint", r"\oint", r"\bigcup",
                           r"\bigcap", r"\bigoplus", r"\bigotimes", r"\bigwedge", r"\bigvee", r"\bigsqcup",
                           r"\bigodot", r"\biguplus"})
# Spacing accents as drawn over a letter (TeX draws them from the text font: CMR's circumflex is U+02C6).
ACCENTS = {"ˆ": "hat", "^": "hat", "˜": "tilde", "~": "tilde", "¯": "bar", "ˉ": "bar", "˙": "dot", "¨": "ddot",
           "ˇ": "check", "˘": "breve", "´": "acute", "`": "grave", "→": "vec", "⃗": "vec"}
DELIMITERS = frozenset("()[]|") | {r"\{", r"\}", r"\langle", r"\rangle", r"\lfloor", r"\rfloor", r"\lceil",
                                   r"\rceil", r"\|", "/"}
OPENING = frozenset("([") | {r"\{", r"\langle", r"\lfloor", r"\lceil"}

# CMEX10 (and Latin Modern's math extension) by glyph code: (LaTeX, kind).
_CMEX_DELIMS = {0: "(", 1: ")", 2: "[", 3: "]", 4: r"\lfloor", 5: r"\rfloor", 6: r"\lceil", 7: r"\rceil",
                8: r"\{", 9: r"\}", 10: r"\langle", 11: r"\rangle", 12: "|", 13: r"\|", 14: "/", 15: r"\backslash"}
CMEX: dict[int, tuple[str, str]] = {}
for _base, _codes in ((0x00, range(16)), (0x10, (0, 1)), (0x12, (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)),
                      (0x20, (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))):
    for _k, _c in enumerate(_codes):
        CMEX[_base + _k] = (_CMEX_DELIMS[_c], "delim")
CMEX.update({0x1E: ("/", "delim"), 0x1F: (r"\backslash", "delim"), 0x2C: ("/", "delim"),
             0x2D: (r"\backslash", "delim"), 0x2E: ("/", "delim"), 0x2F: (r"\backslash", "delim"),
             0x44: (r"\langle", "delim"), 0x45: (r"\rangle", "delim"), 0x68: ("[", "delim"), 0x69: ("]", "delim"),
             0x6A: (r"\lfloor", "delim"), 0x6B: (r"\rfloor", "delim"), 0x6C: (r"\lceil", "delim"),
             0x6D: (r"\rceil", "delim"), 0x6E: (r"\{", "delim"), 0x6F: (r"\}", "delim")})
# pieces of very tall delimiters (top, extension, bottom): merged into one delimiter by the layout
for _code, _tex in ((0x30, "("), (0x31, ")"), (0x32, "["), (0x33, "]"), (0x34, "["), (0x35, "]"), (0x36, "["),
                    (0x37, "]"), (0x38, r"\{"), (0x39, r"\}"), (0x3A, r"\{"), (0x3B, r"\}"), (0x3C, r"\{"),
                    (0x3D, r"\}"), (0x3E, r"\{"), (0x40, "("), (0x41, ")"), (0x42, "("), (0x43, ")")):
    CMEX[_code] = (_tex, "piece")
for _code, _tex in ((0x46, r"\bigsqcup"), (0x47, r"\bigsqcup"), (0x48, r"\oint"), (0x49, r"\oint"),
                    (0x4A, r"\bigodot"), (0x4B, r"\bigodot"), (0x4C, r"\bigoplus"), (0x4D, r"\bigoplus"),
                    (0x4E, r"\bigotimes"), (0x4F, r"\bigotimes"), (0x50, r"\sum"), (0x51, r"\prod"),
                    (0x52, r"\int"), (0x53, r"\bigcup"), (0x54, r"\bigcap"), (0x55, r"\biguplus"),
                    (0x56, r"\bigwedge"), (0x57, r"\bigvee"), (0x58, r"\sum"), (0x59, r"\prod"), (0x5A, r"\int"),
                    (0x5B, r"\bigcup"), (0x5C, r"\bigcap"), (0x5D, r"\biguplus"), (0x5E, r"\bigwedge"),
                    (0x5F, r"\bigvee"), (0x60, r"\coprod"), (0x61, r"\coprod")):
    CMEX[_code] = (_tex, "bigop")
for _code, _acc in ((0x62, "widehat"), (0x63, "widehat"), (0x64, "widehat"), (0x65, "widetilde"),
                    (0x66, "widetilde"), (0x67, "widetilde")):
    CMEX[_code] = (_acc, "accent")
for _code in (0x70, 0x71, 0x72, 0x73, 0x74):
    CMEX[_code] = (r"\sqrt", "radical")

# CMSY10 by glyph code, for the glyphs a PDF leaves without Unicode.
_CMSY_NAMES = [
    "-", r"\cdot", r"\times", "*", r"\div", r"\diamond", r"\pm", r"\mp", r"\oplus", r"\ominus", r"\otimes",
    r"\oslash", r"\odot", r"\bigcirc", r"\circ", r"\bullet", r"\asymp", r"\equiv", r"\subseteq", r"\supseteq",
    r"\leq", r"\geq", r"\preceq", r"\succeq", r"\sim", r"\approx", r"\subset", r"\supset", r"\ll", r"\gg",
    r"\prec", r"\succ", r"\leftarrow", r"\rightarrow", r"\uparrow", r"\downarrow", r"\leftrightarrow",
    r"\nearrow", r"\searrow", r"\simeq", r"\Leftarrow", r"\Rightarrow", r"\Uparrow", r"\Downarrow",
    r"\Leftrightarrow", r"\nwarrow", r"\swarrow", r"\propto", r"\prime", r"\infty", r"\in", r"\ni",
    r"\triangle", r"\bigtriangledown", "/", r"\mapsto", r"\forall", r"\exists", r"\neg", r"\emptyset", r"\Re",
    r"\Im", r"\top", r"\perp", r"\aleph"]
CMSY: dict[int, str] = dict(enumerate(_CMSY_NAMES))
CMSY.update({0x5B: r"\cup", 0x5C: r"\cap", 0x5D: r"\uplus", 0x5E: r"\wedge", 0x5F: r"\vee", 0x60: r"\vdash",
             0x61: r"\dashv", 0x62: r"\lfloor", 0x63: r"\rfloor", 0x64: r"\lceil", 0x65: r"\rceil", 0x66: r"\{",
             0x67: r"\}", 0x68: r"\langle", 0x69: r"\rangle", 0x6A: "|", 0x6B: r"\|", 0x6C: r"\updownarrow",
             0x6D: r"\Updownarrow", 0x6E: r"\backslash", 0x6F: r"\wr", 0x70: r"\sqrt", 0x71: r"\amalg",
             0x72: r"\nabla", 0x73: r"\int", 0x74: r"\sqcup", 0x75: r"\sqcap", 0x76: r"\sqsubseteq",
             0x77: r"\sqsupseteq", 0x78: r"\S", 0x79: r"\dagger", 0x7A: r"\ddagger", 0x7B: r"\P",
             0x7C: r"\clubsuit", 0x7D: r"\diamondsuit", 0x7E: r"\heartsuit", 0x7F: r"\spadesuit"})

FUNCTIONS = frozenset({"sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "coth", "arcsin",
                       "arccos", "arctan", "log", "ln", "lg", "exp", "lim", "liminf", "limsup", "max", "min",
                       "sup", "inf", "det", "dim", "ker", "deg", "gcd", "arg", "Pr", "hom"})

_MATH_ALNUM_STYLES = (  # words in the Unicode names of Mathematical Alphanumeric Symbols, most specific first
    ("DOUBLE-STRUCK", "mathbb"), ("BOLD FRAKTUR", "mathfrak"), ("FRAKTUR", "mathfrak"),
    ("BOLD SCRIPT", "mathcal"), ("SCRIPT", "mathcal"), ("MONOSPACE", "mathtt"),
    ("SANS-SERIF BOLD ITALIC", "mathsf"), ("SANS-SERIF BOLD", "mathsf"), ("SANS-SERIF ITALIC", "mathsf"),
    ("SANS-SERIF", "mathsf"), ("BOLD ITALIC", "boldsymbol"), ("BOLD", "mathbf"), ("ITALIC", ""))


def font_family(font: str) -> str:
    """A font's name without its subset tag ("ABCDEF+CMMI10" -> "cmmi10"), lower case."""
    return font.split("+", 1)[-1].lower()


def is_extension_font(font: str) -> bool:
    f = font_family(font)
    return f.startswith(("cmex", "msam", "esint")) or "mathextension" in f or f.startswith("lmex")


def is_symbol_font(font: str) -> bool:
    f = font_family(font)
    return f.startswith(("cmsy", "cmbsy")) or "mathsymbols" in f or f.startswith("lmsy")


def is_math_font(font: str) -> bool:
    """A font TeX, Word or STIX sets math in (not the text font that also sets math's digits)."""
    f = font_family(font)
    return (f.startswith(("cmmi", "cmsy", "cmex", "cmbsy", "msam", "msbm", "eufm", "eusm", "rsfs", "esint",
                          "stmary", "wasy", "lmmi", "lmsy", "lmex", "mnsymbol"))
            or "math" in f or (f.startswith("stix") and not f.startswith("stixtwotext")))
    # (not the Symbol font of office documents: its bullets and signs sit in prose, lists and tables; nor the text
    # faces of STIX Two and XITS, "STIXTwoText" and "XITS-Regular", which set headings and prose: their math faces
    # are "STIXTwoMath" and "XITSMath". STIX 1's "STIXGeneral" sets journals' math beside a Times text font.)


def letter_style(font: str, bold: bool = False) -> str:
    """The LaTeX alphabet a letter in this font belongs to: '' (math italic), 'mathrm', 'mathbf',
    'boldsymbol', 'mathcal', 'mathbb', 'mathfrak', 'mathsf', 'mathtt'."""
    f = font_family(font)
    if f.startswith("msbm"):
        return "mathbb"
    if f.startswith(("eufm", "eufb")):
        return "mathfrak"
    if f.startswith(("cmsy", "lmsy", "eusm", "rsfs")) or "mathsymbols" in f or "script" in f:
        return "mathcal"
    if f.startswith("cmmib") or f.startswith("cmbsy"):
        return "boldsymbol"
    if f.startswith(("cmmi", "lmmi")) or "mathitalic" in f or "italic" in f or "oblique" in f or f.endswith("-it"):
        return "boldsymbol" if bold else ""
    if f.startswith(("cmss", "lmss")):
        return "mathsf"
    if f.startswith(("cmtt", "lmtt")):
        return "mathtt"
    if bold or f.startswith(("cmbx", "lmbx")) or "bold" in f:
        return "mathbf"
    return "mathrm"


def math_alnum(ch: str) -> tuple[str, str] | None:
    """A Mathematical Alphanumeric Symbol as (style, base letter or LaTeX Greek): U+1D49C -> ('mathcal', 'A')."""
    if not ("\U0001d400" <= ch <= "\U0001d7ff"):
        return None
    name = unicodedata.name(ch, "")
    style = next((s for words, s in _MATH_ALNUM_STYLES if words in name), "")
    if " DIGIT " in name:
        base = str("ZERO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE".split().index(name.rsplit(" ", 1)[-1]))
        return ("mathbf" if style in ("mathbf", "boldsymbol") else style, base)
    if "CAPITAL" in name or "SMALL" in name:
        letter = name.rsplit(" ", 1)[-1]
        if len(letter) == 1:
            return style, letter if "CAPITAL" in name else letter.lower()
        greek = {"ALPHA": "α", "BETA": "β", "GAMMA": "γ", "DELTA": "δ", "EPSILON": "ε", "ZETA": "ζ", "ETA": "η",
                 "THETA": "θ", "IOTA": "ι", "KAPPA": "κ", "LAMDA": "λ", "MU": "μ", "NU": "ν", "XI": "ξ",
                 "PI": "π", "RHO": "ρ", "SIGMA": "σ", "TAU": "τ", "UPSILON": "υ", "PHI": "φ", "CHI": "χ",
                 "PSI": "ψ", "OMEGA": "ω"}.get(letter)
        if greek:
            g = greek.upper() if "CAPITAL" in name else greek
            tex = GREEK.get(g) or GREEK_AS_LATIN.get(g, g)
            return (style if style in ("mathbf", "boldsymbol") else "",
                    "\\" + tex if g in GREEK else tex)
    if "PARTIAL" in name:
        return "", r"\partial"
    if "NABLA" in name:
        return "", r"\nabla"
    return None


def symbol_latex(ch: str) -> str | None:
    """LaTeX for one non-letter, non-digit glyph given as Unicode (None: no math meaning known)."""
    if ch in GREEK:
        return "\\" + GREEK[ch]
    if ch in GREEK_AS_LATIN:
        return GREEK_AS_LATIN[ch]
    return SYMBOLS.get(ch)


def is_math_symbol(ch: str) -> bool:
    """A glyph that only math uses (Greek, operators and relations, math alphabets); not the ASCII
    punctuation and digits prose shares with math."""
    if not ch or ch.isascii():
        return False
    if ch in GREEK or math_alnum(ch) is not None:
        return True
    cat = unicodedata.category(ch)
    return ch in SYMBOLS and ch not in "•°%&#$_\\~^{}–…†‡" and cat in ("Sm", "So", "Ll", "Lu", "Lo", "Po", "Pd")
