"""Shared plumbing for in-process chat backends (transformers, vLLM): messages to chat dicts, one base class."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def to_chat_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as the `[{"role", "content"}]` list chat templates expect."""
    chat = []
    for message in messages:
        content = message.content if isinstance(message.content, str) else str(message.content)
        chat.append({"role": _ROLES.get(message.type, "user"), "content": content})
    return chat


def json_schema_of(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema of a `response_format` json_schema call keyword, if there is one."""
    response_format = kwargs.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        return response_format["json_schema"]["schema"]
    return None


class InProcessChatModel(BaseChatModel):
    """A chat model whose generation is a blocking `complete(conversations, ...)` over a batch."""

    model_id: str
    max_new_tokens: int = 1024
    temperature: float = 0.7
    top_p: float = 0.95

    def complete(self, conversations: list[list[dict[str, str]]], schema: dict[str, Any] | None) -> list[str]:
        raise NotImplementedError

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model_id, "temperature": self.temperature, "top_p": self.top_p}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        [text] = self.complete([to_chat_dicts(messages)], json_schema_of(kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Generation blocks on the accelerator; keep the event loop free for other requests.
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)
