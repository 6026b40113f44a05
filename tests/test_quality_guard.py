"""Regression guard: a handful of public pages (../shared/corpus/) through the real pipeline (one Dagster run),
scored by eval/'s own code, each figure against a floor a little below what `make eval` measured when the
floor was set. A change that breaks quality fails here; the figures themselves live in `make eval`.
Floors are set on the whole handful (means), never on one document, and no timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval import datasets
from eval.run import aggregate, run_ours

pytestmark = pytest.mark.skipif(not (datasets.SHARED / "corpus").is_dir(), reason="../shared/corpus not present")

GUARD = {
    "docling": ["2305.03393v1-pg9", "multi_page"],
    "icdar": ["eu-003", "us-012", "us-026"],  # the three ICDAR documents of the test corpus
    "scanned": ["ocr_test"],
}
# (key, floor or ceiling, direction); updated together with the README's Quality section.
FLOORS = [
    # text: 0.045 / 0.973 / 1.00 / 1.00 on these two documents when set
    ("digital_text_ned", 0.07, "max"),
    ("digital_word_f1", 0.95, "min"),
    ("digital_reading_order", 0.95, "min"),
    ("digital_heading_recall", 0.90, "min"),
    # tables from ruling lines and alignment: 1.00 / 0.998 / 0.990 on these three documents when set
    ("table_detection_recall", 0.95, "min"),
    ("table_cell_f1", 0.90, "min"),
    ("table_adjacency_f1", 0.90, "min"),
    ("scanned_word_accuracy", 0.90, "min"),
    ("nonchars", 0, "max"),  # non-characters and control characters in what a user reads
]


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict:
    sets = {
        "docling": [d for d in datasets.docling() if d.name in GUARD["docling"]],
        "icdar": [d for d in datasets.icdar() if d.name in GUARD["icdar"]],
        "scanned": [d for d in datasets.scanned() if d.name in GUARD["scanned"]],
    }
    assert all(sets.values()), f"guard documents missing from {datasets.SHARED}"
    rows, pps, _ = run_ours(sets, Path(tmp_path_factory.mktemp("quality")), "offline")
    assert not [r for r in rows if r["error"]], [r["error"] for r in rows if r["error"]]
    return aggregate(rows, pps)


@pytest.mark.parametrize(("key", "bound", "direction"), FLOORS, ids=[k for k, _, _ in FLOORS])
def test_quality_floor(figures: dict, key: str, bound: float, direction: str) -> None:
    value = figures[key]
    assert value is not None, f"{key} was not measured"
    if direction == "min":
        assert value >= bound, f"{key} fell to {value:.3f} (floor {bound})"
    else:
        assert value <= bound, f"{key} rose to {value:.3f} (ceiling {bound})"

