"""The streaming core every model stage runs on: load (decode, crop) on worker threads, infer on ONE
dedicated thread, hand results to the caller's thread, which post-processes and buffers rows.

    items ─► loader threads ─► ready queue ─► inference thread (batches by size class) ─► done queue ─► caller

Inference is compute-bound and never faked as async (see shared/seeds/000): the engines release the GIL in
their native code, so loading and the caller's post-processing overlap with it. At most `max_in_flight`
items exist between being taken from `items` and being handed back (loading, queued, batched, inferred or
waiting for the caller), so memory is bounded whatever the collection's length. Results come back out of
order; every Outcome carries its item, so callers key results by it.
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
_PARTIAL_FLUSH_S = 0.05  # nothing new arrived for this long: run a partial batch rather than wait


@dataclass
class Outcome(Generic[T, X, R]):
    item: T
    loaded: X | None
    result: R | None
    error: BaseException | None = None
    skipped: bool = False  # passed through without loading or inference (see `skip`)


class _Failure:
    """An exception raised by the items iterator itself (not by one item): re-raised in the caller."""

    def __init__(self, exc: BaseException):
        self.exc = exc


def stream_inference(
    items: Iterable[T],
    load: Callable[[T], X],
    infer: Callable[[list[X]], list[R]],
    batch_size: int,
    max_in_flight: int = 32,
    loader_threads: int = 2,
    size_class: Callable[[X], Hashable] | None = None,
    skip: Callable[[T], bool] | None = None,
) -> Iterator[Outcome[T, X, R]]:
    """Yield one Outcome per item. A failing load or inference becomes an Outcome with `error` set (a
    failing batch is retried item by item so one bad input does not sink its neighbours). Items for which
    `skip(item)` is true are handed back unloaded and uninferred (e.g. pages with a text layer), in the
    same bounded stream. An exception raised while iterating `items` is re-raised here."""
    batch_size = max(1, batch_size)
    max_in_flight = max(1, max_in_flight)
    slots = threading.Semaphore(max_in_flight)  # released when the caller receives the outcome
    ready: queue.Queue = queue.Queue()  # bounded by `slots`
    done: queue.Queue = queue.Queue()  # bounded by `slots`
    stop = threading.Event()

    def acquire_slot() -> bool:
        while not stop.is_set():
            if slots.acquire(timeout=0.1):
                return True
        return False

    def produce() -> None:
        try:
            with ThreadPoolExecutor(max_workers=max(1, loader_threads), thread_name_prefix="loader") as pool:
                def job(item: T) -> None:
                    try:
                        ready.put((item, None if stop.is_set() else load(item), None))
                    except BaseException as exc:  # noqa: BLE001 - reported per item
                        ready.put((item, None, exc))

                source = iter(items)
                while acquire_slot():  # a slot first, then the item: not even one extra is taken early
                    try:
                        item = next(source)
                    except StopIteration:
                        slots.release()
                        break
                    if skip is not None and skip(item):
                        done.put(Outcome(item, None, None, skipped=True))
                        continue
                    pool.submit(job, item)
        except BaseException as exc:  # noqa: BLE001 - the caller re-raises it
            done.put(_Failure(exc))
        finally:
            ready.put(_DONE)

    def run(batch: list[tuple[T, X]]) -> None:
        inputs = [x for _, x in batch]
        try:
            results = infer(inputs)
            if len(results) != len(inputs):
                raise RuntimeError(f"engine returned {len(results)} results for {len(inputs)} inputs")
            for (item, x), res in zip(batch, results, strict=True):
                done.put(Outcome(item, x, res))
        except Exception as exc:
            if len(batch) == 1:
                done.put(Outcome(batch[0][0], batch[0][1], None, exc))
                return
            log.warning("batch of %d failed (%s); retrying one by one", len(batch), exc)
            for pair in batch:
                run([pair])

    def infer_loop() -> None:
        buckets: dict[Hashable, list[tuple[T, X]]] = {}
        held = 0

        def flush_largest() -> None:
            nonlocal held
            key = max(buckets, key=lambda k: len(buckets[k]))
            batch = buckets.pop(key)
            held -= len(batch)
            run(batch)

        try:
            while not stop.is_set():
                try:
                    got = ready.get(timeout=_PARTIAL_FLUSH_S)
                except queue.Empty:
                    # Nothing is arriving (slow loads, or every slot is parked in a bucket): don't wait.
                    if buckets:
                        flush_largest()
                    continue
                if got is _DONE:
                    break
                item, loaded, error = got
                if error is not None:
                    done.put(Outcome(item, None, None, error))
                    continue
                key = size_class(loaded) if size_class else None
                bucket = buckets.setdefault(key, [])
                bucket.append((item, loaded))
                held += 1
                if len(bucket) >= batch_size:
                    buckets.pop(key)
                    held -= len(bucket)
                    run(bucket)
                elif held >= max_in_flight:  # every slot is waiting in a bucket: nothing else can arrive
                    flush_largest()
            while buckets and not stop.is_set():
                flush_largest()
        except BaseException as exc:  # noqa: BLE001 - the caller re-raises it
            done.put(_Failure(exc))
        finally:
            done.put(_DONE)

    producer = threading.Thread(target=produce, name="stream-producer", daemon=True)
    inferrer = threading.Thread(target=infer_loop, name="stream-inference", daemon=True)
    producer.start()
    inferrer.start()
    try:
        while True:
            got = done.get()
            if got is _DONE:
                break
            if isinstance(got, _Failure):
                raise got.exc
            slots.release()
            yield got
    finally:
        stop.set()
        producer.join()
        inferrer.join()


def image_size_class(image: Any, step: int = 128) -> Hashable:
    """Bucket images by size so a batch pads little."""
    w, h = image.size
    return (w // step, h // step)
