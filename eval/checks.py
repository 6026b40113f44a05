"""Unit checks in the olmOCR-bench style: small pass/fail facts about a document, generated from each set's
ground truth by one code path (never written per document), scored against any tool's Markdown or text.

    python -m eval.checks generate [--sets docling icdar ...]   # eval/cache/checks/<set>.jsonl + counts

Types (olmOCR-bench's published classes, written anew here):
- present: a sentence of a truth paragraph (5-30 words, mostly words with letters) is in the output; receipts:
  a whole printed line of 3+ words; scans: sentences of running-text blocks only; DocBank: of paragraph and
  abstract blocks outside the bands, never across a token DocBank filed elsewhere (inline math).
- absent: a line of the page's PDF text layer in its top or bottom band (running head, footer, page number)
  that the truth leaves out is not in the output; a page number also fails when kept on its running head's
  line. Only where the truth is the reader-facing text: docling Markdown and its image twins (from the
  digital page), DocBank pages (their tokens keep running heads, so only band lines with no word among the
  truth's band tokens qualify; on the 30 pages there are none).
- order: the end of one truth paragraph comes before the start of the next (docling Markdown); where the
  truth's order is only sure inside a column block (DocBank tokens, scans' hOCR lines), two consecutive
  sentences of one block; receipts: a line before the line wholly below it.
- table: a truth cell's nearest non-empty neighbour up, down, left or right, or its column heading, in a
  Markdown pipe table or an HTML table of the output; plain text has no table and fails.
- baseline: the output has text and no long repeated garbage (one per document).
- spacing: three consecutive words of a truth sentence (letters only) are three words in the output, spaced
  where the truth spaces them: a word split inside ("becam e", a low-resolution scan's letter gap) or two joined
  ("leadingto", "CompositionofthepretrainingdataforOLMo2", a text layer without spaces) fails it, a misread
  letter does not (the letters match fuzzily, the spaces exactly, give or take a character). Prose of Markdown
  truths (docling and its twins) and of scans (scanned, scanned_lowres).

Matching, the same for every tool: both sides go through `norm` (Markdown and HTML markup out, NFKC, quotes
and dashes folded, line-end hyphens joined, whitespace collapsed, lower case). A text is found when
rapidfuzz's partial_ratio reaches FUZZY (0.9: about one character in ten may differ, OCR-tolerant; olmOCR
sets a per-test edit budget instead). Every generated check is scored against the truth itself and dropped
when it fails there, so a check can only fail a tool for what the tool did."""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from rapidfuzz import fuzz

from eval.datasets import docbank_words, is_docbank_placeholder
from eval.text_metrics import block_occurrences, math_as_text, normalize, strip_inline

CACHE = Path(__file__).resolve().parent / "cache" / "checks"
TYPES = ("present", "absent", "order", "table", "baseline", "spacing")

FUZZY = 90.0  # partial_ratio / ratio (0-100) at which a text or a cell counts as found
CONTAINED = 80.0  # a band line the truth matches this well is the truth's own text: never an absent check
BAND = 0.08  # top and bottom share of the page height where running heads, footers and page numbers sit
SENTENCE_WORDS = (5, 30)  # present/order texts: long enough to be distinctive, short enough to survive a reflow
SNIPPET_WORDS = 12  # an order check's end of a long sentence (before) or start of one (after)
RECEIPT_WORDS = 3  # receipt lines are short; three words still say which line it is
MAX_PRESENT, MAX_ABSENT, MAX_ORDER = 10, 10, 6  # per document, evenly spaced over the candidates
SPACING_WORDS, MAX_SPACING = 3, 10  # spacing checks: words per check, checks per document
MAX_TABLE_PER_TABLE, MAX_TABLE = 6, 24
MAX_CELL_CHARS = 80  # a longer "cell" is a note or title line that a stream extractor put in the grid
HEADING_ROWS = 3  # a column heading sits in the first rows of the table
MAX_REPEATS = 16  # baseline: the same 1-5 word n-gram this many times in a row is a generation loop
MAX_SYMBOL_RUN = 32  # baseline: this many symbol characters in a row (spaces aside) is garbage
PROSE_LINE_WORDS = 5  # a scan's block of lines this long on average is read as running text
PROSE_SHARE = 2 / 3  # present/order texts of pages read in paragraphs: this share of the words has letters
DOCBANK_PROSE = {"paragraph", "abstract"}
GUTTER_LINES = 8  # a column starts at the same x on at least this many lines of a page

# -- normalization ------------------------------------------------------------------------------------------
_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                       "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
                       "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
                       "\u2212": "-"})
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*\b[^<>]*>")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_HTML_TABLE = re.compile(r"<table\b.*?</table\s*>", re.S | re.I)
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")  # font-private glyphs (check boxes, brackets)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_FOLD)


def norm(text: str, lower: bool = True, math: bool = True) -> str:
    """The text both sides are compared in: formulas as the glyphs they draw ("$\\theta_0$" -> "θ0", as a text
    layer and DocBank's truth have them: `math_as_text`; math=False leaves LaTeX as written), markup out, NFKC,
    quotes and dashes folded, line-end hyphens joined, whitespace collapsed, lower case (truths mix case
    conventions: small caps, upper-case heads). lower=False keeps the case for the checks' own text (sentences
    are cut at capitals, people read them)."""
    text = math_as_text(text or "") if math else text
    text = _PRIVATE_USE.sub(" ", _fold(normalize(html.unescape(_TAG.sub(" ", text or "")))))
    text = " ".join(text.split())
    return text.lower() if lower else text


