"""Quiet, useful output: loading the definitions prints none of Dagster's beta/preview/superseded notices
(the project's own warnings still show), and the project's CLI works from a new shell (DAGSTER_HOME
defaults to the project's dagster_home/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LOAD = """
import warnings
import ocr_assets.definitions  # noqa: F401
from dagster import AssetSelection
AssetSelection.all(include_sources=True)  # a beta parameter, as the dagster CLI's --select uses it
warnings.warn("the project's own warning", UserWarning)
"""


def test_loading_the_definitions_prints_no_dagster_api_notices():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "OCR_"))}
    out = subprocess.run([sys.executable, "-W", "default", "-c", LOAD], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    for notice in ("BetaWarning", "PreviewWarning", "SupersessionWarning"):
        assert notice not in out.stderr, out.stderr[-3000:]
    assert "the project's own warning" in out.stderr


def test_cli_defaults_dagster_home(monkeypatch):
    from ocr_assets import cli

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli.default_dagster_home() == str((ROOT / "dagster_home").resolve())
    assert os.environ["DAGSTER_HOME"] == str((ROOT / "dagster_home").resolve())
    monkeypatch.setenv("DAGSTER_HOME", "/somewhere/else")
    assert cli.default_dagster_home() == "/somewhere/else"  # an explicit one wins
