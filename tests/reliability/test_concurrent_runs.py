"""Four CLI runs started at once, each on its own container, against one instance and one DuckDB file: all
succeed, every container's rows are there once and equal those of a run alone, each run loads each model
once, and their model steps took turns on the accelerator (the lock file, not a busy-polling pool). How long
this takes against four runs one after another is a measurement, not a test: `python -m bench.run --only
concurrency`."""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from tests.reliability.cli_runs import CliEnv, result_rows, write_container

KEYS = [f"box-{i}" for i in range(1, 5)]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_four_cli_runs_at_once_all_succeed_with_their_own_rows(tmp_path):
    env = CliEnv(tmp_path / "shared")
    env.extra["OCR_LOCK_TIMEOUT_S"] = "300"
    for i, key in enumerate(KEYS):
        write_container(env.data / "inbox" / key, pages=3, seed=40 + i)
    assert env.register() == KEYS
    logs = {key: tmp_path / f"{key}.log" for key in KEYS}
    procs = {key: env.popen(key, logs[key]) for key in KEYS}
    try:
        for proc in procs.values():
            proc.wait(timeout=600)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    out = {key: logs[key].read_text(errors="replace") for key in KEYS}
    for key, proc in procs.items():
        assert proc.returncode == 0, f"{key}:\n{out[key][-4000:]}"
    assert any("waits for the accelerator" in text for text in out.values()), "the runs never overlapped"

    store = env.store()
    runs = store.query("SELECT container_id, count(DISTINCT run_id) AS runs, count(*) AS pages FROM pages "
                       "GROUP BY container_id ORDER BY container_id")
    assert runs == [{"container_id": k, "runs": 1, "pages": 4} for k in KEYS]
    for table, key in (("pages", "document_id, page_no"), ("regions", "document_id, page_no, region_no"),
                       ("texts", "document_id, page_no, region_no, reading_order")):
        dupes = store.query(f"SELECT container_id, {key}, count(*) AS n FROM {table} "
                            f"GROUP BY ALL HAVING count(*) > 1")
        assert dupes == [], table
    run_ids = {r["run_id"] for r in store.query("SELECT DISTINCT run_id FROM materializations")}
    assert len(run_ids) == 4
    loads = store.query("SELECT run_id, role, loads FROM model_loads")
    assert {r["run_id"] for r in loads} == run_ids and all(r["loads"] == 1 for r in loads), loads

    # the rows of a container made beside three other runs equal those of a run alone
    alone = CliEnv(tmp_path / "alone")
    shutil.copytree(env.data / "inbox" / KEYS[0], alone.data / "inbox" / KEYS[0])  # the same bytes
    assert alone.register() == [KEYS[0]]
    solo = alone.popen(KEYS[0], tmp_path / "alone.log")
    assert solo.wait(timeout=600) == 0, (tmp_path / "alone.log").read_text()[-4000:]
    got, want = result_rows(env.data, KEYS[0]), result_rows(alone.data, KEYS[0])
    assert want["texts"] and want["pages"]
    for table in want:
        assert got[table] == want[table], table
