"""The project's CLI in real subprocesses against a temporary instance and data directory, small generated
containers, and the result tables read back for comparison (minus what differs between runs)."""

from __future__ import annotations

import io
import random
import subprocess
from pathlib import Path

import duckdb
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from ocr_assets.samples import image_only_pdf, scanned_page_image
from ocr_resources.schema import RESULT_TABLES
from tests.orchestration.conftest import BIN, ROOT, OrchestrationEnv

WORDS = ("river station report water quality nitrate basin summer annual network portal treatment plant "
         "catchment level flow average north south region council budget energy solar storage delivery").split()


def text_pdf(pages: int, seed: int) -> bytes:
    """Born-digital pages: a heading and a dozen lines each."""
    rng = random.Random(seed)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)  # the same bytes every time: no dates, no random id
    for n in range(1, pages + 1):
        c.setFont("Helvetica-Bold", 15)
        c.drawString(72, 770, f"Part {n}: {rng.choice(WORDS).title()} {rng.choice(WORDS).title()}")
        c.setFont("Helvetica", 11)
        for i in range(12):
            c.drawString(72, 730 - 18 * i, " ".join(rng.choice(WORDS) for _ in range(8)))
        c.showPage()
    c.save()
    return buf.getvalue()


def write_container(folder: Path, pages: int, seed: int, scanned: bool = True) -> None:
    """A folder of PDFs: `pages` digital pages, plus one scanned page for the OCR model."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.pdf").write_bytes(text_pdf(pages, seed))
    if scanned:
        rng = random.Random(seed)
        lines = [" ".join(rng.choice(WORDS) for _ in range(6)).capitalize() for _ in range(5)]
        (folder / "scan.pdf").write_bytes(image_only_pdf(scanned_page_image(lines, dpi=150, seed=seed), dpi=150))


class CliEnv(OrchestrationEnv):
    """OrchestrationEnv plus extra environment for the run processes."""

    extra: dict[str, str]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.extra = {}

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.extra}

    def materialize_cmd(self, key: str) -> list[str]:
        return [str(BIN / "python"), "-m", "ocr_assets.cli", "materialize", "--partition", key]

    def popen(self, key: str, log: Path) -> subprocess.Popen:  # type: ignore[override]
        # a session of its own: a SIGKILL of the group takes the run's render workers along
        return subprocess.Popen(self.materialize_cmd(key), cwd=ROOT, env=self.env, stdout=log.open("w"),
                                stderr=subprocess.STDOUT, start_new_session=True)


def _relative(value, data: str):
    if isinstance(value, str):
        return value.replace(data, "<data>")
    if isinstance(value, bytes):
        return value.replace(data.encode(), b"<data>")
    return value


def result_rows(data_dir: Path, container: str | None = None) -> dict[str, list[tuple]]:
    """Every result table's rows (of one container, or all), sorted, without the run id and timestamps (which
    differ between runs) and with the data directory's own path written as <data>."""
    con = duckdb.connect(str(data_dir / "ocr.duckdb"), read_only=True)
    try:
        out = {}
        for table in RESULT_TABLES:
            cols = [name for name, dtype in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position", [table]).fetchall()
                    if name != "run_id" and "TIMESTAMP" not in dtype and dtype != "DATE"]
            rows = [tuple(_relative(v, str(data_dir)) for v in row)
                    for row in con.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE ? IS NULL OR container_id = ?",
                                           [container, container]).fetchall()]
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        con.close()
