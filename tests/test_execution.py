"""The streaming core (execution.stream_inference): bounded in flight, results keyed not ordered,
errors isolated per item, pass-through items, and no deadlock when batches cannot fill."""

from __future__ import annotations

import threading
import time

import pytest

from ocr_resources.pipeline.execution import stream_inference

pytestmark = pytest.mark.timeout(60)


class Tracker:
    """Counts items taken from the source but not yet handed back: that is what `max_in_flight` bounds."""

    def __init__(self, n: int):
        self.n = n
        self.lock = threading.Lock()
        self.taken = 0
        self.returned = 0
        self.peak = 0

    def items(self):
        for i in range(self.n):
            with self.lock:
                self.taken += 1
                self.peak = max(self.peak, self.taken - self.returned)
            yield i

    def back(self) -> None:
        with self.lock:
            self.returned += 1


@pytest.mark.parametrize("max_in_flight,batch_size", [(4, 2), (8, 4), (3, 8)])
def test_in_flight_is_bounded_whatever_the_length(max_in_flight, batch_size):
    tracker = Tracker(200)

    def infer(xs):
        time.sleep(0.001)  # a slow model: loaders would race ahead if nothing bounded them
        return [x * 10 for x in xs]

    got = []
    for o in stream_inference(tracker.items(), lambda i: i, infer, batch_size, max_in_flight, loader_threads=3):
        tracker.back()
        got.append(o.result)
        time.sleep(0.0005)  # a slow consumer must hold the producer back too
    assert sorted(got) == [i * 10 for i in range(200)]
    assert tracker.peak <= max_in_flight


def test_results_complete_out_of_order_and_stay_keyed():
    # Two size classes; odd items fill their batches first, so outcomes arrive out of input order.
    def load(i):
        time.sleep(0.002 if i % 2 == 0 else 0)
        return i

    outcomes = list(stream_inference(range(40), load, lambda xs: [f"r{x}" for x in xs], batch_size=4,
                                     max_in_flight=16, loader_threads=2, size_class=lambda x: x % 2))
    assert [o.item for o in outcomes] != list(range(40))  # not in order ...
    assert sorted(o.item for o in outcomes) == list(range(40))  # ... but every item exactly once
    assert all(o.result == f"r{o.item}" and o.error is None for o in outcomes)


def test_a_failing_item_does_not_sink_its_batch_or_the_stream():
    def load(i):
        if i == 3:
            raise ValueError("unreadable image")
        return i

    calls = []

    def infer(xs):
        calls.append(list(xs))
        if 7 in xs:
            raise RuntimeError("model choked on 7")
        return [x + 100 for x in xs]

    outcomes = {o.item: o for o in stream_inference(range(12), load, infer, batch_size=4, max_in_flight=8)}
    assert set(outcomes) == set(range(12))
    assert isinstance(outcomes[3].error, ValueError)
    assert isinstance(outcomes[7].error, RuntimeError)
    for i in set(range(12)) - {3, 7}:
        assert outcomes[i].error is None and outcomes[i].result == i + 100
    assert [7] in calls  # the failing batch was retried one by one


def test_wrong_result_count_is_an_error_per_item():
    outcomes = list(stream_inference(range(3), lambda i: i, lambda xs: [], batch_size=1))
    assert all(isinstance(o.error, RuntimeError) for o in outcomes)


def test_skipped_items_pass_through_without_load_or_inference():
    loaded, inferred = [], []

    def load(i):
        loaded.append(i)
        return i

    def infer(xs):
        inferred.extend(xs)
        return xs

    outcomes = list(stream_inference(range(20), load, infer, 4, 6, skip=lambda i: i % 3 == 0))
    skipped = sorted(o.item for o in outcomes if o.skipped)
    assert skipped == [i for i in range(20) if i % 3 == 0]
    assert all(i % 3 for i in loaded) and sorted(inferred) == sorted(loaded)
    assert len(outcomes) == 20


def test_partial_batches_do_not_deadlock_when_slots_are_all_bucketed():
    # Each item its own size class and batches of 8 that can never fill: slots run out while every
    # loaded item waits in a bucket. The core must run partial batches instead of waiting forever.
    outcomes = list(stream_inference(range(30), lambda i: i, lambda xs: xs, batch_size=8, max_in_flight=3,
                                     size_class=lambda x: x))
    assert sorted(o.result for o in outcomes) == list(range(30))


def test_an_error_in_the_item_source_is_raised_to_the_caller():
    def items():
        yield 1
        raise OSError("database went away")

    with pytest.raises(OSError, match="database went away"):
        list(stream_inference(items(), lambda i: i, lambda xs: xs, batch_size=2))


def test_stopping_early_releases_the_threads():
    before = threading.active_count()
    stream = stream_inference(range(10_000), lambda i: i, lambda xs: xs, batch_size=4, max_in_flight=8)
    for n, _ in enumerate(stream):
        if n == 5:
            break
    stream.close()
    time.sleep(0.3)
    assert threading.active_count() <= before


def test_a_pages_regions_are_cropped_from_one_decode_of_the_page(tmp_path):
    """OCR and table crops: every region of a page used to decode the whole page image again."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    from ocr_resources.pipeline.page_store import PageStore
    from ocr_resources.pipeline.stages.base import StageContext, _crop
    from ocr_resources.store import ResultStore

    class CountingPageStore(PageStore):
        def __init__(self, root):
            super().__init__(root)
            self.opened: list[str] = []

        def open(self, rel):
            self.opened.append(rel)
            time.sleep(0.05)  # a real decode takes this long: two loader threads would both miss
            return super().open(rel)

    pages = CountingPageStore(tmp_path / "pages")
    rels = [pages.put_image(Image.new("RGB", (300, 400), colour))[1] for colour in ("white", "grey")]
    ctx = StageContext(container_id="c", run_id="r", producer_id="p", store=ResultStore(tmp_path / "db.duckdb"),
                       page_store=pages, loader_threads=2)
    requests = [{"image_path": rel, "dpi": 72, "x0": 10 + 10 * i, "y0": 10, "x1": 60 + 10 * i, "y1": 60}
                for rel in rels for i in range(4)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # the loader threads
        crops = list(pool.map(lambda r: _crop(ctx, r), requests))
    assert sorted(pages.opened) == sorted(rels)  # each page decoded once
    assert [c.size for c, _ in crops] == [(58, 58)] * 8
    assert crops[0][0].getpixel((0, 0)) == (255, 255, 255) and crops[4][0].getpixel((0, 0)) == (128, 128, 128)
