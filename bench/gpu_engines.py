"""Throughput benchmark for the transformers engines with full-size architectures and random weights.

No hub access: each architecture is built from its default-sized config with random weights (DETR-R50,
Table Transformer, TrOCR-base, GOT-OCR2, Pix2Struct-base), saved to a temp directory and loaded through
the engine classes exactly as a downloaded checkpoint would be. Speed and memory depend on the
architecture and input sizes, not on the weight values; note that random generative models never emit
EOS, so OCR/chart runs always generate `--max-new-tokens` tokens (a worst case per item).

    python bench/gpu_engines.py                       # GPU, full sizes, batch sizes 1 2 4 8
    python bench/gpu_engines.py --device cpu --quick  # smoke run on CPU with small models (< 3 min)

Prints items/s and peak GPU memory per engine and batch size; writes bench/results/gpu_engines.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr_resources.engines import EngineSettings, engine_class  # noqa: E402
from ocr_resources.engines.torch_runtime import resolve_device  # noqa: E402
from ocr_resources.types import Box, TableCrop, Word  # noqa: E402

log = logging.getLogger("bench.gpu_engines")

DOCLAYNET = ("Caption", "Footnote", "Formula", "List-item", "Page-footer", "Page-header", "Picture",
             "Section-header", "Table", "Text", "Title")
TATR = ("table", "table column", "table row", "table column header", "table projected row header",
        "table spanning cell")
GOT_SPECIAL = ("<|im_start|>", "<|im_end|>", "<img>", "</img>", "<imgpad>")


def build_tokenizer(vocab_size: int, special: list[str], extra_special: tuple[str, ...] = ()) -> Any:
    """A word-level tokenizer with `vocab_size` entries (so every generated id decodes)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for tok in [*special, *extra_special]:
        vocab.setdefault(tok, len(vocab))
    for i in range(vocab_size - len(vocab)):
        vocab[f"w{i}"] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=special[2]))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")
    kwargs = {"pad_token": special[0], "eos_token": special[1], "unk_token": special[2]}
    if len(special) > 3:
        kwargs["bos_token"] = special[3]
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)
    if extra_special:
        fast.add_special_tokens({"additional_special_tokens": list(extra_special)})
    return fast


def _labels(names: tuple[str, ...]) -> dict[str, Any]:
    return {"id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}


def _resnet(quick: bool, depth50: bool) -> Any:
    from transformers import ResNetConfig

    if quick:
        return ResNetConfig(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1], layer_type="basic",
                            out_features=["stage2"])
    if depth50:  # ResNet-50, as in facebook/detr-resnet-50
        return ResNetConfig(embedding_size=64, hidden_sizes=[256, 512, 1024, 2048], depths=[3, 4, 6, 3],
                            layer_type="bottleneck", out_features=["stage4"])
    # ResNet-18, as in the Table Transformer checkpoints
    return ResNetConfig(embedding_size=64, hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2],
                        layer_type="basic", out_features=["stage4"])


def _detr_sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return dict(d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                    decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64)
    return {}  # DETR defaults: d_model 256, 6+6 layers, 8 heads, ffn 2048


def build_layout(directory: Path, quick: bool) -> str:
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor

    config = DetrConfig(use_timm_backbone=False, use_pretrained_backbone=False,
                        backbone_config=_resnet(quick, depth50=True), num_queries=20 if quick else 100,
                        **_detr_sizes(quick), **_labels(DOCLAYNET))
    DetrForObjectDetection(config).save_pretrained(directory)
    size = {"shortest_edge": 800, "longest_edge": 1333}
    if quick:
        size = {"shortest_edge": 160, "longest_edge": 240}
    DetrImageProcessor(size=size).save_pretrained(directory)
    return str(directory)


def build_table(directory: Path, quick: bool) -> str:
    from transformers import DetrImageProcessor, TableTransformerConfig, TableTransformerForObjectDetection

    config = TableTransformerConfig(use_timm_backbone=False, use_pretrained_backbone=False,
                                    backbone_config=_resnet(quick, depth50=False),
                                    num_queries=20 if quick else 125, **_detr_sizes(quick), **_labels(TATR))
    TableTransformerForObjectDetection(config).save_pretrained(directory)
    size = {"shortest_edge": 800, "longest_edge": 1000}
    if quick:
        size = {"shortest_edge": 160, "longest_edge": 240}
    DetrImageProcessor(size=size).save_pretrained(directory)
    return str(directory)


