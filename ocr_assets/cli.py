"""The project's commands: `ocr-pipeline <command>` (the console script), or `python -m ocr_assets.cli
<command>`; `--help` after any command says what it does. Each works from a new shell: $DAGSTER_HOME defaults
to the project's `dagster_home/`.

    ocr-pipeline register      # inbox containers -> dynamic partitions of the instance, prints keys
    ocr-pipeline materialize   # every asset for every inbox container in ONE run (models load once)
        [--partition KEY | --partition-range FIRST...LAST] [--verbose]
    ocr-pipeline backfill      # an asset backfill: per-partition status in the UI; the daemon
        [--partitions A,B | --all]   # (`make ui`) launches its runs through the run queue
    ocr-pipeline summary       # what is in DuckDB
    ocr-pipeline keys          # partition key -> inbox folder (the stored, stable mapping)
    ocr-pipeline attach        # the SQL a reader runs in DuckDB to query the results (a lake)

A command that fails ends with one message: what failed, on which container, why, and what to do; the
stack trace only with `--verbose`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

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


PROG = "ocr-pipeline"
# Dagster's console log lines start with a timestamp (after colour codes on a terminal).
_LOG_LINE = re.compile(r"^(\x1b\[[0-9;]*m)*\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4} - ")


class QuietFailures(io.TextIOBase):
    """The run's console output without the stack traces of failed steps and without Dagster's "Dependencies
    for step ... failed ... Not executing." line for each step after them: without `--verbose` the command
    ends with one message saying what failed and why (`failure_message`) instead of ~100 lines of trace.
    Every other line, the run's progress included, passes through unchanged."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self.pending = ""
        self.in_error = False  # inside a multi-line ERROR record (the step's error and its stack)
        self.steps_not_run = 0

    def write(self, text: str) -> int:
        self.pending += text
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            self._line(line + "\n")
        return len(text)

    def _line(self, line: str) -> None:
        if _LOG_LINE.match(line):
            self.in_error = " - ERROR - " in line
            if self.in_error and line.rstrip().endswith("Not executing."):
                self.steps_not_run += 1
                return
            self.target.write(line)
        elif not self.in_error:
            self.target.write(line)

    def flush(self) -> None:
        if self.pending and not self.in_error:
            self.target.write(self.pending)
        self.pending = ""
        self.target.flush()

    def isatty(self) -> bool:  # coloured logs on a terminal, as without the filter
        return self.target.isatty()


@contextmanager
def quiet_failures(enabled: bool) -> Iterator[QuietFailures | None]:
    if not enabled:
        yield None
        return
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = QuietFailures(out), QuietFailures(err)
    try:
        yield sys.stderr  # type: ignore[misc]
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = out, err


# What to do, by the kind of error that failed the step (the innermost cause's class).
HINTS = {
    "StoreLockedError": "close the process holding the DuckDB file (readers open data/ocr-read.duckdb instead), "
                        "then run the same command again",
    "ModelUnavailableError": "make the model available as said above (make fetch-models on a machine with "
                             "internet, or a local directory in the profile), or set OCR_PROFILE back",
    "FileNotFoundError": "check that the container is still in the inbox (`ocr-pipeline keys`), then run the "
                         "same command again",
    "UnsafeKeyError": "use a container key that `ocr-pipeline keys` lists",
}
DEFAULT_HINT = ("fix the cause above and run the same command again: pages already done are reused, only the "
                "missing ones are computed")
_CONTAINER_NOTE = re.compile(r"^(\S+) failed on container (\S+)$", re.MULTILINE)


def _innermost(error: Any) -> Any:
    # Dagster wraps a step's own exception in DagsterExecutionStepExecutionError; the user's error is its cause.
    while error is not None and error.cls_name.startswith("DagsterExecution") and error.cause is not None:
        error = error.cause
    return error


