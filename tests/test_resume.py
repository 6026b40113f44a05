"""Resume: a page whose result for the same producer and the same input is stored is not computed again;
a changed producer or `force` recomputes; rows of skipped pages survive the partition's replace. Also the
spill path: rows that went to Parquet commit exactly like rows held in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from ocr_assets.samples import digital_text_pdf, image_only_pdf, scanned_page_image, two_column_pdf
from ocr_resources.engines.base import LayoutDetector, ModelIdentity, TextRecognizer
from ocr_resources.pipeline import stages
from ocr_resources.pipeline.page_store import PageStore
from ocr_resources.schema import RESULT_TABLES
from ocr_resources.store import Producer, ResultStore
from ocr_resources.types import Box, DetectedRegion, OcrResult, Word

pytestmark = pytest.mark.timeout(300)

CONTAINER = "resume-box"


class CountingDetector(LayoutDetector):
    """One full-page text region per image; counts the images it was asked about."""

    def __init__(self, fail_on_grey: bool = False):
        self.batch_size = 2
        self.identity = ModelIdentity("fake_layout", "fake", "1")
        self.images = 0
        self.fail_on_grey = fail_on_grey

    def detect(self, images):
        self.images += len(images)
        # the scanned page has grey paper (245); digital pages are white
        if self.fail_on_grey and any(np.asarray(im.convert("L")).mean() < 250 for im in images):
            raise RuntimeError("detector failed")
        return [[DetectedRegion(Box(10, 10, im.width - 10, im.height - 10), "text", "text", 0.9)]
                for im in images]


class CountingRecognizer(TextRecognizer):
    def __init__(self):
        self.batch_size = 2
        self.identity = ModelIdentity("fake_ocr", "fake", "1")
        self.images = 0

    def recognize(self, images):
        self.images += len(images)
        return [OcrResult("hello world", [Word("hello", Box(200, 200, 300, 230), 0.9),
                                          Word("world", Box(310, 200, 420, 230), 0.9)], 0.9) for _ in images]


@dataclass
class Env:
    data: Path
    store: ResultStore
    runs: int = 0

    def ctx(self, asset: str, producer: Producer, force: bool = False, **kw) -> stages.StageContext:
        self.runs += 1
        return stages.StageContext(container_id=CONTAINER, run_id=f"run-{self.runs:04d}",
                                   producer_id=producer.producer_id, store=self.store,
                                   page_store=PageStore(self.data / "pages"), force=force,
                                   render_workers=1, spill_root=self.data / "spill", **kw)

    def stage(self, asset: str, fn, version: str = "1", force: bool = False, **kw) -> stages.StageOutput:
        producer = Producer(asset, "test", "m", version, "1")
        ctx = self.ctx(asset, producer, force, **kw)
        out = fn(ctx)
        stages.commit(ctx, asset, out, producer)
        return out

    def counts(self) -> dict[str, int]:
        return {t: self.store.query(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in RESULT_TABLES}


@pytest.fixture()
def env(tmp_path) -> Env:
    folder = tmp_path / "inbox" / CONTAINER
    folder.mkdir(parents=True)
    (folder / "a_digital.pdf").write_bytes(digital_text_pdf())
    (folder / "b_two_column.pdf").write_bytes(two_column_pdf())
    (folder / "c_scanned.pdf").write_bytes(image_only_pdf(scanned_page_image()))
    e = Env(tmp_path, ResultStore(tmp_path / "ocr.duckdb"))
    e.stage("source_documents", lambda ctx: stages.source_documents(ctx, folder))
    e.stage("rendered_pages", lambda ctx: stages.rendered_pages(ctx, 72))
    return e


def run_models(env: Env, det: CountingDetector, rec: CountingRecognizer, version: str = "1",
               force: bool = False) -> tuple[stages.StageOutput, stages.StageOutput]:
    layout = env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, det), version, force)
    text = env.stage("ocr_text", lambda ctx: stages.ocr_text(ctx, rec), "1", force)
    return layout, text


def test_rerun_skips_all_model_work_and_keeps_identical_rows(env):
    det, rec = CountingDetector(), CountingRecognizer()
    run_models(env, det, rec)
    assert (det.images, rec.images) == (3, 1)  # three pages, one of them image-only
    first = env.counts()
    first_runs = env.store.query("SELECT DISTINCT run_id FROM regions")

    det2, rec2 = CountingDetector(), CountingRecognizer()
    layout, text = run_models(env, det2, rec2)
    assert (det2.images, rec2.images) == (0, 0)
    assert layout.stats["pages_skipped"] == 3 and text.stats["pages_skipped"] == 3
    assert env.counts() == first
    # the skipped pages' rows are the first run's rows, not deleted and re-inserted
    assert env.store.query("SELECT DISTINCT run_id FROM regions") == first_runs


def test_changed_producer_recomputes(env):
    run_models(env, CountingDetector(), CountingRecognizer())
    first = env.counts()
    det = CountingDetector()
    layout, _ = run_models(env, det, CountingRecognizer(), version="2")
    assert det.images == 3 and layout.stats["pages_computed"] == 3
    assert env.counts() == first  # replaced, not duplicated


def test_force_recomputes(env):
    run_models(env, CountingDetector(), CountingRecognizer())
    first = env.counts()
    det, rec = CountingDetector(), CountingRecognizer()
    run_models(env, det, rec, force=True)
    assert (det.images, rec.images) == (3, 1)
    assert env.counts() == first


def test_failed_page_is_retried_and_only_it(env):
    failing = CountingDetector(fail_on_grey=True)
    env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, failing))
    assert env.store.query("SELECT count(*) AS n FROM errors WHERE stage = 'layout_regions'")[0]["n"] == 1

    det = CountingDetector()
    out = env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, det))
    assert det.images == 1 and out.stats["pages_skipped"] == 2
    assert env.store.query("SELECT count(*) AS n FROM errors WHERE stage = 'layout_regions'")[0]["n"] == 0
    assert env.store.query("SELECT count(DISTINCT page_no || document_id) AS n FROM regions")[0]["n"] == 3


def test_new_layout_recomputes_text_of_changed_pages_only(env):
    run_models(env, CountingDetector(), CountingRecognizer())
    env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, CountingDetector()), version="2")
    rec = CountingRecognizer()
    text = env.stage("ocr_text", lambda ctx: stages.ocr_text(ctx, rec))
    # same boxes from the new layout producer: every page's input hash is unchanged
    assert rec.images == 0 and text.stats["pages_skipped"] == 3


def test_vanished_pages_lose_their_rows(env):
    run_models(env, CountingDetector(), CountingRecognizer())
    env.store.migrate()
    with env.store.connect() as con:  # a page disappears upstream (e.g. the document was replaced)
        con.execute("DELETE FROM pages WHERE document_id = 'c_scanned.pdf'")
    run_models(env, CountingDetector(), CountingRecognizer())
    assert env.store.query("SELECT count(*) AS n FROM regions WHERE document_id = 'c_scanned.pdf'")[0]["n"] == 0
    assert env.store.query("SELECT count(*) AS n FROM texts WHERE document_id = 'c_scanned.pdf'")[0]["n"] == 0
    assert env.store.query("SELECT count(*) AS n FROM regions")[0]["n"] == 2


def test_spilled_rows_commit_like_rows_in_memory(env):
    det = CountingDetector()
    env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, det))
    in_memory = env.counts()
    spilled_out = env.stage("ocr_text", lambda ctx: stages.ocr_text(ctx, CountingRecognizer()), force=True,
                            spill_bytes=1)
    assert any(isinstance(r, stages.SpilledTable) for r in spilled_out.rows.values())
    spilled = env.counts()
    env.stage("ocr_text", lambda ctx: stages.ocr_text(ctx, CountingRecognizer()), force=True)
    assert env.counts() == spilled and spilled["texts"] > in_memory["texts"]
    assert not list((env.data / "spill").rglob("*.parquet"))  # discarded after the commit


def test_a_failed_commit_leaves_the_old_rows(env):
    run_models(env, CountingDetector(), CountingRecognizer())
    before = env.counts()
    producer = Producer("layout_regions", "test", "m", "3", "1")
    ctx = env.ctx("layout_regions", producer)
    out = stages.layout_regions(ctx, CountingDetector())
    # every region twice: the primary key is violated in the middle of the transaction
    regions = out.rows["regions"]
    regions = regions.to_table() if isinstance(regions, stages.SpilledTable) else regions
    out.rows["regions"] = pa.concat_tables([regions, regions])
    with pytest.raises(Exception):  # noqa: B017 - any database error
        stages.commit(ctx, "layout_regions", out, producer)
    assert env.counts() == before
    # the checkpoint survives a failed commit: the next run takes its pages instead of recomputing them
    det = CountingDetector()
    rerun = env.stage("layout_regions", lambda c: stages.layout_regions(c, det), "3")
    assert det.images == 0 and rerun.stats["pages_from_checkpoint"] == 3
    assert env.counts() == before


class Crash(BaseException):
    """Stands in for a killed process: not an Exception, so no per-item error handling catches it."""


class CrashingDetector(CountingDetector):
    def __init__(self, survive: int):
        super().__init__()
        self.survive = survive
        # one page per call: with batches of 2, whether the crash lands before or after page 2 would depend on
        # how the pages happened to be batched, and so would the number of pages checkpointed
        self.batch_size = 1

    def detect(self, images):
        if self.images + len(images) > self.survive:
            raise Crash("process killed")
        return super().detect(images)


def test_after_a_crash_only_the_missing_pages_are_computed(env):
    crashing = CrashingDetector(survive=2)
    with pytest.raises(Crash):
        env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, crashing), checkpoint_pages=1)
    assert env.counts()["regions"] == 0  # nothing committed: the partition's transaction never ran
    assert list((env.data / "spill" / "checkpoints").rglob("*.manifest.parquet"))

    det = CountingDetector()
    out = env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, det), checkpoint_pages=1)
    assert det.images == 1
    assert out.stats["pages_from_checkpoint"] == 2 and out.stats["pages_computed"] == 1
    assert env.store.query("SELECT count(DISTINCT document_id) AS n FROM regions")[0]["n"] == 3
    assert env.counts()["regions"] == 3  # one region per page: none duplicated
    assert env.store.query("SELECT count(*) AS n FROM page_results WHERE asset_key = 'layout_regions'")[0]["n"] == 3
    assert not list((env.data / "spill" / "checkpoints").rglob("*.parquet"))  # removed after the commit

    again = CountingDetector()
    out = env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, again))
    assert again.images == 0 and out.stats["pages_skipped"] == 3


def test_force_ignores_a_checkpoint(env):
    with pytest.raises(Crash):
        env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, CrashingDetector(survive=2)),
                  checkpoint_pages=1)
    det = CountingDetector()
    env.stage("layout_regions", lambda ctx: stages.layout_regions(ctx, det), force=True, checkpoint_pages=1)
    assert det.images == 3 and env.counts()["regions"] == 3


def _three_page_pdf() -> bytes:
    import io

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for n in range(1, 4):
        c.setFont("Helvetica", 9)
        c.drawString(72, 800, "Annual report of the example society")
        c.setFont("Helvetica", 11)
        for i in range(12):
            c.drawString(72, 720 - 16 * i, f"Page {n} line {i}: the members met and agreed on the budget.")
        c.showPage()
    c.save()
    return buf.getvalue()


class PageTwoMoves(CountingDetector):
    """Like CountingDetector, but once `moved` is set the region of the second image it is shown is smaller:
    only that page's input changes."""

    moved = False

    def detect(self, images):
        seen = self.images
        found = super().detect(images)
        if self.moved:
            found = [[DetectedRegion(Box(20, 20, im.width - 20, im.height - 20), "text", "text", 0.9)]
                     if seen + i == 1 else regions for i, (im, regions) in enumerate(zip(images, found, strict=True))]
        return found


