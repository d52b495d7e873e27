"""A tiny randomly initialised Llama-style model and a word-level tokenizer trained on the
given texts, saved as a Hugging Face model directory: a base model for `hyperlearn llm tune`
that needs no download. Also used by benchmarks/tallrec_gpu.py."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

SPECIAL = ("[PAD]", "[UNK]", "<s>", "</s>")


def build_tiny_llama(
    directory: Path,
    texts: Iterable[str],
    *,
    hidden: int = 48,
    layers: int = 2,
    heads: int = 4,
    seed: int = 0,
    max_positions: int = 1024,
) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    word_level = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    word_level.train_from_iterator(
        texts, trainers.WordLevelTrainer(vocab_size=5000, special_tokens=list(SPECIAL))
    )
    fast: Any = PreTrainedTokenizerFast  # untyped in transformers 5
    tokenizer = fast(
        tokenizer_object=word_level,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="<s>",
        eos_token="</s>",
    )
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory
