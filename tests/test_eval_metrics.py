"""The instrument's own normalization: what two tools render alike scores alike."""

from __future__ import annotations

from eval.text_metrics import monotone_positions, ned, normalize, reading_order_counts


def test_markdown_escapes_read_as_what_they_render():
    # the ground truth writes "QIBM_DB_ZDA" on one page and "QIBM\_DB\_ZDA" on another
    assert normalize(r"QIBM\_DB\_ZDA \# 1 \[x\]") == normalize("QIBM_DB_ZDA # 1 [x]") == "QIBM_DB_ZDA # 1 [x]"
    assert normalize(r"C:\path\to") == r"C:\path\to"  # a backslash before a letter is text
    # an escaped asterisk is the asterisk an unescaped truth writes; both go as emphasis marks alike
    assert normalize(r"a user with \*ALLOBJ access") == normalize("a user with *ALLOBJ access")


def test_markup_is_out_and_words_stay():
    md = "## Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- item **bold**\n\n<!-- image -->"
    assert normalize(md) == "Title a b 1 2 item bold"
    assert ned(normalize(md), "Title a b 1 2 item bold") == 0.0


def test_arabic_script_letters_and_digits_drawn_alike_score_alike():
    # the text layer stores Arabic yeh and ASCII digits; the page shows Persian yeh and Persian digits
    assert normalize("تاريخ 1403/09/19") == normalize("تاریخ ۱۴۰۳/۰۹/۱۹")
    assert normalize("مدارك") == normalize("مدارک")
    assert normalize("2.5 Product") == "2.5 Product" and normalize("δ ЖЯ") == "δ ЖЯ"  # other scripts untouched


def test_a_paragraph_the_output_rightly_repeats_is_placed_where_the_order_holds():
    truth = ("Preface to the guide\n\nSecuring the data of the system in detail\n\n"
             "Row and column access control in practice\n\nClosing remarks of the authors")
    # a table of contents lists the third paragraph (a heading) first, then the body reads in order
    toc = "Row and column access control in practice 13\n\n"
    body = ("Preface to the guide\n\nSecuring the data of the system in detail\n\n"
            "Row and column access control in practice\n\nClosing remarks of the authors")
    assert reading_order_counts(normalize(toc + body), truth) == (6, 6)
    # a paragraph that only comes out of order stays out of order
    shuffled = ("Row and column access control in practice\n\nPreface to the guide\n\n"
                "Securing the data of the system in detail\n\nClosing remarks of the authors")
    assert reading_order_counts(normalize(shuffled), truth) == (4, 6)


def test_monotone_positions_take_the_longest_chain_and_the_best_match_off_it():
    assert monotone_positions([[50, 10], [20], [30]]) == [10, 20, 30]
    assert monotone_positions([[5], [1], [9], []]) == [5, 1, 9, None]


# -- receipts: line recall and order-aware WER --------------------------------------------------------------
def test_a_receipt_line_is_found_in_a_predicted_line_or_a_window_of_words():
    from eval.text_metrics import best_line_similarity, line_recall_counts

    truth = ["TOTAL RM 20.00", "THANK YOU", "INVOICE NO: 22497"]
    # the tool writes two receipt columns on one line and reads one character wrong in the last line
    pred = "ITEM 1 TOTAL RM 20.00 CASH\nTHANK YOU\nINVOICE NO: 22491"
    assert best_line_similarity("TOTAL RM 20.00", pred) == 1.0  # a window of the first line
    assert best_line_similarity("INVOICE NO: 22497", pred) == 1 - 1 / 17  # one edit in 17 characters
    assert line_recall_counts(truth, pred) == (3, 3)
    # two wrong characters in a short line fall below 0.9
    assert line_recall_counts(["THANK YOU"], "THINK YOB") == (0, 1)
    assert line_recall_counts(truth, "") == (0, 3)
    # markup is not text: a Markdown heading reads as its words
    assert line_recall_counts(["THANK YOU"], "## **THANK YOU**", markdown=True) == (1, 1)
    # case does not count: the human lines are upper case where the receipt prints "Thank you"
    assert line_recall_counts(["THANK YOU"], "Thank you") == (1, 1)