def _failed_steps(instance: Any, run_id: str) -> list[dict[str, str]]:
    from dagster import DagsterEventType

    out = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        event = record.dagster_event
        data = event.step_failure_data
        error = _innermost(data.error)
        lines = [ln for ln in (error.message if error else "").strip().splitlines() if ln.strip()]
        note = _CONTAINER_NOTE.search(error.message) if error else None
        why = next((ln for ln in lines if not _CONTAINER_NOTE.match(ln)), "") if lines else ""
        kind = error.cls_name if error else ""
        if data.user_failure_data is not None and data.user_failure_data.description:
            why = data.user_failure_data.description  # a Failure says it all (what to do included)
            cause = _innermost(error.cause) if error is not None and error.cause is not None else None
            kind = cause.cls_name if cause is not None else kind
        out.append({"step": event.step_key or "?", "container": note.group(2) if note else "", "why": why,
                    "kind": kind})
    return out


def failure_message(instance: Any, run: Any | None, partitions: str, steps_not_run: int = 0,
                    exc: BaseException | None = None) -> str:
    """One message for a failed CLI run: what failed, on which container, why, and what to do."""
    if run is None:  # refused before a run existed (an unknown partition, say)
        why = f"{type(exc).__name__}: {exc}" if exc is not None else "no run was started"
        return (f"FAILED before a run started ({partitions}): {why}\n"
                f"  what to do: check the container keys (`{PROG} keys`, `{PROG} register`) and the command "
                f"(`{PROG} materialize --help`)")
    failed = _failed_steps(instance, run.run_id)
    short = run.run_id[:8]
    lines = []
    if not failed:
        lines.append(f"FAILED: run {short} ({partitions}): {exc or run.status.value}")
        lines.append(f"  what to do: {DEFAULT_HINT}")
    for f in failed:
        where = f"container {f['container'] or partitions}" if "..." not in partitions or f["container"] \
            else f"containers {partitions}"
        lines.append(f"FAILED: {f['step']} on {where} (run {short})")
        lines.append(f"  why: {f['why']}")
        lines.append(f"  what to do: {HINTS.get(f['kind'], DEFAULT_HINT)}")
    skipped = f"; {steps_not_run} later steps did not run" if steps_not_run else ""
    lines.append(f"  more: the run's page in the UI (`make ui`, Runs, {short}){skipped}; "
                 f"`--verbose` shows the stack trace")
    return "\n".join(lines)


def _run_started_here(instance: Any, since: float) -> Any | None:
    """The run this process just made: the newest run created since `since` whose worker is this process
    (the `ocr/worker` tag), else the newest since then (a run that failed before its first step)."""
    from dagster import RunsFilter

    from ocr_assets.dead_runs import WORKER_TAG

    records = instance.get_run_records(RunsFilter(created_after=datetime.fromtimestamp(since, UTC)), limit=20)
    mine = [r for r in records if r.dagster_run.tags.get(WORKER_TAG, "").split(" ")[1:2] == [str(os.getpid())]]
    chosen = (mine or records)[:1]
    return chosen[0].dagster_run if chosen else None


def materialize(partition: str | None = None, partition_range: str | None = None, verbose: bool = False) -> int:
    """`dagster asset materialize` of every asset, in this process (so the package's warning filters apply)
    and with INFO-level console logs unless `verbose`. Without a partition: every inbox container, one run.
    A failed run ends with `failure_message`; its stack trace shows only with `verbose`."""
    from dagster import DagsterInstance
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
    started = time.time() - 1  # run records' creation times are whole-second precise on some storages
    steps_not_run = 0
    try:
        with quiet_failures(enabled=not verbose) as err:
            try:
                dagster_cli.main(args=args, prog_name="dagster", standalone_mode=False)
            finally:
                steps_not_run = err.steps_not_run if err is not None else 0
    except Exception as exc:  # noqa: BLE001 - the run's events say what failed; the trace only when asked
        with DagsterInstance.get() as instance:
            run = _run_started_here(instance, started)
            if verbose and run is None:  # a run's own log already holds its trace
                traceback.print_exc()
            print(failure_message(instance, run, partition or partition_range or "", steps_not_run, exc),
                  file=sys.stderr, flush=True)
        return 1
    return 0


