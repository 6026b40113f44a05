"""The unit checks (eval/checks.py): generated from a truth by one code path, passed by an output that is
right and failed by one that is wrong in exactly the way each check names."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2
import pytest
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

from eval import checks as checks_module
from eval.checks import TYPES, generate, html_grids, score, score_all, summarize, tables_markdown
from eval.table_metrics import from_grid

HEAD = "Example Company Quarterly Review"
FOOT = "Internal use only"
P1 = ("The committee reviewed the annual budget in detail. "
      "Several members asked for clearer figures on travel costs.")
P2 = ("The second meeting focused on hiring plans for next year. "
      "Everyone agreed that the new office should open in spring.")
ROWS = [["Region", "Sales", "Staff"], ["North", "120", "14"], ["South", "95", "11"]]


def _table_md(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|---|---|---|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def _draw_page(path: Path, head: str = HEAD) -> None:
    """One page: a running head with the page number far right on its line, a footer and a stray fragment,
    two paragraphs, a table."""
    c = canvas.Canvas(str(path), pagesize=letter)
    width, height = letter
    c.setFont("Helvetica", 9)
    c.drawString(72, height - 40, head)
    c.drawRightString(width - 72, height - 40, "7")
    c.drawString(72, 30, FOOT)
    c.drawRightString(width - 72, 30, "x 10")  # a chart's axis label: neither a page number nor a word
    c.setFont("Helvetica", 11)
    y = height - 120
    for paragraph in (P1, P2):
        for sentence in paragraph.split(". "):
            c.drawString(72, y, sentence.rstrip(".") + ".")
            y -= 16
        y -= 14
    for row in ROWS:
        for k, cell in enumerate(row):
            c.drawString(72 + 110 * k, y, cell)
        y -= 16
    c.showPage()
    c.save()


@pytest.fixture
def page(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(pdf, Markdown truth, fixture-style tables truth) of a small digital page."""
    pdf = tmp_path / "minutes.pdf"
    _draw_page(pdf)
    truth = tmp_path / "minutes.md"
    truth.write_text(f"## Minutes\n\n{P1}\n\n{P2}\n\n{_table_md(ROWS)}\n", encoding="utf-8")
    tables = tmp_path / "minutes.tables.json"
    cells = [[r, c, text] for r, row in enumerate(ROWS) for c, text in enumerate(row)]
    tables.write_text(json.dumps({"tables": [{"page": 1, "cells": cells}]}), encoding="utf-8")
    return pdf, truth, tables


def _right_output() -> str:
    return f"# Minutes\n\n{P1}\n\n{P2}\n\n{_table_md(ROWS)}\n"


def _all_checks(page: tuple[Path, Path, Path]) -> list[dict]:
    pdf, truth, tables = page
    return generate("docling", pdf, truth) + generate("tables_tabula", pdf, tables)


def test_generation_yields_every_type_as_small_records(page):
    checks = _all_checks(page)
    assert {c["type"] for c in checks} == set(TYPES)
    assert len({c["id"] for c in checks}) == len(checks)
    assert all({"id", "set", "doc", "type"} <= set(c) and c["doc"] == "minutes" for c in checks)
    absent = {c["text"]: c["mode"] for c in checks if c["type"] == "absent"}
    # the running head, the page number on its line and the footer, each its own check; nothing of the body
    assert absent == {HEAD: "text", "7": "line", FOOT: "line"}
    present = [c["text"] for c in checks if c["type"] == "present"]
    assert "Several members asked for clearer figures on travel costs." in present
    assert "Minutes" not in present  # one word says nothing about a page
    order = [(c["before"], c["after"]) for c in checks if c["type"] == "order"]
    assert order == [("Several members asked for clearer figures on travel costs.",
                      "The second meeting focused on hiring plans for next year.")]
    assert json.loads(json.dumps(checks)) == checks  # plain JSON, one line each in the cache


def test_a_right_output_passes_every_check(page):
    results = score_all(_all_checks(page), _right_output())
    assert all(ok for _, ok in results), [c for c, ok in results if not ok]
    # Markdown emphasis, escapes, other quotes and dashes, and case do not matter
    styled = _right_output().replace("Several members", "**Several** members").replace("travel costs",
                                                                                       "TRAVEL costs")
    assert all(ok for _, ok in score_all(_all_checks(page), styled))


