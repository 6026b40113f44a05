"""Text, reading-order, heading, OCR and hygiene metrics. The same normalization is applied to both sides
(the ground truth and any tool's output), so no tool gains from its own formatting."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

_IMAGE = re.compile(r"<!--.*?-->", re.S)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$", re.M)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)
_LIST = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.M)
_EMPHASIS = re.compile(r"(\*\*|__|\*|`|~~)")
_HTML_TAG = re.compile(r"</?(br|u|b|i|em|strong|sup|sub|span|s)\b[^>]*>", re.I)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash before ASCII punctuation
_BAD = re.compile("[\ufffe\uffff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_markdown(text: str) -> str:
    """Markdown markup out, words kept: headings, emphasis, links, list bullets, table pipes and rules,
    image placeholders, backslash escapes. A tool that emits plain text and one that emits Markdown are then
    compared alike."""
    text = _IMAGE.sub(" ", text)
    text = _TABLE_RULE.sub(" ", text)
    text = _HEADING.sub("", text)
    text = _LIST.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    # escapes first: "QIBM\_DB" renders as "QIBM_DB" (the truth writes it both ways), and "\*ALLOBJ" as the
    # "*ALLOBJ" an unescaped truth writes; asterisks then go as emphasis on both sides alike (stripped after the
    # escapes, "\*" would leave its backslash behind)
    text = _ESCAPE.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    text = text.replace("|", " ")
    return text


def strip_inline(text: str) -> str:
    """Inline markup only (emphasis, links, HTML line breaks): for table cells."""
    return _EMPHASIS.sub("", _HTML_TAG.sub(" ", _LINK.sub(r"\1", text)))


# Arabic-script variants that a page shows alike, folded on both sides. Persian text layers mix Arabic yeh
# and kaf (U+064A, U+0643) with the Persian ones (U+06CC, U+06A9), whose initial and medial forms are the
# same glyphs; fonts draw ASCII digits as Persian digits (right_to_left_03 stores "1403/09/19" and shows
# "۱۴۰۳/۰۹/۱۹"). A reader of the image cannot tell them apart, so neither does the score. The usual folding
# of Persian and Arabic text normalizers; no other script is touched.
_ARABIC_VARIANTS = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9",
                                  **{chr(0x0660 + d): str(d) for d in range(10)},
                                  **{chr(0x06F0 + d): str(d) for d in range(10)}})


# -- formulas as the glyphs they draw -------------------------------------------------------------------------
# A formula written as LaTeX ($...$ inline, $$...$$ display) and the same formula read off a page's text layer
# (DocBank's tokens: "θ0", "L2(Ω", "=", "u¯") are one content in two forms. To score the content, not the markup,
# each span is rendered to the glyphs TeX draws, split into words where TeX's spacing leaves a gap (a text layer
# splits words at gaps), by TeX's own rules (The TeXbook, ch. 18, the inter-atom spacing table):
# - a gap around relations (=, ≤, →), binary operators (+, −, ×), large operators and function names (∑, log),
#   and after punctuation (",", ";"); a binary operator that TeX makes unary ("= −1", "(−x") keeps no gap on
#   its right;
# - no gap between ordinary symbols, nor anywhere inside a sub- or superscript; a superscript's glyphs follow
#   their base ("x^2" -> "x2"), a subscript is a word of its own ("K_{NAGD}" -> "K NAGD"): a text layer's words
#   are glyphs on one line, and a word extractor that groups glyphs into lines by their tops (DocBank's truth
#   comes from one: pdfplumber-style, 3 pt of tolerance) puts a subscript, whose top hangs lower than its base's,
#   on a line of its own, and a superscript, whose top is near its base's, on the base's line (DocBank's boxes:
#   "K" top 210.7 pt, its subscript "NAGD" 214.6 pt, two tokens; "L2(Ω" one);
# - a fraction's numerator and denominator are two lines, so words apart; an accent's glyph follows its base
#   ("\bar u" -> "u¯"), a radical's sign precedes its radicand ("√x"); "-" in math is the minus sign "−".
# Symbols and alphabets are pylatexenc's (LatexNodes2Text: "\alpha" -> "α", "\mathbf{u}" -> "𝐮", which NFKC
# folds to "u" where words are compared). Only `$` spans count (pandoc's rule: no space inside either dollar,
# no digit after the closing one, so "$20 and $30" stays text); `\[`/`\(` are left alone, since Markdown
# writers use `\[` for an escaped bracket ("\[12\]") and the pipeline writes no such delimiter.
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?![\s$])((?:\\.|[^$\\\n])+?)(?<![\s\\])\$(?!\d)", re.S)
_REL = set("=<>≤≥≠≈≡∼≃≅≍∝∈∉∋∌⊂⊃⊆⊇⊊⊋⊏⊐⊑⊒→←↔⇒⇐⇔↦⟶⟵⟷⟹⟸⟺↪↩⇀⇁↑↓⇑⇓∣∥≪≫≺≻⪯⪰≼≽≲≳⊢⊣⊨≔:⊥≐∽≺")
_BIN = set("+−±∓×·∗∘⊕⊗⊖⊘⊙∪∩∧∨∖÷⋆⋅†‡⊎⊓⊔⊲⊳◁▷≀⨿")
_PUNCT = set(",;")
_OPEN = set("([{⟨⌊⌈|‖")
_CLOSE = set(")]}⟩⌋⌉")
_BIG_OPS = set("∑∏∐∫∬∭∮⋃⋂⨁⨂⨀⋀⋁⨄")
_FUNCTIONS = {"arccos", "arcsin", "arctan", "arg", "cos", "cosh", "cot", "coth", "csc", "deg", "det", "dim", "exp",
              "gcd", "hom", "inf", "ker", "lg", "lim", "liminf", "limsup", "ln", "log", "max", "min", "Pr", "sec",
              "sin", "sinh", "sup", "tan", "tanh", "operatorname", "mathop"}
_ACCENTS = {"bar": "\u00af", "overline": "\u00af", "tilde": "\u02dc", "widetilde": "\u02dc", "hat": "\u02c6",
            "widehat": "\u02c6", "check": "\u02c7", "breve": "\u02d8", "dot": "\u02d9", "ddot": "\u00a8",
            "acute": "\u00b4", "grave": "`", "mathring": "\u02da"}
_UNDER_OVER = {"vec", "underline", "overbrace", "underbrace", "overrightarrow", "overleftarrow", "boldsymbol", "bm",
               "pmb", "displaystyle", "textstyle", "scriptstyle", "mathstrut", "phantom", "hphantom", "vphantom"}
_FRACTIONS = {"frac", "dfrac", "tfrac", "cfrac", "binom", "dbinom", "tbinom", "genfrac", "stackrel", "overset",
              "underset"}
_SIZES = {"left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
          "Biggl", "Biggr", "bigm", "Bigm", "nonumber", "notag", "label", "tag", "limits", "nolimits", "!"}
_GAPS = {",", ";", ":", " ", "quad", "qquad", "enspace", "thinspace", "medspace", "thickspace", "\\", "cr", "hline",
         "hspace", "newline"}


def _math_class(text: str) -> str:
    t = text.strip()
    if not t:
        return "gap"
    if len(t) == 1:
        for cls, chars in (("rel", _REL), ("bin", _BIN), ("punct", _PUNCT), ("open", _OPEN), ("close", _CLOSE),
                           ("op", _BIG_OPS)):
            if t in chars:
                return cls
    return "ord"


@lru_cache(maxsize=1)
def _latex2text():
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text")


def _macro_args(node) -> list:
    return [a for a in (node.nodeargd.argnlist if node.nodeargd is not None else []) if a is not None]


def _math_atoms(nodes) -> list[list[str]]:
    """[text, class] per TeX atom of a node list; a superscript joins its base's text, a subscript is an atom
    of class "sub" after it."""
    from pylatexenc import latexwalker as lw

    atoms: list[list[str]] = []
    script = ""  # the next atom is a superscript ("^") or a subscript ("_")

    def add(text: str, cls: str) -> None:
        nonlocal script
        base = next((k for k in range(len(atoms) - 1, -1, -1) if atoms[k][1] != "sub"), None)
        if script == "_" and text:
            atoms.append(["".join(text.split()), "sub"])
        elif script == "^" and base is not None:
            atoms[base][0] += "".join(text.split())
        elif text or cls == "gap":
            atoms.append([text, cls])
        script = ""

    for node in nodes or []:
        if isinstance(node, lw.LatexCharsNode):
            for ch in node.chars:
                if ch in "^_":
                    script = ch
                elif ch in "&~":
                    add("", "gap")
                elif not ch.isspace():
                    ch = {"-": "\u2212", "*": "\u2217"}.get(ch, ch)
                    add(ch, _math_class(ch))
        elif isinstance(node, lw.LatexGroupNode):  # braces make one ordinary atom
            add(math_words(_math_atoms(node.nodelist)), "ord")
        elif isinstance(node, lw.LatexMacroNode):
            name, args = node.macroname, _macro_args(node)
            if name in _SIZES:
                continue
            if name in _GAPS:
                add("", "gap")
            elif name in _FRACTIONS:  # numerator and denominator on lines of their own
                for arg in args[-2:]:
                    add("", "gap")
                    add(math_words(_math_atoms([arg])), "ord")
                add("", "gap")
            elif name == "sqrt":
                add("\u221a" + math_words(_math_atoms(args[-1:])).replace(" ", ""), "ord")
            elif name in _ACCENTS or name in _UNDER_OVER:
                add(math_words(_math_atoms(args)) + _ACCENTS.get(name, ""), "ord")
            elif name in _FUNCTIONS:
                add(_latex2text().nodelist_to_text([node]).strip(), "op")
                if not args and name in ("operatorname", "mathop"):
                    atoms.append(["", "name"])  # the next group is the operator's name
            else:
                text = _latex2text().nodelist_to_text([node]).replace("^", "").replace("_", "")
                add(text.strip(), _math_class(text))
        elif isinstance(node, lw.LatexEnvironmentNode):  # cases, matrices, aligned: cells and rows apart
            add("", "gap")
            atoms += _math_atoms(node.nodelist)
            add("", "gap")
        elif isinstance(node, lw.LatexMathNode):
            atoms += _math_atoms(node.nodelist)
        elif isinstance(node, lw.LatexSpecialsNode):
            add("", "gap")
        if len(atoms) > 1 and atoms[-2][1] == "name" and atoms[-1][1] == "ord":
            atoms[-2:] = [[atoms[-1][0], "op"]]
    return [a for a in atoms if a[1] != "name"]


def _tex_gap(left: str, right: str) -> bool:
    """Whether TeX spaces two atoms apart in text or display style (The TeXbook's table, thin and up)."""
    if left == "punct":
        return True
    if left == "open" or right in ("close", "punct") or (left, right) in (("rel", "rel"), ("op", "open")):
        return False
    return bool({left, right} & {"rel", "bin", "op"})


def math_words(atoms: list[list[str]]) -> str:
    """Atoms joined with TeX's gaps (see `_MATH_SPAN`); a binary operator with no operand on one side is
    ordinary, as TeX makes it."""
    classes = [cls for _, cls in atoms if cls != "sub"]
    for k, cls in enumerate(classes):
        if cls == "bin":
            left = classes[k - 1] if k else None
            right = classes[k + 1] if k + 1 < len(classes) else None
            if left in (None, "gap", "bin", "op", "rel", "open", "punct") or right in (None, "gap", "rel", "close",
                                                                                      "punct"):
                classes[k] = "ord"
    out: list[str] = []
    left = None
    kept = iter(classes)
    for text, cls in atoms:
        if cls == "sub":  # a word of its own (see `_MATH_SPAN`); TeX's spacing goes on from its base
            out.append(f" {text} ")
            continue
        cls = next(kept)
        if cls == "gap":
            out.append(" ")
            left = None
            continue
        if left is not None and _tex_gap(left, cls):
            out.append(" ")
        out.append(text)
        left = cls
    return " ".join("".join(out).split())


@lru_cache(maxsize=8192)
def render_math(latex: str) -> str:
    """A formula's LaTeX (no delimiters) as the words of the glyphs TeX draws; the LaTeX as it is when
    pylatexenc cannot read it."""
    from pylatexenc.latexwalker import LatexWalker

    try:
        nodes, _, _ = LatexWalker(latex, tolerant_parsing=True).get_latex_nodes()
        return math_words(_math_atoms(nodes))
    except Exception:  # noqa: BLE001 - a formula pylatexenc cannot parse is scored as written
        return latex


def math_as_text(text: str) -> str:
    """Every `$...$` / `$$...$$` formula in `text` replaced by `render_math` of its LaTeX."""
    if "$" not in text:
        return text
    return _MATH_SPAN.sub(lambda m: (f" {render_math(m.group(1))} " if m.group(1) is not None
                                     else render_math(m.group(2))), text)


def normalize(text: str, markdown: bool = True, math: bool = False) -> str:
    """NFC, Arabic-script variants folded, formulas as the glyphs they draw (math=True: `math_as_text`, before
    the Markdown goes, whose emphasis rule would eat LaTeX's `_`), Markdown markup out, line-end hyphenation
    joined, whitespace collapsed."""
    if math:
        text = math_as_text(text or "")
    text = unicodedata.normalize("NFC", text or "").translate(_ARABIC_VARIANTS)
    if markdown:
        text = strip_markdown(text)
    text = text.replace("\u00ad", "").replace("\ufffe", "")
    text = _HYPHEN_BREAK.sub(r"\1\2", text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    return text.split()


def ned(pred: str, truth: str) -> float:
    """Normalized edit distance: Levenshtein distance / the longer length (0 = identical, 1 = nothing alike)."""
    if not pred and not truth:
        return 0.0
    return Levenshtein.distance(pred, truth) / max(len(pred), len(truth))


def word_f1(pred: str, truth: str) -> float:
    """F1 of the multiset of words (order-free)."""
    p, t = Counter(words(pred)), Counter(words(truth))
    if not p and not t:
        return 1.0
    common = sum((p & t).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(t.values())
    return 2 * precision * recall / (precision + recall)


def word_recall(pred: str, truth: str) -> float:
    p, t = Counter(words(pred)), Counter(words(truth))
    return sum((p & t).values()) / sum(t.values()) if t else 1.0


def word_accuracy(pred: str, truth: str) -> float:
    """1 - WER: word-level edit distance over the truth's word count, floored at 0."""
    t = words(truth)
    if not t:
        return 1.0
    return max(0.0, 1.0 - Levenshtein.distance(words(pred), t) / len(t))


def truth_blocks(markdown: str, min_words: int = 4) -> list[str]:
    """Ground-truth paragraphs (blank-line separated), normalized; tables and images excluded (tables are
    scored by the table metrics), too-short blocks excluded (they match anywhere)."""
    blocks = []
    for block in re.split(r"\n\s*\n", markdown):
        if block.lstrip().startswith("|") or block.strip().startswith("<!--"):
            continue
        text = normalize(block)
        if len(text.split()) >= min_words:
            blocks.append(text)
    return blocks


def block_positions(blocks: list[str], pred: str, min_score: float = 80.0) -> list[int | None]:
    """Where each block is found in the prediction (character offset), None where it is not found."""
    positions: list[int | None] = []
    for block in blocks:
        probe = block[:200]  # the start of a paragraph places it; long probes only cost time
        hit = fuzz.partial_ratio_alignment(probe, pred, score_cutoff=min_score)
        positions.append(hit.dest_start if hit is not None else None)
    return positions


def distinct_blocks(blocks: list[str], min_score: float = 80.0) -> list[str]:
    """Blocks whose start matches no other block: a repeated paragraph ("Figure 1", a caption used twice)
    has no single place in the output, so it cannot say anything about order."""
    probes = [b[:200] for b in blocks]
    return [b for i, b in enumerate(blocks)
            if not any(j != i and fuzz.partial_ratio(probes[i], other) >= min_score for j, other in enumerate(blocks))]


def block_occurrences(block: str, pred: str, min_score: float = 80.0, limit: int = 4) -> list[int]:
    """Where the block's start is found in the prediction, best match first, then up to `limit` in all: the
    best match in the text before and after each match found. A heading is found in a table of contents and
    in the body; a repeated sentence in each place it is."""
    probe = block[:200]
    found: list[int] = []
    spans = [(0, len(pred))]
    while spans and len(found) < limit:
        a, b = spans.pop(0)
        if b - a < len(probe) // 2:
            continue
        hit = fuzz.partial_ratio_alignment(probe, pred[a:b], score_cutoff=min_score)
        if hit is None:
            continue
        found.append(a + hit.dest_start)
        spans += [(a, a + hit.dest_start), (a + hit.dest_end, b)]
    return found


def monotone_positions(candidates: list[list[int]]) -> list[int | None]:
    """One position per block: the longest chain of blocks, in truth order, whose chosen occurrences never go
    back (a block may take any of its occurrences), and the best match for a block off that chain. The text
    that correctly repeats a paragraph (a contents entry, then its heading) is then placed where the order
    holds; a paragraph that is only out of order stays out of order."""
    nodes = [(i, pos) for i, cands in enumerate(candidates) for pos in cands]
    best = [1] * len(nodes)
    back: list[int | None] = [None] * len(nodes)
    for k, (i, pos) in enumerate(nodes):
        for m in range(k):
            j, other = nodes[m]
            if j < i and other <= pos and best[m] + 1 > best[k]:
                best[k], back[k] = best[m] + 1, m
    chosen: list[int | None] = [c[0] if c else None for c in candidates]
    k = max(range(len(nodes)), key=lambda n: best[n], default=None)
    while k is not None:
        chosen[nodes[k][0]] = nodes[k][1]
        k = back[k]
    return chosen


def reading_order_counts(pred: str, truth_markdown: str) -> tuple[int, int]:
    """(pairs in the same order, pairs): every pair of distinct ground-truth paragraphs found in the output,
    each placed at the occurrence that keeps the order where the output repeats it (`monotone_positions`)."""
    blocks = distinct_blocks(truth_blocks(truth_markdown))
    found = [p for p in monotone_positions([block_occurrences(b, pred) for b in blocks]) if p is not None]
    pairs = ordered = 0
    for i in range(len(found)):
        for j in range(i + 1, len(found)):
            pairs += 1
            ordered += found[i] <= found[j]
    return ordered, pairs


def reading_order(pred: str, truth_markdown: str) -> float | None:
    """Share of ground-truth paragraph pairs that come out in the same order (None below two paragraphs)."""
    ordered, pairs = reading_order_counts(pred, truth_markdown)
    return ordered / pairs if pairs else None


def headings(markdown: str) -> list[str]:
    return [normalize(line) for line in markdown.splitlines() if _HEADING.match(line) and normalize(line)]


def _same_heading(a: str, b: str, min_score: float) -> bool:
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b)) >= min_score


def heading_scores(pred_markdown: str | None, truth_markdown: str,
                   min_score: float = 85.0) -> tuple[float | None, float | None]:
    """(recall, precision) of ground-truth headings found as Markdown headings in the output (fuzzy match).

    Words are compared in order and as a sorted bag (token_sort_ratio), the better of the two: this figure
    says whether a heading was found and marked; the order of words is the text and reading-order figures'
    business. A section number
    drawn left of its title ("1 Introduction") then matches truth that lists it after ("Introduction 1")."""
    truth = headings(truth_markdown)
    if pred_markdown is None or not truth:
        return None, None
    pred = headings(pred_markdown)
    found = sum(any(_same_heading(t, p, min_score) for p in pred) for t in truth)
    correct = sum(any(_same_heading(p, t, min_score) for t in truth) for p in pred)
    return found / len(truth), (correct / len(pred) if pred else None)


def nonchars(text: str) -> int:
    """Non-characters, replacement characters and C0 controls (other than tab/newline/CR)."""
    return len(_BAD.findall(text or ""))


# -- OCR, by position --------------------------------------------------------------------------------------
BoxWord = tuple[str, float, float, float, float]  # text, x0, y0, x1, y1 (PDF points, origin top-left)


def positional_word_scores(pred: list[BoxWord], truth_lines: list[tuple[tuple[float, float, float, float],
                                                                         list[str]]]) -> tuple[float, float]:
    """(word accuracy, word recall) of OCR words against ground-truth lines, matched by position.

    Each predicted word goes to the ground-truth line whose box holds its centre; per line, the words in x
    order are compared with the line's words by word-level edit distance. Predicted words outside every line
    count as insertions. Accuracy = 1 - (edits + insertions) / truth words, i.e. 1 - WER with the page's
    reading order taken out: a tool is not charged twice for reading two columns in another order."""
    assigned: list[list[tuple[float, str]]] = [[] for _ in truth_lines]
    stray = 0
    for text, x0, y0, x1, y1 in pred:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        best, best_area = None, None
        for i, ((lx0, ly0, lx1, ly1), _) in enumerate(truth_lines):
            pad = 0.25 * (ly1 - ly0)
            if lx0 - pad <= cx <= lx1 + pad and ly0 - pad <= cy <= ly1 + pad:
                area = (lx1 - lx0) * (ly1 - ly0)
                if best is None or area < best_area:
                    best, best_area = i, area
        if best is None:
            stray += len(text.split())
        else:
            assigned[best].extend((x0 + k * 1e-6, w) for k, w in enumerate(text.split()))
    total = sum(len(words) for _, words in truth_lines)
    if not total:
        return 1.0, 1.0
    edits, found = stray, 0
    for (_, truth_words), got in zip(truth_lines, assigned, strict=True):
        pred_words = [unicodedata.normalize("NFC", w) for _, w in sorted(got)]
        truth_norm = [unicodedata.normalize("NFC", w) for w in truth_words]
        edits += Levenshtein.distance(pred_words, truth_norm)
        found += sum((Counter(pred_words) & Counter(truth_norm)).values())
    return max(0.0, 1.0 - edits / total), found / total


# -- receipts: lines and order-aware WER ---------------------------------------------------------------------
def _line_norm(text: str, markdown: bool = False) -> str:
    """One line compared as it reads: NFKC (ligatures, full-width forms), Markdown markup out where the tool
    writes Markdown, whitespace collapsed, case folded (SROIE's human lines are upper case where the receipt
    prints "Jalan Ibrahim Sultan"). Punctuation is kept: "RM20.00" is not "RM2000"."""
    text = unicodedata.normalize("NFKC", text or "")
    if markdown:
        text = strip_markdown(text)
    return " ".join(text.split()).casefold()


def line_similarity(a: str, b: str) -> float:
    """1 - normalized edit distance (Levenshtein / the longer length): 1 = identical, 0 = nothing alike."""
    if not a and not b:
        return 1.0
    return 1.0 - Levenshtein.normalized_distance(a, b)


def line_candidates(pred: str, truth_words: int, markdown: bool = False, slack: int = 2) -> list[str]:
    """What a truth line of `truth_words` words may be matched against: every predicted line, and every
    window of `truth_words` ± `slack` consecutive words of the whole prediction (so a tool that writes a
    receipt's two columns on one line, or one line across two, still has the line's words together)."""
    lines = [_line_norm(line, markdown) for line in (pred or "").splitlines()]
    lines = [line for line in lines if line]
    stream = " ".join(lines).split()
    out = set(lines)
    for n in range(max(1, truth_words - slack), truth_words + slack + 1):
        for i in range(0, max(0, len(stream) - n) + 1):
            out.add(" ".join(stream[i:i + n]))
    return sorted(out)


def best_line_similarity(truth_line: str, pred: str, markdown: bool = False) -> float:
    """The truth line's similarity to its best-matching predicted line or window of words (0 with nothing)."""
    from rapidfuzz import process

    line = _line_norm(truth_line)
    candidates = line_candidates(pred, len(line.split()), markdown)
    if not line or not candidates:
        return 1.0 if not line else 0.0
    hit = process.extractOne(line, candidates, scorer=Levenshtein.normalized_similarity)
    return float(hit[1]) if hit else 0.0


def line_recall_counts(truth_lines: list[str], pred: str, markdown: bool = False,
                       threshold: float = 0.9) -> tuple[int, int]:
    """(truth lines found, truth lines): a line is found when some predicted line or window of words has
    similarity >= `threshold` to it (`best_line_similarity`)."""
    lines = [t for t in (_line_norm(t) for t in truth_lines) if t]
    found = sum(best_line_similarity(t, pred, markdown) >= threshold for t in lines)
    return found, len(lines)


def wer(pred: str, truth: str) -> float:
    """Word error rate, order-aware: word-level edit distance of the whole prediction against the whole
    truth (read top to bottom) over the truth's word count. Not floored: a tool that writes more wrong words
    than the truth has scores above 1."""
    t = words(truth)
    if not t:
        return 0.0 if not words(pred) else 1.0
    return Levenshtein.distance(words(pred), t) / len(t)


# -- DocBank: bag of words, hyphen-tolerant ------------------------------------------------------------------
_HYPHENS = str.maketrans("", "", "-\u2010\u2011\u00ad")
_OUTER_PUNCT = ".,;:!?()[]{}\"'\u201c\u201d\u2018\u2019*_"
_CID = re.compile(r"\(cid:\d+\)")


def _ends_hyphen(tok: str) -> bool:
    return len(tok) > 1 and tok[-1] in "-\u2010\u2011\u00ad"


def join_hyphenated(tokens: list[str]) -> list[str]:
    """Tokens in reading order with every token that ends in a hyphen joined to the next one ("distri-" +
    "bution" -> "distri-bution"): a word broken at a line end is one word, whichever way a tool writes it."""
    out: list[str] = []
    joining = False
    for tok in tokens:
        if joining and out:
            out[-1] += tok
        else:
            out.append(tok)
        joining = _ends_hyphen(tok)
    return out


# Accents drawn as glyphs of their own: TeX's "\\\"u" in an old font and a math accent ("\\bar u") put the accent
# beside its letter in the text layer ("Schu¨ler", "u¯"), a Unicode text composes it ("Schüler", "ū").
_SPACING_ACCENTS = str.maketrans("", "", "\u00a8\u00af\u00b4\u00b8\u02c6\u02c7\u02d8\u02d9\u02da\u02db\u02dc\u02dd")


def fold_accents(word: str) -> str:
    """The word without diacritics, spacing (¨ ¯ ´ ˜ ...) or combining: the letters a reader reads."""
    w = unicodedata.normalize("NFKD", word.translate(_SPACING_ACCENTS))
    return unicodedata.normalize("NFC", "".join(ch for ch in w if not unicodedata.combining(ch)))


def word_key(word: str, content: bool = False) -> str:
    """A word as the bag-of-words metric compares it: NFKC (ligatures: "\ufb01eld" = "field"), hyphens out
    ("magnetic-field" = "magneticfield" = "magnetic-" "field" joined), outer punctuation out ("13." = "13");
    a token of punctuation only ("=", "(") is kept as it is. content=True also folds diacritics
    (`fold_accents`): an accent is no word, however a text layer splits it from its letter."""
    w = unicodedata.normalize("NFKC", fold_accents(word) if content else word).translate(_HYPHENS)
    stripped = w.strip(_OUTER_PUNCT)
    return stripped or w


def bag_keys(tokens: list[str], content: bool = False) -> list[str]:
    """Keys of the words that `tokens` (in reading order) make once hyphenated pieces are joined;
    pdfminer-style `(cid:N)` placeholders (glyphs without text) are dropped."""
    tokens = [t for t in (_CID.sub("", t) for t in tokens) if t.strip()]
    return [k for k in (word_key(w, content) for w in join_hyphenated(tokens)) if k]


TruthToken = tuple  # (text, label) or (text, label, (x0, y0, x1, y1)) in PDF points, origin top-left


def join_truth_hyphens(tokens: list[TruthToken], pred_keys: Counter, content: bool = False) -> list[tuple[str, str]]:
    """Truth words as (text, label), a token that ends in a hyphen joined to its continuation when the
    prediction has the joined word. Truth tokens in line order across columns are not in reading order, so
    with boxes the continuation is looked for on the next lines below and left of the hyphen (nearest first);
    without boxes it is the next token. Where the prediction has no joined word, the pieces stay two words."""
    live = [(t[0], t[1], t[2] if len(t) > 2 else None) for t in tokens]
    used = [False] * len(live)
    out: list[tuple[str, str]] = []
    for i, (text, label, box) in enumerate(live):
        if used[i]:
            continue
        used[i] = True
        if _ends_hyphen(text):
            if box is None:
                cands = [i + 1] if i + 1 < len(live) else []
            else:
                height = max(1.0, box[3] - box[1])
                cands = sorted((j for j, (_, _, b) in enumerate(live) if not used[j] and b is not None
                                and box[1] + 0.3 * height < b[1] < box[3] + 2.5 * height and b[0] < box[0]),
                               key=lambda j: (live[j][2][1], live[j][2][0]))
            for j in cands:
                if not used[j] and pred_keys.get(word_key(text + live[j][0], content)):
                    used[j] = True
                    text += live[j][0]
                    break
        out.append((text, label))
    return out


def bag_of_words_counts(pred: str, truth_tokens: list[TruthToken], markdown: bool = False,
                        content: bool = False) -> dict:
    """Word recall and precision as counts, overall and per truth label (bag of words, order-free,
    hyphen-tolerant: `bag_keys`, `join_truth_hyphens`). A truth word matched by the prediction is credited to
    its labels in proportion where the same word has several labels on the page ("the" in a caption and in a
    paragraph).

    content=True scores what a reader reads, whichever way it is written: formulas as the glyphs they draw
    (`math_as_text`: "$x^2$" = "x2") and words without diacritics (`word_key`); content=False scores the text
    as written (LaTeX markup then counts as words).

    Returns {"matched", "truth", "pred", "by_label": {label: [matched (float), truth]}}."""
    pred_keys = Counter(bag_keys(normalize(pred or "", markdown=markdown, math=content).split(), content))
    truth_tokens = [(_CID.sub("", t[0]), *t[1:]) for t in truth_tokens]
    truth_tokens = [t for t in truth_tokens if t[0].strip()]
    truth_by_label: dict[str, Counter] = {}
    for text, label in join_truth_hyphens(truth_tokens, pred_keys, content):
        key = word_key(text, content)
        if key:
            truth_by_label.setdefault(label, Counter())[key] += 1
    truth_all = sum(truth_by_label.values(), Counter())
    matched = pred_keys & truth_all
    by_label = {}
    for label, counts in truth_by_label.items():
        got = sum(n * min(1.0, pred_keys[k] / truth_all[k]) for k, n in counts.items())
        by_label[label] = [round(got, 3), sum(counts.values())]
    return {"matched": sum(matched.values()), "truth": sum(truth_all.values()), "pred": sum(pred_keys.values()),
            "by_label": by_label}
