"""Small commands used by the Makefile around the `dagster` CLI.

    python -m ocr_assets.cli register   # inbox containers -> dynamic partitions of $DAGSTER_HOME's instance
    python -m ocr_assets.cli summary    # what is in DuckDB
    python -m ocr_assets.cli keys       # partition key -> inbox folder (the stored, stable mapping)
"""

from __future__ import annotations

import argparse
import sys

from ocr_resources.pipeline.containers import inbox_entries, key_registry
from ocr_resources.resources import PipelineStorage
from ocr_resources.store import ResultStore


def register() -> list[str]:
    """Add every inbox container as a partition (the same thing the inbox sensor does), print the keys."""
    from dagster import DagsterInstance

    from ocr_assets.partitions import containers

    keys = sorted(inbox_entries(PipelineStorage().inbox))
    instance = DagsterInstance.get()
    known = set(instance.get_dynamic_partitions(containers.name))
    new = [k for k in keys if k not in known]
    if new:
        instance.add_dynamic_partitions(containers.name, new)
    # The range for `--partition-range` follows the partition order in the instance.
    ordered = [k for k in instance.get_dynamic_partitions(containers.name) if k in keys]
    print(",".join(ordered))
    return ordered


def keys() -> str:
    """Every key ever given in the inbox and its entry; entries no longer in the inbox are marked."""
    inbox = PipelineStorage().inbox
    present = inbox_entries(inbox)
    return "\n".join(f"{k}\t{name}{'' if k in present else '  (gone from the inbox)'}"
                     for k, name in key_registry(inbox).items())


UNREADABLE = "SELECT count(*) AS n FROM documents WHERE status = 'error'"


def summary(store: ResultStore) -> str:
    one = lambda sql: store.query(sql)[0]["n"]  # noqa: E731
    lines = [
        f"DuckDB: {store.path}",
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
    parser.add_argument("command", choices=["register", "summary", "keys"])
    args = parser.parse_args(argv)
    if args.command == "register":
        return 0 if register() else 1
    if args.command == "keys":
        print(keys())
        return 0
    print(summary(PipelineStorage().result_store()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
