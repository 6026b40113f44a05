"""Staleness after any sequence of profile changes: offline -> offline-rapidocr -> offline -> transformers (its
weights absent, so its run fails) -> offline, each step a new process as after a restart
(tests/orchestration/profile_step.py), on a SQLite instance and on a PostgreSQL one.

After every sensor tick the `made_with_current_versions` results the UI shows match DuckDB's `stale` view (failed
exactly for the stale pairs), the live store and the read copy list the same pairs, the inbox sensor re-runs a
container on a return to an earlier profile (a new run key) and never twice for the same stored results, a failed
run's red partitions turn green when the profile goes back and DuckDB's results are current, and the
staleness sensor ends every step with nothing left to settle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocr_assets.samples import write_samples
from tests.local_postgres import local_postgres
from tests.orchestration.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
KEY = "one"
ASSETS = ["source_documents", "rendered_pages", "layout_regions", "ocr_text", "tables", "chart_data",
          "document_markdown"]
PG_STORAGE = "\nstorage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n"


class RoundTrip:
    """A temporary instance and data folder; `step(profile)` runs one step there and returns what it saw."""

    def __init__(self, root: Path, extra_env: dict[str, str], dagster_yaml: str) -> None:
        self.root, self.data, self.home = root, root / "data", root / "dagster_home"
        self.home.mkdir(parents=True)
        (self.home / "dagster.yaml").write_text(dagster_yaml)
        write_samples(self.data / "inbox", {KEY: ["digital_text.pdf"]})
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "OCR_"))}
        # transformers without its weights: nothing in this HF cache, and the hub offline
        self.env.update(DAGSTER_HOME=str(self.home), OCR_DATA_DIR=str(self.data), OCR_AUTOMATION="off",
                        HF_HOME=str(root / "hf"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra_env)

    def step(self, profile: str, *args: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "tests.orchestration.profile_step", *args], cwd=ROOT,
                             env={**self.env, "OCR_PROFILE": profile}, capture_output=True, text=True, timeout=400)
        assert out.returncode == 0, out.stderr[-4000:]
        return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(params=["sqlite", "postgres"])
def round_trip(request, tmp_path) -> Iterator[RoundTrip]:
    dagster_yaml = (ROOT / "dagster_home" / "dagster.yaml").read_text()
    if request.param == "sqlite":
        yield RoundTrip(tmp_path, {}, dagster_yaml)
        return
    pytest.importorskip("dagster_postgres", reason="the cluster extra (dagster-postgres) is not installed")
    try:
        server = local_postgres(("dagster",))
        pg = server.__enter__()
    except RuntimeError as exc:
        pytest.skip(f"no local PostgreSQL: {exc}")
    try:
        yield RoundTrip(tmp_path, {"DAGSTER_PG_URL": pg.url("dagster")}, dagster_yaml + PG_STORAGE)
    finally:
        server.__exit__(None, None, None)


def assert_shows_duckdb(state: dict) -> None:
    """Every check result the UI shows matches DuckDB: failed exactly for the stale (asset, container) pairs;
    the read copy lists the same stale pairs as the live store; Dagster's own Unsynced status agrees."""
    stale = {(a, k) for a, k in state["stale_live"]}
    assert state["stale_read_copy"] == state["stale_live"]
    shown = {(a, k): s for a, by_key in state["checks"].items() for k, s in by_key.items()}
    assert shown == {(a, KEY): "failed" if (a, KEY) in stale else "passed" for a in ASSETS}, (shown, stale)
    assert {(a, k) for a, keys in state["dagster_unsynced"].items() for k in keys} == stale


def settled(step: dict, ticks: tuple[str, ...] = ("second_staleness_tick", "third_staleness_tick")) -> None:
    for tick in ticks:
        assert step[tick]["requests"] == [] and step[tick]["events"] == [], step[tick]
    assert step["third_staleness_tick"]["skip"].endswith("every check result matches DuckDB")


def inbox_request(step: dict) -> dict:
    (request,) = step["inbox_tick"]["requests"]
    assert request["launched"] and request["partition"] == KEY
    return request