def norm_cell(text: str) -> str:
    """A table cell without whitespace: a cell wrapped on two lines, or joined with or without a space, is the
    same cell. No list or heading stripping (a cell "- 5" is not a bullet)."""
    text = html.unescape(_TAG.sub(" ", text or ""))
    text = _ESCAPE.sub(r"\1", strip_inline(text)).replace("\u00ad", "")
    return re.sub(r"\s+", "", _fold(text).lower())


def _words(text: str) -> list[str]:
    return text.split()


# -- truth: paragraphs in reading order ---------------------------------------------------------------------
@dataclass
class Paragraph:
    text: str  # normalized
    ordered_with_next: bool = True  # whether the next paragraph surely follows this one in reading order
    prose: bool = True  # a source of present and order checks (DocBank: prose labels, outside the bands)


_FENCE = re.compile(r"```.*?```", re.S)
_FLOAT = re.compile(r"^(table|figure|fig\.|listing|chart)\s*\d", re.I)  # captions: their place is the layout's
_GLYPH_ID = re.compile(r"\(cid:\d+\)")  # a glyph the text layer could not map (DocBank keeps pdfminer's id)
_SENTENCE = re.compile(r"(?<=[.!?\u061f\u3002])\s+(?![a-z])")
_EQUATION = "\u27e6"  # marks a DocBank equation token or lost tokens in a prose line: a sentence across is skipped


def markdown_paragraphs(markdown: str) -> list[Paragraph]:
    """Blank-line separated blocks of a Markdown truth, code, tables, images and formulas left out."""
    out = []
    for block in re.split(r"\n\s*\n", _FENCE.sub("\n\n", markdown)):
        stripped = block.strip()
        if not stripped or stripped.startswith(("|", "<!--", "$$", "<table")):
            continue
        text = norm(block, lower=False)
        if text:
            out.append(Paragraph(text))
    return out


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def receipt_paragraphs(txt: Path) -> list[Paragraph]:
    """One paragraph per receipt line; a line surely precedes the next only when it lies wholly above it
    (two lines on one row, item and price, have no order a reader insists on)."""
    lines_json = txt.with_name(txt.name[:-len(".txt")] + ".lines.json")
    if lines_json.exists():
        lines = [(line["text"], line["bbox_px"]) for line in _read_json(lines_json)["lines"]]
    else:
        lines = [(line, None) for line in txt.read_text(encoding="utf-8").splitlines()]
    out = []
    for i, (text, box) in enumerate(lines):
        nxt = lines[i + 1][1] if i + 1 < len(lines) else None
        above = box is None or nxt is None or nxt[1] >= box[3] - 0.25 * (box[3] - box[1])
        if norm(text):
            out.append(Paragraph(norm(text, lower=False), ordered_with_next=above))
    return out


def docbank_paragraphs(words_json: Path) -> list[Paragraph]:
    """Column blocks rebuilt from DocBank tokens (their order runs across columns): tokens into line pieces
    (same baseline, no column gap), pieces into blocks (same label, directly below, overlapping in x). Order
    only holds inside a block, so each block's sentences become paragraphs ordered among themselves."""
    data = _read_json(words_json)
    height = float(data["page_size_pt"][1])
    pieces: list[dict] = []
    for w in data["words"]:
        if is_docbank_placeholder(w["text"]):
            continue
        x0, y0, x1, y1 = w["bbox_pt"]
        h = max(1.0, y1 - y0)
        last = pieces[-1] if pieces else None
        # Same line: boxes overlapping by half the smaller height (a sub- or superscript stays in its line);
        # a gap over 0.75 of the line height is a column gutter (word gaps are 0.2-0.5 of it on these pages).
        if (last is not None and min(y1, last["y1"]) - max(y0, last["y0"]) >= 0.5 * min(h, last["h"])
                and -2.0 <= x0 - last["x1"] < 0.75 * max(h, last["h"])):
            last["tokens"].append(w)
            last["x1"] = max(last["x1"], x1)
        else:
            same_line = last is not None and min(y1, last["y1"]) - max(y0, last["y0"]) >= 0.5 * min(h, last["h"])
            pieces.append({"tokens": [w], "x0": x0, "x1": x1, "y0": y0, "y1": y1, "cy": (y0 + y1) / 2, "h": h,
                           "after": last if same_line and x0 > last["x1"] else None, "broken": False})
    # A gap inside a line is a column gutter where the piece after it starts where other lines start too;
    # anywhere else it is a hole where DocBank lost tokens (inline math it filed elsewhere): a sentence
    # across it is not the page's text, so both sides are marked and such sentences are skipped.
    starts = Counter(round(p["x0"] / 3) for p in pieces)
    for piece in pieces:
        if piece["after"] is not None and sum(starts[round(piece["x0"] / 3) + d] for d in (-1, 0, 1)) < GUTTER_LINES:
            piece["broken"] = piece["after"]["broken_end"] = True
    blocks: list[list[dict]] = []
    for piece in pieces:
        labels = Counter(t["label"] for t in piece["tokens"] if t["label"] != "equation")
        piece["label"] = labels.most_common(1)[0][0] if labels else "equation"
        best, best_overlap = None, 0.0
        for block in blocks:
            last = block[-1]
            gap = piece["y0"] - last["y1"]
            overlap = min(piece["x1"], last["x1"]) - max(piece["x0"], last["x0"])
            narrow = min(piece["x1"] - piece["x0"], last["x1"] - last["x0"])
            if (last["label"] == piece["label"] and -0.6 * piece["h"] <= gap <= 0.8 * piece["h"]
                    and narrow > 0 and overlap >= 0.5 * narrow and overlap > best_overlap):
                best, best_overlap = block, overlap
        if best is None:
            blocks.append([piece])
        else:
            best.append(piece)
    out = []
    for block in blocks:
        prose = block[0]["label"] in DOCBANK_PROSE
        lines = [(_EQUATION if p["broken"] else "")
                 + " ".join(_EQUATION + t["text"] if t["label"] == "equation" else t["text"] for t in p["tokens"])
                 + (_EQUATION if p.get("broken_end") else "") for p in block]
        # DocBank labels running heads "paragraph": a block wholly in a band is no present or order source
        in_band = all(p["cy"] < BAND * height or p["cy"] > (1 - BAND) * height for p in block)
        text = norm("\n".join(lines), lower=False)
        if not prose or in_band:  # kept as the truth's text (absent checks look there)
            out.append(Paragraph(text.replace(_EQUATION, ""), ordered_with_next=False, prose=False))
            continue
        sentences = _sentences(text)
        for k, sentence in enumerate(sentences):
            out.append(Paragraph(sentence, ordered_with_next=k + 1 < len(sentences)))
    return out


