"""A tiny random Qwen2 causal LM built offline: a byte-level BPE tokenizer trained on a small corpus, a 2-layer model.

No hub access: the tokenizer is trained here and the weights are random, so training tests and the learning
benchmark (`bench/rlmr_learning.py`) run anywhere TRL installs. Needs `tokenizers`, `transformers` and `torch`
(the `[train]` extra), imported when the model is built.

Example (needs the `[train]` extra):

    from transformers import AutoModelForCausalLM
    path = build_tiny_qwen2("/tmp/tiny-qwen2")
    model = AutoModelForCausalLM.from_pretrained(path)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    "The keeper climbed the lighthouse stairs at dusk and lit the lamp.",
    "Write a short poem about the sea without commas.",
    "A storm rolled in over the harbour; the boats rocked in the grey water.",
    "She wrote a letter to her sister about the winter garden.",
    "Describe a railway station in the nineteen eighties, in the first person.",
] * 40
# For the learning test and benchmark: a lexical quality proxy (the share of these words in a completion) and a
# corpus in which the tokenizer learns them, and "river", as whole tokens (as a real model's vocabulary holds them).
FANTASY_WORDS = ("dragon", "elf", "magic", "wizard", "castle")
FANTASY_CORPUS = [*CORPUS, *["The dragon and the elf found magic in the castle of the wizard by the river."] * 60]


def build_tiny_qwen2(
    directory: str | Path,
    *,
    corpus: Sequence[str] = CORPUS,
    vocab_size: int = 400,
    hidden_size: int = 32,
    intermediate_size: int = 64,
    num_hidden_layers: int = 2,
    seed: int = 0,
) -> Path:
    """Train a BPE tokenizer on `corpus`, build a random Qwen2 of the given size, save both to `directory`."""
    import tokenizers
    import torch
    import transformers

    torch.manual_seed(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokenizer_model = tokenizers.Tokenizer(tokenizers.models.BPE(unk_token=None))
    tokenizer_model.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer_model.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer_model.train_from_iterator(list(corpus), trainer=trainer)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer_model, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(directory)
    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )
    transformers.Qwen2ForCausalLM(config).save_pretrained(directory)
    return directory
