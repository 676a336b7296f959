"""In-process transformers chat model (spec `hf:MODEL_OR_PATH`, extra `[hf]`).

The model loads on first use, not at construction, so building a graph never downloads weights.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pydantic import PrivateAttr
from writer_r1.core.chat_backend import InProcessChatModel

logger = logging.getLogger(__name__)


def _default_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class HuggingFaceChatModel(InProcessChatModel):
    """Chat with a local or Hub transformers model.

    It cannot enforce a JSON Schema, so structured calls state the schema in the prompt and scan
    the reply (see `writer_r1.core.structured`).

    Example:
        >>> model = HuggingFaceChatModel(model_id="Qwen/Qwen3-0.6B")  # nothing is loaded yet
        >>> model.model_id
        'Qwen/Qwen3-0.6B'
    """

    supports_response_format: bool = False
    device: str | None = None  # None: the first GPU when torch sees one, else the CPU
    torch_dtype: str = "auto"
    enable_thinking: bool = False
    _loaded: tuple[Any, Any] | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "writer-r1-hf"

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                try:
                    from transformers import AutoModelForCausalLM, AutoTokenizer
                except ImportError as error:
                    raise ImportError("spec 'hf:' needs transformers: pip install 'writer-r1[hf]'") from error
                logger.info("loading %s with transformers", self.model_id)
                tokenizer = AutoTokenizer.from_pretrained(self.model_id)
                model = AutoModelForCausalLM.from_pretrained(self.model_id, dtype=self.torch_dtype)
                model = model.to(self.device or _default_device())
                model.eval()
                self._loaded = (tokenizer, model)
            return self._loaded

    def complete(self, conversations: list[list[dict[str, str]]], schema: dict[str, Any] | None) -> list[str]:
        import torch

        tokenizer, model = self._load()
        replies = []
        for conversation in conversations:
            prompt = tokenizer.apply_chat_template(
                conversation, tokenize=False, add_generation_prompt=True, enable_thinking=self.enable_thinking
            )
            inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
            sampling = {"do_sample": self.temperature > 0}
            if self.temperature > 0:
                sampling.update(temperature=self.temperature, top_p=self.top_p)
            with self._lock, torch.no_grad():
                output = model.generate(**inputs, max_new_tokens=self.max_new_tokens, **sampling)
            new_tokens = output[0, inputs["input_ids"].shape[1] :]
            replies.append(tokenizer.decode(new_tokens, skip_special_tokens=True))
        return replies
