"""Scripted chat models: exact replies in order, every prompt recorded, for precise scenario tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

Reply = str | Exception | Callable[[list[BaseMessage], dict[str, Any]], "str | Exception"]


@dataclass(frozen=True)
class RecordedCall:
    messages: list[BaseMessage]
    kwargs: dict[str, Any]

    @property
    def prompt(self) -> str:
        """All message contents joined, for assertions on what the model was shown."""
        return "\n".join(m.content if isinstance(m.content, str) else str(m.content) for m in self.messages)


class ScriptedChatModel(BaseChatModel):
    """Returns `replies` in order (a string, an exception to raise, or a function of the messages).

    When the script runs out, `default` answers (a reply or a function); with no default it raises.

    Example:
        >>> model = ScriptedChatModel(replies=["first", "second"])
        >>> [model.invoke("a").content, model.invoke("b").content]
        ['first', 'second']
        >>> model.calls[1].prompt
        'b'
    """

    replies: list[Any] = []
    default: Any = None
    supports_response_format: bool = False
    name_for_cache: str = "scripted"
    _calls: list[RecordedCall] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _position: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "writer-r1-scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.name_for_cache}

    @property
    def calls(self) -> list[RecordedCall]:
        return list(self._calls)

    def _next(self, messages: Sequence[BaseMessage], kwargs: dict[str, Any]) -> str:
        with self._lock:
            self._calls.append(RecordedCall(list(messages), dict(kwargs)))
            if self._position < len(self.replies):
                reply = self.replies[self._position]
                self._position += 1
            elif self.default is not None:
                reply = self.default
            else:
                raise RuntimeError(f"scripted model ran out of replies after {self._position} calls")
        if callable(reply) and not isinstance(reply, Exception):
            reply = reply(list(messages), dict(kwargs))
        if isinstance(reply, Exception):
            raise reply
        return str(reply)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._next(messages, kwargs)))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)
