"""Small commands around the `dagster` CLI, used by the Makefile and pasted from the README. Each works from
a new shell: $DAGSTER_HOME defaults to the project's `dagster_home/`.

    python -m ocr_assets.cli register      # inbox containers -> dynamic partitions of the instance, prints keys
    python -m ocr_assets.cli materialize   # every asset for every inbox container in ONE run (models load once)
        [--partition KEY | --partition-range FIRST...LAST] [--verbose]
    python -m ocr_assets.cli backfill      # an asset backfill: per-partition status in the UI; the daemon
        [--partitions A,B | --all]         # (`make ui`) launches its runs through the run queue
    python -m ocr_assets.cli summary       # what is in DuckDB
    python -m ocr_assets.cli keys          # partition key -> inbox folder (the stored, stable mapping)
    python -m ocr_assets.cli attach        # the SQL a reader runs in DuckDB to query the results (a lake)
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ocr_resources.lake import reader_sql
from ocr_resources.pipeline.containers import inbox_entries, key_registry
from ocr_resources.profiles import PROJECT_ROOT
from ocr_resources.resources import PipelineStorage
from ocr_resources.store import ResultStore

DEFAULT_DAGSTER_HOME = PROJECT_ROOT / "dagster_home"
# Run progress (one line per stage and container, model loads, failures) without Dagster's per-event DEBUG lines.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def default_dagster_home() -> str:
    """$DAGSTER_HOME, or the project's dagster_home/ (set for this process and the dagster CLI it runs)."""
    if not os.environ.get("DAGSTER_HOME"):
        DEFAULT_DAGSTER_HOME.mkdir(parents=True, exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(DEFAULT_DAGSTER_HOME.resolve())
    return os.environ["DAGSTER_HOME"]


def register() -> list[str]:
    """Add every inbox container as a partition (the same thing the inbox sensor does), print the keys."""
    from dagster import DagsterInstance

    from ocr_assets.partitions import containers

    keys = sorted(inbox_entries(PipelineStorage().inbox))
    default_dagster_home()
    instance = DagsterInstance.get()
    known = set(instance.get_dynamic_partitions(containers.name))
    new = [k for k in keys if k not in known]
    if new:
        instance.add_dynamic_partitions(containers.name, new)
    # The range for `--partition-range` follows the partition order in the instance.
    ordered = [k for k in instance.get_dynamic_partitions(containers.name) if k in keys]
    print(",".join(ordered))
    return ordered


def free_dead_runs() -> None:
    """Before starting: runs of this instance whose process is gone (a SIGKILLed CLI run, say) are failed and
    their pool slots freed, or the new run's model steps would wait for them forever."""
    from dagster import DagsterInstance

    from ocr_assets.dead_runs import reap_dead_runs

    default_dagster_home()
    with DagsterInstance.get() as instance:
        reap_dead_runs(instance, say=lambda line: print(line, file=sys.stderr, flush=True))


def materialize(partition: str | None = None, partition_range: str | None = None, verbose: bool = False) -> int:
    """`dagster asset materialize` of every asset, in this process (so the package's warning filters apply)
    and with INFO-level console logs unless `verbose`. Without a partition: every inbox container, one run."""
    from dagster._cli import cli as dagster_cli

    free_dead_runs()
    if partition is None and partition_range is None:
        with open(os.devnull, "w") as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try:
                keys = register()
            finally:
                sys.stdout = stdout
        if not keys:
            print(f"no containers in the inbox {PipelineStorage().inbox}", file=sys.stderr)
            return 1
        print(f"materializing containers {','.join(keys)}", flush=True)
        partition_range = f"{keys[0]}...{keys[-1]}"
    args = ["asset", "materialize", "-m", "ocr_assets.definitions", "--select", "*"]
    args += ["--partition", partition] if partition else ["--partition-range", partition_range]
    if not verbose:
        args += ["--config-json", json.dumps(QUIET_RUN_CONFIG)]
    try:
        dagster_cli.main(args=args, prog_name="dagster", standalone_mode=False)
    except Exception as exc:  # noqa: BLE001 - the run's own log already says what failed
        print(f"run failed: {exc}", file=sys.stderr)
        return 1
    return 0


def backfill(partitions: list[str] | None = None) -> str:
    """Submit an asset backfill of every asset for `partitions` (default: every registered container). Unlike
    `dagster job backfill`, its page in the UI shows each partition's status; the daemon launches its runs
    (with the single-run backfill policy: one run for all of them, through the run queue)."""
    from dagster import DagsterInstance
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id
    from dagster._time import get_current_timestamp

    from ocr_assets.assets import document_assets
    from ocr_assets.definitions import defs
    from ocr_assets.jobs import HEAVY_RUN_TAGS
    from ocr_assets.partitions import containers

    free_dead_runs()
    instance = DagsterInstance.get()
    known = instance.get_dynamic_partitions(containers.name)
    unknown = sorted(set(partitions or []) - set(known))
    if unknown:
        raise SystemExit(f"not registered as partitions: {unknown} (run `python -m ocr_assets.cli register`)")
    backfill_id = make_new_backfill_id()
    instance.add_backfill(PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id, asset_graph=defs.resolve_asset_graph(), partition_names=partitions or known,
        asset_selection=[a.key for a in document_assets], backfill_timestamp=get_current_timestamp(),
        tags=HEAVY_RUN_TAGS, dynamic_partitions_store=instance, all_partitions=False,
        title=None, description="python -m ocr_assets.cli backfill", run_config=None))
    print(f"asset backfill {backfill_id} for {len(partitions or known)} containers; runs start when the daemon "
          f"(make ui) picks it up: http://127.0.0.1:3000/runs/b/{backfill_id}")
    return backfill_id


