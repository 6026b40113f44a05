"""Nothing escapes the data directory: partition keys added through the UI or GraphQL (`../../x`, absolute
paths) are refused before any path is built from them, paths are checked before a write or a delete, and
symbolic links in the inbox are never followed (they become error rows)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from dagster import DagsterInstance, Definitions, in_process_executor

from ocr_assets.assets import document_assets
from ocr_assets.jobs import document_pipeline_job
from ocr_assets.partitions import containers
from ocr_assets.samples import digital_text_pdf
from ocr_resources.pipeline import stages
from ocr_resources.pipeline.containers import UnsafeKeyError, inbox_entries
from ocr_resources.pipeline.page_store import PageStore
from ocr_resources.pipeline.paths import UnsafePathError, inside, remove_tree
from ocr_resources.profiles import load_profile
from ocr_resources.resources import PipelineStorage, model_resources
from ocr_resources.store import ResultStore
from tests.reliability.conftest import write_cases
from tests.reliability.corpus import Case


def _tree(root: Path, skip: Path) -> dict[str, bytes | None]:
    out = {}
    for dirpath, dirs, files in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            continue
        for name in dirs + files:
            p = Path(dirpath) / name
            out[str(p)] = p.read_bytes() if p.is_file() and not p.is_symlink() else None
    return out


@pytest.mark.parametrize("key", ["../../escaped-rel", "../escaped", "/abs/victim", "reports/../../x"])
def test_stage_context_refuses_keys_outside_the_grammar(tmp_path, key):
    with pytest.raises(UnsafeKeyError, match="not a valid container key"):
        stages.StageContext(container_id=key, run_id="r", producer_id="p", store=ResultStore(tmp_path / "x.db"),
                            page_store=PageStore(tmp_path / "pages"))


def test_paths_are_checked_before_writes_and_deletes(tmp_path):
    data, victim = tmp_path / "data", tmp_path / "victim"
    (victim / "keep").mkdir(parents=True)
    (data / "spill").mkdir(parents=True)
    os.symlink(victim, data / "spill" / "link")
    assert inside(data, data / "spill" / "x") == data / "spill" / "x"
    for bad in (data / ".." / "victim", victim, data / "spill" / "link" / "keep", Path("/etc")):
        with pytest.raises(UnsafePathError):
            inside(data, bad)
    with pytest.raises(UnsafePathError):
        remove_tree(data, data / "spill" / "link" / "keep")
    remove_tree(data, data / "spill" / "link")  # the link goes, not what it points at
    assert (victim / "keep").is_dir() and not (data / "spill" / "link").exists()


def test_runs_for_hostile_keys_fail_and_touch_nothing_outside(tmp_path):
    data = tmp_path / "data"
    (data / "inbox" / "ok").mkdir(parents=True)
    (data / "inbox" / "ok" / "a.pdf").write_bytes(digital_text_pdf())
    victim = tmp_path / "victim"
    (victim / "layout_regions").mkdir(parents=True)
    (victim / "layout_regions" / "precious.txt").write_text("keep me")
    storage = PipelineStorage(data_dir=str(data), duckdb_path=str(data / "ocr.duckdb"))
    defs = Definitions(assets=document_assets, jobs=[document_pipeline_job], executor=in_process_executor,
                       resources={"storage": storage, **model_resources(load_profile("offline"))})
    job = defs.resolve_job_def(document_pipeline_job.name)
    instance = DagsterInstance.ephemeral()
    bad = ["../../escaped-rel", str(victim), "../inbox/ok"]
    instance.add_dynamic_partitions(containers.name, bad)  # as the UI or GraphQL would, unchecked
    before = _tree(tmp_path, data)
    for key in bad:
        result = job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        error = failure.event_specific_data.error
        assert error.cause.cls_name == "UnsafeKeyError" and "not a valid container key" in error.cause.message
    assert _tree(tmp_path, data) == before  # nothing written, nothing deleted outside the data directory
    assert not any("escaped" in str(p) for p in data.rglob("*"))


def test_symlinks_in_the_inbox_are_refused_not_followed(stage_env, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes(digital_text_pdf())
    (outside / "folder").mkdir()
    (outside / "folder" / "secret2.pdf").write_bytes(digital_text_pdf())
    inbox = stage_env.inbox
    box = inbox / "box"
    box.mkdir()
    (box / "good.pdf").write_bytes(digital_text_pdf())
    os.symlink(outside / "secret.pdf", box / "linked.pdf")  # a file
    os.symlink(outside / "folder", box / "linked-folder")  # a folder inside a container
    os.symlink(outside / "folder", inbox / "linked-container")  # a whole container
    os.symlink(outside / "secret.pdf", inbox / "linked-single.pdf")  # a top-level PDF
    entries = inbox_entries(inbox)
    assert set(entries) == {"box", "linked-container", "linked-single"}
    for key, entry in entries.items():
        stage_env.ingest(key, entry)
    docs = stage_env.rows("SELECT document_id, source_path FROM documents")
    assert [d["document_id"] for d in docs] == ["good.pdf"]
    assert all(str(outside) not in d["source_path"] for d in docs)
    errors = {(e["container_id"], e["document_id"]): e["message"] for e in stage_env.rows("SELECT * FROM errors")}
    assert "symbolic link" in errors[("box", "linked.pdf")]
    assert "symbolic link" in errors[("box", "linked-folder")]
    assert "symbolic link" in errors[("linked-container", None)]
    assert "symbolic link" in errors[("linked-single", None)]
    assert stage_env.rows("SELECT count(*) AS n FROM pages")[0]["n"] == 1


def test_a_trusted_inbox_may_follow_links_but_never_loops(stage_env, tmp_path):
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "a.pdf").write_bytes(digital_text_pdf())
    os.symlink(outside, outside / "sub" / "loop")  # a cycle
    os.symlink(outside, stage_env.inbox / "linked")
    entry = inbox_entries(stage_env.inbox)["linked"]
    stage_env.stage("linked", "source_documents", lambda ctx: stages.source_documents(ctx, entry, True))
    assert [d["document_id"] for d in stage_env.rows("SELECT document_id FROM documents")] == ["sub/a.pdf"]


def test_pipes_sockets_and_devices_get_an_error_row_and_are_never_opened(stage_env):
    box = stage_env.inbox / "box"
    write_cases(box, [Case(b"good.pdf", digital_text_pdf(), "name", True),
                      Case(b"fifo.pdf", b"", "special_file", special="fifo"),
                      Case(b"sub/socket.pdf", b"", "special_file", special="socket")])
    write_cases(stage_env.inbox, [Case(b"top-fifo.pdf", b"", "special_file", special="fifo")])
    os.symlink("/dev/null", box / "null.pdf")  # a device, reached through a link a trusted inbox follows
    signal.alarm(120)  # opening a pipe blocks for ever: fail instead of hanging
    try:
        entries = inbox_entries(stage_env.inbox)
        assert set(entries) == {"box", "top-fifo"}
        stage_env.stage("box", "source_documents", lambda ctx: stages.source_documents(ctx, entries["box"], True))
        stage_env.ingest("top-fifo", entries["top-fifo"])
    finally:
        signal.alarm(0)
    assert [d["document_id"] for d in stage_env.rows("SELECT document_id FROM documents")] == ["good.pdf"]
    errors = {(e["container_id"], e["document_id"]): e for e in stage_env.rows("SELECT * FROM errors")}
    assert set(errors) == {("box", "fifo.pdf"), ("box", "sub/socket.pdf"), ("box", "null.pdf"), ("top-fifo", None)}
    assert all(e["severity"] == "error" and e["error_type"] == "refused" for e in errors.values())
    assert errors[("box", "fifo.pdf")]["message"] == ("fifo.pdf: a named pipe, not a regular file; not opened "
                                                     "(reading it could block the run)")
    assert errors[("box", "sub/socket.pdf")]["message"].startswith("sub/socket.pdf: a socket, not a regular file")
    assert errors[("box", "null.pdf")]["message"].startswith("null.pdf: a character device, not a regular file")
    assert errors[("top-fifo", None)]["message"].startswith("top-fifo.pdf: a named pipe, not a regular file")


def test_a_file_swapped_for_a_pipe_after_the_scan_is_refused_not_waited_on(tmp_path):
    from ocr_resources.pipeline.documents import InspectJob, inspect_pdf

    pipe = tmp_path / "swapped.pdf"
    os.mkfifo(pipe)
    signal.alarm(60)  # a plain open() of the pipe would block for ever
    try:
        with pytest.raises(OSError, match="not a regular file"):
            inspect_pdf(pipe)
        failed = InspectJob([pipe]).failed(pipe, "took longer than the limit")  # in the parent: hashes the file
    finally:
        signal.alarm(0)
    assert failed.sha256 is None or failed.sha256 == ""
