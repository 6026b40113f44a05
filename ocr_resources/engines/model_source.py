"""Where a transformers checkpoint comes from, decided before anything is downloaded: a local directory,
the local Hugging Face cache (loaded with local_files_only, no network), or the hub when it is reachable.
A model that is in neither place fails at once with one message that names the model, where it was looked
for and what to do, instead of after minutes of download retries with "Can't load image processor".

    python -m ocr_resources.engines.model_source fetch [PROFILE]   # pre-fetch a profile's hub models
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_ENDPOINT = "https://huggingface.co"
CONNECT_TIMEOUT_S = 3.0
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".msgpack", ".h5")
_TRUE = {"1", "true", "yes", "on"}


class ModelUnavailableError(RuntimeError):
    """The checkpoint is neither on disk nor reachable. Retrying cannot help until someone fetches it."""


@dataclass(frozen=True)
class ModelSource:
    path: str  # what to hand to from_pretrained: a local directory (given, or the cached snapshot) or the hub id
    local_files_only: bool  # True: every file is read from disk, no network call
    where: str  # for logs: "local directory", "cache <snapshot dir>", "hub <endpoint>"
    cache_dir: str | None = None  # hub downloads go where the cache lookup looked

    def hub_kwargs(self, revision: str) -> dict:
        """Keyword arguments for every from_pretrained of this checkpoint (processor, tokenizer, model)."""
        kwargs: dict = {"revision": revision or "main", "local_files_only": self.local_files_only}
        if self.cache_dir:
            kwargs["cache_dir"] = self.cache_dir
        return kwargs


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, resolved the way huggingface_hub does (read now, not at import)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(os.path.expandvars(explicit)).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "huggingface")
    return Path(os.path.expandvars(home)).expanduser() / "hub"


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline_requested() -> bool:
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or (os.sep in model and Path(model).exists())


def cached_snapshot(model: str, revision: str, cache_dir: Path) -> Path | None:
    """The cached snapshot folder of `model` at `revision` if it holds a config and weights, else None."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(model, revision=revision or "main", cache_dir=cache_dir,
                                        local_files_only=True))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None
    files = [p for p in folder.rglob("*") if p.exists()]  # exists(): a dangling symlink is a missing blob
    if any(p.name == "config.json" for p in files) and any(p.suffix in WEIGHT_SUFFIXES for p in files):
        return folder
    return None


def hub_unreachable_reason(endpoint: str, timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """None when a TCP connection to the hub (or the HTTPS proxy) opens within `timeout`, else why not.
    Name resolution runs on a thread too, so a resolver that hangs cannot hold the load up."""
    url = urlparse(endpoint)
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    target = urlparse(proxy if proxy and url.scheme == "https" else endpoint)
    host, port = target.hostname or "", target.port or (443 if target.scheme == "https" else 80)
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(None)
        except OSError as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")

    worker = threading.Thread(target=probe, daemon=True, name="hub-probe")
    worker.start()
    worker.join(timeout + 1.0)
    if not outcome:
        return f"no answer from {host}:{port} within {timeout + 1.0:.0f}s"
    return outcome[0] and f"cannot connect to {host}:{port} ({outcome[0]})"


def resolve_model_source(role: str, model: str, revision: str = "main", profile: str = "") -> ModelSource:
    """Local directory, then cached snapshot (no network), then the hub if reachable; else raise
    ModelUnavailableError saying where it looked and what to do."""
    revision = revision or "main"
    if not model:
        raise ModelUnavailableError(f"the {role} role names no model: set `model:` in the profile")
    where_profile = f"the {role} role of the profile{f' ({profile})' if profile else ''}"
    if looks_like_path(model):
        path = Path(model).expanduser()
        if path.is_dir():
            return ModelSource(str(path), True, "local directory")
        raise ModelUnavailableError(
            f"{role} model {model!r}: there is no local directory {path}. Set `model:` in {where_profile} to a "
            "directory holding the checkpoint (saved with save_pretrained, or fetched with `hf download "
            "ORG/NAME --local-dir DIR`).")
    cache = hub_cache_dir()
    snapshot = cached_snapshot(model, revision, cache)
    if snapshot is not None:
        return ModelSource(str(snapshot), True, f"cache {snapshot}")
    endpoint = hub_endpoint()
    reason = "offline mode is set (HF_HUB_OFFLINE)" if offline_requested() else hub_unreachable_reason(endpoint)
    if reason is None:
        return ModelSource(model, False, f"hub {endpoint}", cache_dir=str(cache))
    raise ModelUnavailableError(
        f"{role} model {model!r} (revision {revision}) cannot be loaded: it is not in the local Hugging Face "
        f"cache ({cache}) and the hub {endpoint} cannot be used: {reason}. To fix: on a machine with internet "
        f"run `hf download {model} --revision {revision}` (or `make fetch-models` for every model of the "
        f"profile) and copy the cache folder here (or point HF_HOME at it), or set `model:` in {where_profile} "
        "to a local directory holding the checkpoint.")


def fetch_profile_models(profile: str | None = None) -> list[str]:
    """Download every hub model the profile names into the hub cache (run on a connected machine)."""
    from huggingface_hub import snapshot_download

    from ocr_resources.profiles import load_profile

    fetched = []
    for role, cfg in load_profile(profile or "transformers").items():
        model = str(cfg.get("model") or "")
        if not model or looks_like_path(model) or cfg.get("engine") in ("none", "rapid_layout", "rapidocr",
                                                                        "geometry"):
            continue
        revision = str(cfg.get("revision") or "main")
        print(f"{role}: {model}@{revision} -> {snapshot_download(model, revision=revision)}", flush=True)
        fetched.append(model)
    return fetched


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "fetch":
        sys.exit("usage: python -m ocr_resources.engines.model_source fetch [PROFILE]")
    fetch_profile_models(sys.argv[2] if len(sys.argv) > 2 else None)