def _failed(checks: list[dict], output: str) -> set[str]:
    return {c["type"] for c, ok in score_all(checks, output) if not ok}


def test_a_running_head_or_page_number_kept_fails_absent_only(page):
    checks = _all_checks(page)
    assert _failed(checks, f"{HEAD}\n\n" + _right_output()) == {"absent"}
    assert _failed(checks, _right_output() + "\n7\n") == {"absent"}
    assert _failed(checks, _right_output() + f"\n_{FOOT}_\n") == {"absent"}
    # the page number kept on its running head's line is kept all the same
    number = next(c for c in checks if c["type"] == "absent" and c["text"] == "7")
    assert number["beside"] == HEAD and not score(number, f"{HEAD} 7\n\n" + _right_output())
    # the page number's digits inside the body or a table are no page number
    assert _failed(checks, _right_output() + "\nSee item 7 of the agenda.\n\n| Item | 7 |\n|---|---|\n") == set()


def test_swapped_paragraphs_fail_order_only(page):
    swapped = f"# Minutes\n\n{P2}\n\n{P1}\n\n{_table_md(ROWS)}\n"
    assert _failed(_all_checks(page), swapped) == {"order"}


def test_a_moved_cell_or_a_table_as_plain_text_fails_table(page):
    checks = [c for c in _all_checks(page) if c["type"] == "table"]
    moved = [["Region", "Sales", "Staff"], ["North", "95", "14"], ["South", "120", "11"]]
    assert not all(score(c, _table_md(moved)) for c in checks)
    plain = "\n".join("  ".join(row) for row in ROWS)  # a text extractor's table: no table at all
    assert not any(score(c, plain) for c in checks)
    html = ("<table><tr><th>Region</th><th>Sales</th><th>Staff</th></tr>"
            "<tr><td>North</td><td>120</td><td>14</td></tr><tr><td>South</td><td>95</td><td>11</td></tr></table>")
    assert all(score(c, html) for c in checks)


def test_a_missing_sentence_fails_present_and_garbage_fails_baseline(page):
    checks = _all_checks(page)
    assert _failed(checks, _right_output().replace(P2, "")) >= {"present"}
    looping = _right_output() + " the the the" * 40
    assert _failed(checks, looping) == {"baseline"}
    assert _failed(checks, _right_output() + "\n" + "\u25a0\u25c6" * 40) == {"baseline"}
    assert not score({"type": "baseline"}, "")
    # dot leaders and table rules are layout, not garbage
    assert score({"type": "baseline"}, "Contents " + ". " * 200 + "7\n\n|" + "---|" * 60)


@pytest.mark.parametrize("head", ["Minutes of the annual budget review", "Minutes of the yearly budget review"])
def test_a_band_line_the_truth_contains_is_never_an_absent_check(tmp_path, head):
    # the title repeated as a running head, or nearly (a tool writing the truth's title must not fail)
    pdf = tmp_path / "report.pdf"
    _draw_page(pdf, head=head)
    truth = tmp_path / "report.md"
    truth.write_text(f"# Minutes of the annual budget review\n\n{P1}\n\n{P2}\n", encoding="utf-8")
    absent = [c["text"] for c in generate("docling", pdf, truth) if c["type"] == "absent"]
    assert absent == ["7", FOOT]


def test_an_image_twin_takes_its_absent_checks_from_the_digital_page(page, tmp_path):
    pdf, truth, _ = page
    twin = tmp_path / "twins" / "minutes.pdf"
    twin.parent.mkdir()
    doc = pypdfium2.PdfDocument(str(pdf))
    image = doc[0].render(scale=1).to_pil().convert("RGB")
    doc.close()
    image.save(twin, format="PDF", resolution=72.0)
    digital = [(c["type"], c.get("text")) for c in generate("docling", pdf, truth)]
    from_twin = [(c["type"], c.get("text")) for c in generate("twins", twin, truth)]
    assert from_twin == digital and ("absent", HEAD) in from_twin