def staleness_request(step: dict) -> dict:
    (request,) = step["first_staleness_tick"]["requests"]
    assert request["launched"] and request["success"] and request["run_key"].startswith("staleness:")
    assert request["tags"]["dagster/partition"] == KEY
    return request


def test_profile_round_trips_keep_checks_sensors_and_stale_view_true(round_trip: RoundTrip):
    first = round_trip.step("offline")
    assert first["first_staleness_tick"]["requests"] == []
    new = inbox_request(first)
    assert new["tags"]["ocr/reason"] == "new" and new["success"]
    assert_shows_duckdb(first["end"])
    assert first["end"]["stale_live"] == []
    settled(first)

    # A: offline -> B: offline-rapidocr. The OCR check turns yellow before any pipeline run, then B's run.
    rapid = round_trip.step("offline-rapidocr")
    assert "ocr_text" in staleness_request(rapid)["checks"]
    assert ["ocr_text", KEY] in rapid["after_first_tick"]["stale_live"]
    assert_shows_duckdb(rapid["after_first_tick"])
    run_b = inbox_request(rapid)
    assert run_b["tags"]["ocr/reason"] == "stale" and run_b["success"]
    assert_shows_duckdb(rapid["end"])
    assert rapid["end"]["stale_live"] == []
    settled(rapid)

    # B -> A: B's results are the stored ones, so the container is stale again and gets a new run key.
    back = round_trip.step("offline")
    assert "ocr_text" in staleness_request(back)["checks"]
    assert ["ocr_text", KEY] in back["after_first_tick"]["stale_live"]
    assert_shows_duckdb(back["after_first_tick"])
    run_a = inbox_request(back)
    assert run_a["tags"]["ocr/reason"] == "stale" and run_a["success"]
    assert run_a["run_key"] != new["run_key"]  # same files, same versions as the first run: other stored results
    assert run_a["run_key"].split(":")[:3] == new["run_key"].split(":")[:3]
    assert_shows_duckdb(back["end"])
    assert back["end"]["stale_live"] == []
    settled(back)

    # A -> C: transformers without its weights. Its model assets turn stale, and its run fails.
    broken = round_trip.step("transformers")
    model_assets = {"layout_regions", "ocr_text", "tables", "chart_data"}
    assert set(staleness_request(broken)["checks"]) == model_assets
    assert {a for a, _ in broken["after_first_tick"]["stale_live"]} == model_assets
    assert_shows_duckdb(broken["after_first_tick"])
    failed_run = inbox_request(broken)
    assert not failed_run["success"]
    assert_shows_duckdb(broken["end"])
    # The failed run left document_markdown red too, though its code version is the same under every profile and
    # its results are current: the next tick turns it green (and its check is evaluated again).
    second = broken["second_staleness_tick"]
    assert second["events"] == [["AssetMaterialization", "document_markdown", KEY]]
    assert "document_markdown" in second["requests"][0]["checks"] and second["requests"][0]["success"]
    failed = {a for a, by_key in broken["end"]["assets"].items() if by_key[KEY] == "FAILED"}
    assert failed == model_assets
    settled(broken, ("third_staleness_tick",))

    # C -> A: DuckDB's results are current again. The failed partitions turn green (a runless materialization
    # repeating the latest one), their checks pass, and nothing re-runs the container.
    again = round_trip.step("offline")
    events = again["first_staleness_tick"]["events"]
    assert sorted(e[1] for e in events) == sorted(failed) and {e[0] for e in events} == {"AssetMaterialization"}
    assert set(staleness_request(again)["checks"]) == failed
    assert again["inbox_tick"]["requests"] == []
    for state in (again["after_first_tick"], again["end"]):
        assert_shows_duckdb(state)
        assert state["stale_live"] == []
        assert {a: by_key[KEY] for a, by_key in state["assets"].items()} == dict.fromkeys(ASSETS, "MATERIALIZED")
    settled(again)
    # a repeat of the same step decides nothing new
    repeat = round_trip.step("offline", "--no-pipeline-runs")
    assert repeat["first_staleness_tick"]["requests"] == [] and repeat["inbox_tick"]["requests"] == []
    assert_shows_duckdb(repeat["end"])
