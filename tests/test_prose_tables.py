"""Prose the table finder must leave alone (issue 23: no prose page turned into a table): a displayed
formula's fraction bars, a block framed by a rule above and a rule below, a contents list of numbered
sections, a transcript's numbered lines (issue 24, read box by box on an n-up sheet); the tables beside them
still found."""

from __future__ import annotations

from dataclasses import replace

from ocr_resources.geometry.page import compose
from ocr_resources.tables.detect import numbered_boxes, prose_reason, refine_regions, scanned_verdict, table_verdict
from ocr_resources.tables.rules import Rule
from ocr_resources.text.blocks import TextBlock
from ocr_resources.text.structure import looks_like_heading, numbering_depth
from ocr_resources.types import Box, DetectedRegion, Word


def _line(y: float, *cells: tuple[float, str], h: float = 8.0) -> list[Word]:
    out = []
    for x, text in cells:
        for word in text.split():
            out.append(Word(word, Box(x, y, x + 5 * len(word), y + h), 1.0))
            x += 5 * (len(word) + 1)
    return out


def _tables(regions: list[DetectedRegion]) -> list[DetectedRegion]:
    return [r for r in regions if r.label == "table"]


def test_fraction_bars_of_displayed_formulas_make_no_table():
    # three displayed fractions one under another: their bars are long rules of one extent, with short
    # phrases in two columns between them (a numerator and an equation's number), as a table stacked by rules
    words = [w for y in range(116, 196, 10) for w in _line(y, (112, "x + 1 = y"), (205, "a b c"), (330, "(B.3)"))]
    rules = [Rule(110, 113, 360, 113), Rule(110, 145, 360, 145), Rule(110, 175, 360, 175), Rule(110, 205, 360, 205)]
    formulas = [DetectedRegion(Box(100, 105, 370, 150), "formula", "equation", 0.9),
                DetectedRegion(Box(100, 150, 370, 180), "formula", "equation", 0.9),
                DetectedRegion(Box(100, 180, 370, 210), "formula", "equation", 0.9)]
    assert not _tables(refine_regions(formulas, words, rules))
    text = [DetectedRegion(r.box, "text", "text", 0.9) for r in formulas]
    assert _tables(refine_regions(text, words, rules))  # the same rules outside formulas: a table


def test_a_block_framed_by_two_rules_is_no_table_unless_its_words_are():
    code = (_line(100, (100, "function add (a, b) {")) + _line(112, (110, "return"), (160, "a"), (190, "+"),
                                                                   (220, "b;"))
            + _line(124, (100, "} console.log(add(3, 5));")))
    frame = [Rule(90, 95, 400, 95), Rule(90, 136, 400, 136)]
    assert not _tables(refine_regions([], code, frame))
    # a table with rules above, under its heading and below: found
    table = (_line(100, (100, "Year"), (200, "Sales"), (300, "Costs")) + _line(115, (100, "2019"), (200, "1,200"),
                                                                               (300, "800"))
             + _line(127, (100, "2020"), (200, "1,350"), (300, "870")) + _line(139, (100, "2021"), (200, "1,500"),
                                                                              (300, "910")))
    rules = [Rule(90, 95, 400, 95), Rule(90, 111, 400, 111), Rule(90, 151, 400, 151)]
    assert len(_tables(refine_regions([], table, rules))) == 1


def test_numbered_section_titles_are_no_table_but_numbers_beside_labels_are():
    def entry(y: float, number: str, title: str) -> list[Word]:  # a contents line: dot leaders to the right
        words = _line(y, (90, number), (116, title), h=11)
        return words + [Word(".", Box(x, y, x + 3, y + 11), 1.0) for x in range(int(words[-1].box.x1) + 8, 512, 9)]

    contents = (_line(582, (90, "Expansion of the Elastic Amplitude"), h=10) + entry(596, "2.1", "Power Counting")
                + entry(610, "2.2", "Factorization of the Elastic Amplitude"))
    ok, why = table_verdict(contents, [], Box(88, 580, 514, 622), strict=True)
    assert not ok, why
    values = (_line(100, (100, "Mass"), (200, "2.1"), (260, "kg")) + _line(112, (100, "Length"), (200, "3.4"),
                                                                           (260, "m"))
              + _line(124, (100, "Time"), (200, "5.6"), (260, "s")))
    ok, why = table_verdict(values, [], Box(90, 95, 300, 140), strict=True)
    assert ok, why


