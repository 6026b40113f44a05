"""Builders for tiny, randomly initialised checkpoints saved with `save_pretrained` (model + processor +
tokenizer), so the transformers engines can be exercised offline through the same `from_pretrained(path)`
code path they use for hub ids. Nothing here downloads anything.

Each builder takes a directory, writes the checkpoint there and returns the directory as a str.
"""

from __future__ import annotations

from pathlib import Path

import torch

# A small vocabulary: enough words for the prompts the processors build (unknown words map to <unk>).
_WORDS = (
    "the a of and to in is table figure data year value total sales OCR with format system user assistant "
    "You should follow instructions carefully explain your answers detail : , . | - 0 1 2 3 4 5 6 7 8 9 "
    "Generate underlying below TITLE"
).split()

DOCLAYNET_LABELS = (
    "Caption",
    "Footnote",
    "Formula",
    "List-item",
    "Page-footer",
    "Page-header",
    "Picture",
    "Section-header",
    "Table",
    "Text",
    "Title",
)

TABLE_STRUCTURE_LABELS = (
    "table",
    "table column",
    "table row",
    "table column header",
    "table projected row header",
    "table spanning cell",
)


def build_tokenizer(special: list[str], extra_special: tuple[str, ...] = ()):
    """A word-level fast tokenizer built in memory. `special` = [pad, eos, unk, (bos)] in id order."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {}
    for tok in [*special, *extra_special, *_WORDS]:
        vocab.setdefault(tok, len(vocab))
    unk = special[2]
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    tok.decoder = decoders.WordPiece(prefix="##")  # joins tokens with spaces
    kwargs = {"pad_token": special[0], "eos_token": special[1], "unk_token": unk}
    if len(special) > 3:
        kwargs["bos_token"] = special[3]
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)
    if extra_special:
        fast.add_special_tokens({"additional_special_tokens": list(extra_special)})
    return fast


def _tiny_resnet():
    from transformers import ResNetConfig

    return ResNetConfig(
        num_channels=3,
        embedding_size=8,
        hidden_sizes=[8, 16],
        depths=[1, 1],
        layer_type="basic",
        out_features=["stage2"],
    )


def _detr_kwargs(labels: tuple[str, ...]) -> dict:
    return dict(
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        backbone_config=_tiny_resnet(),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        num_queries=12,
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )


def _spread_queries(model) -> None:
    """Fresh DETR inits give every object query the same embedding, so all predictions coincide;
    random query embeddings and a livelier box head make the tiny model predict distinct boxes."""
    with torch.no_grad():
        model.model.query_position_embeddings.weight.normal_(0.0, 1.0)
        model.bbox_predictor.layers[-1].weight.normal_(0.0, 0.5)


def build_detr_layout(directory: str | Path, seed: int = 0) -> str:
    """Tiny DETR (ResNet backbone, no pretrained weights) with DocLayNet labels."""
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor

    torch.manual_seed(seed)
    model = DetrForObjectDetection(DetrConfig(**_detr_kwargs(DOCLAYNET_LABELS)))
    _spread_queries(model)
    model.save_pretrained(directory)
    DetrImageProcessor(size={"shortest_edge": 64, "longest_edge": 96}).save_pretrained(directory)
    return str(directory)


def build_table_transformer(directory: str | Path, seed: int = 0) -> str:
    """Tiny Table Transformer with the TATR structure-recognition labels."""
    from transformers import DetrImageProcessor, TableTransformerConfig, TableTransformerForObjectDetection

    torch.manual_seed(seed)
    model = TableTransformerForObjectDetection(TableTransformerConfig(**_detr_kwargs(TABLE_STRUCTURE_LABELS)))
    _spread_queries(model)
    # Random heads put every query in one class; tilt the classifier towards rows and columns (with a
    # random tie-break per query) so the engine's grid path runs on real model output.
    with torch.no_grad():
        head = model.class_labels_classifier
        head.bias.fill_(-4.0)
        head.bias[TABLE_STRUCTURE_LABELS.index("table row")] = 4.0
        head.bias[TABLE_STRUCTURE_LABELS.index("table column")] = 4.0
    model.save_pretrained(directory)
    DetrImageProcessor(size={"shortest_edge": 64, "longest_edge": 96}).save_pretrained(directory)
    return str(directory)


def build_trocr(directory: str | Path, seed: int = 0) -> str:
    """Tiny TrOCR: ViT encoder + TrOCR decoder, word-level tokenizer."""
    from transformers import (
        TrOCRConfig,
        TrOCRProcessor,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(["<pad>", "</s>", "<unk>", "<s>"])
    encoder = ViTConfig(
        image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32,
    )
    decoder = TrOCRConfig(
        vocab_size=len(tokenizer), d_model=16, decoder_layers=1, decoder_attention_heads=2,
        decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.bos_token_id,
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.eos_token_id
    model = VisionEncoderDecoderModel(config=config)
    model.generation_config.decoder_start_token_id = tokenizer.bos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(directory)
    image_processor = ViTImageProcessor(size={"height": 32, "width": 32})
    TrOCRProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
    return str(directory)


def build_tex_ocr(directory: str | Path, seed: int = 0) -> str:
    """Tiny TeX OCR (the formula role): the tiny TrOCR, whose generation never stops before two tokens and
    never writes a special one, so it always reads something (random words of the vocabulary)."""
    from transformers import GenerationConfig

    build_trocr(directory, seed)
    config = GenerationConfig.from_pretrained(directory)
    config.min_new_tokens = 2
    config.suppress_tokens = [0, 2, 3]  # <pad>, <unk>, <s>: they decode to nothing
    config.save_pretrained(directory)
    return str(directory)


GOT_SPECIAL = ("<|im_start|>", "<|im_end|>", "<img>", "</img>", "<imgpad>")


def build_got_ocr2(directory: str | Path, seed: int = 0) -> str:
    """Tiny GOT-OCR2: SAM-style encoder (64 px, 8 px patches -> 2x2 = 4 image tokens) + 1-layer Qwen2."""
    from transformers import (
        GotOcr2Config,
        GotOcr2ForConditionalGeneration,
        GotOcr2ImageProcessor,
        GotOcr2Processor,
    )

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(["<|endoftext|>", "<|im_end|>", "<unk>"], extra_special=GOT_SPECIAL)
    image_token_id = tokenizer.convert_tokens_to_ids("<imgpad>")
    config = GotOcr2Config(
        vision_config={
            "hidden_size": 16, "output_channels": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
            "image_size": 64, "patch_size": 8, "window_size": 4, "global_attn_indexes": [0], "mlp_dim": 32,
        },
        text_config={
            "model_type": "qwen2", "vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2,
            "max_position_embeddings": 256, "tie_word_embeddings": True,
            "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id,
        },
        image_token_index=image_token_id,
    )
    model = GotOcr2ForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(directory)
    image_processor = GotOcr2ImageProcessor(size={"height": 64, "width": 64})
    GotOcr2Processor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
    return str(directory)


def build_pix2struct(directory: str | Path, seed: int = 0) -> str:
    """Tiny Pix2Struct in DePlot's VQA mode (the prompt is rendered onto the image)."""
    from transformers import (
        Pix2StructConfig,
        Pix2StructForConditionalGeneration,
        Pix2StructImageProcessor,
        Pix2StructProcessor,
    )

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(["<pad>", "</s>", "<unk>"])
    config = Pix2StructConfig(
        text_config={
            "vocab_size": len(tokenizer), "hidden_size": 16, "d_kv": 8, "d_ff": 32, "num_layers": 1,
            "num_heads": 2, "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
        },
        vision_config={
            "hidden_size": 16, "patch_embed_hidden_size": 768, "d_ff": 32, "d_kv": 8,
            "num_hidden_layers": 1, "num_attention_heads": 2,
        },
        is_vqa=True,
    )
    model = Pix2StructForConditionalGeneration(config)
    model.generation_config.decoder_start_token_id = 0
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = 1
    model.save_pretrained(directory)
    image_processor = Pix2StructImageProcessor(is_vqa=True, max_patches=64)
    Pix2StructProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
    return str(directory)