def build_trocr(directory: Path, quick: bool) -> str:
    from transformers import (
        TrOCRConfig,
        TrOCRProcessor,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    tokenizer = build_tokenizer(1000 if quick else 50265, ["<pad>", "</s>", "<unk>", "<s>"])
    if quick:
        enc = ViTConfig(image_size=96, patch_size=16, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128)
        dec = dict(d_model=64, decoder_layers=2, decoder_attention_heads=2, decoder_ffn_dim=128)
    else:  # trocr-base: ViT-base encoder at 384 px, 12-layer 1024-wide decoder
        enc = ViTConfig(image_size=384, patch_size=16)
        dec = dict(d_model=1024, decoder_layers=12, decoder_attention_heads=16, decoder_ffn_dim=4096)
    ids = dict(pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
               eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.bos_token_id)
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        enc, TrOCRConfig(vocab_size=len(tokenizer), max_position_embeddings=512, **dec, **ids)
    )
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    model = VisionEncoderDecoderModel(config=config)
    for name, value in ids.items():
        if name != "bos_token_id":
            setattr(model.generation_config, name, value)
    model.save_pretrained(directory)
    processor = ViTImageProcessor(size={"height": enc.image_size, "width": enc.image_size})
    TrOCRProcessor(image_processor=processor, tokenizer=tokenizer).save_pretrained(directory)
    return str(directory)


def build_got(directory: Path, quick: bool) -> str:
    from transformers import (
        GotOcr2Config,
        GotOcr2ForConditionalGeneration,
        GotOcr2ImageProcessor,
        GotOcr2Processor,
    )

    tokenizer = build_tokenizer(1000 if quick else 151860,
                                ["<|endoftext|>", "<|im_end|>", "<unk>"], GOT_SPECIAL)
    image_token = tokenizer.convert_tokens_to_ids("<imgpad>")
    if quick:
        image_size = 128
        config = GotOcr2Config(
            vision_config=dict(hidden_size=64, output_channels=64, num_hidden_layers=2, num_attention_heads=2,
                               image_size=image_size, patch_size=16, window_size=4, global_attn_indexes=[1],
                               mlp_dim=128),
            text_config=dict(model_type="qwen2", vocab_size=len(tokenizer), hidden_size=64,
                             intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                             num_key_value_heads=2, max_position_embeddings=1024),
            image_token_index=image_token,
        )
    else:  # GOT-OCR2 defaults: SAM-B encoder at 1024 px, Qwen2-0.5B-sized decoder (~580M parameters)
        image_size = 1024
        # (text_config left out on purpose: a partial dict would fall back to Qwen2's 7B defaults)
        config = GotOcr2Config(image_token_index=image_token)
        assert config.text_config.vocab_size == len(tokenizer)
    model = GotOcr2ForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(directory)
    processor = GotOcr2ImageProcessor(size={"height": image_size, "width": image_size})
    GotOcr2Processor(image_processor=processor, tokenizer=tokenizer).save_pretrained(directory)
    return str(directory)


