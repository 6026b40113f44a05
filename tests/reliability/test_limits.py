"""Limits per document: a file that needs gigabytes (form XObjects nested 8 deep) or minutes per page (a
per-pixel PostScript shading) costs itself, not the container: its worker is stopped, an error row says why,
the next page of the same document and every other document go on."""

from __future__ import annotations

import threading

import psutil

from ocr_assets.samples import digital_text_pdf
from ocr_resources.pipeline.workers import Limits, stop_idle_workers
from tests.reliability.conftest import write_cases
from tests.reliability.corpus import Case, build_pdf, slow_shading_pdf, stream, xobject_bomb_pdf


def slow_then_good_pdf() -> bytes:
    """Page 1: a shading evaluated per pixel through 10,000 PostScript operators; page 2: plain text."""
    ops = b" ".join([b"0.999 mul"] * 10_000)
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 7 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Shading << /Sh0 5 0 R >> >> >>",
        stream(b"/Sh0 sh"),
        b"<< /ShadingType 1 /ColorSpace /DeviceRGB /Domain [0 1 0 1] /Matrix [612 0 0 792 0 0] /Function 6 0 R >>",
        stream(b"{ add " + ops + b" dup dup }", b"/FunctionType 4 /Domain [0 1 0 1] /Range [0 1 0 1 0 1]"),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 8 0 R"
        b" /Resources << /Font << /F1 9 0 R >> >> >>",
        stream(b"BT /F1 24 Tf 72 700 Td (The second page renders fine) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def _ingest(stage_env, key: str, cases: list[Case], limits: Limits):
    folder = stage_env.inbox / key
    write_cases(folder, [Case(b"a-good.pdf", digital_text_pdf(), "name", True), *cases,
                         Case(b"z-good.pdf", digital_text_pdf(), "name", True)])
    stage_env.ingest(key, folder, limits=limits)
    where = [key]
    docs = {d["document_id"]: d for d in stage_env.rows("SELECT * FROM documents WHERE container_id = ?", where)}
    errors = {(e["document_id"], e["page_no"]): e
              for e in stage_env.rows("SELECT * FROM errors WHERE container_id = ?", where)}
    pages = {(p["document_id"], p["page_no"]) for p in stage_env.rows(
        "SELECT * FROM pages WHERE container_id = ?", where)}
    for good in ("a-good.pdf", "z-good.pdf"):  # the good documents of the same container: full results
        assert docs[good]["status"] == "ok" and (good, 1) in pages and not any(k[0] == good for k in errors)
    return docs, errors, pages


class PeakMemory:
    """Peak resident memory of this process and all its children, sampled while the block runs, and how far it
    rose above what they held when the block began (the test process's own size depends on what ran before)."""

    def __init__(self):
        self.peak = 0
        self.start = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _total() -> int:
        me = psutil.Process()
        total = 0
        for p in [me, *me.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    @property
    def rise(self) -> int:
        return self.peak - self.start

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._total())

    def __enter__(self):
        # workers kept idle by earlier calls of this process (several hundred MB each) are not the block's own
        stop_idle_workers()
        self.start = self.peak = self._total()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_a_file_past_the_memory_limit_becomes_an_error_row(stage_env):
    with PeakMemory() as memory:  # the same bomb took 10 GB before limits
        docs, errors, _ = _ingest(stage_env, "memory", [Case(b"bomb.pdf", xobject_bomb_pdf(), "memory")],
                                  Limits(memory_mb=512, unit_timeout_s=300))
    # the bomb's worker is stopped at 512 MB; the run's other workers and the result rows add well under 2 GB
    assert memory.rise < 2 << 30, (memory.start, memory.peak)
    assert docs["bomb.pdf"]["status"] == "error"
    message = errors[("bomb.pdf", None)]["message"]
    assert message.startswith("bomb.pdf: could not be opened safely: ") and "memory limit of 512 MB" in message


def test_a_page_past_the_time_limit_becomes_an_error_row_and_the_next_page_goes_on(stage_env):
    docs, errors, pages = _ingest(stage_env, "time", [Case(b"slow.pdf", slow_then_good_pdf(), "time"),
                                                      Case(b"slow-alone.pdf", slow_shading_pdf(), "time")],
                                  Limits(memory_mb=2048, unit_timeout_s=3))
    assert docs["slow.pdf"]["status"] == "ok" and docs["slow.pdf"]["page_count"] == 2
    assert errors[("slow.pdf", 1)]["message"] == "rendering took longer than the limit of 3 s and was stopped"
    assert ("slow.pdf", 2) in pages  # in a fresh worker
    assert errors[("slow-alone.pdf", 1)]["stage"] == "rendered_pages"