def keys() -> str:
    """Every key ever given in the inbox and its entry; entries no longer in the inbox are marked."""
    inbox = PipelineStorage().inbox
    present = inbox_entries(inbox)
    return "\n".join(f"{k}\t{name}{'' if k in present else '  (gone from the inbox)'}"
                     for k, name in key_registry(inbox).items())


def attach_sql(store: ResultStore) -> str:
    """What a reader runs in DuckDB (CLI or Python) to query the results with plain SQL, read-only."""
    if store.lake is not None:
        return reader_sql(store.lake)
    target = store.snapshot_path or store.path
    return f"ATTACH '{target}' AS ocr (READ_ONLY);\nUSE ocr;"


UNREADABLE = "SELECT count(*) AS n FROM documents WHERE status = 'error'"


def summary(store: ResultStore) -> str:
    one = lambda sql: store.query(sql)[0]["n"]  # noqa: E731
    lines = [
        f"DuckDB: {store.path}" if store.lake is None else f"DuckLake: {store.path} (readers: python -m "
                                                            "ocr_assets.cli attach)",
        f"containers: {one('SELECT count(*) AS n FROM containers')}",
        f"documents:  {one('SELECT count(*) AS n FROM documents')}"
        f" ({one(UNREADABLE)} unreadable)",
        f"pages:      {one('SELECT count(*) AS n FROM pages')}"
        f" ({one('SELECT count(*) AS n FROM pages WHERE NOT has_text_layer')} image-only, OCR'd)",
        f"regions:    {one('SELECT count(*) AS n FROM regions')}",
    ]
    for row in store.query("SELECT label, count(*) AS n FROM regions GROUP BY label ORDER BY n DESC, label"):
        lines.append(f"  {row['label']:<12}{row['n']}")
    lines += [
        f"text:       {one('SELECT coalesce(sum(length(text)), 0) AS n FROM texts')} characters"
        f" in {one('SELECT count(*) AS n FROM texts')} rows",
        f"tables:     {one('SELECT count(*) AS n FROM tables')}"
        f" ({one('SELECT count(*) AS n FROM table_cells')} cells)",
        f"charts:     {one('SELECT count(*) AS n FROM charts')}",
        f"errors:     {one('SELECT count(*) AS n FROM errors')}",
    ]
    for row in store.query("SELECT * FROM document_errors ORDER BY container_id, document_id LIMIT 10"):
        lines.append(f"  {row['container_id']}/{row['document_id']} [{row['stage']}]: {row['message']}")
    lines.append(f"exports:    {PipelineStorage().exports}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocr_assets.cli")
    parser.add_argument("command", choices=["register", "materialize", "backfill", "summary", "keys",
                                                    "attach"])
    parser.add_argument("--partition", help="materialize: one container")
    parser.add_argument("--partition-range", help="materialize: FIRST...LAST, in registration order")
    parser.add_argument("--partitions", help="backfill: containers, comma-separated (default: all)")
    parser.add_argument("--all", action="store_true", help="backfill: every registered container (default)")
    parser.add_argument("--verbose", action="store_true", help="materialize: Dagster's DEBUG event log too")
    args = parser.parse_args(argv)
    if args.command == "register":
        return 0 if register() else 1
    if args.command == "materialize":
        return materialize(args.partition, args.partition_range, args.verbose)
    if args.command == "backfill":
        backfill(None if args.all or not args.partitions else args.partitions.split(","))
        return 0
    if args.command == "keys":
        print(keys())
        return 0
    if args.command == "attach":
        print(attach_sql(PipelineStorage().result_store()))
        return 0
    print(summary(PipelineStorage().result_store()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