def test_a_markdown_row_with_an_empty_first_cell_keeps_its_columns():
    stub = "||Q1|Q2|\n|---|---|---|\n|2004|34.7|36.2|\n|2005|58.1|63.4|\n"  # a stub column's empty head
    assert score({"type": "table", "cell": "63.4", "top_heading": "Q2"}, stub)
    assert score({"type": "table", "cell": "Q1", "right": "Q2"}, stub)
    assert not score({"type": "table", "cell": "63.4", "top_heading": "Q1"}, stub)


def test_a_table_only_tools_tables_are_scored_as_markdown(page):
    checks = [c for c in _all_checks(page) if c["type"] == "table"]
    found = from_grid(1, [[c.replace("1", "1\n") for c in row] for row in ROWS])  # camelot keeps line breaks
    assert all(score(c, tables_markdown([found])) for c in checks)
    assert not all(score(c, tables_markdown([from_grid(1, [ROWS[0], ROWS[2], ROWS[1]])])) for c in checks)


def test_html_tables_fill_spans_so_neighbours_hold():
    grid = html_grids("<table><tr><td rowspan='2'>Group</td><td colspan='2'>Totals</td></tr>"
                      "<tr><td>a</td><td>b</td></tr></table>")
    assert grid == [[["Group", "Totals", "Totals"], ["Group", "a", "b"]]]
    assert score({"type": "table", "cell": "b", "top_heading": "Totals"}, "<table><tr><td colspan='2'>Totals"
                 "</td></tr><tr><td>a</td><td>b</td></tr></table>")


_VOCABULARY = ("amber birch cedar dune elm fern grove heath iris juniper kelp larch moss nettle oak pine quince "
               "reed sage thyme umber vine willow yarrow zinnia aster basil clover daisy ember flax gorse holly ivy "
               "jasmine kale lichen maple nutmeg olive poppy rye sorrel tansy ulex violet wheat").split()


def _sentence(first: int, step: int) -> str:
    return " ".join(_VOCABULARY[(first + step * k) % len(_VOCABULARY)] for k in range(6)).capitalize() + "."


LEFT = [_sentence(7 * n, 1) for n in range(10)]
RIGHT = [_sentence(7 * n + 1, 3) for n in range(10)]


def _docbank_words(path: Path, hole_at: int | None = None) -> None:
    """A two-column page of ten lines a column, its tokens running line by line across both columns
    (DocBank's order), under a section heading; `hole_at`: a left line that lost a token mid-line."""
    words = [{"text": t, "bbox_pt": [60.0 + 60 * i, 86, 110.0 + 60 * i, 97], "label": "section"}
             for i, t in enumerate(["1", "Introduction"])]  # right above the left column
    for k in range(10):
        y = 100 + 12 * k
        for column, x0 in ((LEFT, 60.0), (RIGHT, 320.0)):
            x = x0
            for i, token in enumerate(column[k].split()):
                if column is LEFT and k == hole_at and i == 3:
                    x += 40  # the token DocBank filed elsewhere leaves a gap
                    continue
                words.append({"text": token, "bbox_pt": [x, y, x + 6 * len(token), y + 11], "label": "paragraph"})
                x += 6 * len(token) + 4
    path.write_text(json.dumps({"page_size_pt": [612, 792], "words": words}), encoding="utf-8")


def test_docbank_tokens_are_read_per_column(tmp_path):
    truth = tmp_path / "page.words.json"
    _docbank_words(truth)
    checks = generate("docbank_digital", tmp_path / "page.pdf", truth)
    present = {c["text"] for c in checks if c["type"] == "present"}
    assert present and present <= set(LEFT + RIGHT)
    order = {(c["before"], c["after"]) for c in checks if c["type"] == "order"}
    consecutive = set(zip(LEFT, LEFT[1:], strict=False)) | set(zip(RIGHT, RIGHT[1:], strict=False))
    assert order and order <= consecutive


def test_a_docbank_line_with_lost_tokens_gives_no_check(tmp_path, monkeypatch):
    monkeypatch.setattr(checks_module, "MAX_PRESENT", 100)  # every candidate, not an even spread

    def texts(hole_at: int | None) -> set[str]:
        truth = tmp_path / "page.words.json"
        _docbank_words(truth, hole_at=hole_at)
        found = generate("docbank_digital", tmp_path / "page.pdf", truth)
        return {c.get(k) for c in found for k in ("text", "before", "after") if c.get(k)}

    assert LEFT[4] in texts(None)
    assert not any(t.startswith(LEFT[4][:16]) for t in texts(4))  # the line DocBank lost a token of


