"""One model step at a time per accelerator: an exclusive `flock` on a file that every run process of one
Dagster instance on one machine shares (`<DAGSTER_HOME>/accelerator.lock`, or $OCR_ACCELERATOR_LOCK).

Model steps are compute-bound and each uses every core (ONNX Runtime intra-op threads, torch threads) or
the one GPU, so N runs at once are fastest when their model steps take turns while their other steps (opening
and rendering PDFs, Markdown, commits) overlap. Why a lock file and not Dagster's `pool` on the step:
- waiting costs nothing: a blocked `flock` sleeps in the kernel, while Dagster 1.13's in-process executor
  polls a blocked pool claim in a busy loop (`interval_to_next_pending_claim_check` never returns more than
  0), so three waiting runs take the cores from the one that holds the slot;
- the handover is immediate, where a pool slot freed is picked up at the waiter's next poll (up to 15 s);
- the kernel releases it when the holder dies, where a SIGKILLed run keeps its pool slot until someone
  frees it;
- it is per machine, like the accelerator itself: a multi-machine deployment (one GPU per run worker)
  does not serialise model steps across machines, as an instance-wide pool would.
The holder's pid and step are written into the file, so a waiting run can say whom it waits for."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process lock, model steps simply overlap
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "accelerator.lock"
LOCK_ENV = "OCR_ACCELERATOR_LOCK"
log = logging.getLogger(__name__)


def lock_path(instance_root: str | Path) -> Path | None:
    """`<instance root>/accelerator.lock`, or $OCR_ACCELERATOR_LOCK: another path (one per GPU on a machine
    with several, say), or `off` (model steps overlap)."""
    override = os.environ.get(LOCK_ENV, "").strip()
    if override.lower() in {"off", "none", "0"}:
        return None
    return Path(override) if override else Path(instance_root) / LOCK_NAME


def holder(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip() or "unknown"
    except OSError:
        return "unknown"


@contextmanager
def accelerator_turn(path: Path | None, what: str, logger: logging.Logger | logging.LoggerAdapter | None = None
                     ) -> Iterator[float]:
    """Hold the accelerator for `what` (e.g. "layout_regions of run 1a2b"); yields the seconds waited.
    No path: no lock."""
    logger = logger or log
    if fcntl is None or path is None:
        yield 0.0
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    waited = 0.0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("%s waits for the accelerator, held by %s", what, holder(path))
            started = time.monotonic()
            fcntl.flock(fd, fcntl.LOCK_EX)  # sleeps until the holder releases it (or dies)
            waited = time.monotonic() - started
            logger.info("%s got the accelerator after %.1fs", what, waited)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {what}".encode(), 0)
        yield waited
    finally:
        os.close(fd)  # closing the descriptor releases the lock