_SPEECH = ["Q. Did you keep copies of these affidavits and the letters", "A. I do not know that would be a question",
           "for the manager, because he is probably the one", "that signed them and sent them on to us later"]


def _transcript(x: float, y0: float, first: int = 1, n: int = 12) -> list[Word]:
    """A page box of a deposition transcript: line numbers in the margin, a gap, then the testimony."""
    return [w for k in range(n) for w in _line(y0 + 14 * k, (x, str(first + k)), (x + 40, _SPEECH[k % 4]))]


def test_numbered_lines_of_a_transcript_are_prose_not_a_table():
    page = _transcript(60, 100)
    assert prose_reason(page) == "prose: numbered lines of running text (a transcript or pleading)"
    ok, why = scanned_verdict(page, Box(50, 90, 400, 290), "table")  # the layout model's table on a scan
    assert not ok and "numbered lines" in why
    # a table whose first column numbers its rows, with values beside: still a table
    rows = [w for k in range(8) for w in _line(100 + 14 * k, (60, str(k + 1)), (100, f"Item {k}"), (200, f"{k}.50"),
                                                (260, f"{3 * k + 1}"))]
    assert prose_reason(rows) is None
    assert scanned_verdict(rows, Box(50, 90, 400, 230), "table")[0]


def test_boxes_of_numbered_lines_side_by_side_are_read_box_by_box():
    # a two-up transcript sheet: each box's lines numbered from 1, the boxes a narrow gap apart
    left, right = _transcript(20, 100), _transcript(380, 100)
    boxes = numbered_boxes(left + right)
    assert [len(b) for b in boxes] == [len(left), len(right)]
    assert {id(w) for w in boxes[0]} == {id(w) for w in left}
    blocks = compose(left + right, [Box(10, 90, 700, 290)], ["text"])
    text = " ".join(ln.text for b in blocks for ln in b.lines)
    assert text.startswith("1 Q. Did you keep") and text.index("12 that signed") < text.index("1 Q.", 10)
    assert numbered_boxes(_line(100, (60, "Some words of a sentence here"))) == []


def test_a_numbered_line_of_running_text_is_no_heading():
    assert numbering_depth("23 revenue.") == 1
    block = TextBlock(1, 600, 800, Box(0, 0, 60, 10), "text", "23 revenue.", size=12.0)
    assert not looks_like_heading(block, body=10.0)
    assert looks_like_heading(replace(block, text="2 Results"), body=10.0)


def test_a_layout_table_of_one_column_is_text():
    # a framed box of short lines (a sidebar, a receipt's header): the layout model's table, one column
    lines = ["Opening hours", "Monday to Friday", "Nine to five", "Closed on holidays", "Call us first"]
    words = [w for k, text in enumerate(lines) for w in _line(100 + 14 * k, (110, text))]
    frame = [Rule(100, 95, 300, 95), Rule(100, 175, 300, 175), Rule(100, 95, 100, 175), Rule(300, 95, 300, 175)]
    model = [DetectedRegion(Box(98, 93, 302, 177), "table", "table", 0.9)]
    regions = refine_regions(model, words, frame)
    assert not _tables(regions) and "one column" in regions[0].table_reason
    ok, why = scanned_verdict(words, Box(98, 93, 302, 177), "table", rules=frame)  # the same on a scan
    assert not ok and "one column" in why
    # two columns in the same frame: a table
    pairs = [w for k, text in enumerate(lines) for w in _line(100 + 14 * k, (110, text), (230, f"{k + 9}.00"))]
    assert _tables(refine_regions(model, pairs, frame))
    assert scanned_verdict(pairs, Box(98, 93, 302, 177), "table", rules=frame)[0]


_DISCLAIMER = ["the trademarks and service marks contained in this research are the property of their owners",
               "and third-party data providers make no warranties or representations relating to the data",
               "they provide, and shall not have liability for any damages relating to such data."]


def _table_rows(y0: float) -> list[Word]:
    rows = [("Company", "Rating", "Price")] + [(f"Firm {k} Inc", "E (06/08/2016)", f"${10 + k}.04") for k in range(6)]
    return [w for k, (a, b, c) in enumerate(rows) for w in _line(y0 + 12 * k, (110, a), (300, b), (420, c))]


