"""A profile round trip as a user sees it in the web UI (headless Chromium): results made with offline, then with
offline-rapidocr; the webserver and daemon start again with offline. Switched on in the UI, the staleness sensor
requests a check run and `made_with_current_versions` of `ocr_text` shows Failed; switched on, the inbox sensor
requests a run of the container (a return to an earlier profile), after which the check shows Succeeded. Each
sensor's page lists its tick with "1 run requested" and the run it launched."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

from tests.orchestration.conftest import BIN, ROOT, free_port, stop, tail, wait_for
from tests.orchestration.test_profile_round_trip import RoundTrip
from tests.orchestration.test_services import CHROMIUM, _chromium

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900),
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make system-deps` installs it)")]
REPO = {"repositoryName": "__repository__", "repositoryLocationName": "ocr_pipeline"}
START_SENSOR = """mutation ($selector: SensorSelector!) { startSensor(sensorSelector: $selector) { __typename } }"""
DONE = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def _text(dom: str) -> str:
    """The page's visible text, one `|` between elements."""
    body = re.sub(r"<style.*?</style>|<script.*?</script>", "", dom, flags=re.S)
    return re.sub(r"\|+", "|", html.unescape(re.sub(r"<[^>]+>", "|", body)))


def _page(url: str, profile: Path) -> str:
    out = _chromium(["--dump-dom", url], profile)
    assert out.returncode == 0, out.stderr[-2000:]
    return _text(out.stdout)


def _check_status(base: str, profile: Path) -> str:
    """The status the asset's Checks tab shows next to `made_with_current_versions` of ocr_text."""
    text = _page(f"{base}/assets/ocr_text?view=checks", profile)
    found = re.search(r"\|made_with_current_versions\|made_with_current_versions\|(\w+)\|", text)
    assert found, text[-3000:]
    return found.group(1)


def test_profile_round_trip_in_the_ui(tmp_path):
    trip = RoundTrip(tmp_path, {}, (ROOT / "dagster_home" / "dagster.yaml").read_text())
    first_key = trip.step("offline")["inbox_tick"]["requests"][0]["run_key"]
    trip.step("offline-rapidocr")  # rapidocr's results are the stored ones now, every check green

    env = {**trip.env, "OCR_PROFILE": "offline", "PYTHONUNBUFFERED": "1"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = {name: tmp_path / f"{name}.log" for name in ("webserver", "daemon")}
    procs = [subprocess.Popen([str(BIN / cmd), *args], cwd=ROOT, env=env, stdout=logs[name].open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
             for name, cmd, args in (
                 ("webserver", "dagster-webserver", ["-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]),
                 ("daemon", "dagster-daemon", ["run", "-w", "workspace.yaml"]))]
    instance = DagsterInstance.from_config(str(trip.home))
    try:
        def up() -> bool:
            assert all(p.poll() is None for p in procs), {n: tail(p) for n, p in logs.items()}
            try:
                return requests.get(f"{base}/server_info", timeout=5).ok
            except requests.RequestException:
                return False

        wait_for(up, 120, f"the webserver on port {port}")

        def start(sensor: str) -> None:
            resp = requests.post(f"{base}/graphql", timeout=60, json={
                "query": START_SENSOR, "variables": {"selector": {**REPO, "sensorName": sensor}}})
            assert resp.json()["data"]["startSensor"]["__typename"] == "Sensor", resp.text

        before = {r.run_id for r in instance.get_runs()}  # the steps' runs (the sensors' requests, in process)

        def finished_run(sensor: str, job: str):
            def done():
                runs = [r for r in instance.get_runs(RunsFilter(job_name=job, tags={SENSOR_NAME_TAG: sensor}))
                        if r.run_id not in before]
                return runs[0] if runs and all(r.status in DONE for r in runs) else None

            try:
                return wait_for(done, 240, f"a run of {job} requested by {sensor}", interval=2)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{tail(logs['daemon'])}") from None

        # 1. The staleness sensor, switched on in the UI: a check run, and the OCR check turns yellow.
        start("stale_results_sensor")
        check_run = finished_run("stale_results_sensor", "staleness_checks")
        assert check_run.status == DagsterRunStatus.SUCCESS, tail(logs["daemon"])
        assert _check_status(base, tmp_path / "chrome-1") == "Failed"
        sensor_page = _page(f"{base}/locations/__repository__@ocr_pipeline/sensors/stale_results_sensor",
                            tmp_path / "chrome-2")
        assert f"|1 run requested|{check_run.run_id[:8]}|" in sensor_page, sensor_page[-3000:]

        # 2. The inbox sensor, switched on: the container runs again (a new run key), the check turns green.
        start("inbox_sensor")
        run = finished_run("inbox_sensor", "document_pipeline")
        assert run.status == DagsterRunStatus.SUCCESS, tail(logs["daemon"])
        assert run.tags[RUN_KEY_TAG] != first_key and run.tags["ocr/reason"] == "stale"
        assert _check_status(base, tmp_path / "chrome-3") == "Succeeded"
        sensor_page = _page(f"{base}/locations/__repository__@ocr_pipeline/sensors/inbox_sensor",
                            tmp_path / "chrome-4")
        assert f"|1 run requested|{run.run_id[:8]}|" in sensor_page, sensor_page[-3000:]

        shot = tmp_path / "checks.png"
        out = _chromium([f"--screenshot={shot}", f"{base}/assets/ocr_text?view=checks"], tmp_path / "chrome-5")
        assert out.returncode == 0 and shot.is_file(), out.stderr[-2000:]
        keep = ROOT / ".pytest_cache" / "orchestration" / "round_trip_checks.png"
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep)  # for a human to look at
    finally:
        for proc in reversed(procs):
            stop(proc)
