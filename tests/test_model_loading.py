"""A transformers model that cannot be loaded fails at once, with one message naming the model, where it
was looked for and what to do; a cached one loads with no network at all; and in a run the failure is
not retried (neither by the step's retry policy nor by the run retry)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from dagster import DagsterEventType  # noqa: E402
from dagster._core.storage.tags import RETRY_ON_ASSET_OR_OP_FAILURE_TAG  # noqa: E402

from ocr_resources import model_cache  # noqa: E402
from ocr_resources.engines import EngineSettings  # noqa: E402
from ocr_resources.engines.model_source import ModelUnavailableError  # noqa: E402
from ocr_resources.engines.transformers_layout import TransformersLayoutDetector  # noqa: E402
from ocr_resources.profiles import load_profile  # noqa: E402
from tests import tiny_models  # noqa: E402
from tests.conftest import make_pipeline  # noqa: E402

MISSING = "no-such-org/no-such-layout-model"


@pytest.fixture
def hub_env(tmp_path, monkeypatch) -> Path:
    """An empty hub cache of our own; no offline flag unless a test sets one."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    return cache


def _layout(model: str) -> TransformersLayoutDetector:
    return TransformersLayoutDetector(EngineSettings(role="layout", engine="transformers", model=model, device="cpu"))


@pytest.mark.timeout(30)
def test_missing_model_offline_fails_at_once_with_what_to_do(hub_env, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as err:
        _layout(MISSING)
    message = str(err.value)
    assert MISSING in message and str(hub_env) in message  # the model, and where it looked
    assert "HF_HUB_OFFLINE" in message  # why
    assert f"hf download {MISSING}" in message and "local directory" in message  # what to do


@pytest.mark.timeout(30)
def test_missing_model_with_unreachable_hub_fails_at_once(hub_env, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ModelUnavailableError, match="cannot connect to 127.0.0.1:9"):
        _layout(MISSING)


@pytest.mark.timeout(30)
def test_missing_local_directory_says_so(hub_env, tmp_path):
    with pytest.raises(ModelUnavailableError, match="there is no local directory"):
        _layout(str(tmp_path / "not-saved-here"))


@pytest.mark.timeout(120)
def test_cached_model_loads_with_no_network(hub_env, tmp_path, monkeypatch):
    """Local files first: a model in the hub cache loads although the hub is unreachable."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = hub_env / "models--tiny-org--tiny-detr"
    snapshot = repo / "snapshots" / commit
    tiny_models.build_detr_layout(tmp_path / "built")
    shutil.copytree(tmp_path / "built", snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    engine = _layout("tiny-org/tiny-detr")
    assert engine.identity.model_id == "tiny-org/tiny-detr" and engine.identity.revision == commit


@pytest.mark.timeout(300)
def test_run_with_a_missing_model_fails_once_and_is_not_retried(hub_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    profile = load_profile("offline")
    profile["layout"] = {"engine": "transformers", "model": MISSING, "device": "cpu"}
    model_cache.clear()
    pipeline = make_pipeline(tmp_path / "data", profile=profile)
    job = pipeline.defs.resolve_job_def("document_pipeline")
    result = job.execute_in_process(instance=pipeline.instance, partition_key="scanned-mail", raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    layout = [e for e in failures if e.step_key == "layout_regions"]
    assert layout, [e.step_key for e in failures]
    data = layout[0].step_failure_data
    assert MISSING in data.user_failure_data.description and "hf download" in data.user_failure_data.description
    run = pipeline.instance.get_run_by_id(result.run_id)
    assert run.tags[RETRY_ON_ASSET_OR_OP_FAILURE_TAG] == "false"  # the run retry skips it
    # the stages before the model still committed their rows
    assert pipeline.store.query("SELECT count(*) AS n FROM pages WHERE container_id = 'scanned-mail'")[0]["n"] > 0
