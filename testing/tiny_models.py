"""Tiny random Qwen2 checkpoints built offline (a BPE tokenizer trained here, 2 layers): for tests and benches.

`tiny_qwen2(directory, head="classifier")` writes a `Qwen2ForSequenceClassification` with one label — the
shape of a published reward model — with the same tokenizer and ChatML template as the tiny policy in
`tests/slow`. Nothing is downloaded; it needs torch, transformers and tokenizers.

Example:
    >>> import tempfile
    >>> path = tiny_qwen2(tempfile.mkdtemp(), head="classifier")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

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


def tiny_qwen2(
    directory: str | Path,
    *,
    head: Literal["causal", "classifier"] = "classifier",
    seed: int = 0,
    max_position_embeddings: int = 256,
    corpus: Sequence[str] = CORPUS,
) -> Path:
    """Build and save a tiny random Qwen2 (`causal` LM or one-label `classifier`) and its tokenizer in `directory`.

    The tokenizer is trained on `corpus` (the learning test and `bench/rlmr_learning.py` pass one in which the
    words they reward are whole tokens)."""
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
        vocab_size=400, special_tokens=specials, initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer_model.train_from_iterator(list(corpus), trainer=trainer)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer_model,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        model_max_length=max_position_embeddings,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(directory)
    # num_labels goes to PreTrainedConfig through **kwargs, which Qwen2Config's typed signature leaves out
    config = transformers.Qwen2Config(  # type: ignore[call-arg]
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=max_position_embeddings,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=head == "causal",
        num_labels=1,
    )
    model: transformers.PreTrainedModel
    if head == "causal":
        model = transformers.Qwen2ForCausalLM(config)
    else:
        model = transformers.Qwen2ForSequenceClassification(config)
        score = model.score
        assert isinstance(score, torch.nn.Linear)
        with torch.no_grad():  # a visible spread of scores: the random head is tiny at initialisation
            score.weight.normal_(0.0, 1.0)
    model.save_pretrained(directory)
    return directory
