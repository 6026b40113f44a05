"""The instrument's own normalization: what two tools render alike scores alike."""

from __future__ import annotations

from eval.text_metrics import monotone_positions, ned, normalize, reading_order_counts


def test_markdown_escapes_read_as_what_they_render():
    # the ground truth writes "QIBM_DB_ZDA" on one page and "QIBM\_DB\_ZDA" on another
    assert normalize(r"QIBM\_DB\_ZDA \# 1 \[x\]") == normalize("QIBM_DB_ZDA # 1 [x]") == "QIBM_DB_ZDA # 1 [x]"
    assert normalize(r"C:\path\to") == r"C:\path\to"  # a backslash before a letter is text


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