def test_wer_is_order_aware_and_not_floored():
    from eval.text_metrics import wer

    assert wer("a b c d", "a b c d") == 0.0
    assert wer("c d a b", "a b c d") == 1.0  # the same words in another order: 4 edits in 4 words
    assert wer("a x c", "a b c d") == 0.5  # one substitution, one deletion
    assert wer("a b c d e f g h", "a b") == 3.0  # six insertions over two truth words
    assert wer("", "") == 0.0


# -- DocBank: bag of words, hyphen-tolerant -----------------------------------------------------------------
def test_bag_of_words_tolerates_hyphenation_either_way():
    from eval.text_metrics import bag_of_words_counts

    # truth tokens in DocBank's line order (with boxes): "distri-" ends line 1 of the left column; the right
    # column's first line ("Right") comes before the left column's second line in that order
    truth = [("The", "paragraph", (10, 10, 30, 20)), ("distri-", "paragraph", (35, 10, 60, 20)),
             ("Right", "paragraph", (110, 10, 140, 20)), ("bution", "paragraph", (10, 22, 40, 32)),
             ("magnetic-field", "caption", (10, 40, 80, 50))]
    joined = bag_of_words_counts("The distribution Right magnetic field", truth)
    assert joined["truth"] == 4 and joined["by_label"]["paragraph"] == [3.0, 3]
    # "magnetic field" (two words) does not match "magnetic-field" (one word): 3 of 4
    assert joined["matched"] == 3 and joined["by_label"]["caption"] == [0.0, 1]
    kept = bag_of_words_counts("The distri-\nbution Right magnetic-field", truth)  # a reader that keeps the break
    assert kept["matched"] == kept["truth"] == 4
    hyphen_kept = bag_of_words_counts("The distri- bution Right magneticfield", truth)  # pieces on one line
    assert hyphen_kept["matched"] == hyphen_kept["truth"] == 4
    split = bag_of_words_counts("The distri bution Right", truth)  # the pieces as words: both found, 2 truth words
    assert split["truth"] == 5 and split["matched"] == 4


def test_bag_of_words_precision_ligatures_and_placeholders():
    from eval.text_metrics import bag_of_words_counts

    truth = [("ﬁeld", "paragraph"), ("(cid:54)", "equation"), ("Figure", "caption"), ("13.", "caption")]
    c = bag_of_words_counts("field Figure 13 extra words", truth)
    assert (c["matched"], c["truth"], c["pred"]) == (3, 3, 5)  # (cid:N) is no word; "13." = "13"
    assert "equation" not in c["by_label"]
    # a word with two labels: credit shared in proportion
    shared = bag_of_words_counts("the", [("the", "caption"), ("the", "paragraph")])
    assert shared["by_label"] == {"caption": [0.5, 1], "paragraph": [0.5, 1]}


# -- TEDS ---------------------------------------------------------------------------------------------------
def test_teds_on_tiny_html_pairs():
    from eval.table_metrics import teds_html

    a = "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>"
    assert teds_html(a, a) == 1.0
    # one cell's text wrong: rename cost 1 of 6 nodes under <table> (2 tr + 4 td)
    b = "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>x</td></tr></table>"
    assert abs(teds_html(b, a) - (1 - 1 / 6)) < 1e-9
    assert teds_html(b, a, structure_only=True) == 1.0
    # a missing row: its tr and two tds deleted, 3 of 6
    c = "<table><tr><td>1</td><td>2</td></tr></table>"
    assert abs(teds_html(c, a) - 0.5) < 1e-9
    # a spanning cell where the truth has two: rename (span differs) 1 + delete 1, over 6 nodes
    d = "<table><tr><td colspan='2'>1</td></tr><tr><td>3</td><td>4</td></tr></table>"
    assert abs(teds_html(d, a, structure_only=True) - (1 - 2 / 6)) < 1e-9
    # thead/tbody and th read through; cell text compared without whitespace and case
    e = "<table><thead><tr><th>1</th><th>2</th></tr></thead><tbody><tr><td>3</td><td> 4 </td></tr></tbody></table>"
    assert teds_html(e, a) == 1.0
    # text half wrong: normalized edit distance 0.5 on one cell
    f = "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4x</td></tr></table>"
    assert abs(teds_html(f, a) - (1 - 0.5 / 6)) < 1e-9


def test_teds_grid_from_cells_fills_holes_and_drops_uncovered_rows():
    from eval.table_metrics import Cell, Table, teds

    truth = Table(1, [Cell(1, 0, "a"), Cell(1, 1, "b"), Cell(2, 0, "c")])  # row 0 absent, (2, 1) empty
    pred = Table(1, [Cell(0, 0, "a"), Cell(0, 1, "b"), Cell(1, 0, "c"), Cell(1, 1, "")])
    assert teds(pred, truth) == 1.0


