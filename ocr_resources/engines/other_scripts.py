"""Pages in scripts the bundled recogniser cannot read (Hangul, Arabic, Hebrew, Devanagari, Thai, ...), read by
Tesseract 5 where it and the script's data are installed (Debian: `tesseract-ocr-kor`,
`tesseract-ocr-script-arab`, ...; `make system-deps` installs Hangul and Arabic).

The PP-OCR models that ship in the wheel read Latin, Chinese and Japanese. On a page in another script they
still answer, with low confidence: most of the words come back below LOW_CONFIDENCE, where a Latin page,
even a poor scan, has a few percent (measured on the eval twins and the 23 real scans). Only such a page is
shown to Tesseract's script detector (OSD); when it names a script whose data is installed, Tesseract reads
the page (enlarged to its preferred line height, table rules painted out) and its words replace PP-OCR's.
The result says which reader produced it (`OcrResult.reader`), and the data files available are part of the
engine's identity, so lineage and staleness see them.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ocr_resources.geometry.boxes import union
from ocr_resources.tables.detect import grid_rules
from ocr_resources.tables.rules import image_rules
from ocr_resources.types import Box, OcrResult, Word

LOW_CONFIDENCE = 0.8  # a word read with less than this is doubtful
UNREAD_SHARE = 0.3  # ... and a page with this share of doubtful words may be in a script the model lacks
MIN_WORDS = 8  # fewer words: too little to judge (and too little for OSD)
# Tesseract's OSD script name -> its data, best first (a language's data reads its words with proper spacing;
# a script's data reads every language written in it).
DATA_FOR_SCRIPT: dict[str, tuple[str, ...]] = {
    "Korean": ("kor", "Hangul"), "Hangul": ("kor", "Hangul"),
    "Arabic": ("Arabic", "ara", "fas"), "Hebrew": ("Hebrew", "heb"),
    "Cyrillic": ("Cyrillic", "rus", "ukr"), "Greek": ("Greek", "ell"),
    "Devanagari": ("Devanagari", "hin"), "Thai": ("Thai", "tha"), "Bengali": ("Bengali", "ben"),
    "Tamil": ("Tamil", "tam"), "Armenian": ("Armenian", "hye"), "Georgian": ("Georgian", "kat"),
    "Han": ("HanS", "chi_sim"), "Japanese": ("Japanese", "jpn"),
}
# Tesseract reads best with text lines about 40 px high ("accuracy drops off below 10 pt at 300 dpi", its
# ImproveQuality page): 144-dpi pages of 9-11 pt text have lines of 20-25 px, so they are enlarged for it.
# Measured on the twins (this engine's page text, NED): Korean 0.28 -> 0.12, Arabic 0.09 -> 0.08, Persian
# 0.69 -> 0.30 though with fewer words (F1 0.58 -> 0.48), which the whole pipeline feels (README, eval).
TARGET_LINE_PX = 40
MAX_SCALE = 3.0
RULE_LINES = 3.0  # a table rule painted out for Tesseract is at least this many text lines long
TIMEOUT_S = 120
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tesseract:
    binary: str
    version: str
    data: tuple[str, ...]  # installed data names (kor, Arabic, ...)

    @property
    def identity(self) -> str:
        """Version and data, for the engine's identity: new data or a new Tesseract marks OCR stale."""
        return f"tesseract-{self.version}:{'+'.join(d for d in self.data if d != 'osd')}"

    def _run(self, png: bytes, *args: str, outputs: tuple[str, ...] = ()) -> list[str]:
        """stdout, or with `outputs` (renderers such as txt, tsv) each renderer's file; empty on failure (the
        page then keeps its first reading: a second reader that fails or hangs never fails the page)."""
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # one core: the pipeline's own threads use the rest
        failed = ["" for _ in outputs] or [""]
        with tempfile.TemporaryDirectory(prefix="ocr-tesseract-") as tmp:
            base = os.path.join(tmp, "page") if outputs else "stdout"
            try:
                done = subprocess.run([self.binary, "stdin", base, *args, *outputs], input=png,
                                      capture_output=True, timeout=TIMEOUT_S, env=env, check=False)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("tesseract %s failed: %s", " ".join(args), exc)
                return failed
            if done.returncode != 0:
                return failed
            if not outputs:
                return [done.stdout.decode("utf-8", "replace")]
            return [Path(f"{base}.{kind}").read_text("utf-8", "replace") for kind in outputs]

    def script(self, png: bytes) -> str | None:
        """The script OSD sees on the image, or None where it cannot tell (too little text)."""
        found = re.search(r"^Script: (\S+)", self._run(png, "--psm", "0")[0], re.M)
        return found.group(1) if found else None

    def read(self, png: bytes, data: str, scale: float = 1.0) -> OcrResult:
        """Words with boxes from the TSV (boxes divided by `scale`, the factor the image was enlarged by);
        where the words are split (per syllable in Hangul and Han), the plain-text rendering of the same
        recognition says which of them are one word."""
        txt, tsv = self._run(png, "-l", data, "--psm", "3", outputs=("txt", "tsv"))
        lines: dict[tuple[str, ...], list[Word]] = {}
        for row in tsv.splitlines()[1:]:
            f = row.split("\t")
            if len(f) < 12 or not f[11].strip() or float(f[10]) < 0:
                continue
            x, y, w, h = (int(v) / scale for v in f[6:10])
            lines.setdefault(tuple(f[1:5]), []).append(
                Word(f[11].strip(), Box(x, y, x + w, y + h), max(0.0, float(f[10])) / 100.0))
        written = {ln.replace(" ", ""): ln for ln in txt.splitlines() if ln.strip()}
        words: list[Word] = []
        texts: list[str] = []
        for line in lines.values():
            line = _join_as_written(line, written.get("".join(w.text for w in line)))
            words.extend(line)
            texts.append(" ".join(w.text for w in line))
        confidence = float(np.mean([w.confidence for w in words])) if words else None
        return OcrResult("\n".join(texts), words, confidence)


