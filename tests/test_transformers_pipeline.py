"""The whole graph on the transformers engines, switched by one setting (a profile file), with tiny
checkpoints built here and loaded through the same code path as hub ids. Each model loads once per run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from ocr_resources import model_cache  # noqa: E402
from ocr_resources.profiles import load_profile  # noqa: E402
from tests import tiny_models  # noqa: E402
from tests.conftest import make_pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory) -> Path:
    models = tmp_path_factory.mktemp("models")
    # Start from the documented GPU profile and point each role at a tiny local checkpoint instead of a hub id.
    profile = yaml.safe_load((ROOT / "configs" / "transformers.yaml").read_text())
    roles = profile["roles"]
    roles["layout"].update(model=tiny_models.build_detr_layout(models / "detr"), score_threshold=0.0, device="cpu")
    roles["table"].update(model=tiny_models.build_table_transformer(models / "tatr"), score_threshold=0.0,
                          device="cpu")
    roles["ocr"].update(engine="trocr", model=tiny_models.build_trocr(models / "trocr"), max_new_tokens=8,
                        device="cpu", options={})
    roles["chart"].update(model=tiny_models.build_pix2struct(models / "pix2struct"), max_new_tokens=8, device="cpu")
    roles["formula"].update(model=tiny_models.build_tex_ocr(models / "tex"), max_new_tokens=4, device="cpu")
    path = models / "tiny-transformers.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


@pytest.fixture(scope="module")
def transformers_run(profile_file, tmp_path_factory):
    model_cache.clear()  # a fresh run process
    pipeline = make_pipeline(tmp_path_factory.mktemp("tdata"), profile=load_profile(str(profile_file)))
    result = pipeline.run()
    assert result.success
    pipeline.first_run_id = result.run_id
    return pipeline


def test_each_model_loads_once_for_a_run_over_several_containers(transformers_run):
    loads = transformers_run.store.query(
        "SELECT role, engine, loads, load_seconds FROM model_loads WHERE run_id = ?", [transformers_run.first_run_id])
    assert {r["role"]: r["loads"] for r in loads} == {"layout": 1, "ocr": 1, "table": 1, "chart": 1, "formula": 1}
    assert all(r["load_seconds"] > 0 for r in loads)
    mats = transformers_run.store.query(
        "SELECT DISTINCT partition_key FROM materializations WHERE run_id = ?", [transformers_run.first_run_id])
    assert len(mats) == 3  # one run covered every container


def test_results_and_lineage_land_in_the_same_tables(transformers_run):
    by_asset = {r["asset_key"]: r for r in transformers_run.store.query(
        "SELECT DISTINCT asset_key, engine, model_id, model_revision FROM lineage WHERE run_id = ?",
        [transformers_run.first_run_id])}
    assert by_asset["layout_regions"]["engine"].startswith("transformers_")
    assert by_asset["layout_regions"]["model_revision"].startswith("sha256:")
    assert by_asset["ocr_text"]["engine"] == "trocr"
    # formulas the formula role read (formula regions of the scans, if the tiny detector gave any) say so
    formulas = transformers_run.store.query("SELECT source, reason FROM formulas WHERE source <> 'text_layer'")
    assert all(r["source"] == "tex_ocr" and "read by tex_ocr" in r["reason"] for r in formulas)
    regions = transformers_run.store.query("SELECT label, model_label, label_reason FROM regions")
    assert regions, "the tiny detector with threshold 0 reports boxes"
    from ocr_resources.types import CANONICAL_LABELS

    # every region has a canonical label and the model's own, or (a region the words fill that the model
    # missed) the reason it has none
    assert all(r["label"] in CANONICAL_LABELS for r in regions)
    unexplained = [r for r in regions if not (r["model_label"] or r["label_reason"])]
    assert not unexplained, unexplained[:3]
    ocr_rows = transformers_run.store.query(
        "SELECT text, text_source FROM texts WHERE document_id = 'scanned_letter.pdf'")
    assert ocr_rows and all(r["text_source"] == "ocr" and isinstance(r["text"], str) for r in ocr_rows)
    # digital pages still take their text from the text layer, whatever the OCR engine
    digital = transformers_run.store.query(
        "SELECT DISTINCT text_source FROM texts WHERE document_id = 'digital_text.pdf'")
    assert [d["text_source"] for d in digital] == ["text_layer"]


def test_switching_profile_changes_exactly_the_model_assets_code_versions(profile_file):
    script = ("import json; from ocr_assets.assets import code_version, LOGIC_VERSIONS; "
              "print(json.dumps({a: code_version(a) for a in LOGIC_VERSIONS}))")

    def versions(profile: str) -> dict[str, str]:
        env = {**os.environ, "OCR_PROFILE": profile}
        out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=120, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    offline, tiny = versions("offline"), versions(str(profile_file))
    changed = {a for a in offline if offline[a] != tiny[a]}
    assert changed == {"layout_regions", "ocr_text", "tables", "chart_data"}
