"""Shared plumbing for in-process chat backends (transformers, vLLM): messages to chat dicts, one base class.

A backend implements `complete` (blocking, over a batch). Async calls go through `acomplete`: by default one
worker thread per call (transformers generates one sequence at a time anyway); a batching backend (vLLM)
overrides it to enqueue the request and await its future on the event loop, so hundreds of concurrent calls
cost no thread each and reach the engine together. Stop sequences end a reply before the first one found
(like the OpenAI API); content-block messages contribute their text blocks.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> to_chat_dicts([HumanMessage([{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}])])
    [{'role': 'user', 'content': 'Hello there'}]
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def to_chat_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as the `[{"role", "content"}]` list chat templates expect (text blocks joined)."""
    return [{"role": _ROLES.get(message.type, "user"), "content": message.text} for message in messages]


def json_schema_of(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema of a `response_format` json_schema call keyword, if there is one."""
    response_format = kwargs.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        return response_format["json_schema"]["schema"]
    return None


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """`text` up to (not including) the earliest stop sequence in it.

    >>> cut_at_stop("one. two. three.", ["three", "two"])
    'one. '
    """
    cut = min((i for s in stop or () if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


@dataclass(frozen=True)
class Request:
    """One conversation to complete, with what the caller asked of its decoding."""

    conversation: list[dict[str, str]]
    schema: dict[str, Any] | None = None
    stop: tuple[str, ...] = ()


class InProcessChatModel(BaseChatModel):
    """A chat model whose generation is a blocking `complete(requests)` over a batch."""

    model_id: str
    max_new_tokens: int = 1024
    temperature: float = 0.7
    top_p: float = 0.95

    def complete(self, requests: list[Request]) -> list[str]:
        """The reply to each request (stop sequences may be left in: the caller cuts at them)."""
        raise NotImplementedError

    async def acomplete(self, requests: list[Request]) -> list[str]:
        """`complete` off the event loop; batching backends override this to await their engine's futures."""
        return await asyncio.to_thread(self.complete, requests)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model_id, "temperature": self.temperature, "top_p": self.top_p}

    @staticmethod
    def _request(messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> Request:
        return Request(to_chat_dicts(messages), json_schema_of(kwargs), tuple(s for s in stop or () if s))

    @staticmethod
    def _result(text: str, request: Request) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=cut_at_stop(text, request.stop)))])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        [text] = self.complete([request])
        return self._result(text, request)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        [text] = await self.acomplete([request])
        return self._result(text, request)
