"""Shared torch plumbing for the transformers engines: device/dtype resolution, checkpoint identity,
size-bucketed batching with CUDA out-of-memory back-off.

Only imported by the transformers engines, so the offline default never pulls in torch.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch

from ocr_resources.engines.model_source import ModelSource, hub_cache_dir, resolve_model_source

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Files whose bytes define a checkpoint's behaviour (weights); configs are small and change rarely, but
# they are hashed too so that a relabelled id2label gives a new lineage revision.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".msgpack", ".h5")
CONFIG_NAMES = ("config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json")

_DTYPES = {
    "fp32": torch.float32,
    "float32": torch.float32,
    "fp16": torch.float16,
    "float16": torch.float16,
    "half": torch.float16,
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
}

_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda, then mps, then cpu; anything else is passed to torch.device ('cuda:1', 'cpu')."""
    name = (name or "auto").lower()
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """'auto' -> bf16 on CUDA that supports it, else fp16 on accelerators, fp32 on CPU."""
    name = (name or "auto").lower()
    if name != "auto":
        try:
            return _DTYPES[name]
        except KeyError:
            raise ValueError(f"unknown dtype {name!r}; use auto, fp32, fp16 or bf16") from None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32  # half precision on CPU is slow and often unsupported by conv kernels


def local_checkpoint_hash(directory: str | Path, length: int = 16) -> str:
    """Short sha256 over the weight (and config) files of a local checkpoint directory, in name order."""
    root = Path(directory)
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name in CONFIG_NAMES)
    )
    if not files:
        raise FileNotFoundError(f"no weight files in checkpoint directory {root}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()[:length]


def checkpoint_revision(model: str, revision: str = "main") -> str:
    """The revision to record in lineage: a content hash for a local directory; for a hub id the commit
    hash that `revision` resolved to in the local cache (no network), else `revision` as given."""
    if model and Path(model).is_dir():
        return local_checkpoint_hash(model)
    if revision and _COMMIT_RE.match(revision):
        return revision
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, "config.json", cache_dir=hub_cache_dir(),
                                        revision=revision or "main")
    except Exception:  # noqa: BLE001 - lineage must never break a model load
        cached = None
    if isinstance(cached, str):
        # .../models--org--name/snapshots/<commit>/config.json
        commit = Path(cached).parent.name
        if _COMMIT_RE.match(commit):
            return commit
    return revision or "main"


def load_kwargs(settings: Any, dtype: torch.dtype, source: ModelSource | None = None) -> dict[str, Any]:
    """Keyword arguments for `from_pretrained` shared by every engine (same path for hub ids and dirs)."""
    hub = source.hub_kwargs(settings.revision) if source else {"revision": settings.revision or "main"}
    return {**hub, "dtype": dtype}


def size_class(image: Any, bucket: int = 64) -> tuple[int, int]:
    """(h, w) rounded up to `bucket` pixels: images in one class pad to nearly the same tensor."""
    w, h = image.size  # PIL
    return (-(-h // bucket), -(-w // bucket))


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    # MPS and some older CUDA paths raise a plain RuntimeError
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def run_batched(
    items: Sequence[T],
    batch_size: int,
    fn: Callable[[list[T]], list[R]],
    logger: logging.Logger | None = None,
    key: Callable[[T], Any] | None = None,
) -> list[R]:
    """Run `fn` over `items` in batches and return its results in the original order.

    `key` (e.g. `size_class`) groups similar items into the same batch to limit padding; results are put
    back in input order. On CUDA out-of-memory the batch size is halved and the failing batch retried
    (the smaller size is kept for the rest of the call); at batch size 1 the error is re-raised.
    """
    logger = logger or log
    n = len(items)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda i: key(items[i])) if key is not None else list(range(n))
    size = max(1, int(batch_size))
    results: list[Any] = [None] * n
    pos = 0
    while pos < n:
        idx = order[pos : pos + size]
        try:
            out = fn([items[i] for i in idx])
        except Exception as exc:
            if not _is_oom(exc) or size == 1:
                raise
            new_size = max(1, size // 2)
            logger.warning(
                "out of memory at batch size %d; retrying with batch size %d", size, new_size
            )
            size = new_size
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            continue
        if len(out) != len(idx):
            raise RuntimeError(f"batch function returned {len(out)} results for {len(idx)} inputs")
        for i, r in zip(idx, out, strict=True):
            results[i] = r
        pos += len(idx)
    return results


def to_device(inputs: Any, device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    """Move a processor's output to `device`; floating tensors (pixels) also to the model's dtype."""
    moved: dict[str, Any] = {}
    for name, value in dict(inputs).items():
        if isinstance(value, torch.Tensor):
            value = value.to(device)
            if value.is_floating_point():
                value = value.to(dtype)
        moved[name] = value
    return moved


def inference_mode() -> torch.inference_mode:
    """Context manager for all engine forward/generate calls: no autograd bookkeeping."""
    return torch.inference_mode()


class TorchRuntime:
    """Mixin for the transformers engines: device, dtype and batch size from the settings, in one place."""

    def _init_runtime(self, settings: Any) -> dict[str, Any]:
        """Set settings/device/dtype/batch_size and where the checkpoint comes from (`model_path`, and
        `hub_kwargs` for processors and tokenizers); returns the keyword arguments for the model's
        `from_pretrained`. Raises ModelUnavailableError at once when the checkpoint is neither on disk nor
        reachable, before any download is tried."""
        from ocr_resources.profiles import profile_name

        source = resolve_model_source(settings.role, settings.model, settings.revision, profile_name())
        log.info("%s model %s from %s", settings.role, settings.model, source.where)
        self.settings = settings
        self.model_path = source.path
        self.device = resolve_device(settings.device)
        self.dtype = resolve_dtype(settings.dtype, self.device)
        self.batch_size = max(1, settings.batch_size)
        self.hub_kwargs = source.hub_kwargs(settings.revision)
        return load_kwargs(settings, self.dtype, source)