def docbank_band_words(words_json: Path) -> set[str]:
    """Normalized words of the DocBank tokens in the page's top and bottom bands."""
    data = _read_json(words_json)
    height = float(data["page_size_pt"][1])
    return {norm(w["text"]) for w in docbank_words(data)
            if not BAND * height <= (w["bbox_pt"][1] + w["bbox_pt"][3]) / 2 <= (1 - BAND) * height}


def text_paragraphs(txt: Path) -> list[Paragraph]:
    """A scan's truth: its hOCR lines (the .txt has one per line, no paragraphs) grouped into blocks, each line
    joining the block of the line before it when it sits right below it and overlaps it in x. A block whose
    lines average fewer than PROSE_LINE_WORDS words (a chart's boxes, a deposition's line numbers, a form's
    fields) has no sentences a reader reads across lines: it stays truth text but gives no check. Order holds
    inside a block (columns and boxes of one page are not ordered by the truth)."""
    from eval.datasets import Doc, hocr_lines

    lines = hocr_lines(Doc(txt.stem, txt.with_suffix(".pdf"), txt))
    if lines is None:  # no positions: the text's blank-line blocks
        blocks = [[(None, b.split())] for b in re.split(r"\n\s*\n", txt.read_text(encoding="utf-8"))]
    else:
        blocks = []
        for box, words in lines:
            last = blocks[-1][-1][0] if blocks else None
            h = box[3] - box[1]
            below = last is not None and -0.5 * h <= box[1] - last[3] <= 1.0 * h
            narrow = min(box[2] - box[0], last[2] - last[0]) if last else 0.0
            overlap = min(box[2], last[2]) - max(box[0], last[0]) if last else 0.0
            if below and narrow > 0 and overlap >= 0.5 * narrow:
                blocks[-1].append((box, words))
            else:
                blocks.append([(box, words)])
    out = []
    for block in blocks:
        text = norm("\n".join(" ".join(words) for _, words in block), lower=False)
        if sum(len(words) for _, words in block) < PROSE_LINE_WORDS * len(block):
            out.append(Paragraph(text, ordered_with_next=False, prose=False))
            continue
        sentences = _sentences(text)
        out += [Paragraph(s, ordered_with_next=k + 1 < len(sentences)) for k, s in enumerate(sentences)]
    return out


# -- truth: tables -----------------------------------------------------------------------------------------
@dataclass
class Grid:
    page: int
    text: list[list[str]]  # every position a cell covers holds its text ("" where no cell)
    single: list[list[bool]]  # the position is a whole 1x1 cell
    partial: bool = False  # only some cells are asserted (silver fixtures)


def truth_tables(path: Path) -> list[Grid]:
    """ICDAR-2013 (cells with start/end row and column) or the fixtures' [[row, col, text]] cells."""
    grids = []
    for t in _read_json(path)["tables"]:
        cells = t.get("cells") or []
        if cells and isinstance(cells[0], dict):
            spans = [(c["start_row"], c["end_row"], c["start_col"], c["end_col"], c.get("text") or "")
                     for c in cells]
        else:
            spans = [(r, r, c, c, text or "") for r, c, text in cells]
        if not spans:
            continue
        rows, cols = max(s[1] for s in spans) + 1, max(s[3] for s in spans) + 1
        text = [[""] * cols for _ in range(rows)]
        single = [[False] * cols for _ in range(rows)]
        for r0, r1, c0, c1, value in spans:
            value = " ".join(value.split())
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    text[r][c] = value
                    single[r][c] = r0 == r1 and c0 == c1
        grids.append(Grid(int(t.get("page") or 1), text, single, bool(t.get("partial"))))
    return grids


def grid_markdown(grid: list[list[str]]) -> str:
    rows = [[c.replace("|", "\\|") for c in row] for row in grid]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows[1:]])