def run_stretches(ordered: list[str], wanted: list[str]) -> list[list[str]]:
    """The runs an asset backfill of `wanted` becomes: Dagster runs cover one partition or one range of
    adjacent partitions (in the order they were registered), so with the single-run backfill policy the
    daemon launches one run per stretch of adjacent wanted containers, each loading the models once."""
    chosen = set(wanted)
    stretches: list[list[str]] = []
    previous_chosen = False
    for key in ordered:
        if key in chosen:
            if not previous_chosen:
                stretches.append([])
            stretches[-1].append(key)
        previous_chosen = key in chosen
    return stretches


def backfill(partitions: list[str] | None = None) -> str:
    """Submit an asset backfill of every asset for `partitions` (default: every registered container). Unlike
    `dagster job backfill`, its page in the UI shows each partition's status; the daemon launches its runs
    through the run queue: one run for containers registered next to each other, one run per stretch of
    adjacent containers otherwise (`run_stretches`), and says which."""
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
        raise CliError(f"not registered as partitions: {', '.join(unknown)}",
                       f"run `{PROG} register` (or start `make ui`), then `{PROG} keys` lists the keys")
    wanted = partitions or list(known)
    backfill_id = make_new_backfill_id()
    instance.add_backfill(PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id, asset_graph=defs.resolve_asset_graph(), partition_names=wanted,
        asset_selection=[a.key for a in document_assets], backfill_timestamp=get_current_timestamp(),
        tags=HEAVY_RUN_TAGS, dynamic_partitions_store=instance, all_partitions=False,
        title=None, description=f"{PROG} backfill", run_config=None))
    stretches = run_stretches(list(known), wanted)
    plan = "; ".join(s[0] if len(s) == 1 else f"{s[0]}...{s[-1]} ({len(s)})" for s in stretches)
    why = "" if len(stretches) == 1 else (" (Dagster runs cover one container or a range of containers "
                                          "registered next to each other)")
    print(f"asset backfill {backfill_id} for {len(set(wanted))} containers: {len(stretches)} "
          f"run{'s' if len(stretches) != 1 else ''}, {plan}{why}; runs start when the daemon (make ui) picks it "
          f"up: http://127.0.0.1:3000/runs/b/{backfill_id}")
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


class CliError(Exception):
    """A refusal the user can act on: printed as what went wrong and what to do, without a trace."""

    def __init__(self, what: str, todo: str) -> None:
        super().__init__(what)
        self.todo = todo


COMMANDS = {
    "register": "add every inbox container as a partition of the Dagster instance; print the keys",
    "materialize": "every asset for containers in ONE run in this process (default: every inbox container)",
    "backfill": "queue an asset backfill of every asset; the daemon (make ui) runs it, the UI shows each "
                "container's status",
    "summary": "what is in DuckDB: documents, pages, regions, text, tables, errors",
    "keys": "partition key -> inbox folder (the stored, stable mapping)",
    "attach": "the SQL a reader runs in DuckDB to query the results read-only",
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help="Dagster's DEBUG event log, and the stack trace when something fails")
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Document-AI pipeline on Dagster (`python -m ocr_assets.cli` is the same program). "
                    "`ocr-pipeline COMMAND --help` says more about a command.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in COMMANDS.items():
        p = sub.add_parser(name, parents=[common], help=text, description=text[0].upper() + text[1:] + ".")
        if name == "materialize":
            which = p.add_mutually_exclusive_group()
            which.add_argument("--partition", metavar="KEY", help="one container")
            which.add_argument("--partition-range", metavar="FIRST...LAST",
                               help="containers FIRST to LAST, in registration order (`ocr-pipeline register`)")
        if name == "backfill":
            p.add_argument("--partitions", metavar="A,B,...", help="containers, comma-separated (default: all); "
                           "adjacent ones share a run, others get one run per stretch (docs/orchestration.md)")
            p.add_argument("--all", action="store_true", help="every registered container (the default)")
    return parser


def _dispatch(args: argparse.Namespace) -> int:
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except CliError as exc:
        print(f"FAILED: {PROG} {args.command}: {exc}\n  what to do: {exc.todo}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one message; the trace only when asked for
        if args.verbose:
            traceback.print_exc()
        print(f"FAILED: {PROG} {args.command}: {type(exc).__name__}: {exc}\n  what to do: fix the cause and run "
              f"it again; `--verbose` shows the stack trace", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
