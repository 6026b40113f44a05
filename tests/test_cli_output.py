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


# -- the console script, and a failed run's one message --------------------------------------------------
BIN = Path(sys.executable).parent


def test_console_script_is_declared_and_installed():
    import tomllib

    from ocr_assets import cli

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["ocr-pipeline"] == "ocr_assets.cli:main"
    assert cli.main is not None
    # `make setup` installs it (its stamp depends on pyproject.toml)
    out = subprocess.run([str(BIN / "ocr-pipeline"), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for command in cli.COMMANDS:
        assert command in out.stdout


def test_every_command_has_its_own_help(capsys):
    import pytest

    from ocr_assets import cli

    for command in cli.COMMANDS:
        with pytest.raises(SystemExit) as exit_:
            cli.main([command, "--help"])
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        assert f"usage: ocr-pipeline {command}" in text and "--verbose" in text
    with pytest.raises(SystemExit):
        cli.main(["backfill", "--partition-range", "a...b"])  # an option of another command is refused


def _failing_env(tmp_path: Path) -> dict[str, str]:
    """An instance where container `gone` is registered but its folder has left the inbox: its run fails."""
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster_home" / "dagster.yaml").read_text())
    from ocr_assets.samples import digital_text_pdf

    (data / "inbox" / "gone").mkdir(parents=True)
    (data / "inbox" / "gone" / "a.pdf").write_bytes(digital_text_pdf())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "OCR_"))}
    env.update(DAGSTER_HOME=str(home), OCR_DATA_DIR=str(data), OCR_AUTOMATION="off")
    out = subprocess.run([str(BIN / "ocr-pipeline"), "register"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0 and out.stdout.strip() == "gone", out.stderr[-2000:]
    (data / "inbox" / "gone" / "a.pdf").unlink()
    (data / "inbox" / "gone").rmdir()
    return env


def _materialize(env: dict[str, str], *extra: str) -> tuple[int, str]:
    out = subprocess.run([str(BIN / "ocr-pipeline"), "materialize", "--partition", "gone", *extra], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    return out.returncode, out.stdout + out.stderr


def test_a_failed_run_ends_with_one_clear_message_and_no_stack_trace(tmp_path):
    env = _failing_env(tmp_path)
    code, output = _materialize(env)
    assert code == 1
    tail = output.strip().splitlines()[-4:]
    assert tail[0].startswith("FAILED: source_documents on container gone"), output[-3000:]
    assert tail[1].startswith("  why: FileNotFoundError: container 'gone' is not in the inbox"), output[-3000:]
    assert tail[2].startswith("  what to do: ") and "ocr-pipeline keys" in tail[2]
    assert "--verbose" in tail[3]
    for trace in ("Traceback", "Stack Trace", 'File "', "DagsterExecutionStepExecutionError", "Not executing"):
        assert trace not in output, output[-3000:]
    assert len(output.strip().splitlines()) < 10, output  # not ~100 lines

    code, verbose = _materialize(env, "--verbose")
    assert code == 1
    assert "Stack Trace" in verbose and 'File "' in verbose  # the trace, when asked for
    assert verbose.strip().splitlines()[-4].startswith("FAILED: source_documents on container gone")


def test_a_model_that_cannot_be_loaded_says_what_to_do(tmp_path):
    """A Failure (the model is nowhere) keeps its own description, which says how to get the model."""
    env = _failing_env(tmp_path)
    from ocr_assets.samples import digital_text_pdf

    (Path(env["OCR_DATA_DIR"]) / "inbox" / "gone").mkdir()
    (Path(env["OCR_DATA_DIR"]) / "inbox" / "gone" / "a.pdf").write_bytes(digital_text_pdf())
    profile = tmp_path / "missing.yaml"
    profile.write_text("roles:\n  layout:\n    engine: transformers\n    model: nobody/missing-model\n"
                       "    device: cpu\n")
    env.update(OCR_PROFILE=str(profile), HF_HUB_OFFLINE="1")
    code, output = _materialize(env)
    assert code == 1
    tail = output.strip().splitlines()[-4:]
    assert tail[0].startswith("FAILED: layout_regions on container gone"), output[-3000:]
    assert "nobody/missing-model" in tail[1] and "hf download" in tail[1]
    assert "make fetch-models" in tail[2]
    assert "Stack Trace" not in output and 'File "' not in output


# -- backfill: what runs the daemon makes of a set of containers --------------------------------------------
def test_backfill_runs_are_one_per_stretch_of_adjacent_containers_as_dagster_makes_them(tmp_path):
    """The CLI says how many runs a backfill becomes, and that is what Dagster's single-run backfill policy
    makes: one run for adjacent containers (any number), one per stretch for containers with others between
    them (Dagster runs cover one partition key or one key range)."""
    from dagster import DagsterInstance
    from dagster._core.definitions.automation_tick_evaluation_context import (
        build_run_requests_with_backfill_policies,
    )
    from dagster._core.definitions.events import AssetKeyPartitionKey
    from dagster._core.definitions.partitions.context import partition_loading_context

    from ocr_assets.assets import document_assets
    from ocr_assets.cli import run_stretches
    from ocr_assets.definitions import defs
    from ocr_assets.partitions import containers

    ordered = ["a", "b", "c", "d", "e"]
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(containers.name, ordered)
    graph = defs.resolve_asset_graph()
    for wanted, stretches in ((["b", "c", "d"], [["b", "c", "d"]]), (["a", "c", "e"], [["a"], ["c"], ["e"]]),
                              (["e", "a", "b"], [["a", "b"], ["e"]]), (ordered, [ordered])):
        assert run_stretches(ordered, wanted) == stretches
        with partition_loading_context(dynamic_partitions_store=instance):
            requests = build_run_requests_with_backfill_policies(
                [AssetKeyPartitionKey(a.key, k) for a in document_assets for k in wanted], graph, instance)
        ranges = sorted((r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
                        for r in requests)
        assert ranges == sorted((s[0], s[-1]) for s in stretches), (wanted, ranges)