def _join_as_written(words: list[Word], written: str | None) -> list[Word]:
    """The line's words joined where its written form (the same characters, with Tesseract's spaces) has no
    space between them."""
    if written is None:
        return words
    spaces = {len(written[:i].replace(" ", "")) for i, ch in enumerate(written) if ch == " "}
    out = [words[0]]
    at = len(words[0].text)
    for w in words[1:]:
        if at not in spaces:
            last = out[-1]
            out[-1] = Word(last.text + w.text, union((last.box, w.box)), min(last.confidence, w.confidence))
        else:
            out.append(w)
        at += len(w.text)
    return out


@lru_cache(maxsize=1)
def find_tesseract() -> Tesseract | None:
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
        langs = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    data = tuple(sorted(ln.strip() for ln in langs.splitlines()[1:] if ln.strip()))
    number = re.search(r"tesseract (\S+)", version)
    if "osd" not in data:
        return None
    return Tesseract(binary, number.group(1) if number else "unknown", data)


def line_height(first: OcrResult) -> float:
    """The page's median text line height in pixels, from the first reader's boxes (its detector finds lines
    in any script); TARGET_LINE_PX where it found none."""
    heights = [w.box.height for w in first.words if w.box.height > 0]
    return float(np.median(heights)) if heights else float(TARGET_LINE_PX)


def enlargement(first: OcrResult) -> float:
    """How much to enlarge the page for Tesseract: its median line to TARGET_LINE_PX, never shrunk."""
    return min(MAX_SCALE, max(1.0, TARGET_LINE_PX / line_height(first)))


def without_grid_rules(gray: np.ndarray, line_px: float) -> np.ndarray:
    """The page with its tables' ruling lines painted over in the table's own background. Tesseract's page
    layout takes cell borders for text or column separators and drops or garbles the cells beside them
    (its ImproveQuality page: remove borders and lines). Only the rules of real grids go, rules at least
    RULE_LINES text lines long: glyph strokes (Hangul, the baseline of an Arabic word) and strokes that
    make no grid (an underline, a page border) are left alone."""
    # dpi 72: rules in pixels. The grid test's tolerances (points) then read as pixels, tighter on an
    # enlarged page; rules that cross touch anyway.
    rules = image_rules(Image.fromarray(gray), dpi=72.0, min_length_pt=RULE_LINES * line_px)
    out = gray.copy()
    for group in grid_rules(rules):
        box = Box(min(r.x0 for r in group), min(r.y0 for r in group), max(r.x1 for r in group),
                  max(r.y1 for r in group))
        paper = int(np.median(gray[int(box.y0):int(box.y1) + 1, int(box.x0):int(box.x1) + 1]))
        for r in group:  # one pixel more each side: the stroke's anti-aliased edge
            cv2.rectangle(out, (int(r.x0) - 1, int(r.y0) - 1), (int(r.x1) + 1, int(r.y1) + 1), paper, -1)
    return out


def looks_unread(result: OcrResult) -> bool:
    words = result.words
    return len(words) >= MIN_WORDS and sum(w.confidence < LOW_CONFIDENCE for w in words) >= UNREAD_SHARE * len(words)


class OtherScripts:
    """The second reader for pages the first one could not read. `tesseract` None: the page keeps the first
    reading, and the result says why it may be poor."""

    def __init__(self, tesseract: Tesseract | None):
        self.tesseract = tesseract

    @property
    def identity(self) -> str:
        """Tesseract, its data and how pages are prepared for it (enlarged, table rules painted out): a change
        in any reads pages differently."""
        return f"{self.tesseract.identity}:lines-{TARGET_LINE_PX}px:no-table-rules" if self.tesseract else "none"

    def reread(self, bgr: np.ndarray, first: OcrResult) -> OcrResult:
        if not looks_unread(first):
            return first
        if self.tesseract is None:
            first.reader = ("most words read with low confidence: the page may be in a script the bundled model "
                            "does not read (install tesseract-ocr with its script data to read it)")
            return first
        scale = enlargement(first)
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        if scale > 1.0:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        png = cv2.imencode(".png", without_grid_rules(gray, line_height(first) * scale))[1].tobytes()
        script = self.tesseract.script(png)
        if script in (None, "Latin"):
            return first
        data = next((d for d in DATA_FOR_SCRIPT.get(script, (script,)) if d in self.tesseract.data), None)
        if data is None:
            first.reader = f"script {script}: no Tesseract data installed for it; read by the bundled model"
            return first
        # A language's data (kor, lowercase) knows no Latin: English beside it reads the Latin names and terms
        # inside the page, as Tesseract's users run it. A script's data (Arabic) has its own Latin, and is
        # worse with English added (twins set).
        if data.islower() and "eng" in self.tesseract.data:
            data = f"{data}+eng"
        second = self.tesseract.read(png, data, scale)
        if not second.words:
            return first
        second.reader = f"script {script}: read by Tesseract {self.tesseract.version} ({data})"
        return second