def test_stored_text_is_read_only_for_pages_kept_from_an_earlier_run(tmp_path, monkeypatch):
    """A page recomputed alone gets the document's other pages as context (their stored text rows: running
    heads repeat across them); a document recomputed whole reads nothing back (one query and one connection
    less per document on a forced run or a new layout model)."""
    import ocr_resources.pipeline.stages.text as text_stage

    folder = tmp_path / "inbox" / CONTAINER
    folder.mkdir(parents=True)
    (folder / "report.pdf").write_bytes(_three_page_pdf())
    env = Env(tmp_path, ResultStore(tmp_path / "ocr.duckdb"))
    env.stage("source_documents", lambda ctx: stages.source_documents(ctx, folder))
    env.stage("rendered_pages", lambda ctx: stages.rendered_pages(ctx, 72))
    calls: list[set[int]] = []
    real = text_stage._stored_blocks

    def spy(ctx, document_id, kept):
        calls.append(set(kept))
        return real(ctx, document_id, kept)

    monkeypatch.setattr(text_stage, "_stored_blocks", spy)
    run_models(env, PageTwoMoves(), CountingRecognizer())
    assert calls == []  # nothing stored yet
    run_models(env, PageTwoMoves(), CountingRecognizer(), force=True)
    assert calls == []  # every page recomputed: no other page to read

    moved = PageTwoMoves()
    moved.moved = True
    layout, text = run_models(env, moved, CountingRecognizer(), version="2")  # a new layout producer
    assert layout.stats["pages_computed"] == 3
    assert text.stats["pages_computed"] == 1 and text.stats["pages_skipped"] == 2
    recomputed = {r["page_no"] for r in env.store.query(
        "SELECT DISTINCT page_no FROM texts WHERE run_id = (SELECT max(run_id) FROM texts)")}
    assert len(recomputed) == 1 and calls == [{1, 2, 3} - recomputed]
    heads = env.store.query("SELECT page_no, label FROM texts WHERE text LIKE 'Annual report%' ORDER BY page_no")
    assert [r["page_no"] for r in heads] == [1, 2, 3]
    assert len({r["label"] for r in heads}) == 1  # the page's head decided as on the pages read back
