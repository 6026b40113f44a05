"""Fake jobs for the supervised worker pool (importable by spawned workers)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class ScriptJob:
    """Units are instructions: 'ok', 'die' (SIGKILL itself), 'exit' (os._exit), 'sleep' (hang), 'hog' (grab memory
    until stopped), 'raise' (a bug in the job itself), 'pid' (say which worker process ran it)."""

    units: list[str]
    tag: str = ""

    def run(self) -> Iterator[str]:
        for i, unit in enumerate(self.units):
            if unit == "die":
                os.kill(os.getpid(), signal.SIGKILL)
            elif unit == "exit":
                os._exit(3)
            elif unit == "sleep":
                time.sleep(600)
            elif unit == "pid":
                unit = f"pid={os.getpid()}"
            elif unit == "raise":
                raise RuntimeError("bug in the job")
            elif unit == "hog":
                held = []
                try:
                    while True:
                        held.append(bytearray(16 << 20))
                        time.sleep(0.005)
                except MemoryError:
                    held.clear()
                    yield f"{self.tag}{i}:memory"
                    continue
            yield f"{self.tag}{i}:{unit}"

    def rest(self, start: int) -> ScriptJob | None:
        # keep unit numbering readable: prefix the offset
        if start >= len(self.units):
            return None
        return ScriptJob(self.units[start:], f"{self.tag}+{start}/")

    def failed(self, unit: str, reason: str) -> str:
        return f"failed {unit}: {reason}"


class UnloadableJob:
    """Cannot be unpickled in a worker (like code the worker cannot import): the worker exits at once."""

    units = ["ok"]

    def __reduce__(self):
        import sys

        return (sys.exit, (5,))