def test_receipt_lines_on_one_row_have_no_order(tmp_path):
    txt = tmp_path / "r.txt"
    lines = [("CITY HARDWARE STORE SDN. BHD.", [10, 10, 300, 30]), ("CASH SALE RECEIPT NO 1", [10, 40, 150, 60]),
             ("DATE 01/02/2018 10:00", [160, 40, 300, 60])]
    txt.write_text("\n".join(t for t, _ in lines), encoding="utf-8")
    (tmp_path / "r.lines.json").write_text(json.dumps({"lines": [{"text": t, "bbox_px": b} for t, b in lines]}))
    checks = generate("receipts", tmp_path / "r.pdf", txt)
    assert {c["text"] for c in checks if c["type"] == "present"} == {t for t, _ in lines}
    order = [(c["before"], c["after"]) for c in checks if c["type"] == "order"]
    assert order == [("CITY HARDWARE STORE SDN. BHD.", "CASH SALE RECEIPT NO 1")]  # a line is never cut


def _hocr(path: Path, lines: list[tuple[list[int], str]]) -> None:
    spans = "".join(f"<span class='ocr_line' title=\"bbox {x0} {y0} {x1} {y1}\">"
                    + "".join(f"<span class='ocrx_word'>{w}</span>" for w in text.split()) + "</span>"
                    for (x0, y0, x1, y1), text in lines)
    path.with_name(path.stem + ".truth.hocr").write_text(f"<html><body>{spans}</body></html>", encoding="utf-8")
    path.with_name(path.stem + ".wrap.json").write_text(json.dumps({"dpi": 72}), encoding="utf-8")
    path.write_text("\n".join(text for _, text in lines), encoding="utf-8")


def test_a_scan_gives_checks_from_running_text_only(tmp_path):
    prose = ["The inspection of the site began early in the morning", "and the crew finished the survey before noon.",
             "Their report lists every defect that was found", "along the northern wall of the building."]
    box = ["New customer order", "arrives by fax", "Check the credit", "limit of account"]  # a flow chart's box
    lines = ([([50, 100 + 14 * k, 500, 112 + 14 * k], t) for k, t in enumerate(prose)]
             + [([50, 300 + 14 * k, 150, 312 + 14 * k], t) for k, t in enumerate(box)])
    txt = tmp_path / "scan.txt"
    _hocr(txt, lines)
    checks = generate("scanned", tmp_path / "scan.pdf", txt)
    present = {c["text"] for c in checks if c["type"] == "present"}
    assert present == {"The inspection of the site began early in the morning and the crew finished the survey "
                       "before noon.", "Their report lists every defect that was found along the northern wall of "
                       "the building."}
    assert [c["type"] for c in checks].count("order") == 1


def test_summarize_gives_rates_per_type_and_counts():
    results = [({"type": "present"}, True), ({"type": "present"}, False), ({"type": "table"}, True),
               ({"type": "absent"}, True)]
    s = summarize(results)
    assert s["checks_pass_rate"] == 0.75 and s["checks_count"] == 4 and s["checks_passed"] == 3
    assert s["checks_present_pass_rate"] == 0.5 and s["checks_present_count"] == 2
    assert s["checks_table_pass_rate"] == 1.0 and s["checks_order_pass_rate"] is None
    assert summarize([])["checks_pass_rate"] is None


