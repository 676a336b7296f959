"""In-process transformers chat model (spec `hf:MODEL_OR_PATH`, extra `[hf]`).

The model loads on first use, not at construction, so building a graph never downloads weights.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr
from writer_r1.core.chat_backend import InProcessChatModel, Request
from writer_r1.core.errors import ModelSpecError
from writer_r1.core.lru import LRU

logger = logging.getLogger(__name__)

ALTERNATIVES = (
    "point writer-r1 at a server instead (--model openai:MODEL --base-url URL, or set WRITER_R1_BASE_URL), "
    "or run offline with --model fake"
)

MAX_LOADED_MODELS = 2
"""Loaded weights kept per process (least recently used dropped first): every `hf:` model object of the same
checkpoint, device and dtype shares one copy."""

_LOADED: OrderedDict[tuple[str, str, str], tuple[Any, Any]] = OrderedDict()
_LOAD_LOCK = threading.Lock()


def _missing(*modules: str) -> list[str]:
    missing = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
            found = False
        if not found:
            missing.append(module)
    return missing


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _cached(model_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except Exception:  # noqa: BLE001 - an invalid repo id is simply not cached
        return False


def preflight(model_id: str, *, probe_timeout_s: float = 5.0) -> None:
    """Fail within seconds, saying what to do, when `model_id` cannot be loaded in this process: torch or
    transformers missing, or weights neither local nor cached and the Hub unreachable (or offline mode).

    >>> preflight("/nonexistent/never-cached", probe_timeout_s=0.1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    writer_r1.core.errors.ModelSpecError: ...
    """
    spec = f"hf:{model_id}"
    if missing := _missing("torch", "transformers"):
        raise ModelSpecError(
            f"{spec} runs the model in this process and needs {' and '.join(missing)}, which this install lacks: "
            f'pip install -e ".[hf]" (or pip install "writer-r1[hf]"); or {ALTERNATIVES}'
        )
    if Path(model_id).expanduser().exists() or _cached(model_id):
        return
    if model_id.startswith(("/", "./", "../", "~")):
        raise ModelSpecError(f"{spec}: no such local folder; {ALTERNATIVES}")
    if _offline():
        raise ModelSpecError(
            f"{spec} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set: download it once with network "
            f"access, or {ALTERNATIVES}"
        )
    import httpx

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    url = f"{endpoint}/api/models/{model_id}"
    try:
        response = httpx.head(url, timeout=probe_timeout_s, follow_redirects=True)
    except httpx.HTTPError as error:
        raise ModelSpecError(
            f"{spec} is not in the local cache and the Hugging Face Hub ({endpoint}) cannot be reached "
            f"({type(error).__name__}): {ALTERNATIVES}"
        ) from error
    if response.status_code in (401, 404):
        raise ModelSpecError(f"{spec}: the Hub has no such model (HTTP {response.status_code} at {url})")


def _default_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


_FAILED: dict[tuple[str, str, str], ModelSpecError] = {}


def _load_shared(model_id: str, device: str | None, dtype: str) -> tuple[Any, Any]:
    """(tokenizer, model), loaded once per process for (checkpoint, device, dtype); a failure is remembered,
    so the next call fails at once instead of retrying the download."""
    if _missing("torch", "transformers"):
        preflight(model_id)  # raises with the install hint
    device = device or _default_device()
    key = (model_id, device, dtype)
    with _LOAD_LOCK:
        if key in _LOADED:
            _LOADED.move_to_end(key)
            return _LOADED[key]
        if key in _FAILED:
            raise _FAILED[key]
        from transformers import AutoModelForCausalLM, AutoTokenizer

        logger.info("loading %s with transformers on %s", model_id, device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(model_id)
            model = AutoModelForCausalLM.from_pretrained(model_id, dtype=dtype)
        except OSError as error:
            _FAILED[key] = ModelSpecError(f"cannot load hf:{model_id}: {str(error).splitlines()[0]}; {ALTERNATIVES}")
            raise _FAILED[key] from error
        model = model.to(device)  # type: ignore[arg-type]  # transformers types .to loosely
        model.eval()
        _LOADED[key] = (tokenizer, model)
        while len(_LOADED) > MAX_LOADED_MODELS:
            _LOADED.popitem(last=False)
        return _LOADED[key]


def grammar_available() -> bool:
    """Whether `xgrammar` is installed (extra `[hf]`): then JSON Schemas are enforced while decoding."""
    return not _missing("xgrammar")


class HuggingFaceChatModel(InProcessChatModel):
    """Chat with a local or Hub transformers model.

    With `xgrammar` installed (it comes with the `[hf]` extra) a `response_format` JSON Schema is enforced
    while decoding, as vLLM does: every token that would break the schema is masked, so even a small model
    returns schema-valid JSON. Without it, structured calls state the schema in the prompt and scan the reply
    (see `writer_r1.core.structured`).

    Example:
        >>> model = HuggingFaceChatModel(model_id="Qwen/Qwen3-0.6B")  # nothing is loaded yet
        >>> model.model_id
        'Qwen/Qwen3-0.6B'
    """

    supports_response_format: bool = Field(default_factory=grammar_available)
    device: str | None = None  # None: the first GPU when torch sees one, else the CPU
    torch_dtype: str = "auto"
    enable_thinking: bool = False
    _loaded: tuple[Any, Any] | None = PrivateAttr(default=None)
    _grammars: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "writer-r1-hf"

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                self._loaded = _load_shared(self.model_id, self.device, self.torch_dtype)
            return self._loaded

    def complete(self, requests: list[Request]) -> list[str]:
        import torch

        tokenizer, model = self._load()
        replies = []
        for request in requests:
            prompt = tokenizer.apply_chat_template(
                request.conversation, tokenize=False, add_generation_prompt=True, enable_thinking=self.enable_thinking
            )
            inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
            options: dict[str, Any] = {"do_sample": self.temperature > 0}
            if self.temperature > 0:
                options.update(temperature=self.temperature, top_p=self.top_p)
            if request.stop:  # generation ends at a stop string; the caller cuts the reply before it
                options.update(stop_strings=list(request.stop), tokenizer=tokenizer)
            if request.schema is not None and self.supports_response_format:
                options["logits_processor"] = [self._grammar(tokenizer, model, request.schema)]
            with self._lock, torch.no_grad():
                output = model.generate(**inputs, max_new_tokens=self.max_new_tokens, **options)
            new_tokens = output[0, inputs["input_ids"].shape[1] :]
            replies.append(tokenizer.decode(new_tokens, skip_special_tokens=True))
        return replies

    def _grammar(self, tokenizer: Any, model: Any, schema: dict[str, Any]) -> Any:
        """A fresh xgrammar logits processor for `schema` (compiled grammars are kept, 32 at most)."""
        import json

        import xgrammar
        from xgrammar.contrib.hf import LogitsProcessor

        with self._lock:
            if self._grammars is None:
                info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=model.config.vocab_size)
                self._grammars = (xgrammar.GrammarCompiler(info), LRU(32))
            compiler, compiled = self._grammars
            key = json.dumps(schema, sort_keys=True)
            if key not in compiled:
                compiled[key] = compiler.compile_json_schema(key, any_whitespace=False)
            return LogitsProcessor(compiled[key])
