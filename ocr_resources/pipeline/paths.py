"""Every path the pipeline writes or deletes must lie inside its data directory: checked here, before the write
or the delete, whatever a partition key or a file name looked like."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class UnsafePathError(ValueError):
    """A path that would leave the data directory."""


def inside(root: str | os.PathLike, path: str | os.PathLike) -> Path:
    """`path`, when it lies inside `root` once `..` and symbolic links are resolved; raises otherwise."""
    base = Path(os.path.realpath(root))
    target = Path(os.path.realpath(path))
    if target != base and base not in target.parents:
        raise UnsafePathError(f"refusing to touch {os.fsdecode(path)!r}: it is outside {os.fsdecode(root)!r}")
    return Path(path)


def remove_tree(root: str | os.PathLike, path: str | os.PathLike) -> None:
    """shutil.rmtree, only inside `root` (and only the folder itself: a symlink is unlinked, not followed)."""
    target = Path(path)
    if target.is_symlink():
        inside(root, target.parent)
        target.unlink()
        return
    inside(root, target)
    shutil.rmtree(target, ignore_errors=True)