# -- the page's text layer: lines in the top and bottom bands -------------------------------------------------
def band_lines(pdf: Path, band: float = BAND) -> list[tuple[int, str, str, str]]:
    """(page, "top"/"bottom", text, beside) for each run of text-layer characters whose middle lies in the
    page's top or bottom band; `beside` is the other runs on its baseline, left to right. A run is consecutive
    characters of the text stream on one baseline with no more than an em between them, so a running head and
    a page number far to its right, or two columns' lines, stay apart; stream order keeps right-to-left text
    in its logical order."""
    import pypdfium2

    out = []
    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        for index in range(len(doc)):
            page = doc[index]
            textpage = page.get_textpage()
            try:
                runs = _page_band_runs(textpage, page.get_size()[1], band)
                for run in runs:
                    beside = [r for r in runs if r is not run and r[0] == run[0]
                              and abs(r[1] - run[1]) < 0.5 * max(r[4], run[4])]
                    text = "".join(run[5])
                    out.append((index + 1, run[0], text, " ".join("".join(r[5]) for r in sorted(beside,
                                                                                               key=lambda r: r[2]))))
            finally:
                textpage.close()
                page.close()
    finally:
        doc.close()
    return out


def _page_band_runs(textpage, height: float, band: float) -> list[list]:
    count = textpage.count_chars()
    full = textpage.get_text_range()
    chars = full if len(full) == count else None  # one character per index, as pdfium usually returns it
    runs: list[list] = []  # [where, middle, left, right, height, chars]
    last_index = -2
    for i in range(count):
        left, bottom, right, top = textpage.get_charbox(i, loose=True)  # font-high boxes: one line, one height
        char = chars[i] if chars is not None else textpage.get_text_range(i, 1)
        if right <= left or top <= bottom:  # spaces and line breaks pdfium generates have no box
            if runs and last_index == i - 1 and char.isspace():
                runs[-1][5].append(" ")
                last_index = i
            continue
        middle, h = (bottom + top) / 2, top - bottom
        where = "top" if middle > (1 - band) * height else "bottom" if middle < band * height else None
        if where is None:
            continue
        run = runs[-1] if runs else None
        gap = max(left - run[3], run[2] - right) if run else 0.0
        if (run is None or last_index < i - 1 or run[0] != where or abs(run[1] - middle) > 0.5 * max(h, run[4])
                or gap > max(h, run[4])):
            runs.append([where, middle, left, right, h, [char]])
        else:
            run[2], run[3] = min(run[2], left), max(run[3], right)
            run[5].append(char)
        last_index = i
    return runs


def _text_layer_pdf(kind: str, pdf: Path, truth: Path) -> Path | None:
    """The born-digital PDF whose text layer holds the page's bands: for an image-only twin, the digital page
    the truth came from (docling: beside the .md; DocBank renders: docbank_digital/ under the same name)."""
    if kind == "markdown":
        digital = truth.with_suffix(".pdf")
        return digital if digital.exists() else pdf
    if kind == "docbank":
        name = truth.name[:-len(".words.json")]
        digital = truth.parent.parent / "docbank_digital" / f"{name}.pdf"
        return digital if digital.exists() else pdf
    return None