def test_table_tree_edit_distance_equals_apted():
    """The O(n*m) distance for table > tr > td trees against APTED (what PubTabNet's TEDS runs) on random
    tables: rows merged and split, spans, empty rows, text."""
    import random

    import pytest

    apted = pytest.importorskip("apted")
    from rapidfuzz.distance import Levenshtein

    from eval.table_metrics import TableNode, tree_edit_distance

    def config(structure_only: bool):
        class Config(apted.Config):
            def rename(self, a, b):
                if a.tag != b.tag or a.colspan != b.colspan or a.rowspan != b.rowspan:
                    return 1.0
                if a.tag == "td" and not structure_only and (a.content or b.content):
                    return Levenshtein.normalized_distance(a.content, b.content)
                return 0.0

            def children(self, node):
                return node.children

        return Config()

    rng = random.Random(22)

    def table() -> TableNode:
        return TableNode("table", children=[
            TableNode("tr", children=[TableNode("td", rng.choice([1, 1, 2]), rng.choice([1, 1, 2]),
                                                rng.choice(["", "a", "ab", "b", "abc"]))
                                      for _ in range(rng.randint(0, 4))])
            for _ in range(rng.randint(0, 4))])

    for _ in range(400):
        a, b = table(), table()
        for structure_only in (False, True):
            expected = apted.APTED(a, b, config(structure_only)).compute_edit_distance()
            assert abs(tree_edit_distance(a, b, structure_only) - expected) < 1e-9, (a.bracket(), b.bracket())


# -- fixtures: cell-text recall and detection ---------------------------------------------------------------
def test_fixture_tables_match_one_to_one_by_cell_text():
    from eval.table_metrics import Cell, Table, score_fixture_document

    first = Table(1, [Cell(0, 0, "Year"), Cell(0, 1, "Total"), Cell(1, 0, "2007"), Cell(1, 1, "1,505")])
    second = Table(1, [Cell(0, 0, "Name"), Cell(1, 0, "Ann"), Cell(2, 0, "Bob")])
    # one predicted table holding the first table's cells shifted by a title row, nothing for the second
    pred = Table(1, [Cell(0, 0, "Title"), Cell(1, 0, "Year"), Cell(1, 1, "Total"), Cell(2, 0, "2007")])
    s = score_fixture_document([first, second], [pred])
    assert s["detected"] == 1 and s["cell_recall"] == [0.75, 0.0] and s["teds"][1] == 0.0
    other_page = Table(2, second.cells)
    assert score_fixture_document([second], [other_page])["detected"] == 0


def test_a_table_the_truth_does_not_have_marks_its_page_as_prose_turned_table():
    from eval.table_metrics import Cell, Table, prose_table_pages, table_words

    truth = table_words(["Year", "Total", "2007", "1,505"])
    real = Table(1, [Cell(0, 0, "Year"), Cell(0, 1, "Total"), Cell(1, 0, "2007"), Cell(1, 1, "1,505.")])
    prose = Table(2, [Cell(0, 0, "The results show"), Cell(0, 1, "that the method"), Cell(1, 0, "works well")])
    empty = Table(3, [Cell(0, 0, ""), Cell(0, 1, " ")])
    assert prose_table_pages([real, prose, empty], truth) == [2]
    # by page (DocBank): a page without table tokens counts as soon as a table is put on it
    assert prose_table_pages([real, prose], {1: truth}) == [2]
    assert prose_table_pages([Table(1, real.cells)], {2: truth}) == [1]
    assert prose_table_pages([], truth) == []


# -- the report split ---------------------------------------------------------------------------------------
def test_split_is_stable_and_by_name_only():
    import hashlib

    from eval.datasets import split_of

    # fixed once: these must never change (a change would mix tune and report documents)
    assert [split_of(n) for n in ("sroie_007", "sroie_033", "eu-001", "us-001", "multi_page")] == [
        "report", "tune", "tune", "report", "report"]
    for name in ("a", "b", "docbank_135_1410_4804_mpk_2", "Ünïcode name"):
        expected = "report" if hashlib.sha1(name.encode("utf-8")).digest()[0] % 2 == 0 else "tune"
        assert split_of(name) == expected
    halves = [split_of(f"doc_{i}") for i in range(400)]
    assert 150 < halves.count("report") < 250  # about half each


