"""Resolve model spec strings to LangChain chat models. Nothing is constructed at import time.

Specs:
    fake                 offline, deterministic, schema-aware test double (`fake:SALT` varies it)
    openai:MODEL         any OpenAI-compatible server (`vllm serve` ...), chat completions API
    hf:MODEL_OR_PATH     in-process transformers (extra `[hf]`)
    vllm:MODEL           in-process vLLM engine, batched (extra `[vllm]`, GPU machines)
    PROVIDER:MODEL       anything `langchain.chat_models.init_chat_model` knows
"""

from __future__ import annotations

import logging
import os
from typing import Any

from langchain_core.language_models import BaseChatModel
from writer_r1.core.errors import ModelSpecError

logger = logging.getLogger(__name__)

EMBEDDED_DEFAULT_MODEL = "hf:Qwen/Qwen3-0.6B"


def default_model_spec() -> str:
    """`WRITER_R1_MODEL`, else the model served at `WRITER_R1_BASE_URL`, else the embedded default."""
    if spec := os.environ.get("WRITER_R1_MODEL"):
        return spec
    if os.environ.get("WRITER_R1_BASE_URL"):
        return "openai"
    return EMBEDDED_DEFAULT_MODEL


def served_model_name(base_url: str, api_key: str | None = None, timeout: float = 10.0) -> str:
    """The first model an OpenAI-compatible server lists at `/v1/models`."""
    import httpx

    url = base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
        response.raise_for_status()
        models = response.json().get("data", [])
    except (httpx.HTTPError, ValueError) as error:
        raise ModelSpecError(f"cannot list the models served at {url}: {error}") from error
    if not models:
        raise ModelSpecError(f"the server at {base_url} lists no models")
    return str(models[0]["id"])


def load_chat_model(spec: str | None = None, base_url: str | None = None, **kwargs: Any) -> BaseChatModel:
    """Build the chat model a spec string names.

    `openai` with no model name asks the server which model it serves. Extra keyword arguments go
    to the model's constructor (e.g. `temperature`, `max_tokens`, `timeout`).

    Example:
        >>> load_chat_model("fake").invoke("Say hello").content != ""
        True
        >>> load_chat_model("openai:Qwen/Qwen3-8B", base_url="http://127.0.0.1:8000/v1").model_name
        'Qwen/Qwen3-8B'
    """
    spec = (spec or default_model_spec()).strip()
    if not spec:
        raise ModelSpecError("empty model spec")
    provider, _, name = spec.partition(":")
    if provider == "fake":
        from writer_r1.core.fake import FakeChatModel

        return FakeChatModel(salt=name, **kwargs)
    if provider == "openai":
        from writer_r1.core.openai_compat import make_openai_chat

        url = base_url or os.environ.get("WRITER_R1_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
        if not name:
            if not url:
                raise ModelSpecError(
                    "spec 'openai' without a model needs a base URL (--base-url or WRITER_R1_BASE_URL)"
                )
            name = served_model_name(url, kwargs.get("api_key") or os.environ.get("WRITER_R1_API_KEY"))
        return make_openai_chat(name, base_url=url, **kwargs)
    if provider == "hf":
        if not name:
            raise ModelSpecError("spec 'hf:' needs a model id or a local path, e.g. hf:Qwen/Qwen3-0.6B")
        from writer_r1.core.hf_backend import HuggingFaceChatModel, preflight

        preflight(name)  # seconds, not minutes of download retries, when it cannot be had
        return HuggingFaceChatModel(model_id=name, **kwargs)
    if provider == "vllm":
        if not name:
            raise ModelSpecError("spec 'vllm:' needs a model id or a local path")
        from writer_r1.core.vllm_backend import VLLMChatModel

        return VLLMChatModel(model_id=name, **kwargs)
    if not name:
        raise ModelSpecError(
            f"unknown model spec {spec!r}: use fake, openai:MODEL, hf:MODEL, vllm:MODEL or PROVIDER:MODEL"
        )
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as error:
        raise ModelSpecError(f"spec {spec!r} needs the 'langchain' package (pip install langchain)") from error
    try:
        return (
            init_chat_model(name, model_provider=provider, base_url=base_url, **kwargs)
            if base_url
            else (init_chat_model(name, model_provider=provider, **kwargs))
        )
    except (ImportError, ValueError) as error:
        raise ModelSpecError(f"cannot load {spec!r}: {error}") from error


def model_identity(model: BaseChatModel) -> str:
    """A stable string naming a model and its decoding settings, for cache keys."""
    params = getattr(model, "_identifying_params", {}) or {}
    name = params.get("model_name") or params.get("model") or params.get("model_id") or type(model).__name__
    extras = {k: params[k] for k in ("temperature", "seed", "salt", "top_p") if params.get(k) is not None}
    # Thinking on or off changes the verdicts (per-role `with_thinking`): part of the identity when set.
    template_kwargs = (getattr(model, "extra_body", None) or {}).get("chat_template_kwargs") or {}
    thinking = template_kwargs.get("enable_thinking", getattr(model, "enable_thinking", None))
    if thinking is not None:
        extras["enable_thinking"] = bool(thinking)
    base_url = getattr(model, "openai_api_base", None)
    # `OpenAICompatChat` is a `ChatOpenAI` with a faster judge transport: same model, same cache entries.
    kind = "ChatOpenAI" if type(model).__name__ == "OpenAICompatChat" else type(model).__name__
    return f"{kind}:{name}@{base_url or ''}:{sorted(extras.items())}"