def test_docbank_placeholders_of_drawn_lines_are_no_words(tmp_path):
    """DocBank files each ruling or tick of a plot as a '##LTLine##' token labelled like the text around it:
    no scorer may count them as words to find (they made one page lose 704 of 942 'paragraph' tokens)."""
    from eval.datasets import Doc, docbank_tokens, docbank_words
    from eval.formulas import docbank_paragraph_counts
    from eval.text_metrics import bag_of_words_counts

    truth = tmp_path / "page.words.json"
    _docbank_words(truth)
    data = json.loads(truth.read_text(encoding="utf-8"))
    real = len(data["words"])
    data["words"] += [{"text": t, "bbox_pt": [200.0, 300.0 + i, 260.0, 300.5 + i], "label": "paragraph"}
                      for i, t in enumerate(["##LTLine##"] * 50 + ["##LTFigure##"])]
    truth.write_text(json.dumps(data), encoding="utf-8")
    doc = Doc("page", tmp_path / "page.pdf", truth)
    tokens = docbank_tokens(doc)
    assert len(tokens) == real and not any(t[0].startswith("##") for t in tokens)
    markdown = "1 Introduction\n\n" + "\n".join(LEFT + RIGHT)
    counts = bag_of_words_counts(markdown, tokens, markdown=True)
    assert counts["matched"] == counts["truth"]
    found, total = docbank_paragraph_counts(markdown, docbank_words(data))
    assert total and found == total
    assert {c["type"] for c in generate("docbank_digital", tmp_path / "page.pdf", truth)}


def test_a_word_split_inside_or_two_joined_fail_spacing_not_a_misread_letter(tmp_path):
    """The low-resolution scan's class ("becam e", "leadingto") and the text layer's missing spaces fail the
    spacing checks; a misread letter or a line break does not."""
    prose = ["The inspection of the site began early in the morning", "and the crew finished the survey before noon.",
             "Their report lists every defect that was found", "along the northern wall of the building."]
    txt = tmp_path / "scan.txt"
    _hocr(txt, [([50, 100 + 14 * k, 500, 112 + 14 * k], t) for k, t in enumerate(prose)])
    checks = [c for c in generate("scanned_lowres", tmp_path / "scan.pdf", txt) if c["type"] == "spacing"]
    assert [c["text"] for c in checks] == ["The inspection of", "Their report lists"]
    right = "\n".join(prose)
    assert all(score(c, right) for c in checks)
    assert all(score(c, right.replace("inspection", "inspectlon").replace("report", "rep0rt")) for c in checks)
    assert all(score(c, right.replace("inspection", "inspecion").replace("Their report", "Their repport"))
               for c in checks)  # a letter dropped or added
    assert all(score(c, right.replace(" the site", "\nthe site")) for c in checks)
    for broken in (right.replace("inspection", "insp ection"), right.replace("The inspection", "Theinspection"),
                   right.replace("report lists", "reportlists")):
        assert [score(c, broken) for c in checks].count(False) == 1, broken


def test_the_drawn_set_has_its_title_and_picture_words_in_the_truth_only(tmp_path):
    """eval/drawn.py's pages: the outlined title and the pictured line are in the truth and not in the text
    layer, so a tool that reads only the text layer fails their checks and the truth passes them."""
    from eval.drawn import page, write_set

    (name, pdf, md), = write_set(tmp_path, pages=1)
    truth = md.read_text(encoding="utf-8")
    title, picture = truth.split("\n\n")[:2]
    doc = pypdfium2.PdfDocument(str(pdf))
    layer = doc[0].get_textpage().get_text_range()
    doc.close()
    assert title.startswith("# ") and title[2:] not in layer and picture not in layer
    assert truth.split("\n\n")[2].split()[0] in layer  # the body is text layer
    checks = generate("drawn", pdf, md)
    drawn = [c for c in checks if c["type"] == "present" and c["text"] in (title[2:], picture)]
    assert drawn and all(score(c, truth) for c in drawn) and not any(score(c, layer) for c in drawn)
    assert page(name)[1] == truth  # the same words for the same name, every time


def test_checks_read_formulas_as_the_glyphs_they_draw():
    """A sentence with inline math, as DocBank's truth has it (the text layer's glyphs), is found in an output
    that writes the formula as LaTeX; scored as written (math=False) it is not. No `$` formula, no difference."""
    check = {"type": "present", "text": "The flux ∂C ∂X = 0 holds at the wall of the cell."}
    ours = "The flux $\\frac{\\partial C}{\\partial X}=0$ holds at the wall of the cell."
    assert score(check, ours) and not score(check, ours, math=False)
    plain = "The flux is zero and $20 or $30 were paid."
    assert score({"type": "present", "text": plain}, plain) and score({"type": "present", "text": plain}, plain,
                                                                       math=False)