# -- table images: an ICDAR box (points, origin bottom-left) cropped from the rendered page ---------------------
def test_crop_box_grows_the_table_box_by_the_margin_in_top_left_pixels():
    from eval.datasets import box_in_crop, crop_box_px

    # a 792-pt-high page at 144 dpi (2 px per point); the table spans y 600..700 from the bottom
    crop = crop_box_px((100.0, 600.0, 300.0, 700.0), 792.0, 2.0, margin_pt=8.0)
    assert crop == (184, 168, 616, 400)  # top = (792 - 700 - 8) * 2: the y axis is flipped
    # in the crop's own page (116 pt high, origin bottom-left) the table sits inside the margin
    assert box_in_crop((100.0, 600.0, 300.0, 700.0), 792.0, 2.0, crop) == (8.0, 8.0, 208.0, 108.0)


def test_a_table_image_holds_the_table_where_its_truth_says(tmp_path, monkeypatch):
    import json

    import pypdfium2
    from reportlab.pdfgen import canvas

    from eval import datasets

    pdf = tmp_path / "src.pdf"
    c = canvas.Canvas(str(pdf), pagesize=(612, 792))
    c.rect(100, 600, 200, 100, fill=1)  # the "table": a black box at ICDAR's (100, 600, 300, 700)
    c.save()
    truth = tmp_path / "src.tables.json"
    table = {"table_id": 1, "page": 1, "region_bbox": [100.0, 600.0, 300.0, 700.0], "cells": []}
    truth.write_text(json.dumps({"tables": [table]}))
    monkeypatch.setattr(datasets, "CACHE", tmp_path / "cache")
    out_pdf, out_truth = datasets.make_table_image(datasets.Doc("src", pdf, truth), table, "src@p1t1")
    page = pypdfium2.PdfDocument(str(out_pdf))[0]
    width, height = page.get_size()
    assert abs(width - 216) < 1.5 and abs(height - 116) < 1.5  # the box and 8 pt of margin on each side
    x0, y0, x1, y1 = json.loads(out_truth.read_text())["tables"][0]["region_bbox"]
    image = page.render(scale=1).to_pil().convert("L")
    inside = image.getpixel((int((x0 + x1) / 2), int(height - (y0 + y1) / 2)))
    margin = image.getpixel((3, 3))
    assert inside < 50 and margin > 200  # the truth box is on the table, the corner is white


# -- layout label agreement: DocBank tokens against our regions' labels -----------------------------------------
def test_docbank_labels_map_onto_canonical_labels():
    from eval.run import DOCBANK_TO_OURS
    from ocr_resources.types import CANONICAL_LABELS

    for docbank, ours in DOCBANK_TO_OURS.items():
        assert ours and ours <= set(CANONICAL_LABELS), docbank
    assert DOCBANK_TO_OURS["equation"] == {"formula"} and DOCBANK_TO_OURS["section"] == {"title"}
    assert "text" in DOCBANK_TO_OURS["paragraph"] and "text" in DOCBANK_TO_OURS["footer"]


def test_label_agreement_counts_each_token_by_the_region_holding_its_centre():
    from eval.run import NO_REGION, label_agreement, label_agreement_counts

    regions = [{"label": "text", "x0": 0, "y0": 0, "x1": 300, "y1": 400},
               {"label": "figure", "x0": 50, "y0": 100, "x1": 250, "y1": 200},  # inside the text region: wins
               {"label": "title", "x0": 0, "y0": 420, "x1": 300, "y1": 440}]
    tokens = [("a", "paragraph", (10, 10, 30, 20)),  # text: agrees
              ("b", "paragraph", (60, 110, 80, 120)),  # the figure nested in the text holds it: disagrees
              ("c", "equation", (100, 300, 120, 310)),  # text where DocBank says equation: disagrees
              ("d", "section", (10, 425, 40, 435)),  # title: agrees
              ("e", "footer", (10, 700, 20, 710)),  # no region: disagrees
              ("f", "unknown_label", (10, 10, 20, 20))]  # a label without a mapping: left out
    counts = label_agreement_counts(tokens, regions)
    assert counts == {"paragraph": {"text": 1, "figure": 1}, "equation": {"text": 1}, "section": {"title": 1},
                      "footer": {NO_REGION: 1}}
    overall, by_class = label_agreement(counts)
    assert overall == 0.4
    assert by_class == {"equation": 0.0, "footer": 0.0, "paragraph": 0.5, "section": 1.0}


