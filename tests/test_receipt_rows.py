"""Text in a figure that is not running text (a receipt, a form) is read row by row, each row whole
(`geometry.page._rows`); running text in a figure is still read as paragraphs."""

from __future__ import annotations

from ocr_resources.geometry.page import compose
from ocr_resources.types import Box, Word


def _row(y: float, *cells: tuple[float, str]) -> list[Word]:
    """Words of one row: each cell's words from its x, monospaced (6 pt a character, a space between)."""
    out = []
    for x, text in cells:
        for word in text.split():
            out.append(Word(word, Box(x, y, x + 6 * len(word), y + 8), 0.9))
            x += 6 * (len(word) + 1)
    return out


def test_a_receipt_in_a_figure_reads_each_item_with_its_price():
    lines = [("Description", "Amount"), ("TOMBOW C/Tape CX5N", "19.78 T"), ("Member Discount", "-1.20"),
             ("Total RM Incl. of GST", "49.39"), ("Rounding Adj", "0.01"), ("Total RM", "49.40"),
             ("Cash", "-50.00"), ("CHANGE", "0.60")]
    words = [w for i, (label, value) in enumerate(lines) for w in _row(20 + 12 * i, (10, label), (160, value))]
    region = Box(5, 15, 230, 125)
    blocks = compose(words, [region], ["figure"], page=Box(0, 0, 240, 400),
                     text_figures={0: "figure mostly text lines"})
    texts = [b.text for b in blocks if b.text]
    assert texts == [f"{label} {value}" for label, value in lines]


def test_running_text_in_a_figure_still_reads_as_paragraphs():
    sentences = ["the quick brown fox jumps over the lazy dog", "a second line of the same paragraph runs on",
                 "so that no gap between its words lines up", "with any gap of the lines above it or below",
                 "which is how running text is set in a page", "and how it is read back in its order here."]
    words = [w for i, sentence in enumerate(sentences) for w in _row(20 + 12 * i, (10, sentence))]
    blocks = compose(words, [Box(5, 15, 400, 100)], ["figure"], page=Box(0, 0, 420, 600),
                     text_figures={0: "figure mostly text lines"})
    assert " ".join(b.text for b in blocks if b.text).replace("\n", " ") == " ".join(sentences)
    assert not any(b.form_row for b in blocks if b.text)  # paragraphs (`_paragraphs`), not rows


def test_prose_beside_a_box_of_short_lines_in_a_figure_is_not_cut_into_rows():
    """A report page taken for one picture: prose on the left, an analyst box of short lines on the right,
    more short lines than long ones. Most words are the prose's, so it reads as paragraphs, the box apart,
    not row by row with the box's lines cut into the sentences."""
    sentences = ["the quick brown fox jumps over the lazy dog", "a second line of the same paragraph runs on",
                 "so that no gap between its words lines up", "with any gap of the lines above it or below"]
    box = ["Research Analysts", "Jane Doe, CFA", "416 352 4593", "jane.doe@example.com", "John Roe, CPA",
           "416 352 4594"]
    words = [w for i, sentence in enumerate(sentences) for w in _row(20 + 12 * i, (10, sentence))]
    words += [w for i, line in enumerate(box) for w in _row(14 + 10 * i, (300, line))]
    blocks = compose(words, [Box(5, 10, 440, 80)], ["figure"], page=Box(0, 0, 460, 600),
                     text_figures={0: "figure mostly text lines"})
    texts = [b.text.replace("\n", " ") for b in blocks if b.text]
    assert " ".join(sentences) in texts, texts
    assert not any("Jane" in t and "fox" in t for t in texts)
