"""Line-end hyphenation, joined where the document itself says the joined word is a word.

"modifi-" + "cations" becomes "modifications"; "load-" + "carrying" stays "load-carrying" when the
document writes "load-carrying" elsewhere, or when "load" and "carrying" are both words it uses on their
own. The vocabulary is the document's own words (no dictionary is needed, any language works); with no
evidence either way a hyphen before a lower-case continuation is taken for hyphenation, as it nearly always
is in typeset text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_TOKEN = re.compile(r"[^\W\d_](?:[\w'’-]*\w)?")
_HYPHENS = "-\u2010\u00ad"


class Vocabulary:
    """Lower-cased words of a document, as written (hyphenated compounds kept whole too)."""

    def __init__(self, texts: Iterable[str] = ()):
        self.counts: Counter[str] = Counter()
        for text in texts:
            self.add(text)

    def add(self, text: str) -> None:
        for line in text.split("\n"):
            tokens = line.split()
            # a line's last word may itself be a hyphenated fragment: it is no evidence of a word
            for tok in tokens[:-1] if tokens and tokens[-1][-1:] in _HYPHENS else tokens:
                for m in _TOKEN.finditer(tok):
                    word = m.group(0).lower()
                    self.counts[word] += 1
                    if "-" in word:
                        self.counts.update(p for p in word.split("-") if p)

    def __contains__(self, word: str) -> bool:
        return self.counts.get(word.lower(), 0) > 0


def _alpha_tail(word: str) -> str:
    m = re.search(r"[^\W\d_]+$", word)
    return m.group(0) if m else ""


def _alpha_head(word: str) -> str:
    m = re.match(r"[^\W\d_]+", word)
    return m.group(0) if m else ""


def join_choice(prefix_word: str, next_word: str, vocab: Vocabulary) -> str | None:
    """How "prefix-" at a line end joins `next_word` at the next line's start: the joined text, or None to
    leave the line break alone (not a hyphen, or nothing to join)."""
    if len(prefix_word) < 2 or prefix_word[-1] not in _HYPHENS or prefix_word[-2] in _HYPHENS:
        return None
    stem = prefix_word[:-1]
    mark = "-" if prefix_word[-1] == "\u00ad" else prefix_word[-1]  # a kept hyphen as the document wrote it
    left, right = _alpha_tail(stem), _alpha_head(next_word)
    if not left or not next_word:
        return None
    if not right or not right[0].islower():
        return stem + mark + next_word  # "COVID-" + "19", "Jean-" + "Pierre": a real hyphen, no space
    closed, hyphenated = (left + right).lower(), f"{left}-{right}".lower()
    if closed in vocab:
        return stem + next_word
    if hyphenated in vocab or (left in vocab and right in vocab and len(left) > 1 and len(right) > 1):
        return stem + mark + next_word
    return stem + next_word


# a web address cut at a line end: it starts the token (after an opening bracket) and stops where an address goes on
_URL_START = re.compile(r"^[(<\[]?(?:(?:https?|ftp):(?://)?|www\.)(?:\S*[/.\-_=?&#:~%+])?$")
# ... and what goes on with it on the next line: address characters only, with a path, a query or a domain in them
_URL_REST = re.compile(r"^[\w\-./~%?=&#:+@]+[)\]>]?[.,;:]?$")


def url_join(left: str, right: str) -> str | None:
    """A web address the line break cut ("(https://CRAN." / "R-project.org/package=png)"): the two parts as one,
    without a space; None where the next line's first word is no part of it (a sentence after an address)."""
    if not _URL_START.match(left) or not _URL_REST.match(right):
        return None
    head = right.split("/", 1)[0]
    if "/" in right or "=" in right or re.search(r"\w{2,}\.\w", head):
        return left + right
    return None


def dehyphenate(lines: list[str], vocab: Vocabulary) -> list[str]:
    """Lines with each line-end hyphenation, and each web address a line end cut, joined: the whole word moves up
    to the first line."""
    out = list(lines)
    for k in range(len(out) - 1):
        words, nxt = out[k].split(" "), out[k + 1].split(" ", 1)
        if not words or not words[-1] or not nxt[0]:
            continue
        joined = url_join(words[-1], nxt[0]) or join_choice(words[-1], nxt[0], vocab)
        if joined is None:
            continue
        out[k] = " ".join([*words[:-1], joined])
        out[k + 1] = nxt[1] if len(nxt) > 1 else ""
    return [line for line in out if line]