# -- generation ------------------------------------------------------------------------------------------------
def _spread(items: list, k: int) -> list:
    """k items evenly spaced over the list, first and last included (deterministic)."""
    if len(items) <= k:
        return list(items)
    if k == 1:
        return [items[len(items) // 2]]
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def _kind(truth: Path) -> str:
    name = truth.name
    if name.endswith(".words.json"):
        return "docbank"
    if name.endswith(".tables.json"):
        return "tables"
    if name.endswith(".md"):
        return "markdown"
    if truth.with_name(name[:-len(".txt")] + ".lines.json").exists():
        return "receipt"
    return "text"


def _paragraphs(kind: str, truth: Path) -> list[Paragraph]:
    if kind == "markdown":
        return markdown_paragraphs(truth.read_text(encoding="utf-8"))
    if kind == "receipt":
        return receipt_paragraphs(truth)
    if kind == "docbank":
        return docbank_paragraphs(truth)
    if kind == "text":
        return text_paragraphs(truth)
    return []


def _unique(snippet: str, corpus: str) -> bool:
    """The snippet occurs once in the truth (normalized) and nothing else there comes near it."""
    snippet = norm(snippet)
    at = corpus.find(snippet)
    if at < 0 or corpus.find(snippet, at + 1) >= 0:
        return False
    rest = corpus[:at] + " \x00 " + corpus[at + len(snippet):]
    return fuzz.partial_ratio(snippet, rest) < FUZZY


def _sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(paragraph) if s.strip()]


def _usable(sentence: str, min_words: int, prose: bool) -> bool:
    """A sentence a check can stand on: its length in words, no DocBank equation, no unmapped glyph, no leaked
    annotation coordinates; where it may span lines (prose=True), mostly words: a form's or a table's row read across
    ("Year 12/18A 12/19E 1.35 2.52") has no one linear reading a tool owes."""
    words = _words(sentence)
    if (not min_words <= len(words) <= SENTENCE_WORDS[1] or _EQUATION in sentence
            or _COORDINATES.search(sentence) or _GLYPH_ID.search(sentence)):
        return False
    wordy = sum(1 for w in words if any(ch.isalpha() for ch in w))
    return wordy > 0 and (not prose or wordy >= PROSE_SHARE * len(words))


def _present(paragraphs: list[Paragraph], min_words: int, prose: bool) -> list[dict]:
    seen, found = set(), []
    for p in paragraphs:
        if not p.prose:
            continue
        for sentence in _sentences(p.text) if prose else [p.text]:  # a receipt line is one unit ("SDN. BHD.")
            key = norm(sentence)
            if key not in seen and _usable(sentence, min_words, prose):
                seen.add(key)
                found.append({"type": "present", "text": sentence})
    return _spread(found, MAX_PRESENT)


_LETTERS = re.compile(r"^[^\W\d_]{2,}$")


def _spacing(paragraphs: list[Paragraph], corpus: str) -> list[dict]:
    """Runs of SPACING_WORDS words of two letters or more, letters only (no punctuation or digits, whose spacing
    conventions differ), one at least five letters long, from the truth's prose sentences, each once in the truth."""
    seen, found = set(), []
    for p in paragraphs:
        if not p.prose:
            continue
        for sentence in _sentences(p.text):
            if not _usable(sentence, SENTENCE_WORDS[0], True):
                continue
            words = _words(sentence)
            for k in range(0, len(words) - SPACING_WORDS + 1, SPACING_WORDS):
                run = words[k:k + SPACING_WORDS]
                if not all(_LETTERS.match(w) for w in run) or max(map(len, run)) < 5:
                    continue
                text = " ".join(run)
                key = norm(text)
                if key not in seen and len(re.findall(rf"(?<!\S){re.escape(key)}(?!\S)", corpus)) == 1:
                    seen.add(key)
                    found.append({"type": "spacing", "text": text})
                    break  # one run a sentence: the checks spread over the page
    return _spread(found, MAX_SPACING)


def _snippet(paragraph: str, end: bool) -> str:
    """The paragraph's last (end=True) or first sentence, cut to the word limit from that side."""
    sentences = _sentences(paragraph) or [paragraph]
    w = _words(sentences[-1] if end else sentences[0])
    if len(w) < SENTENCE_WORDS[0]:  # a short closing or opening sentence: words across the sentence break
        w = _words(paragraph)
    keep = SNIPPET_WORDS if len(w) > SENTENCE_WORDS[1] else len(w)
    return " ".join(w[-keep:] if end else w[:keep])


def _order(paragraphs: list[Paragraph], corpus: str, min_words: int, prose: bool) -> list[dict]:
    found = []
    for a, b in zip(paragraphs, paragraphs[1:], strict=False):
        if not a.ordered_with_next or not a.prose or not b.prose or _FLOAT.match(a.text) or _FLOAT.match(b.text):
            continue
        before, after = ((_snippet(a.text, end=True), _snippet(b.text, end=False)) if prose
                         else (a.text, b.text))
        if (before != after and _usable(before, min_words, prose) and _usable(after, min_words, prose)
                and _unique(before, corpus) and _unique(after, corpus)):
            found.append({"type": "order", "before": before, "after": after})
    return _spread(found, MAX_ORDER)


def _absent(kind: str, pdf: Path, truth: Path, corpus: str, corpus_lines: set[str],
            band_words: set[str] | None) -> list[dict]:
    source = _text_layer_pdf(kind, pdf, truth)
    if source is None or not source.exists():
        return []
    found, seen = [], set()
    for page, where, raw, beside in band_lines(source):
        text = norm(raw)
        if not any(ch.isalnum() for ch in text) or text in seen:
            continue
        seen.add(text)
        # A long line is looked for anywhere; a short one (a page number, "Annex") only as a line of its own,
        # since "12" or "Annex" also occur inside the body. A short fragment that is neither a page number nor a
        # word (a fraction's "1 /" drawn apart from its line) says nothing and is left out.
        mode = "text" if len(_words(text)) >= 4 and len(text) >= 16 else "line"
        page_number = bool(_PAGE_NUMBER.match(text))
        if mode == "line" and not (page_number or _WORD.search(text)):
            continue
        # A line the truth holds is the truth's own text, never an absent check (a page number's digits occur
        # anywhere, so only a line of its own in the truth counts for one). DocBank's truth keeps running heads,
        # so there only a band line none of whose words the truth has in its bands qualifies.
        if text in corpus_lines or (not page_number and fuzz.partial_ratio(text, corpus) >= CONTAINED):
            continue
        if band_words is not None and any(w in band_words for w in _words(text)):
            continue
        check = {"type": "absent", "text": norm(raw, lower=False), "mode": mode, "page": page, "band": where}
        if mode == "line" and norm(beside):
            check["beside"] = norm(beside, lower=False)
        found.append(check)
    return _spread(found, MAX_ABSENT)


_PAGE_NUMBER = re.compile(r"^(page\s*)?[-(\[]?\s*(\d+|[ivxlcdm]+)(\s*[-./]\s*\d+|\s+of\s+\d+)?\s*[-)\]]?(\s*page)?$")
_WORD = re.compile(r"[^\W\d_]{3,}")
_RELATIONS = ("right", "down", "top_heading", "left", "up")
_COORDINATES = re.compile(r"\d+(,\d+){5,}")  # "67,2694,562,2694,...": a box's corners typed into a transcription
_STEP = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}


def _nearest(grid: list[list[str]], r: int, c: int, relation: str) -> tuple[int, int] | None:
    """The nearest non-empty position from (r, c) in that direction: an empty spacer column or row that one
    tool draws and another does not is no reason to fail."""
    dr, dc = _STEP[relation]
    r, c = r + dr, c + dc
    while 0 <= r < len(grid) and 0 <= c < len(grid[r]):
        if grid[r][c]:
            return r, c
        r, c = r + dr, c + dc
    return None


