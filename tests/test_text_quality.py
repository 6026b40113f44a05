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


def test_agreement_does_not_count_two_readings_of_columns_in_another_order_as_disagreement():
    # a page of two columns: the text layer lists the left column first, OCR reads row by row across both
    left = ["Enseignant titulaire", "Niveau scolaire", "Licence de Mathematiques"]
    right = ["Education Nationale", "Essais philosophiques", "Science fiction comedie"]

    def column(lines: list[str], x: float) -> list[Word]:
        return [Word(t, Box(x + 60.0 * k, 20.0 * i, x + 60.0 * k + 50, 20.0 * i + 10))
                for i, line in enumerate(lines) for k, t in enumerate(line.split())]

    layer = column(left, 0) + column(right, 300)
    ocr = sorted(layer, key=lambda w: (w.box.y0, w.box.x0))  # the same words, read across the gutter
    regions = [Box(0, 0, 250, 60), Box(300, 0, 550, 60)]
    assert quality.agreement(layer, ocr, regions) == 1.0
    assert quality.agreement(layer, ocr) == 1.0  # (no regions: row by row, both alike)
    garbage = [Word("xq#", w.box) for w in ocr]
    assert quality.agreement(layer, garbage, regions) < quality.MIN_AGREEMENT


def test_a_text_layer_of_stray_marks_is_no_text():
    """An old OCR layer of a scan's speckle and ruling (graph paper under a sketch): marks without a letter or a
    digit and scraps of letters. A contents page's leaders, a page of formulas or of numbers is not that."""
    speckle = quality.assess(_words(":., dP . . .. ? i, . .i ' » 14 e. .. : r P . LIL Nsr • ki ., k 1 s .. 2 Y."))
    assert not speckle.ok and "stray marks" in speckle.reason
    assert quality.assess(_words("Introduction ........ 1 Methods ........ 4 Results ........ 9 Index ........ 12")).ok
    assert quality.assess(_words("x = 2 , y = 3 , x + y = 5 , so ( x + y ) / 2 = 2.5 .")).ok
    assert quality.assess(_words("12.5 % 3,400 - 17 ( 4 ) 2,210 - 9 % 1.2 . 88")).ok


def test_dot_leaders_of_a_contents_page_are_no_specks():
    """A contents page whose leaders are dots set one by one (". . . . ."): most of its tokens are dots, none is
    dirt."""
    leader = " ".join(["."] * 40)
    page = " ".join(f"{title} {leader} {n}" for title, n in
                    [("Notices", "vii"), ("Trademarks", "viii"), ("Preface", "xi"), ("Authors", "xi"),
                     ("Comments welcome", "xiii"), ("1.1 Security fundamentals", "2")])
    assert quality.assess(_words(page)).ok


def test_ocr_reading_more_words_of_more_text_is_no_sign_of_lost_spaces():
    """OCR finds more words than the text layer because it reads a picture's words too (a brochure's highlights
    in an image): the letters differ by more than a tenth, so the layer's spaces are not in question. The same
    letters with far fewer words are."""
    layer = _words("Expert help to achieve your business requirements " * 3)
    ocr = _words("Expert help to achieve your business requirements " * 3 + "Enhance the performance of your "
                 "database operations Earn greater return on IT projects")
    assert not quality.runs_words_together(layer, ocr)
    joined = _words("Experthelp toachieve yourbusiness requirements " * 5)
    assert quality.runs_words_together(joined, _words("Expert help to achieve your business requirements " * 5))
