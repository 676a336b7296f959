"""`ReflectiveChatModel`: any chat model, wrapped in the MRPO reflection loop, as a drop-in LangChain chat model.

It drafts an answer to the conversation with the base model, runs the reflection loop on it (judge, reflect,
revise, keep the best), and answers with the best draft; the scores go into `response_metadata` and the
summed token usage of every inner call into `usage_metadata`.

Inner calls (draft, judge, reflector, writer) are child runs of the wrapper's own run: a tracer (LangSmith,
Langfuse) sees them nested under it. They are tagged `nostream`, so a LangGraph graph streamed with
`stream_mode="messages"` shows only the final answer's tokens, and they never see the caller's graph state
(checkpointer, stream writers). Tool calling is not reflected on: `bind_tools` returns the base model bound
to the tools; `with_structured_output` raises (structure the answer with the base model afterwards).

Bounds for an app: `timeout` (seconds) and `token_budget` (tokens summed over every inner call that reports
usage) end the loop and return the best draft so far (`stop_reason` "deadline" / "token_budget"; the first
draft, unscored, if nothing was judged yet); `build_criteria=False` never builds criteria inside a request
(given criteria, else the library's stored set for the task, else the first draft is returned unreflected
with `stop_reason` "no_criteria"). A `ChatOpenAI` base (and judge) is used through a copy whose HTTP
connections are kept per event loop, so repeated `invoke`, `stream` and `asyncio.run(ainvoke(...))` work.

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
    ['constraints_passed', 'criteria_version', 'dimensions', 'iterations', 'model_name', 'overall', 'stop_reason']
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    BaseCallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.runnables import Runnable
from langgraph.constants import TAG_NOSTREAM
from pydantic import ConfigDict, Field, PrivateAttr
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet
from writer_r1.core.errors import UserError

logger = logging.getLogger(__name__)

T = TypeVar("T")

INNER_TAGS: list[str] = [TAG_NOSTREAM]
"""Tags of every inner call: LangGraph's no-stream tag keeps them out of `stream_mode="messages"`."""

_CHUNK = re.compile(r"\S+\s*|\s+")
_NAMES = {"system": "System", "human": "User", "ai": "Assistant"}


def conversation_task(messages: Sequence[BaseMessage]) -> str:
    """The writing task a conversation poses: one user message is the task itself; a longer conversation is
    given as a transcript with the reply asked for. A message's `name` is kept; tool traffic is left out.

    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> conversation_task([HumanMessage("Write a haiku")])
    'Write a haiku'
    >>> print(conversation_task([SystemMessage("Be brief."), HumanMessage("Write a haiku", name="ana")]))
    System: Be brief.
    User (ana): Write a haiku
    <BLANKLINE>
    Write the assistant's next reply.
    """
    turns = [m for m in messages if m.type in _NAMES and m.text.strip()]
    if len(turns) == 1 and turns[0].type == "human":
        return turns[0].text
    lines = []
    for message in turns:
        speaker = _NAMES[message.type] + (f" ({message.name})" if message.name else "")
        lines.append(f"{speaker}: {message.text}")
    return "\n".join(lines) + "\n\nWrite the assistant's next reply." if lines else ""


