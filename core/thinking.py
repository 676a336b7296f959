"""Per-role thinking for reasoning models (Qwen3-style `enable_thinking` in the chat template).

`with_thinking(model, enabled)` returns a model of the same kind whose every request renders the chat template
with `enable_thinking=enabled`:

- OpenAI-compatible servers (`openai:` specs, `ChatOpenAI`): `chat_template_kwargs` in the request body
  (`extra_body`), which `vllm serve` and SGLang pass to the template; other keys already in `extra_body` stay.
- In-process models with an `enable_thinking` field (`hf:` and `vllm:` specs): a copy with the field set (an
  `hf:` checkpoint's weights are shared by every object of it in a process; a `vllm:` copy shares its
  original's engine, which renders each request's template with its own setting).
- Anything else is returned unchanged, with a warning.

The graphs apply it per role from `ModelContext.thinking`, e.g. `{"inducer": True, "critic": True, "judge": False}`.

Example:
    >>> from writer_r1.core.openai_compat import make_openai_chat
    >>> chat = with_thinking(make_openai_chat("Qwen/Qwen3-8B", base_url="http://127.0.0.1:8000/v1"), False)
    >>> chat.extra_body
    {'chat_template_kwargs': {'enable_thinking': False}}
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.language_models import BaseChatModel

logger = logging.getLogger(__name__)


def with_thinking(model: BaseChatModel, enabled: bool) -> BaseChatModel:
    """`model` with the chat template's `enable_thinking` set to `enabled` on every request (see the module)."""
    fields = type(model).model_fields
    if "extra_body" in fields:
        body: dict[str, Any] = dict(getattr(model, "extra_body", None) or {})
        body["chat_template_kwargs"] = {**(body.get("chat_template_kwargs") or {}), "enable_thinking": enabled}
        return model.model_copy(update={"extra_body": body})
    if "enable_thinking" in fields:
        return model.model_copy(update={"enable_thinking": enabled})
    logger.warning(
        "%s has no chat-template switch for thinking; enable_thinking=%s ignored", type(model).__name__, enabled
    )
    return model
