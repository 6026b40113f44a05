"""`make ui` as a user starts it: the webserver answers, and its output carries no SupersessionWarning
(`dagster dev` -> `dg dev`: dagster-dg-cli is not a dependency of the project)."""

from __future__ import annotations

import subprocess

import pytest
import requests

from tests.orchestration.conftest import ROOT, OrchestrationEnv, free_port, stop, tail, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_make_ui_starts_without_the_supersession_warning(tmp_path):
    env = OrchestrationEnv(tmp_path)
    port = free_port()
    log = tmp_path / "ui.log"
    # DAGSTER_HOME on make's command line: the Makefile exports its own otherwise
    proc = subprocess.Popen(["make", "--no-print-directory", "ui", f"UI_PORT={port}", f"DAGSTER_HOME={env.home}"],
                            cwd=ROOT, env=env.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        def up() -> bool:
            assert proc.poll() is None, f"make ui exited:\n{tail(log)}"
            try:
                return requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5).ok
            except requests.RequestException:
                return False

        wait_for(up, 180, f"make ui on port {port}")  # `dagster dev` warns as it starts, before the webserver
    finally:
        stop(proc)
    output = log.read_text(errors="replace")
    assert "SupersessionWarning" not in output and "dg dev" not in output, output[-3000:]