def test_running_text_at_a_table_regions_edge_is_read_as_text_and_left_out_of_the_table():
    # a disclaimer above a price table and a note below it, all in the one box the layout model drew (seen on
    # low-resolution scans, where it took the page for one figure); the disclaimer's lines also run past the box
    from ocr_resources.pipeline.stages.tables import table_words

    above = [w for k, text in enumerate(_DISCLAIMER) for w in _line(60 + 10 * k, (40, text))]
    below = _line(200, (110, "prices are subject to change, please see the latest research for each company."))
    words = above + _table_rows(100) + below
    region = Box(105, 55, 500, 212)
    blocks = compose(words, [region], ["table"])
    table = next(b for b in blocks if b.label == "table")
    edges = [b for b in blocks if b.label == "text"]
    assert [b.text.split()[0] for b in edges] == ["the", "prices"]  # the disclaimer first, the note last
    assert "trademarks" not in table.text and "subject" not in table.text and "Company" in table.text
    assert [blocks.index(b) for b in (edges[0], table, edges[1])] == [0, 1, 2]  # in reading order
    # the tables stage fills the table from the text stage's box for it: the table's words only
    held = table_words(words, region, table.box)
    assert {w.text for w in held} == {w.text for w in table.words}
    assert not {id(w) for w in above + below} & {id(w) for w in held}


def test_a_tables_header_row_and_a_short_title_stay_the_tables():
    # capitalised labels in one gutter-free run (a header of many narrow columns), and a title row: the table's
    header = _line(88, (110, "Country Population GDP Growth Inflation Unemployment Exports Imports Debt"))
    title = _line(76, (110, "Table 3. Prices by company"))
    words = title + header + _table_rows(100)
    blocks = compose(words, [Box(105, 70, 500, 190)], ["table"])
    assert [b.label for b in blocks] == ["table"]
    # running text over a table of two rows is not split off: what is left would be no table
    words = [w for k, text in enumerate(_DISCLAIMER) for w in _line(60 + 10 * k, (110, text))] + _table_rows(100)[:9]
    assert [b.label for b in compose(words, [Box(105, 55, 500, 130)], ["table"])] == ["table"]


def test_table_words_take_a_line_the_region_cuts_whole():
    from ocr_resources.pipeline.stages.tables import table_words

    cut = _line(100, (60, "Total assets of the group"), (300, "1,200"), (420, "1,350"))  # its label starts outside
    words = cut + _table_rows(112)
    region = Box(105, 95, 500, 200)
    blocks = compose(words, [region], ["table"])
    table = next(b for b in blocks if b.label == "table")
    assert "Total" in table.text
    held = table_words(words, region, table.box)
    assert {"Total", "assets", "Company"} <= {w.text for w in held}
    assert table_words(words, region, region) == [w for w in words if region.contains_point(*w.box.center)]


def test_a_long_cell_at_a_text_tables_bottom_stays_the_tables():
    # a two-column table of terms and descriptions: the last description's lines are long running text, but
    # they stay inside the description column (they cross no column channel), so they are the table's
    rows = [("Type", "Description")] + [(f"Scale {k}", "a set of numbered categories from which patients choose one")
                                        for k in range(4)]
    words = [w for k, (a, b) in enumerate(rows) for w in _line(100 + 12 * k, (110, a), (200, b))]
    words += _line(148 + 12, (200, "checklists ask patients to place a mark in a space if the statement is true,"))
    words += _line(148 + 24, (200, "and they are reviewed for completeness and for redundancy."))
    assert [b.label for b in compose(words, [Box(105, 95, 560, 190)], ["table"])] == ["table"]


def test_a_disclaimers_short_last_line_goes_with_it():
    above = [w for k, text in enumerate(_DISCLAIMER[:2]) for w in _line(60 + 10 * k, (110, text))]
    above += _line(80, (110, "such data."))
    blocks = compose(above + _table_rows(100), [Box(105, 55, 500, 190)], ["table"])
    assert [b.label for b in blocks] == ["text", "table"]
    assert blocks[0].text.endswith("such data.") and "such" not in blocks[1].text
