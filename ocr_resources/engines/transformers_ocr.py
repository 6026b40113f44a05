"""Generative OCR engines: GOT-OCR2 (page or region, plain or formatted text), TrOCR (text lines), and TeX OCR
(a formula image to LaTeX, the formula role).

They return text without geometry: OcrResult(text, words=[], confidence=None).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from PIL import Image
from transformers import (
    AutoImageProcessor,
    AutoModelForImageTextToText,
    AutoProcessor,
    AutoTokenizer,
    TrOCRProcessor,
    VisionEncoderDecoderModel,
)

from ocr_resources.engines import EngineSettings
from ocr_resources.engines.base import FormulaRecognizer, ModelIdentity, TextRecognizer
from ocr_resources.engines.torch_runtime import (
    TorchRuntime,
    checkpoint_revision,
    inference_mode,
    run_batched,
    size_class,
    to_device,
)
from ocr_resources.types import OcrResult

log = logging.getLogger(__name__)


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


class GotOcr2Recognizer(TorchRuntime, TextRecognizer):
    """GOT-OCR2 through transformers' native image-text-to-text classes (e.g. stepfun-ai/GOT-OCR-2.0-hf).

    Options: format (bool, default False) asks for formatted (markdown/LaTeX) output; crop_to_patches
    (bool) tiles large pages; max_patches (int).
    """

    def __init__(self, settings: EngineSettings) -> None:
        kwargs = self._init_runtime(settings)
        self.format = bool(settings.option("format", False))
        self.crop_to_patches = bool(settings.option("crop_to_patches", False))
        self.max_patches = int(settings.option("max_patches", 6))
        self.processor = AutoProcessor.from_pretrained(self.model_path, **self.hub_kwargs)
        # decoder-only generation: pad on the left so every prompt ends where generation starts
        self.processor.tokenizer.padding_side = "left"
        self.model = AutoModelForImageTextToText.from_pretrained(self.model_path, **kwargs)
        self.model.to(self.device).eval()
        # the chat turn ends with <|im_end|>, a single special token: stopping on its id is exact and
        # cheaper than generate(stop_strings=...), which needs a BPE-style vocabulary
        tokenizer = self.processor.tokenizer
        stop_ids = {tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.eos_token_id}
        eos = self.model.generation_config.eos_token_id
        stop_ids.update(eos if isinstance(eos, list) else [eos])
        self.stop_token_ids = sorted(i for i in stop_ids if i is not None and i != tokenizer.unk_token_id)
        pad = tokenizer.pad_token_id
        self.pad_token_id = pad if pad is not None else self.stop_token_ids[0]
        vision = self.model.config.vision_config
        # the SAM encoder's patch grid is downsampled 4x by the projector: one token per output cell
        self.num_image_tokens = (int(vision.image_size) // int(vision.patch_size) // 4) ** 2
        self.identity = ModelIdentity(
            engine="got_ocr2",
            model_id=settings.model,
            revision=checkpoint_revision(settings.model, settings.revision),
            params={
                "format": self.format,
                "crop_to_patches": self.crop_to_patches,
                "max_new_tokens": settings.max_new_tokens,
                "dtype": _dtype_name(self.dtype),
            },
        )

    def recognize(self, images: list[Image.Image]) -> list[OcrResult]:
        images = [im.convert("RGB") for im in images]
        # with crop_to_patches a page becomes several patches: one image per call keeps prompts aligned
        batch_size = 1 if self.crop_to_patches else self.batch_size
        return run_batched(images, batch_size, self._recognize_batch, log, key=size_class)

    def _recognize_batch(self, batch: list[Image.Image]) -> list[OcrResult]:
        proc_kwargs: dict[str, Any] = {"format": self.format, "num_image_tokens": self.num_image_tokens}
        if self.crop_to_patches:
            proc_kwargs.update(crop_to_patches=True, max_patches=self.max_patches)
        with inference_mode():
            inputs = self.processor(images=batch, return_tensors="pt", padding=True, **proc_kwargs)
            inputs = to_device(inputs, self.device, self.dtype)
            generated = self.model.generate(
                **inputs,
                do_sample=False,
                max_new_tokens=self.settings.max_new_tokens,
                eos_token_id=self.stop_token_ids,
                pad_token_id=self.pad_token_id,
            )
        new_tokens = generated[:, inputs["input_ids"].shape[1] :]
        texts = self.processor.batch_decode(new_tokens, skip_special_tokens=True)
        return [OcrResult(text=t.strip(), words=[], confidence=None) for t in texts]


class TrOcrRecognizer(TorchRuntime, TextRecognizer):
    """TrOCR (VisionEncoderDecoder) for single text lines, e.g. microsoft/trocr-base-printed."""

    def __init__(self, settings: EngineSettings) -> None:
        kwargs = self._init_runtime(settings)
        self.image_processor, self.tokenizer = self._load_processor(self.model_path, self.hub_kwargs)
        self.model = VisionEncoderDecoderModel.from_pretrained(self.model_path, **kwargs)
        self.model.to(self.device).eval()
        self.identity = ModelIdentity(
            engine="trocr",
            model_id=settings.model,
            revision=checkpoint_revision(settings.model, settings.revision),
            params={"max_new_tokens": settings.max_new_tokens, "dtype": _dtype_name(self.dtype)},
        )

    @staticmethod
    def _load_processor(model: str, hub_kwargs: dict[str, Any]) -> tuple[Any, Any]:
        """(image processor, tokenizer): the saved TrOCRProcessor, else any processor, else the parts."""
        for loader in (TrOCRProcessor, AutoProcessor):
            try:
                proc = loader.from_pretrained(model, **hub_kwargs)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.debug("%s could not load %s: %s", loader.__name__, model, exc)
                continue
            image_processor = getattr(proc, "image_processor", None)
            tokenizer = getattr(proc, "tokenizer", None)
            if image_processor is not None and tokenizer is not None:
                return image_processor, tokenizer
        return (
            AutoImageProcessor.from_pretrained(model, **hub_kwargs),
            AutoTokenizer.from_pretrained(model, **hub_kwargs),
        )

    def recognize(self, images: list[Image.Image]) -> list[OcrResult]:
        images = [im.convert("RGB") for im in images]
        return run_batched(images, self.batch_size, self._recognize_batch, log)

    def _recognize_batch(self, batch: list[Image.Image]) -> list[OcrResult]:
        with inference_mode():
            # the ViT encoder resizes every line to one fixed size, so no size bucketing is needed
            inputs = self.image_processor(images=batch, return_tensors="pt")
            pixel_values = inputs["pixel_values"].to(self.device, self.dtype)
            generated = self.model.generate(
                pixel_values=pixel_values, max_new_tokens=self.settings.max_new_tokens, do_sample=False
            )
        texts = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        return [OcrResult(text=t.strip(), words=[], confidence=None) for t in texts]


class TexOcrRecognizer(TrOcrRecognizer, FormulaRecognizer):
    """The formula role: a VisionEncoderDecoder image-to-LaTeX checkpoint (the TrOCR-style TeX OCR families,
    e.g. a ViT or Swin encoder with a TrOCR/BART decoder trained on rendered formulas), loaded as TrOCR is, from
    a local directory or the hub cache. It reads formula regions that have no text layer (scans, images)."""

    def __init__(self, settings: EngineSettings) -> None:
        super().__init__(settings)
        self.identity = ModelIdentity(
            engine="tex_ocr",
            model_id=settings.model,
            revision=checkpoint_revision(settings.model, settings.revision),
            params={"max_new_tokens": settings.max_new_tokens, "dtype": _dtype_name(self.dtype)},
        )

    def read(self, images: list[Image.Image]) -> list[str]:
        return [clean_latex(r.text) for r in self.recognize(images)]


_DELIMITERS = re.compile(r"^\s*(\$\$|\$|\\\[|\\\()\s*(.*?)\s*(\$\$|\$|\\\]|\\\))\s*$", re.S)


def clean_latex(text: str) -> str:
    """A model's LaTeX without the math delimiters some checkpoints write around it, and without any `$` left
    inside (it would end the Markdown's math span early); whitespace runs made one space."""
    text = (text or "").strip()
    m = _DELIMITERS.match(text)
    if m:
        text = m.group(2)
    return re.sub(r"\s+", " ", text.replace("$", "")).strip()
