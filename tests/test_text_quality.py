"""The text layer's garbage test: word-likeness per token, cached (issue 27: it is asked for every word of
every region), with the same verdicts on a second call."""

from __future__ import annotations

from ocr_resources.text import quality
from ocr_resources.types import Box, Word


def _words(text: str) -> list[Word]:
    return [Word(t, Box(10.0 * i, 0, 10.0 * i + 8, 10)) for i, t in enumerate(text.split())]


def test_word_like_verdicts_are_the_same_from_the_cache():
    samples = {"hello": True, "Ã¼ber": False, "hElLo": False, "xkcdqwr": False, "PubTabNet": True,
               "U코드": True, "42%": True, "αβγ": True}
    for _ in range(2):  # the second round is answered from the cache
        assert {t: quality._word_like(t) for t in samples} == samples
    assert quality._word_like.cache_info().hits >= len(samples)
    assert quality._script("a") == "LATIN" and quality._script("코") == "CJK"


def test_assess_garbage_and_prose():
    assert quality.assess(_words("the quick brown fox jumps over the lazy dog")).ok
    bad = quality.assess(_words("Ã¼ber hElLo xkcdqwr Ã¶ffnen mÃ¼de wÃ¤hlen"))
    assert not bad.ok and "not word-like" in bad.reason
