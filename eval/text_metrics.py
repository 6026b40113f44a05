"""Text, reading-order, heading, OCR and hygiene metrics. The same normalization is applied to both sides
(the ground truth and any tool's output), so no tool gains from its own formatting."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

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
    text = _EMPHASIS.sub("", text)
    text = _ESCAPE.sub(r"\1", text)  # "QIBM\_DB" renders as "QIBM_DB" (the truth writes it both ways)
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


def normalize(text: str, markdown: bool = True) -> str:
    """NFC, Arabic-script variants folded, Markdown markup out, line-end hyphenation joined, whitespace
    collapsed."""
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
