"""Per-container truth in the UI: a run over a range of containers gives each container's materialization
its own counts, timings and previews, read back from DuckDB, so a rerun that reuses every page still shows
the container's current results and how many pages it reused."""

from __future__ import annotations

import pytest
from dagster import AssetKey

from ocr_assets.metadata import UI_INLINE_MD_CHARS
from tests.conftest import make_pipeline

pytestmark = pytest.mark.timeout(600)


def _by_partition(pipeline, run_id: str, asset: str) -> dict[str, dict]:
    """partition -> {label: value} of the materializations `run_id` recorded for `asset`."""
    out = {}
    for entry in pipeline.instance.all_logs(run_id):
        mat = entry.asset_materialization
        if mat is not None and mat.asset_key == AssetKey(asset):
            out[mat.partition] = {k: v.value for k, v in mat.metadata.items()}
    return out


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    pipeline = make_pipeline(tmp_path_factory.mktemp("meta"))
    first = pipeline.run()
    assert first.success
    second = pipeline.run()  # nothing changed: every page is reused
    assert second.success
    return pipeline, first.run_id, second.run_id


def test_range_run_gives_each_container_its_own_metadata(two_runs):
    pipeline, run_id, _ = two_runs
    store = pipeline.store
    pages = _by_partition(pipeline, run_id, "rendered_pages")
    assert set(pages) == set(pipeline.keys)
    for key, meta in pages.items():
        n = store.query("SELECT count(*) AS n FROM pages WHERE container_id = ?", [key])[0]["n"]
        assert meta["pages"] == n == meta["rows_pages"], key
        assert meta["containers_in_run"] == 3
        assert meta["pages_computed"] == n and meta["pages_reused"] == 0
    assert pages["annual-reports"]["pages"] != pages["scanned-mail"]["pages"]
    # the thumbnail is the container's own first page, small enough for the UI to show it inline
    thumbs = {k: m["thumbnail"] for k, m in pages.items() if "thumbnail" in m}
    assert set(thumbs) == {"annual-reports", "scanned-mail", "broken-batch"}
    assert thumbs["annual-reports"] != thumbs["scanned-mail"]
    for key, meta in pages.items():
        (first,) = store.query("SELECT image_path FROM pages WHERE container_id = ? ORDER BY document_id, page_no"
                               " LIMIT 1", [key])
        assert meta["first_page_file"].endswith(first["image_path"]), key
    assert all(t.startswith("![first page](data:image/webp;base64,") and len(t) < UI_INLINE_MD_CHARS
               for t in thumbs.values())
    assert pages["scanned-mail"]["image_only_pages"] > 0 and pages["annual-reports"]["image_only_pages"] == 0

    texts = _by_partition(pipeline, run_id, "ocr_text")
    for key, meta in texts.items():
        docs = {r["document_id"] for r in store.query(
            "SELECT DISTINCT document_id FROM texts WHERE container_id = ?", [key])}
        others = {r["document_id"] for r in store.query(
            "SELECT DISTINCT document_id FROM texts WHERE container_id <> ?", [key])} - docs
        preview = meta["text_preview"]
        assert any(f"**{d} p" in preview for d in docs), key
        assert not any(f"**{d} p" in preview for d in others), key  # no other container's text
        n = store.query("SELECT count(*) AS n FROM texts WHERE container_id = ?", [key])[0]["n"]
        assert meta["rows_texts"] == n

    tables = _by_partition(pipeline, run_id, "tables")
    for key, meta in tables.items():
        n = store.query("SELECT count(*) AS n FROM tables WHERE container_id = ?", [key])[0]["n"]
        assert meta["rows_tables"] == n
        assert (meta["table_sample"] == "(no tables)") == (n == 0), key
    assert tables["annual-reports"]["rows_tables"] > 0


def test_rerun_that_reuses_every_page_keeps_the_previews(two_runs):
    pipeline, first, second = two_runs
    for asset in ("rendered_pages", "layout_regions", "ocr_text", "tables", "document_markdown"):
        before, after = _by_partition(pipeline, first, asset), _by_partition(pipeline, second, asset)
        assert set(after) == set(pipeline.keys), asset
        for key in pipeline.keys:
            b, a = before[key], after[key]
            if "pages_computed" in a:
                assert a["pages_computed"] == 0 and a["pages_reused"] == b["pages_computed"], (asset, key)
            assert a["pages"] == b["pages"], (asset, key)
            same = {k for k in b if k.startswith("rows_") or k in (
                "thumbnail", "text_preview", "table_sample", "markdown_preview", "regions_by_label")}
            assert {k: a[k] for k in same} == {k: b[k] for k in same}, (asset, key)
