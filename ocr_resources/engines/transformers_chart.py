"""Chart-to-table with DePlot (Pix2Struct): the chart image in, a linearised data table out.

DePlot writes e.g. "TITLE | Sales by year <0x0A> Year | Sales <0x0A> 2020 | 10 <0x0A> 2021 | 12";
`parse_deplot_table` turns that into ChartData.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PIL import Image
from transformers import Pix2StructForConditionalGeneration, Pix2StructProcessor
from transformers.models.pix2struct.image_processing_pil_pix2struct import render_text

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import ChartExtractor, ModelIdentity
from ocr_resources.engines.torch_runtime import (
    TorchRuntime,
    checkpoint_revision,
    inference_mode,
    run_batched,
    to_device,
)
from ocr_resources.types import ChartData

log = logging.getLogger(__name__)

DEFAULT_PROMPT = "Generate underlying data table of the figure below:"

_ROW_SPLIT = re.compile(r"<0x0A>|\\n|\r?\n")
_TITLE = re.compile(r"^\s*title\s*(?:\||:)\s*(.*)$", re.IGNORECASE)


def parse_deplot_table(text: str) -> ChartData:
    """Parse DePlot's linearised table. Rows are separated by '<0x0A>' (or newlines), cells by '|'.

    An optional first row 'TITLE | ...' gives the title; the next row gives the column names. Ragged
    rows are padded with "" (or extend the header with generated names) so every row has len(columns).
    """
    raw = text
    lines = [line.strip() for line in _ROW_SPLIT.split(text or "")]
    lines = [line for line in lines if line and set(line) - set("|- ")]  # drop blanks and |---| rules
    title: str | None = None
    if lines:
        m = _TITLE.match(lines[0])
        if m:
            title = m.group(1).strip().strip("|").strip() or None
            lines = lines[1:]
    table = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    if not table:
        return ChartData(title=title, columns=[], rows=[], raw=raw)
    columns, body = table[0], table[1:]
    width = max(len(columns), *(len(r) for r in body)) if body else len(columns)
    columns = columns + [f"column_{i + 1}" for i in range(len(columns), width)]
    rows = [row + [""] * (width - len(row)) for row in body]
    return ChartData(title=title, columns=columns, rows=rows, raw=raw)


def _default_font() -> str | None:
    """A TrueType font for rendering the prompt header onto the image, found without the network:
    the hub's cached Arial (what Pix2Struct downloads by default), else reportlab's bundled Vera."""
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache("ybelkada/fonts", "Arial.TTF", repo_type="model")
        if isinstance(cached, str):
            return cached
    except Exception:  # noqa: BLE001 - fall through to a bundled font
        pass
    try:
        import reportlab

        vera = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
        if vera.is_file():
            return str(vera)
    except ImportError:
        pass
    return None  # Pix2Struct will try to download its default font


class DePlotChartExtractor(TorchRuntime, ChartExtractor):
    """Options: prompt (str), font_path (TTF used to render the prompt header on VQA-style checkpoints)."""

    def __init__(self, settings: EngineSettings) -> None:
        kwargs = self._init_runtime(settings)
        self.prompt = str(settings.option("prompt", DEFAULT_PROMPT))
        self.font_path = settings.option("font_path") or _default_font()
        self.processor = Pix2StructProcessor.from_pretrained(self.model_path, **self.hub_kwargs)
        self.model = Pix2StructForConditionalGeneration.from_pretrained(self.model_path, **kwargs)
        self.model.to(self.device).eval()
        self._header_image: Image.Image | None = None
        self.is_vqa = bool(getattr(self.processor.image_processor, "is_vqa", False))
        self.identity = ModelIdentity(
            engine="deplot",
            model_id=settings.model,
            revision=checkpoint_revision(settings.model, settings.revision),
            params={
                "prompt": self.prompt,
                "max_new_tokens": settings.max_new_tokens,
                "dtype": str(self.dtype).removeprefix("torch."),
            },
        )

    def extract(self, images: list[Image.Image]) -> list[ChartData]:
        images = [im.convert("RGB") for im in images]
        # Pix2Struct resizes to a fixed number of patches, so there is no padding to save by bucketing
        return run_batched(images, self.batch_size, self._extract_batch, log)

    def _header(self) -> Image.Image:
        """The prompt rendered as Pix2Struct renders VQA headers, once (same prompt for every image)."""
        if self._header_image is None:
            self._header_image = render_text(self.prompt, font_path=self.font_path)
        return self._header_image

    def _with_header(self, image: Image.Image) -> Image.Image:
        # same composition as Pix2StructImageProcessor.render_header, done here so our font path is used
        # (the processor drops a font_path kwarg and would download Arial from the hub)
        header = self._header()
        width = max(header.width, image.width)
        height = int(image.height * (width / image.width))
        header_height = int(header.height * (width / header.width))
        canvas = Image.new("RGB", (width, height + header_height), "white")
        canvas.paste(header.resize((width, header_height)), (0, 0))
        canvas.paste(image.resize((width, height)), (0, header_height))
        return canvas

    def _extract_batch(self, batch: list[Image.Image]) -> list[ChartData]:
        if self.is_vqa:
            # DePlot is a VQA-style Pix2Struct: the prompt is rendered as a header onto each image
            batch = [self._with_header(im) for im in batch]
        with inference_mode():
            inputs = self.processor.image_processor(images=batch, is_vqa=False, return_tensors="pt")
            inputs = to_device(inputs, self.device, self.dtype)
            generated = self.model.generate(
                **inputs, max_new_tokens=self.settings.max_new_tokens, do_sample=False
            )
        texts = self.processor.batch_decode(generated, skip_special_tokens=True)
        return [parse_deplot_table(t) for t in texts]
