"""The streaming execution core: bounded, batched, honest about compute.

    loader threads (decode/crop/resize, I/O)  ->  bounded queue  ->  inference on the calling thread

Inference is compute-bound and is never wrapped in `async` (see shared/seeds/000): it runs on one
thread, fed by a bounded queue that loader threads fill, so the model never waits for image decoding
and memory holds at most `max_in_flight` loaded inputs whatever the collection's size. Batches are
formed per size class to limit padding. Results come back out of order; callers key them.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")  # work item (a page, a crop request)
X = TypeVar("X")  # loaded model input
R = TypeVar("R")  # model output

_DONE = object()


@dataclass
class Outcome(Generic[T, X, R]):
    item: T
    loaded: X | None
    result: R | None
    error: BaseException | None = None


def stream_inference(
    items: Iterable[T],
    load: Callable[[T], X],
    infer: Callable[[list[X]], list[R]],
    batch_size: int,
    max_in_flight: int = 32,
    loader_threads: int = 2,
    size_class: Callable[[X], Hashable] | None = None,
) -> Iterator[Outcome[T, X, R]]:
    """Yield one Outcome per item. A failing load or inference becomes an Outcome with `error` set
    (a failing batch is retried item by item so one bad input does not sink its neighbours)."""
    batch_size = max(1, batch_size)
    ready: queue.Queue = queue.Queue(maxsize=max(max_in_flight, batch_size))
    stop = threading.Event()

    def produce() -> None:
        # Bound the loads in flight as well as the loaded queue: both hold images.
        slots = threading.BoundedSemaphore(max(1, loader_threads * 2))
        with ThreadPoolExecutor(max_workers=max(1, loader_threads), thread_name_prefix="loader") as pool:
            def job(item: T) -> None:
                try:
                    if not stop.is_set():
                        ready.put((item, load(item), None))
                except BaseException as exc:  # noqa: BLE001 - reported per item
                    ready.put((item, None, exc))
                finally:
                    slots.release()

            for item in items:
                if stop.is_set():
                    break
                slots.acquire()
                pool.submit(job, item)
        ready.put(_DONE)

    producer = threading.Thread(target=produce, name="stream-producer", daemon=True)
    producer.start()
    buckets: dict[Hashable, list[tuple[T, X]]] = {}

    def run(batch: list[tuple[T, X]]) -> Iterator[Outcome]:
        inputs = [x for _, x in batch]
        try:
            results = infer(inputs)
            if len(results) != len(inputs):
                raise RuntimeError(f"engine returned {len(results)} results for {len(inputs)} inputs")
            for (item, x), res in zip(batch, results, strict=True):
                yield Outcome(item, x, res)
        except Exception as exc:
            if len(batch) == 1:
                yield Outcome(batch[0][0], batch[0][1], None, exc)
                return
            log.warning("batch of %d failed (%s); retrying one by one", len(batch), exc)
            for pair in batch:
                yield from run([pair])

    try:
        while True:
            got = ready.get()
            if got is _DONE:
                break
            item, loaded, error = got
            if error is not None:
                yield Outcome(item, None, None, error)
                continue
            key = size_class(loaded) if size_class else None
            bucket = buckets.setdefault(key, [])
            bucket.append((item, loaded))
            if len(bucket) >= batch_size:
                buckets[key] = []
                yield from run(bucket)
        for bucket in buckets.values():
            for start in range(0, len(bucket), batch_size):
                yield from run(bucket[start : start + batch_size])
    finally:
        stop.set()
        while producer.is_alive():  # unblock a producer waiting on a full queue
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass
        producer.join()


def image_size_class(image: Any, step: int = 128) -> Hashable:
    """Bucket images by size so a batch pads little."""
    w, h = image.size
    return (w // step, h // step)