def truncate_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """`text` up to (not including) the earliest stop sequence it contains.

    >>> truncate_at_stop("one. two. three.", ["two", "three"])
    'one. '
    """
    cut = min((i for s in stop or () if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


async def detached(awaitable: Awaitable[T]) -> T:
    """Await `awaitable` in an empty context: no parent run config or graph stream leaks into it (callbacks
    are passed explicitly)."""

    async def runner() -> T:
        return await awaitable

    task = contextvars.Context().run(asyncio.ensure_future, runner())
    return await task


def loop_safe(model: Any) -> Any:
    """`model`, or for a `ChatOpenAI` on its default shared HTTP client a copy whose async connections are
    kept per event loop (the shared client's pool is bound to the first loop that used it). A model from an
    `openai:` spec is judged through LangChain here (`direct_judge=False`), so callbacks see every call."""
    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a base dependency
        return model
    from writer_r1.core.openai_compat import OpenAICompatChat

    if isinstance(model, OpenAICompatChat) and model.direct_judge:
        # Inside the wrapper every call goes through LangChain, so tracers and the token budget see the judge.
        model = model.model_copy(update={"direct_judge": False})
    if not isinstance(model, BaseChatOpenAI) or model.http_async_client is not None or model.openai_proxy:
        return model
    from writer_r1.core.openai_compat import loop_safe_async_client

    timeout = model.request_timeout if isinstance(model.request_timeout, int | float) else None
    copy = model.model_copy()
    copy.http_async_client = loop_safe_async_client(timeout)
    copy.async_client = None
    copy.root_async_client = None
    copy.validate_environment()  # type: ignore[operator]  # a pydantic validator, callable at run time
    return copy


def model_label(model: Any) -> str:
    """A model's name for LangSmith and `response_metadata["model_name"]`."""
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    try:
        name = model._get_ls_params().get("ls_model_name")
    except Exception:  # noqa: BLE001 - any model, any _get_ls_params
        name = None
    return str(name or type(model).__name__)


def child_callbacks(run_manager: Any) -> BaseCallbackManager | None:
    """Callbacks for runs nested under an LLM run (LLM run managers have no `get_child`)."""
    if run_manager is None:
        return None
    manager = AsyncCallbackManager(handlers=[], parent_run_id=run_manager.run_id)
    manager.set_handlers(run_manager.inheritable_handlers)
    manager.add_tags(run_manager.inheritable_tags)
    manager.add_metadata(run_manager.inheritable_metadata)
    return manager


class UsageMeter(BaseCallbackHandler):
    """Sums `usage_metadata` over every chat-model run it sees; signals once `budget` tokens are spent."""

    run_inline = True

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget
        self.usage: UsageMetadata | None = None
        self.calls = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.exhausted = asyncio.Event()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def total_tokens(self) -> int:
        return int(self.usage["total_tokens"]) if self.usage else 0

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        with self._lock:
            self.calls += 1
            for generations in response.generations:
                for generation in generations:
                    usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
                    if usage:
                        self.usage = add_usage(self.usage, usage)
            spent = self.budget is not None and self.total_tokens >= self.budget
        if spent and self._loop is not None and not self.exhausted.is_set():
            self._loop.call_soon_threadsafe(self.exhausted.set)


class ReflectiveChatModel(BaseChatModel):
    """A chat model that answers with the best draft of the reflection loop.

    Args:
        base: the chat model that drafts and revises (and judges and reflects unless told otherwise).
        judge: a `Judge`, a chat model to judge with, or None for the base model.
        reflector: a chat model for reflections; None for the base model.
        criteria: the criteria to judge by; None looks them up in the library (and builds them when
            `build_criteria`, slow).
        build_criteria: False never builds (nor adapts) criteria inside a request.
        criteria_library: the library to look criteria up in (a path or URL; None: the default library).
        constraints: checkable constraints; None extracts them from the conversation by rules.
        memory: an `ExperienceMemory`, a path to one, or None.
        max_iterations / target_score / patience / min_gain / pairwise_check: the loop's limits.
        timeout: seconds for a whole reply; then the best draft so far is returned.
        token_budget: tokens (summed over the inner calls) after which the best draft so far is returned.
        stop: stop sequences; the answer ends before the first one it contains.

    Tool calls bypass reflection: `bind_tools` returns the base model bound to the tools.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    base: BaseChatModel
    judge: Any = None
    reflector: BaseChatModel | None = None
    criteria: CriteriaSet | None = None
    build_criteria: bool = True
    criteria_library: str | None = None
    constraints: list[ConstraintSpec] | None = None
    memory: Any = None
    max_iterations: int = Field(default=2, ge=0)
    target_score: float = Field(default=0.85, ge=0.0, le=1.0)
    patience: int = Field(default=2, ge=1)
    min_gain: float = Field(default=0.01, ge=0.0, le=1.0)
    pairwise_check: bool = False
    timeout: float | None = Field(default=None, gt=0)
    token_budget: int | None = Field(default=None, gt=0)
    stop: list[str] | None = None
    _inner: dict[str, Any] | None = PrivateAttr(default=None)
    _inner_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

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

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "writer_r1"
        override = kwargs.get("model")
        params["ls_model_name"] = override if isinstance(override, str) and override else model_label(self.base)
        if stop or self.stop:
            params["ls_stop"] = list(stop or self.stop or [])
        return params

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """The base model bound to `tools`: tool calls are not reflected on."""
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.base.bind_tools(tools, **kwargs)

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Any:
        """Not offered: reflection judges prose. Structure the answer afterwards, e.g.
        `base.with_structured_output(schema).invoke(reflective.invoke(task).text)`."""
        raise NotImplementedError(
            "ReflectiveChatModel reflects on prose and does not produce structured output; "
            "call with_structured_output on the base model with the wrapper's answer instead"
        )

    # --- the loop --------------------------------------------------------------------------------

    def _models(self) -> dict[str, Any]:
        """The base, judge and reflector as used inside (ChatOpenAI copies kept per event loop), built once."""
        with self._inner_lock:
            if self._inner is None:
                copies: dict[int, Any] = {}

                def inner(model: Any) -> Any:
                    if model is None:
                        return None
                    if id(model) not in copies:
                        copies[id(model)] = loop_safe(model)
                    return copies[id(model)]

                self._inner = {"base": inner(self.base), "judge": inner(self.judge), "reflector": inner(self.reflector)}
            return self._inner

    def _context(self) -> Any:
        from writer_r1.graphs.reflection import make_context

        models = self._models()
        judge = models["judge"]
        return make_context(
            model=models["base"],
            judge_model=judge if isinstance(judge, BaseChatModel) else None,
            memory=self.memory,
            judge=judge if judge is not None and not isinstance(judge, BaseChatModel) else None,
            reflector_model=models["reflector"],
            max_iterations=self.max_iterations,
            target_score=self.target_score,
            patience=self.patience,
            min_gain=self.min_gain,
            pairwise_check=self.pairwise_check,
            extract_constraints=False,
            criteria_library=self.criteria_library,
        )

    async def _stored_criteria(self, task: str) -> CriteriaSet | None:
        """The library's stored set for `task` (similar enough), without building or adapting."""
        from writer_r1.memory.library import CriteriaLibrary

        library = await asyncio.to_thread(CriteriaLibrary, self.criteria_library)
        hits = await library.asearch(task, limit=1)
        if hits and hits[0][1] >= 0.8:
            return hits[0][0]
        return None

    async def _reflect(
        self, messages: list[BaseMessage], stop: list[str] | None, callbacks: BaseCallbackManager | None, **kwargs: Any
    ) -> AIMessage:
        stop = stop or self.stop
        task = conversation_task(messages)
        if not task.strip():
            raise UserError("the conversation has no text to answer")
        meter = UsageMeter(self.token_budget)
        manager = callbacks.copy() if callbacks is not None else AsyncCallbackManager([])
        manager.add_handler(meter, inherit=True)
        config: dict[str, Any] = {"callbacks": manager, "tags": list(INNER_TAGS)}
        message = await detached(self._run(messages, task, stop, config, meter, **kwargs))
        message.usage_metadata = meter.usage
        return message

    async def _run(
        self,
        messages: list[BaseMessage],
        task: str,
        stop: list[str] | None,
        config: dict[str, Any],
        meter: UsageMeter,
        **kwargs: Any,
    ) -> AIMessage:
        from writer_r1.graphs.reflection import graph, make_input

        loop = asyncio.get_running_loop()
        meter.bind(loop)
        deadline = loop.time() + self.timeout if self.timeout is not None else None
        try:
            async with asyncio.timeout_at(deadline):
                first = await self._models()["base"].ainvoke(messages, config=config, stop=stop, **kwargs)
        except TimeoutError as error:
            raise TimeoutError(f"the base model wrote no draft within the {self.timeout:g} s timeout") from error
        draft = truncate_at_stop(first.text, stop)
        criteria = self.criteria
        if criteria is None and not self.build_criteria:
            criteria = await self._stored_criteria(task)
            if criteria is None:
                logger.warning("no stored criteria for this task and build_criteria=False: answering unreflected")
                return self._answer(draft, None, "no_criteria", 0)
        if meter.exhausted.is_set():
            return self._answer(draft, None, "token_budget", 0)

        latest: dict[str, Any] = {}

        async def run_graph() -> None:
            inputs = make_input(task, draft=draft, criteria=criteria, constraints=self.constraints)
            async for values in graph.astream(inputs, config=config, context=self._context(), stream_mode="values"):
                latest.update(values)

        runner = asyncio.ensure_future(run_graph())
        budget = asyncio.ensure_future(meter.exhausted.wait())
        try:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            await asyncio.wait({runner, budget}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            budget.cancel()
            if not runner.done():
                runner.cancel()
                await asyncio.gather(runner, return_exceptions=True)
        if runner.done() and not runner.cancelled():
            runner.result()  # a failure of the loop is the caller's to see
            reason = str(latest.get("stop_reason") or "done")
        else:
            reason = "token_budget" if meter.exhausted.is_set() else "deadline"
            logger.info("reflection stopped early (%s); answering with the best draft so far", reason)
        best = latest.get("best_draft")
        history = latest.get("history") or []
        iterations = sum(1 for entry in history if entry.reflection is not None)
        if best is None:
            return self._answer(draft, None, reason, iterations)
        return self._answer(truncate_at_stop(best, stop), latest.get("best_scorecard"), reason, iterations)

    def _answer(self, text: str, card: Any, reason: str, iterations: int) -> AIMessage:
        metadata = {
            "overall": card.overall if card is not None else None,
            "dimensions": {d.name: d.score for d in card.dimensions} if card is not None else {},
            "iterations": iterations,
            "stop_reason": reason,
            "criteria_version": card.criteria_version if card is not None else None,
            "constraints_passed": card.constraints_passed if card is not None else None,
            "model_name": f"reflective:{model_label(self.base)}",
        }
        return AIMessage(content=text, response_metadata=metadata)

    # --- BaseChatModel -------------------------------------------------------------------------

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        callbacks = child_callbacks(run_manager)
        message = await self._reflect(messages, stop, callbacks, **kwargs)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        callbacks = child_callbacks(run_manager)
        message = run_sync(self._reflect(messages, stop, callbacks, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=message)])

    @staticmethod
    def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
        pieces = _CHUNK.findall(message.text) or [""]
        for position, piece in enumerate(pieces):
            last = position == len(pieces) - 1
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content=piece,
                    response_metadata=message.response_metadata if last else {},
                    usage_metadata=message.usage_metadata if last else None,
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
        callbacks = child_callbacks(run_manager)
        message = await self._reflect(messages, stop, callbacks, **kwargs)
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
        callbacks = child_callbacks(run_manager)
        message = run_sync(self._reflect(messages, stop, callbacks, **kwargs))
        for chunk in self._chunks(message):
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


__all__ = [
    "INNER_TAGS",
    "ReflectiveChatModel",
    "UsageMeter",
    "child_callbacks",
    "conversation_task",
    "loop_safe",
    "truncate_at_stop",
]