def build_chart(directory: Path, quick: bool) -> str:
    from transformers import (
        Pix2StructConfig,
        Pix2StructForConditionalGeneration,
        Pix2StructImageProcessor,
        Pix2StructProcessor,
    )

    tokenizer = build_tokenizer(1000 if quick else 50244, ["<pad>", "</s>", "<unk>"])
    ids = dict(pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    if quick:
        text = dict(hidden_size=64, d_kv=32, d_ff=128, num_layers=2, num_heads=2)
        vision = dict(hidden_size=64, d_ff=128, d_kv=32, num_hidden_layers=2, num_attention_heads=2)
    else:  # pix2struct-base (DePlot's architecture): 12+12 layers, 768 wide
        text = dict(hidden_size=768, d_kv=64, d_ff=2048, num_layers=12, num_heads=12)
        vision = dict(hidden_size=768, d_ff=2048, d_kv=64, num_hidden_layers=12, num_attention_heads=12)
    config = Pix2StructConfig(text_config={"vocab_size": len(tokenizer), **text, **ids},
                              vision_config={"patch_embed_hidden_size": 768, **vision}, is_vqa=True)
    model = Pix2StructForConditionalGeneration(config)
    for name, value in ids.items():
        setattr(model.generation_config, name, value)
    model.save_pretrained(directory)
    processor = Pix2StructImageProcessor(is_vqa=True, max_patches=256 if quick else 2048)
    Pix2StructProcessor(image_processor=processor, tokenizer=tokenizer).save_pretrained(directory)
    return str(directory)


def _images(n: int, size: tuple[int, int], seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    w, h = size
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for _ in range(n)]


def _table_crops(n: int, size: tuple[int, int]) -> list[TableCrop]:
    w, h = size
    words = [Word(f"w{i}", Box(x, y, x + 40, y + 12)) for i, (x, y) in
             enumerate((x, y) for y in range(10, h - 20, 30) for x in range(10, w - 50, 80))]
    return [TableCrop(im, words) for im in _images(n, size)]


@dataclass
class Spec:
    name: str
    role: str
    engine: str
    build: Callable[[Path, bool], str]
    inputs: Callable[[int, bool], list]
    call: str  # engine method
    input_size: Callable[[bool], tuple[int, int]]
    generative: bool = False


SPECS = [
    Spec("layout_detr_r50", "layout", "transformers", build_layout,
         lambda n, q: _images(n, (310, 438) if q else (1240, 1754)), "detect",
         lambda q: (310, 438) if q else (1240, 1754)),
    Spec("table_transformer", "table", "table_transformer", build_table,
         lambda n, q: _table_crops(n, (200, 150) if q else (800, 600)), "recognize",
         lambda q: (200, 150) if q else (800, 600)),
    Spec("trocr_base", "ocr", "trocr", build_trocr,
         lambda n, q: _images(n, (96, 96) if q else (384, 384)), "recognize",
         lambda q: (96, 96) if q else (384, 384), generative=True),
    Spec("got_ocr2", "ocr", "got_ocr2", build_got,
         lambda n, q: _images(n, (310, 438) if q else (1240, 1754)), "recognize",
         lambda q: (310, 438) if q else (1240, 1754), generative=True),
    Spec("deplot_pix2struct_base", "chart", "deplot", build_chart,
         lambda n, q: _images(n, (200, 150) if q else (800, 600)), "extract",
         lambda q: (200, 150) if q else (800, 600), generative=True),
]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_spec(spec: Spec, args: argparse.Namespace, device: torch.device, workdir: Path) -> list[dict]:
    started = time.perf_counter()
    path = spec.build(workdir / spec.name, args.quick)
    build_s = time.perf_counter() - started
    settings = EngineSettings(
        role=spec.role, engine=spec.engine, model=path, device=args.device, dtype=args.dtype,
        batch_size=args.batch_sizes[0], score_threshold=0.5, max_new_tokens=args.max_new_tokens,
    )
    started = time.perf_counter()
    engine = engine_class(spec.role, spec.engine)(settings)
    load_s = time.perf_counter() - started
    n_params = sum(p.numel() for p in engine.model.parameters())
    method = getattr(engine, spec.call)
    rows = []
    for batch_size in args.batch_sizes:
        engine.batch_size = batch_size  # what run_batched reads; the loaded model is reused
        n_items = max(args.items, batch_size * args.batches)
        items = spec.inputs(n_items, args.quick)
        method(spec.inputs(batch_size, args.quick))  # warm-up: kernels, allocator, lazy init
        _sync(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        started = time.perf_counter()
        try:
            out = method(items)
        except torch.cuda.OutOfMemoryError as exc:
            rows.append({"engine": spec.name, "batch_size": batch_size, "error": f"OOM: {exc}"[:300]})
            print(f"{spec.name:24s} bs={batch_size:<3d} OOM even at batch size 1", flush=True)
            continue
        _sync(device)
        seconds = time.perf_counter() - started
        assert len(out) == len(items)
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
        row = {
            "engine": spec.name,
            "registry": f"{spec.role}/{spec.engine}",
            "params_m": round(n_params / 1e6, 3),
            "dtype": engine.identity.params.get("dtype"),
            "input_size": list(spec.input_size(args.quick)),
            "batch_size": batch_size,
            "effective_batch_size": engine.batch_size,
            "items": len(items),
            "seconds": round(seconds, 3),
            "items_per_s": round(len(items) / seconds, 3),
            "peak_mem_mb": None if peak_mb is None else round(peak_mb, 1),
            "max_new_tokens": args.max_new_tokens if spec.generative else None,
            "build_s": round(build_s, 2),
            "load_s": round(load_s, 2),
        }
        rows.append(row)
        mem = f"{peak_mb:9.1f} MiB" if peak_mb is not None else "      n/a"
        print(f"{spec.name:24s} bs={batch_size:<3d} {row['items_per_s']:9.2f} items/s  peak {mem}  "
              f"({len(items)} items, {seconds:.2f}s)", flush=True)
    del engine
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:1, mps or cpu")
    parser.add_argument("--dtype", default="auto", help="auto, fp16, bf16 or fp32")
    parser.add_argument("--quick", action="store_true", help="small models and inputs (CPU smoke run)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    parser.add_argument("--items", type=int, default=None, help="items per measurement (at least 2 batches)")
    parser.add_argument("--batches", type=int, default=2, help="minimum batches per measurement")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--only", nargs="+", choices=[s.name for s in SPECS], default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "gpu_engines.json")
    args = parser.parse_args(argv)
    args.batch_sizes = args.batch_sizes or ([1, 2] if args.quick else [1, 2, 4, 8])
    args.items = args.items or (2 if args.quick else 16)
    args.max_new_tokens = args.max_new_tokens or (8 if args.quick else 64)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    torch.manual_seed(0)

    device = resolve_device(args.device)
    specs = [s for s in SPECS if args.only is None or s.name in args.only]
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gpu_engines_") as tmp:
        for spec in specs:
            try:
                results.extend(bench_spec(spec, args, device, Path(tmp)))
            except Exception as exc:  # one engine failing must not lose the others' numbers
                log.exception("benchmark of %s failed", spec.name)
                results.append({"engine": spec.name, "error": repr(exc)[:500]})
            finally:
                for child in Path(tmp).glob(f"{spec.name}*"):  # full-size checkpoints are GBs
                    shutil.rmtree(child, ignore_errors=True)

    report = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "torch": torch.__version__,
        "quick": args.quick,
        "dtype": args.dtype,
        "max_new_tokens": args.max_new_tokens,
        "note": "random weights; generative engines always produce max_new_tokens tokens per item",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