# -- formulas scored as the glyphs they draw (issue 24) --------------------------------------------------------
def test_latex_renders_to_the_words_a_text_layer_has():
    """TeX's spacing decides the words: gaps around relations, binary operators, big operators and after
    punctuation; none inside scripts; a superscript follows its base, a subscript hangs below the line (a word of
    its own, as a text layer's word extractor groups glyphs by line); fractions are two lines; accents follow
    their letter; "-" is the minus sign."""
    from eval.text_metrics import render_math

    assert render_math(r"x^2") == "x2" and render_math(r"\theta_0") == "θ 0"
    assert render_math(r"x_{i}^{2}") == "x2 i" and render_math(r"K_{NAGD}=1") == "K NAGD = 1"
    assert render_math(r"L^2(\Omega)") == "L2(Ω)"
    assert render_math(r"\alpha=\beta") == render_math(r"\alpha   =  \beta") == "α = β"  # source spaces mean nothing
    assert render_math(r"a \le -1") == "a ≤ −1"  # a minus with no operand before it is unary: glued to its digit
    assert render_math(r"a-b") == "a − b" and render_math(r"f(-x)") == "f(−x)"
    assert render_math(r"x_{n-1}") == "x n−1" and render_math(r"e^{-i\pi}") == "e−iπ"  # no gap inside a script
    assert render_math(r"\frac{a+1}{b}") == "a + 1 b"
    assert render_math(r"\sqrt{x}") == "√x" and render_math(r"\bar{u}") == "u¯"
    assert render_math(r"\sum_{i=1}^{n} a_i") == "∑n i=1 a i"
    assert render_math(r"\log(x)") == "log(x)" and render_math(r"2\log x") == "2 log x"
    assert render_math(r"(k, l)") == "(k, l)" and render_math(r"a:=b") == "a := b"
    assert render_math(r"\left( x \right)") == "(x)"
    assert render_math(r"\begin{cases} a & x>0 \\ b & \text{otherwise}\end{cases}") == "a x > 0 b otherwise"
    assert render_math(r"\mathbf{u}") == "𝐮"  # pylatexenc's math alphabet; NFKC reads it as "u" where words meet
    assert render_math(r"\frac{") == render_math(r"\frac{")  # broken LaTeX gives something, never raises


def test_only_dollar_formulas_are_rendered():
    """Pandoc's rule: no space inside either dollar, no digit after the closing one; prices stay text."""
    from eval.text_metrics import math_as_text

    assert math_as_text("costs $20 and $30, or $9.4 million per attack and $145 each") == (
        "costs $20 and $30, or $9.4 million per attack and $145 each")
    assert math_as_text(r"where $x^2$ and $$a=b$$ hold") == "where x2 and  a = b  hold"
    assert math_as_text(r"see \[12\] and \(x\)") == r"see \[12\] and \(x\)"  # escaped brackets are no formula


def test_bag_of_words_content_scores_math_as_glyphs_and_keeps_the_markup_form():
    """The same page written with LaTeX and read off the text layer: every word found as content, the LaTeX's
    words missed as written. A text without formulas scores alike both ways (accents aside)."""
    from eval.text_metrics import bag_of_words_counts

    truth = [("Let", "paragraph"), ("θ", "paragraph"), ("0", "paragraph"), ("=", "paragraph"), ("−1", "paragraph"),
             ("and", "paragraph"), ("u¯", "equation"), ("=", "equation"), ("x2", "equation"),
             ("+", "equation"), ("1", "equation"), ("Schu¨ler", "reference")]
    ours = "Let $\\theta_0 = -1$ and\n\n$$\\bar{u} = x^2 + 1$$\n\nSchüler"
    content = bag_of_words_counts(ours, truth, markdown=True, content=True)
    assert content["matched"] == content["truth"] == content["pred"] == 12
    markup = bag_of_words_counts(ours, truth, markdown=True, content=False)
    assert markup["matched"] < 6 and markup["by_label"]["equation"][0] < 3
    plain = "Let the field be a word list"
    tokens = [(w, "paragraph") for w in plain.split()]
    assert bag_of_words_counts(plain, tokens, content=True) == bag_of_words_counts(plain, tokens, content=False)
