"""`ReflectiveChatModel`: any chat model, wrapped in the MRPO reflection loop, as a drop-in LangChain chat model.

It drafts an answer to the conversation with the base model, runs the reflection loop on it (judge, reflect,
revise, keep the best), and answers with the best draft; the scores go into `response_metadata`.

The inner calls (draft, judge, reflector, writer) run detached from the caller's callbacks and tagged
`nostream`, so a LangGraph graph streamed with `stream_mode="messages"` shows only the final answer's
tokens, and a tracer sees one chat-model call. Tool calling is not reflected on: `bind_tools` returns the
base model bound to the tools.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
    >>> from writer_r1.core.fake import FakeChatModel
    >>> criteria = CriteriaSet(dimensions=[Dimension(name="Craft", criteria=[Criterion(
    ...     id="imagery", name="Imagery", description="Concrete images",
    ...     levels=[Level(anchor="abstract"), Level(anchor="vivid")])])])
    >>> model = ReflectiveChatModel(base=FakeChatModel(), criteria=criteria, max_iterations=1)
    >>> reply = model.invoke([HumanMessage("Write a haiku about frost")])
    >>> sorted(reply.response_metadata)
    ['constraints_passed', 'criteria_version', 'dimensions', 'iterations', 'overall', 'stop_reason']
"""

from __future__ import annotations

import asyncio
import contextvars
import re
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langgraph.constants import TAG_NOSTREAM
from pydantic import ConfigDict, Field
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet

T = TypeVar("T")

INNER_CONFIG: dict[str, Any] = {"tags": [TAG_NOSTREAM], "callbacks": []}
"""The config of every inner call: no callbacks of the caller, and LangGraph's no-stream tag."""

_CHUNK = re.compile(r"\S+\s*|\s+")


def conversation_task(messages: Sequence[BaseMessage]) -> str:
    """The writing task a conversation poses: one user message is the task itself; a longer conversation is
    given as a transcript with the reply asked for.

    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> conversation_task([HumanMessage("Write a haiku")])
    'Write a haiku'
    >>> print(conversation_task([SystemMessage("Be brief."), HumanMessage("Write a haiku")]))
    System: Be brief.
    User: Write a haiku
    <BLANKLINE>
    Write the assistant's next reply.
    """
    turns = [m for m in messages if m.type in {"system", "human", "ai"}]
    if len(turns) == 1 and turns[0].type == "human":
        return turns[0].text
    names = {"system": "System", "human": "User", "ai": "Assistant"}
    transcript = "\n".join(f"{names[m.type]}: {m.text}" for m in turns)
    return f"{transcript}\n\nWrite the assistant's next reply."


async def detached(awaitable: Awaitable[T]) -> T:
    """Await `awaitable` in an empty context: no parent run config, callbacks or graph stream leak into it."""

    async def runner() -> T:
        return await awaitable

    task = contextvars.Context().run(asyncio.ensure_future, runner())
    return await task


class ReflectiveChatModel(BaseChatModel):
    """A chat model that answers with the best draft of the reflection loop.

    Args:
        base: the chat model that drafts and revises (and judges and reflects unless told otherwise).
        judge: a `Judge`, a chat model to judge with, or None for the base model.
        reflector: a chat model for reflections; None for the base model.
        criteria: the criteria to judge by; None looks them up in the library or builds them (slow).
        constraints: checkable constraints; None extracts them from the conversation by rules.
        memory: an `ExperienceMemory`, a path to one, or None.
        max_iterations / target_score / patience / min_gain / pairwise_check: the loop's limits.

    Tool calls bypass reflection: `bind_tools` returns the base model bound to the tools.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    base: BaseChatModel
    judge: Any = None
    reflector: BaseChatModel | None = None
    criteria: CriteriaSet | None = None
    constraints: list[ConstraintSpec] | None = None
    memory: Any = None
    max_iterations: int = Field(default=2, ge=0)
    target_score: float = Field(default=0.85, ge=0.0, le=1.0)
    patience: int = Field(default=2, ge=1)
    min_gain: float = Field(default=0.01, ge=0.0, le=1.0)
    pairwise_check: bool = False

    @property
    def _llm_type(self) -> str:
        return "writer-r1-reflective"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "base": getattr(self.base, "_identifying_params", {}),
            "max_iterations": self.max_iterations,
            "target_score": self.target_score,
        }

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, BaseMessage]:
        """The base model bound to `tools`: tool calls are not reflected on."""
        return self.base.bind_tools(tools, **kwargs)

    def _context(self) -> Any:
        from writer_r1.graphs.reflection import make_context

        judge_object = self.judge if self.judge is not None and not isinstance(self.judge, BaseChatModel) else None
        return make_context(
            model=self.base,
            judge_model=self.judge if isinstance(self.judge, BaseChatModel) else None,
            memory=self.memory,
            judge=judge_object,
            reflector_model=self.reflector,
            max_iterations=self.max_iterations,
            target_score=self.target_score,
            patience=self.patience,
            min_gain=self.min_gain,
            pairwise_check=self.pairwise_check,
            extract_constraints=False,
        )

    async def _reflect(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> AIMessage:
        from writer_r1.graphs.reflection import ReflectionResult, graph, make_input

        async def run() -> ReflectionResult:
            first = await self.base.ainvoke(messages, config=INNER_CONFIG, stop=stop, **kwargs)
            output = await graph.ainvoke(
                make_input(
                    conversation_task(messages), draft=first.text, criteria=self.criteria, constraints=self.constraints
                ),
                config=INNER_CONFIG,
                context=self._context(),
            )
            return ReflectionResult.from_output(output)

        result = await detached(run())
        card = result.best_scorecard
        metadata = {
            "overall": card.overall,
            "dimensions": {d.name: d.score for d in card.dimensions},
            "iterations": result.iterations,
            "stop_reason": result.stop_reason,
            "criteria_version": card.criteria_version,
            "constraints_passed": card.constraints_passed,
        }
        return AIMessage(content=result.best_draft, response_metadata=metadata)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=await self._reflect(messages, stop, **kwargs))])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return run_sync(self._agenerate(messages, stop, **kwargs))

    @staticmethod
    def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
        pieces = _CHUNK.findall(message.text) or [""]
        for position, piece in enumerate(pieces):
            last = position == len(pieces) - 1
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content=piece,
                    response_metadata=message.response_metadata if last else {},
                    chunk_position="last" if last else None,
                )
            )

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        # The loop must finish before the best draft is known, so the answer streams once it is chosen.
        message = await self._reflect(messages, stop, **kwargs)
        for chunk in self._chunks(message):
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = run_sync(self._reflect(messages, stop, **kwargs))
        for chunk in self._chunks(message):
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
