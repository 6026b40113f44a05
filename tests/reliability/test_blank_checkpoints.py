"""A container whose pages give no layout rows (one blank page is enough) must not break checkpointing:
the manifest of a part is written even when no buffer had a row to spill, on the first run and on reruns."""

from __future__ import annotations

from ocr_resources.engines.base import LayoutDetector, ModelIdentity, TextRecognizer
from ocr_resources.pipeline import stages
from ocr_resources.types import OcrResult
from tests.reliability.conftest import write_cases
from tests.reliability.corpus import Case, blank_page_pdf


class NothingDetector(LayoutDetector):
    batch_size = 2
    identity = ModelIdentity("nothing", "nothing", "1")

    def detect(self, images):
        return [[] for _ in images]


class NothingRecognizer(TextRecognizer):
    batch_size = 2
    identity = ModelIdentity("nothing", "nothing", "1")

    def recognize(self, images):
        return [OcrResult("", [], None) for _ in images]


def test_blank_container_checkpoints_and_reruns(stage_env):
    folder = stage_env.inbox / "blank"
    write_cases(folder, [Case(b"blank.pdf", blank_page_pdf(), "blank")])
    stage_env.ingest("blank", folder)
    warning = stage_env.rows("SELECT severity, message FROM errors WHERE stage = 'rendered_pages'")
    assert warning == [{"severity": "warning", "message": "page is blank: it has no content to render"}]
    for _ in range(2):  # the rerun adopts (or finds nothing to adopt) and must not fail either
        out = stage_env.stage("blank", "layout_regions", lambda ctx: stages.layout_regions(ctx, NothingDetector()),
                              checkpoint_pages=1)
        assert out.stats["regions"] == 0
        stage_env.stage("blank", "ocr_text", lambda ctx: stages.ocr_text(ctx, NothingRecognizer()),
                        checkpoint_pages=1)
    assert stage_env.rows("SELECT status FROM page_results WHERE asset_key = 'layout_regions'") == [{"status": "ok"}]
    assert not (stage_env.data / "spill" / "checkpoints" / "layout_regions" / "blank").exists() or not any(
        (stage_env.data / "spill" / "checkpoints" / "layout_regions" / "blank").rglob("*.parquet"))
