"""The accelerator lock: model steps of different processes take turns; a waiting process sleeps (no CPU),
gets the lock as soon as the holder lets go, and a holder that is killed lets go too."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

from ocr_resources.accelerator import accelerator_turn

HOLD = """
import sys, time
from pathlib import Path
from ocr_resources.accelerator import accelerator_turn
with accelerator_turn(Path(sys.argv[1]), "layout_regions of run test"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    print("releasing", flush=True)
"""


def _holder(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_waiting_turn_sleeps_and_follows_the_holder(tmp_path, caplog):
    lock = tmp_path / "accelerator.lock"
    holder = _holder(lock, 1.5)
    cpu = time.process_time()
    with caplog.at_level(logging.INFO), accelerator_turn(lock, "ocr_text of run other") as waited:
        assert holder.stdout.readline().strip() == "releasing"  # written before it let go: no overlap
        assert "pid 0" not in lock.read_text() and "ocr_text of run other" in lock.read_text()
    assert 0.5 < waited < 10
    assert time.process_time() - cpu < 0.3, "waiting for the lock used the CPU"
    assert f"held by pid {holder.pid}: layout_regions of run test" in caplog.text
    holder.wait()


def test_a_killed_holder_releases_the_accelerator(tmp_path):
    lock = tmp_path / "accelerator.lock"
    holder = _holder(lock, 600)
    holder.kill()
    holder.wait()
    started = time.monotonic()
    with accelerator_turn(lock, "next") as waited:
        assert waited == 0.0
    assert time.monotonic() - started < 1


def test_turns_in_one_process_do_not_nest_across_steps(tmp_path):
    lock = tmp_path / "accelerator.lock"
    for _ in range(3):  # one step after another in one run: each turn is released
        with accelerator_turn(lock, "step") as waited:
            assert waited == 0.0


def test_the_lock_lives_with_the_instance_unless_told_otherwise(tmp_path, monkeypatch):
    from ocr_resources.accelerator import LOCK_ENV, lock_path

    monkeypatch.delenv(LOCK_ENV, raising=False)
    assert lock_path(tmp_path) == tmp_path / "accelerator.lock"
    monkeypatch.setenv(LOCK_ENV, str(tmp_path / "gpu1.lock"))
    assert lock_path(tmp_path) == tmp_path / "gpu1.lock"
    monkeypatch.setenv(LOCK_ENV, "off")
    assert lock_path(tmp_path) is None
    with accelerator_turn(None, "no lock") as waited:
        assert waited == 0.0
