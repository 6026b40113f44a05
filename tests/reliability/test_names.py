"""File names of any bytes: not UTF-8, newlines, quotes, case/NFC/NFD twins, `sub/x` vs `sub__x`, very long
paths. Stored safely and losslessly, never crash a stage, the sensor or `cli register`, never collide."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context

from ocr_assets.samples import digital_text_pdf
from ocr_assets.sensors import inbox_sensor
from ocr_resources.pipeline import stages
from ocr_resources.pipeline.containers import (
    UnsafeKeyError,
    check_key,
    document_id_for,
    export_name,
    inbox_entries,
    key_registry,
    partition_key_for,
)
from ocr_resources.resources import PipelineStorage
from tests.reliability.conftest import write_cases
from tests.reliability.corpus import GOOD_NAMES, Case

ROOT = Path(__file__).resolve().parents[2]
BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]  # every bidirectional control


def test_every_name_is_stored_with_its_bytes_and_fully_processed(stage_env):
    folder = stage_env.inbox / "names"
    write_cases(folder, [Case(n, digital_text_pdf(), "name", True) for n in GOOD_NAMES])
    stage_env.ingest("names", folder)
    docs = stage_env.rows("SELECT document_id, file_name, status, page_count, path_bytes FROM documents")
    assert len(docs) == len(GOOD_NAMES) == len({d["document_id"] for d in docs})
    assert all(d["status"] == "ok" and d["page_count"] == 1 for d in docs), docs
    # the exact bytes of every path are kept: nothing is lost to escaping
    assert {bytes(d["path_bytes"]) for d in docs} == {os.fsencode(folder) + b"/" + n for n in GOOD_NAMES}
    bad = next(d for d in docs if bytes(d["path_bytes"]).endswith(b"bad-\xff.pdf"))
    assert bad["document_id"].startswith("bad-\\xff.pdf~") and bad["file_name"] == bad["document_id"]
    pages = stage_env.rows("SELECT document_id, count(*) AS n FROM pages GROUP BY ALL")
    assert len(pages) == len(GOOD_NAMES) and all(p["n"] == 1 for p in pages)
    words = stage_env.rows("SELECT count(DISTINCT document_id) AS n FROM words")[0]["n"]
    assert words == len(GOOD_NAMES)
    assert not stage_env.rows("SELECT * FROM errors WHERE severity = 'error'")

    # exports: one file per document, none lost to a collision, none too long
    stage_env.stage("names", "document_markdown", lambda ctx: stages.document_markdown(ctx, stage_env.data / "x"))
    paths = [r["export_path"] for r in stage_env.rows("SELECT export_path FROM document_markdown")]
    assert len(set(paths)) == len(GOOD_NAMES) and all(Path(p).is_file() for p in paths)
    assert len(list((stage_env.data / "x" / "names").iterdir())) == len(GOOD_NAMES)


def test_export_names_are_distinct_readable_and_short():
    ids = ["report.pdf", "dup.pdf", "dup.PDF", "sub/inner.pdf", "sub__inner.pdf", "Café.pdf", "Cafe\u0301.pdf",
           "x" * 300 + ".pdf", "a/" * 100 + "b.pdf", "bad-\\xff.pdf~0123abcd", ".hidden.pdf", "line\nbreak.pdf",
           'q"uote.pdf', "report-0123456789.pdf", "rlo \u202egnp.exe.pdf", "rlo gnp.exe.pdf",
           "".join(chr(c) for c in BIDI) + ".pdf"]
    names = [export_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    assert len({unicodedata.normalize("NFC", n).casefold() for n in names}) == len(ids)  # even on macOS/Windows
    assert export_name("report.pdf") == "report.md"
    for n in names:
        assert len(n.encode()) <= 255 and "/" not in n and "\n" not in n and not n.startswith(".")
        assert not any(chr(c) in n for c in BIDI), n  # a name displays as what it is
    assert export_name("rlo \u202egnp.exe.pdf").startswith("rlo gnp.exe.pdf-")


def test_partition_keys_normalize_then_stay_with_their_folder(tmp_path):
    assert partition_key_for("Café") == partition_key_for("Cafe\u0301") == "cafe"
    assert partition_key_for(b"\xff\xfe").startswith("container-")
    assert len(partition_key_for("x" * 300)) <= 80
    inbox = tmp_path / "inbox"
    (inbox / "reports").mkdir(parents=True)
    (inbox / "reports" / "a.pdf").write_bytes(digital_text_pdf())
    assert inbox_entries(inbox) == {"reports": inbox / "reports"}
    # `Reports/` sorts first and slugs the same: the key stays with the folder that had it
    (inbox / "Reports").mkdir()
    entries = inbox_entries(inbox)
    assert entries["reports"] == inbox / "reports"
    [other] = [k for k in entries if k != "reports"]
    assert other.startswith("reports-") and entries[other] == inbox / "Reports"
    assert key_registry(inbox) == {"reports": "reports", other: "Reports"}
    # NFC and NFD spellings of one name are two folders on Linux: two keys, never merged
    (inbox / "Café").mkdir()
    (inbox / "Cafe\u0301").mkdir()
    cafes = {k: v for k, v in inbox_entries(inbox).items() if k.startswith("cafe")}
    assert len(cafes) == 2 and len(set(cafes.values())) == 2
    assert inbox_entries(inbox) == inbox_entries(inbox)  # stable from one scan to the next


@pytest.mark.parametrize("key", ["../../escaped-rel", "/tmp/abs", "", "A", "a/b", "a..b/../c", "-a", "a-",
                                 "a" * 101, "café", "a b", "a\nb", "."])
def test_keys_outside_the_grammar_are_refused(key):
    with pytest.raises(UnsafeKeyError):
        check_key(key)


def test_generated_keys_follow_the_grammar():
    for name in [*GOOD_NAMES, b"\xff\xfe", b"..", b"x" * 250, b"Q3 Reports (final).pdf", b"---"]:
        check_key(partition_key_for(name))


def test_sensor_and_register_survive_bad_folder_and_file_names(tmp_path):
    inbox = tmp_path / "data" / "inbox"
    write_cases(inbox, [Case(b"\xff\xfe/bad-\xff.pdf", digital_text_pdf(), "name"),
                        Case(b"ok/line\nbreak.pdf", digital_text_pdf(), "name"),
                        Case(b"single-\xfe.pdf", digital_text_pdf(), "name")])
    entries = inbox_entries(inbox)
    assert len(entries) == 3 and all(check_key(k) for k in entries)
    bad_key = next(k for k, v in entries.items() if os.fsencode(v.name) == b"\xff\xfe")
    assert document_id_for(entries[bad_key], entries[bad_key] / os.fsdecode(b"bad-\xff.pdf")).startswith("bad-")

    instance = DagsterInstance.ephemeral()
    storage = PipelineStorage(data_dir=str(tmp_path / "data"))
    ctx = build_sensor_context(instance=instance, resources={"storage": storage})
    result = inbox_sensor(ctx)
    assert sorted(r.partition_key for r in result.run_requests) == sorted(entries)

    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "OCR_DATA_DIR": str(tmp_path / "data")}
    (tmp_path / "home").mkdir()
    proc = subprocess.run([sys.executable, "-m", "ocr_assets.cli", "register"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.strip().split(",")) == sorted(entries)
    shown = subprocess.run([sys.executable, "-m", "ocr_assets.cli", "keys"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and f"{bad_key}\t\\xff\\xfe~" in shown.stdout, shown.stdout + shown.stderr
