"""eval/layout.py: the docling truth's blocks, their words matched to text-layer words, and agreement per class."""

from __future__ import annotations

from eval.layout import NO_REGION, docling_agreement, docling_blocks, docling_counts, match_words

TRUTH = """## 1 Introduction

Tables are read by the model.

- first item here
- second item

| a | b |
| - | - |
| 1 | 2 |

<!-- image -->

```
code is left out
```

$$
x = 1
$$
"""


def test_docling_blocks_kinds_and_words():
    blocks = docling_blocks(TRUTH)
    assert [kind for kind, _ in blocks] == ["section", "paragraph", "list", "table", "formula"]
    assert blocks[0][1] == ["1", "introduction"] and blocks[3][1] == ["a", "b", "1", "2"]
    assert blocks[1][1] == ["tables", "are", "read", "by", "the", "model"]
    assert "code" not in {w for _, words in blocks for w in words}


def test_match_words_follows_reading_order_and_uses_each_word_once():
    # two pages; "the" twice on the page: the truth's second "the" takes the later one
    words = [(0, "the", (0, 0, 1, 1)), (0, "model", (2, 0, 3, 1)), (1, "the", (0, 5, 1, 6)), (1, "end", (2, 5, 3, 6))]
    matched = match_words([("paragraph", ["the", "model"]), ("section", ["the", "end", "missing"])], words)
    assert matched == [("paragraph", 0, (0, 0, 1, 1)), ("paragraph", 0, (2, 0, 3, 1)),
                       ("section", 1, (0, 5, 1, 6)), ("section", 1, (2, 5, 3, 6))]


def test_docling_agreement_per_class():
    regions = [[{"x0": 0, "y0": 0, "x1": 10, "y1": 2, "label": "text"}],
               [{"x0": 0, "y0": 4, "x1": 10, "y1": 7, "label": "text"}]]
    matched = [("paragraph", 0, (0, 0, 1, 1)), ("section", 1, (0, 5, 1, 6)), ("table", 1, (20, 20, 21, 21))]
    counts = docling_counts(matched, regions)
    assert counts == {"paragraph": {"text": 1}, "section": {"text": 1}, "table": {NO_REGION: 1}}
    overall, by_class = docling_agreement(counts)
    assert overall == round(1 / 3, 4) and by_class == {"paragraph": 1.0, "section": 0.0, "table": 0.0}