def _table_checks(grid: Grid) -> list[dict]:
    text = grid.text
    normed = [[norm_cell(v) for v in row] for row in text]
    # a row with one filled cell is a title or note line a stream extractor put in the grid, not a table row
    kept = [sum(1 for v in row if v) >= 2 for row in normed]
    counts = Counter(v for row in normed for v in row if v)

    def usable(r: int, c: int) -> bool:
        return kept[r] and grid.single[r][c] and 0 < len(normed[r][c]) <= MAX_CELL_CHARS

    heading_rows = [r for r, k in enumerate(kept) if k][:HEADING_ROWS]
    cells = [(r, c) for r, row in enumerate(normed) for c, v in enumerate(row)
             if usable(r, c) and counts[v] == 1 and any(ch.isalnum() for ch in v)]
    out = []
    for k, (r, c) in enumerate(_spread(cells, MAX_TABLE_PER_TABLE)):
        for relation in _RELATIONS[k % 5:] + _RELATIONS[:k % 5]:
            if relation == "top_heading":
                if grid.partial:
                    continue
                above = [h for h in heading_rows if h < r and normed[h][c]]
                if not above or not usable(above[0], c) or normed[above[0]][c] == normed[r][c]:
                    continue
                other = text[above[0]][c]
            else:
                at = _nearest(normed, r, c, relation)
                if at is None or not usable(*at):
                    continue
                other = text[at[0]][at[1]]
            out.append({"type": "table", "page": grid.page, "cell": text[r][c], relation: other})
            break
    return out


def generate(set_name: str, pdf: Path, truth: Path, dropped: Counter | None = None) -> list[dict]:
    """The checks of one document, from its ground truth (and, for absent checks, the text layer of the
    born-digital page). Each is {"id", "set", "doc", "type", ...}. A check that fails on the truth itself is
    dropped (counted per type in `dropped` when given)."""
    kind = _kind(truth)
    doc = pdf.stem
    checks: list[dict] = []
    if kind == "tables":
        grids = truth_tables(truth)
        table_checks = []
        for grid in grids:
            table_checks += _table_checks(grid)
        checks += _spread(table_checks, MAX_TABLE)
        rendering = "\n\n".join(grid_markdown(g.text) for g in grids)
    else:
        paragraphs = _paragraphs(kind, truth)
        # the truth as a tool would ideally write it: a Markdown or text truth as it is, DocBank's column blocks
        rendering = ("\n\n".join(p.text for p in paragraphs).replace(_EQUATION, "") if kind == "docbank"
                     else truth.read_text(encoding="utf-8"))
        corpus = norm(rendering)
        # a receipt's unit is one printed line (its numbers are its point); elsewhere sentences span lines
        min_words, prose = (RECEIPT_WORDS, False) if kind == "receipt" else (SENTENCE_WORDS[0], True)
        checks += _present(paragraphs, min_words, prose)
        checks += _order(paragraphs, corpus, min_words, prose)
        if kind in ("markdown", "text"):
            checks += _spacing(paragraphs, corpus)
        if kind in ("markdown", "docbank"):
            band_words = docbank_band_words(truth) if kind == "docbank" else None
            checks += _absent(kind, pdf, truth, corpus, _prepared(rendering).lines, band_words)
    checks.append({"type": "baseline"})  # dropped below where the truth itself repeats (a table of zeros)
    kept = [c for c in checks if score(c, rendering)]
    if dropped is not None:
        dropped.update(c["type"] for c in checks if c not in kept)
    out, counter = [], Counter()
    for check in kept:
        counter[check["type"]] += 1
        out.append({"id": f"{set_name}:{doc}:{check['type']}:{counter[check['type']]}", "set": set_name,
                    "doc": doc, **check})
    return out


def tables_markdown(tables: list) -> str:
    """A table-only tool's tables (eval.table_metrics.Table: cells with row, col, text) as Markdown pipe tables,
    so camelot's or pdfplumber's tables are scored by the same table checks as a Markdown writer's."""
    out = []
    for table in tables:
        if not table.cells:
            continue
        grid = [[""] * (max(c.col for c in table.cells) + 1) for _ in range(max(c.row for c in table.cells) + 1)]
        for cell in table.cells:
            grid[cell.row][cell.col] = " ".join((cell.text or "").split())
        out.append(grid_markdown(grid))
    return "\n\n".join(out)


