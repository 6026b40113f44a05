"""The scanned_lowres eval set: each scanned page downsampled to 72 or 100 dpi, same size in points, scored
against its source's human words."""

from __future__ import annotations

import pypdfium2
import pytest

from eval import datasets

pytestmark = pytest.mark.skipif(not (datasets.SHARED / "benchmark" / "scanned").is_dir(),
                                reason="../shared/benchmark/scanned not present")


def test_a_lowres_page_keeps_its_size_and_its_source_words():
    source = next(d for d in datasets.scanned() if d.name == "table_01")
    low = datasets.Doc(source.name, datasets.make_lowres(source), source.truth)  # as scanned_lowres makes it
    assert low.truth == source.truth and datasets.hocr_lines(low) == datasets.hocr_lines(source)
    dpi = datasets.lowres_dpi(low.name)
    assert dpi in datasets.LOWRES_DPIS and dpi == datasets.lowres_dpi("table_01")  # fixed by the name
    a, b = pypdfium2.PdfDocument(str(source.pdf))[0], pypdfium2.PdfDocument(str(low.pdf))[0]
    assert a.get_size() == pytest.approx(b.get_size(), abs=1.0)
    [image] = [o for o in b.get_objects() if o.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]
    assert image.get_bitmap().width == pytest.approx(b.get_size()[0] * dpi / 72, abs=1)
