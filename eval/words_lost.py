"""Words in = words out: per page, the share of the page's words (text layer or OCR, whichever its text came
from) that its document's Markdown holds, words of page furniture and of tables left out. A page whose
Markdown holds less than `MIN_SHARE` of them is losing words (a label that swallowed text, a region whose
text was never exported).

Counting: words are cut into tokens (letters and digits; one token per CJK character, as Markdown joins CJK
lines without a space), lower-cased and NFKC-folded on both sides. Each page's tokens are taken off its
document's Markdown tokens as a multiset, pages in order, so a word exported twice still counts once and a
word exported nowhere counts as lost. A word ending in a hyphen and the word after it count as found when
the Markdown holds them joined (de-hyphenation)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_SHARE = 0.95
FURNITURE = ("header", "footer")
_CJK = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_HYPHENS = ("-", "\u00ad", "\u2010")

Query = Callable[[str, list | None], list[dict[str, Any]]]


@dataclass
class PageCoverage:
    container_id: str
    document_id: str
    page_no: int
    words: int  # tokens of the page's words (furniture and tables left out)
    found: int  # of them, in the Markdown

    @property
    def share(self) -> float:
        return self.found / self.words if self.words else 1.0


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "").lower().replace("\\", "")
    return _TOKEN.findall(re.sub(r"<!--.*?-->", " ", text))


def _centre_in(w: dict[str, Any], boxes: list[dict[str, Any]]) -> bool:
    cx, cy = (w["x0"] + w["x1"]) / 2, (w["y0"] + w["y1"]) / 2
    return any(b["x0"] - 0.5 <= cx <= b["x1"] + 0.5 and b["y0"] - 0.5 <= cy <= b["y1"] + 0.5 for b in boxes)


def page_words(page: dict[str, Any], words: list[dict[str, Any]], texts: list[dict[str, Any]],
               tables: list[dict[str, Any]]) -> list[str]:
    """The texts of the words a page's Markdown should hold, in word order: from the source its text rows
    came from (text layer, or OCR in the rows read by OCR), less furniture, table words and the formulas of a
    page without a text layer."""
    boxed = [t for t in texts if t["x0"] is not None and (t["text"] or "").strip()]
    ocr_rows = [t for t in boxed if t["text_source"] == "ocr"]
    layer = [w for w in words if w["source"] == "text_layer"]
    ocr = [w for w in words if w["source"] == "ocr"]
    if not page["has_text_layer"] or (boxed and len(ocr_rows) == len(boxed)) or not layer:
        chosen = ocr if ocr or not page["has_text_layer"] else layer
    else:  # the text layer, except in the regions read by OCR
        chosen = [w for w in layer if not _centre_in(w, ocr_rows)] + [w for w in ocr if _centre_in(w, ocr_rows)]
    # formulas OCR'd on a page without a text layer stand in the Markdown as an image marker with their box
    # (OCR's glyphs of math are soup): accounted for there, like a table's cells in its table
    scanned_formulas = [t for t in boxed if t["label"] == "formula" and not page["has_text_layer"]]
    left_out = [t for t in boxed if t["label"] in (*FURNITURE, "table")] + tables + scanned_formulas
    return [w["text"] or "" for w in chosen if not _centre_in(w, left_out)]


def match(page_texts: list[str], available: Counter[str]) -> tuple[int, int]:
    """(tokens, tokens found) of one page's words, taking the found ones off `available`."""
    total = found = 0
    pending: str | None = None  # the last token of a word that ended in a hyphen
    for text in page_texts:
        toks = tokens(text)
        if not toks:
            continue
        if pending is not None and available[pending + toks[0]] > 0:
            available[pending + toks[0]] -= 1
            found += 2
            total += 2
            toks = toks[1:]
        elif pending is not None:
            total += 1
            if available[pending] > 0:
                available[pending] -= 1
                found += 1
        pending = None
        hyphenated = text.rstrip().endswith(_HYPHENS) and bool(toks)
        body = toks[:-1] if hyphenated else toks
        for t in body:
            total += 1
            if available[t] > 0:
                available[t] -= 1
                found += 1
        if hyphenated:
            pending = toks[-1]
    if pending is not None:
        total += 1
        if available[pending] > 0:
            available[pending] -= 1
            found += 1
    return total, found


def page_coverage(query: Query) -> list[PageCoverage]:
    """Every page of every stored document whose Markdown is stored: how many of its words the Markdown holds."""
    out: list[PageCoverage] = []
    docs = query("SELECT container_id, document_id, markdown FROM document_markdown ORDER BY ALL", None)
    for doc in docs:
        key = [doc["container_id"], doc["document_id"]]
        where = " WHERE container_id = ? AND document_id = ?"
        pages = query("SELECT page_no, has_text_layer FROM pages" + where + " ORDER BY page_no", key)
        words = query("SELECT page_no, source, text, x0, y0, x1, y1 FROM words" + where + " ORDER BY word_no", key)
        texts = query("SELECT page_no, label, text, text_source, x0, y0, x1, y1 FROM texts" + where, key)
        tables = query("SELECT page_no, x0, y0, x1, y1 FROM regions" + where + " AND label = 'table'", key)
        available = Counter(tokens(doc["markdown"] or ""))
        for page in pages:
            n = page["page_no"]
            texts_of = [w for w in page_words(page, [w for w in words if w["page_no"] == n],
                                              [t for t in texts if t["page_no"] == n],
                                              [t for t in tables if t["page_no"] == n])]
            total, found = match(texts_of, available)
            out.append(PageCoverage(doc["container_id"], doc["document_id"], n, total, found))
    return out


def losing(coverage: list[PageCoverage], min_share: float = MIN_SHARE) -> list[PageCoverage]:
    return sorted((c for c in coverage if c.share < min_share), key=lambda c: c.share)


def pages_losing_words(store_path: str | Path, min_share: float = MIN_SHARE) -> tuple[int, list[dict[str, Any]]]:
    """(how many pages lose words, one dict per such page: container, document, page, words, found, share),
    from a pipeline's DuckDB file."""
    import duckdb

    con = duckdb.connect(str(store_path), read_only=True)
    try:
        def query(sql: str, params: list | None) -> list[dict[str, Any]]:
            cur = con.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        lost = losing(page_coverage(query), min_share)
    finally:
        con.close()
    return len(lost), [{"container_id": c.container_id, "document_id": c.document_id, "page_no": c.page_no,
                        "words": c.words, "found": c.found, "share": round(c.share, 3)} for c in lost]


if __name__ == "__main__":
    import json
    import sys

    count, pages = pages_losing_words(sys.argv[1])
    print(json.dumps({"pages_losing_words": count, "pages": pages}, indent=1))
