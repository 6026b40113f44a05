"""Same results before and after a change: the whole graph over a fixed corpus (bench/profile.py's run, one
Dagster run, no profiler) in two checkouts of HEAD, one with the change's commits reverted, then `diff -r` of
their Markdown exports. Everything else is HEAD's in both, so concurrent work on other files never shows as a
difference.

    python -m bench.same_exports --revert 8c1c70c caf95a3 cb948e9
    python -m bench.same_exports --revert 8c1c70c --one-container --corpus ../shared/corpus/docling

"before": HEAD with the named commits' code reverted (newest first; bench/, tests/, docs/ kept); "after":
HEAD. Commit the change first. Exit status 0 when the exports are byte-identical, 1 when they differ (the diff
is printed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.profile import CORPUS

ROOT = Path(__file__).resolve().parents[1]
KEEP = ("bench", "tests", "docs")  # never reverted


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _checkout(where: Path, base: str, revert: list[str]) -> None:
    """A detached worktree of `base` with `revert` undone (not committed)."""
    _git("worktree", "add", "--detach", str(where), base)
    ordered = _git("rev-list", "--no-walk=sorted", *revert).split() if revert else []  # newest first
    for commit in ordered:  # the code only: the measuring tools and tests stay HEAD's
        patch = _git("diff", f"{commit}~1", commit, "--", ".", *(f":(exclude){d}" for d in KEEP))
        if patch:
            subprocess.run(["git", "apply", "-R", "-"], input=patch, text=True, cwd=where, check=True)
    # the measuring tool is this tree's in both
    shutil.copy2(ROOT / "bench" / "profile.py", where / "bench" / "profile.py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.same_exports")
    parser.add_argument("--revert", nargs="+", required=True, help="the change's commits")
    parser.add_argument("--corpus", type=Path, default=None, help="default: ../shared/corpus/docling")
    parser.add_argument("--one-container", action="store_true")
    args = parser.parse_args(argv)
    extra = ["--no-profile", "--no-peer", "--top", "0"] + (["--one-container"] if args.one_container else [])
    extra += ["--corpus", str((args.corpus or CORPUS).resolve())]  # the worktrees lie elsewhere: a full path
    env = {**os.environ, "DAGSTER_HOME": os.environ.get("DAGSTER_HOME", str(ROOT / "dagster_home"))}
    # HEAD once: others commit to the checkout while the first run goes on, and a later HEAD would be compared
    base = _git("rev-parse", "HEAD").strip()
    with tempfile.TemporaryDirectory(prefix="ocr-same-exports-") as tmp:
        tmp_path = Path(tmp)
        trees = {"before": tmp_path / "before", "after": tmp_path / "after"}
        try:
            for name, tree in trees.items():
                _checkout(tree, base, args.revert if name == "before" else [])
                print(f"[same_exports] {name}: the whole graph in {tree} ({base[:7]})", flush=True)
                subprocess.run([sys.executable, "-m", "bench.profile", *extra, "--out", str(tmp_path / f"{name}.txt"),
                                "--exports", str(tmp_path / f"{name}-exports")], cwd=tree, env=env, check=True)
            files = sorted(p.relative_to(tmp_path / "after-exports") for p in (tmp_path / "after-exports").rglob("*")
                           if p.is_file())
            diff = subprocess.run(["diff", "-r", str(tmp_path / "before-exports"), str(tmp_path / "after-exports")],
                                  capture_output=True, text=True)
        finally:
            for tree in trees.values():
                if tree.exists():
                    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    if diff.returncode == 0:
        print(f"[same_exports] byte-identical: {len(files)} export files")
        return 0
    print(diff.stdout[-20000:])
    print(f"[same_exports] exports DIFFER ({len(files)} files after)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
