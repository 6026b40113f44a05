"""Typographic quotes for recognisers that read every quote mark as a straight one.

PP-OCR's recognisers have the curly quotes in their character sets but answer `'` and `"` for them on
printed Latin text: their training data was normalised that way. Printed matter (books, filings, reports,
magazines) sets typographic quotes, so the straight marks are turned the way typesetting software does it
(SmartyPants' rules): an apostrophe inside or at the end of a word is ’, a mark that opens a word opens.
"""

from __future__ import annotations

_OPENERS = "([{\u2014\u2013-\u2018\u201c/"  # a quote after these opens


def typographic_quotes(word: str) -> str:
    """One whitespace-free token with straight quotes turned typographic."""
    if "'" not in word and '"' not in word:
        return word
    chars = list(word)
    for i, ch in enumerate(chars):
        if ch not in "'\"":
            continue
        prev = chars[i - 1] if i > 0 else ""
        nxt = chars[i + 1] if i + 1 < len(chars) else ""
        opening = prev == "" or prev in _OPENERS
        if ch == "'":
            if opening and nxt.isalpha():
                chars[i] = "\u2018"
            elif nxt or prev:  # don't, 70s' , '70s (elision), end of a quotation
                chars[i] = "\u2019"
        elif nxt or prev:  # a lone " is left as read
            chars[i] = "\u201c" if opening else "\u201d"
    return "".join(chars)


def capital_i(word: str) -> str:
    """A lower-case l among the capitals of an all-capital word is a capital I: in sans-serif type the two are
    the same stroke, and the recogniser, reading letter by letter, often takes the lower-case one ("MSCl",
    "APIl"). Only where every other letter is a capital (at least two), in a word of three letters or more."""
    if "l" not in word:
        return word
    letters = [ch for ch in word if ch.isalpha()]
    if len(letters) < 3 or any(ch.islower() and ch != "l" for ch in letters) or sum(ch.isupper() for ch in letters) < 2:
        return word
    return word.replace("l", "I")