# -- the output side: text, lines and tables --------------------------------------------------------------
class _HTMLTables(HTMLParser):
    """<table> elements as grids, rowspan and colspan filled with the cell's text at every covered position."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[tuple[str, int, int]]]] = []
        self._stack: list[list[list[tuple[str, int, int]]]] = []
        self._cell: list[str] | None = None
        self._span = (1, 1)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack:
            self._close_cell()
            if not self._stack[-1]:
                self._stack[-1].append([])
            self._cell = []
            self._span = (_int(a.get("rowspan")), _int(a.get("colspan")))
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def _close_cell(self) -> None:
        if self._cell is not None and self._stack:
            self._stack[-1][-1].append(("".join(self._cell), *self._span))
        self._cell = None

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr":
            self._close_cell()
        elif tag == "table" and self._stack:
            self._close_cell()
            self.tables.append(self._stack.pop())

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _int(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 100))
    except ValueError:
        return 1


def html_grids(text: str) -> list[list[list[str]]]:
    parser = _HTMLTables()
    parser.feed(text)
    grids = []
    for rows in parser.tables:
        filled: dict[tuple[int, int], str] = {}
        for r, row in enumerate(rows):
            c = 0
            for value, rowspan, colspan in row:
                while (r, c) in filled:
                    c += 1
                for dr in range(rowspan):
                    for dc in range(colspan):
                        filled[(r + dr, c + dc)] = value
                c += colspan
        if filled:
            n_rows, n_cols = max(k[0] for k in filled) + 1, max(k[1] for k in filled) + 1
            grids.append([[filled.get((r, c), "") for c in range(n_cols)] for r in range(n_rows)])
    return grids


_RULE = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$")


def markdown_grids(text: str) -> list[list[list[str]]]:
    """Markdown pipe tables (runs of lines starting with "|"), separator rows out. One pipe is taken off each
    end, so a row whose first cell is empty ("||Q1|Q2|", a stub column's head) keeps its columns."""
    grids, rows = [], []
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|"):
            if not _RULE.match(stripped):
                body = stripped[1:-1] if stripped.endswith("|") and len(stripped) > 1 else stripped[1:]
                rows.append([c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", body)])
        elif rows:
            width = max(len(r) for r in rows)
            grids.append([r + [""] * (width - len(r)) for r in rows])
            rows = []
    return grids


@dataclass(frozen=True)
class Prepared:
    text: str  # norm() of the whole output
    lines: set[str]  # norm() of each line outside tables
    tables: tuple  # grids of norm_cell() texts
    squeezed: str  # `text` without its spaces
    spaces: frozenset  # positions in `squeezed` that a space preceded


@lru_cache(maxsize=8)
def _prepared(markdown: str, math: bool = True) -> Prepared:
    """The output in the forms the checks read, once per output (scoring calls this per check)."""
    markdown = markdown or ""
    grids = markdown_grids(markdown) + html_grids(markdown)
    tables = tuple(tuple(tuple(norm_cell(math_as_text(v) if math else v) for v in row) for row in grid)
                   for grid in grids)
    outside = _HTML_TABLE.sub("\n", markdown)
    lines = {norm(line, math=math) for line in outside.splitlines()
             if line.strip() and not line.lstrip().startswith("|")}
    text = norm(markdown, math=math)
    squeezed, spaces = [], set()
    for k, token in enumerate(text.split(" ")):
        if k:
            spaces.add(sum(map(len, squeezed)))
        squeezed.append(token)
    return Prepared(text, lines - {""}, tables, "".join(squeezed), frozenset(spaces))


def _spaced(text: str, out: Prepared) -> bool:
    """The words of `text` found in the output (letters fuzzily, FUZZY) with a space at each of their
    boundaries and nowhere else inside (a character either way). A letter dropped or added moves the matched
    window a character into the next word, so a space at the window's first or last character is not counted
    (every word of a check has two letters or more)."""
    words = norm(text).split()
    target = "".join(words)
    hit = fuzz.partial_ratio_alignment(target, out.squeezed, score_cutoff=FUZZY)
    if hit is None:
        return False
    bounds = [sum(map(len, words[:k])) for k in range(1, len(words))]
    inner = [s - hit.dest_start for s in out.spaces if hit.dest_start + 1 < s < hit.dest_end - 1]
    return len(inner) == len(bounds) and all(abs(a - b) <= 1 for a, b in zip(sorted(inner), bounds, strict=True))


# -- scoring -------------------------------------------------------------------------------------------------
def _found(snippet: str, text: str) -> bool:
    return bool(snippet) and fuzz.partial_ratio(snippet, text) >= FUZZY


def _kept_line(line: str, text: str, beside: str) -> bool:
    """Whether an output line is the band line: the short text on a line of its own, or beside the rest of
    its band line ("Chapter 2. Roles and duties 11" keeps the page number 11 as surely as "11" alone)."""
    if _same_cell(line, text):
        return True
    if not beside:
        return False
    rest, n = re.subn(rf"(?<!\S){re.escape(text)}(?!\S)", " ", line, count=1)
    return n > 0 and fuzz.ratio(" ".join(rest.split()), beside) >= FUZZY


def _same_cell(a: str, b: str) -> bool:
    return a == b or (bool(a) and bool(b) and fuzz.ratio(a, b) >= FUZZY)


def _table_pass(check: dict, tables: tuple) -> bool:
    target = norm_cell(check["cell"])
    relation = next(r for r in _RELATIONS if r in check)
    want = norm_cell(check[relation])
    for grid in tables:
        rows = [list(row) for row in grid]
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if not _same_cell(value, target):
                    continue
                if relation == "top_heading":
                    if any(_same_cell(rows[h][c], want) for h in range(r) if c < len(rows[h])):
                        return True
                    continue
                at = _nearest(rows, r, c, relation)
                if at is not None and _same_cell(rows[at[0]][at[1]], want):
                    return True
    return False


_REPEAT_TOKEN = re.compile(r"\w", re.U)
_SYMBOLS = re.compile(rf"[^\w\s.\-_=*#|\u00b7\u2026]{{{MAX_SYMBOL_RUN},}}")  # leaders, rules, pipes aside


def _longest_repeat(tokens: list[str], max_n: int = 5) -> int:
    """The most times any 1..max_n-token n-gram repeats back to back."""
    best = 1
    for n in range(1, max_n + 1):
        for start in range(n):
            run, prev = 1, None
            for i in range(start, len(tokens) - n + 1, n):
                gram = tuple(tokens[i:i + n])
                run = run + 1 if gram == prev else 1
                prev = gram
                best = max(best, run)
    return best


def _baseline(raw: str) -> bool:
    text = norm(raw)
    if not any(ch.isalnum() for ch in text):
        return False
    if _SYMBOLS.search(re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw or ""))):
        return False
    tokens = [t for t in text.split() if _REPEAT_TOKEN.search(t)]  # leaders ". . ." and rules are not text
    return _longest_repeat(tokens) < MAX_REPEATS


def score(check: dict, markdown: str, math: bool = True) -> bool:
    """Whether a tool's output (Markdown or plain text of the whole document) passes the check: its formulas
    read as the glyphs they draw (math=True, as the truth has them) or as written (math=False)."""
    kind = check["type"]
    if kind == "baseline":
        return _baseline(markdown or "")
    out = _prepared(markdown or "", math)
    if kind == "present":
        return _found(norm(check["text"]), out.text)
    if kind == "absent":
        text = norm(check["text"])
        if check.get("mode") == "line":
            return not any(_kept_line(line, text, norm(check.get("beside") or "")) for line in out.lines)
        return not _found(text, out.text)
    if kind == "order":
        before = block_occurrences(norm(check["before"]), out.text, min_score=FUZZY)
        after = block_occurrences(norm(check["after"]), out.text, min_score=FUZZY)
        return bool(before) and bool(after) and min(before) < max(after)
    if kind == "table":
        return _table_pass(check, out.tables)
    if kind == "spacing":
        return _spaced(check["text"], out)
    raise ValueError(f"unknown check type {kind!r}")


def summarize(results: list[tuple[dict, bool]]) -> dict:
    """Pass rates overall (every check counts once) and per type, with counts; None where there are none."""
    total = len(results)
    passed = sum(ok for _, ok in results)
    summary: dict = {"checks_pass_rate": passed / total if total else None, "checks_count": total,
                     "checks_passed": passed}
    for kind in TYPES:
        mine = [ok for check, ok in results if check["type"] == kind]
        summary[f"checks_{kind}_pass_rate"] = sum(mine) / len(mine) if mine else None
        summary[f"checks_{kind}_count"] = len(mine)
    return summary


def score_all(checks: list[dict], markdown: str) -> list[tuple[dict, bool]]:
    return [(check, score(check, markdown)) for check in checks]


# -- the sets, as the harness names them --------------------------------------------------------------------
def set_documents(set_name: str, shared: Path | None = None) -> list[tuple[Path, Path]]:
    """(pdf, truth) of every document of a set in ../shared (the same documents eval/datasets.py lists; the
    twins' checks come from the digital page and its truth, so no render is made here)."""
    from eval import datasets

    root = shared or datasets.SHARED
    bench = root / "benchmark"

    def pairs(folder: Path, suffix: str) -> list[tuple[Path, Path]]:
        return [(p, p.with_name(p.stem + suffix)) for p in sorted(folder.glob("*.pdf"))
                if p.with_name(p.stem + suffix).exists()]

    if set_name == "drawn":  # generated pages (eval/drawn.py)
        return [(doc.pdf, doc.truth) for doc in datasets.drawn()]
    if set_name in ("docling", "twins"):
        return [(p, t) for p, t in pairs(root / "corpus" / "docling", ".md") if p.stem != "ocr_test"]
    if set_name == "icdar":
        return sorted(pairs(root / "corpus" / "icdar2013", ".tables.json")
                      + pairs(bench / "icdar2013", ".tables.json"), key=lambda d: d[0].stem)
    if set_name in ("scanned", "scanned_lowres"):  # the low-resolution pages keep the scans' truth
        extra = pairs(root / "corpus" / "docling", ".md")
        return pairs(bench / "scanned", ".txt") + [d for d in extra if d[0].stem == "ocr_test"]
    folders = {"receipts": ("sroie_receipts", ".txt"), "docbank_digital": ("docbank_digital", ".words.json"),
               "docbank_render": ("docbank_render", ".words.json"),
               "tables_tabula": ("tables_tabula", ".tables.json"),
               "tables_camelot": ("tables_camelot", ".tables.json")}
    folder, suffix = folders[set_name]
    return pairs(bench / folder, suffix)


SETS = ("docling", "drawn", "twins", "icdar", "scanned", "scanned_lowres", "receipts", "docbank_digital",
        "docbank_render", "tables_tabula", "tables_camelot")


def write_set(set_name: str, target: Path = CACHE, dropped: Counter | None = None) -> list[dict]:
    checks = []
    for pdf, truth in set_documents(set_name):
        checks += generate(set_name, pdf, truth, dropped)
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{set_name}.jsonl"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in checks), encoding="utf-8")
    tmp.replace(path)
    return checks


def load_set(set_name: str, target: Path = CACHE) -> dict[str, list[dict]]:
    """The checks of a set by document, generated first where the cache has none."""
    path = target / f"{set_name}.jsonl"
    checks = ([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
              if path.exists() else write_set(set_name, target))
    by_doc: dict[str, list[dict]] = {}
    for check in checks:
        by_doc.setdefault(check["doc"], []).append(check)
    return by_doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.checks", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write eval/cache/checks/<set>.jsonl and print counts")
    gen.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    args = parser.parse_args(argv)
    print(f"{'set':<16}{'docs':>6}" + "".join(f"{t:>10}" for t in TYPES) + f"{'total':>8}")
    dropped: dict[str, Counter] = {}
    for set_name in args.sets:
        dropped[set_name] = Counter()
        checks = write_set(set_name, dropped=dropped[set_name])
        counts = Counter(c["type"] for c in checks)
        docs = len({c["doc"] for c in checks})
        print(f"{set_name:<16}{docs:>6}" + "".join(f"{counts[t]:>10}" for t in TYPES) + f"{len(checks):>8}")
    for set_name, counter in dropped.items():
        if counter:  # a generated check the truth itself fails is left out; say how many, so none hides
            print(f"{set_name}: left out as failing on the truth itself: {dict(counter)}")
    print(f"written to {CACHE}/<set>.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
