"""Systems under evaluation: what produces a response for a prompt.

A system is a responses file (JSONL rows with `prompt` and `response`) or a model spec (`openai:M`,
`hf:...`, `vllm:...`, `fake`, ...) with its own base URL, optionally wrapped in the MRPO reflection loop.
A model call is retried with one policy (tenacity, exponential back-off); a call that still fails raises
`GenerationFailed`, which the harness records as a failure, never as an empty response.

Example:
    >>> import asyncio
    >>> from writer_r1.eval.io import PromptItem
    >>> system = ModelSystem("fake")
    >>> text = asyncio.run(system.agenerate(PromptItem(id="1", prompt="Write a haiku about frost.")))
    >>> isinstance(text, str) and len(text) > 0
    True
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from writer_r1.core.criteria import CriteriaSet
from writer_r1.eval.criteria import criteria_of
from writer_r1.eval.io import EvalInputError, PromptItem, read_responses

logger = logging.getLogger(__name__)


class GenerationFailed(Exception):
    """A system produced no response for a prompt (after its retries)."""


class System(Protocol):
    name: str
    is_model: bool

    async def agenerate(self, item: PromptItem) -> str: ...


class ResponsesSystem:
    """Responses read from a file: `prompt` → `response`."""

    is_model = False

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.name = self.path.name
        self.responses = read_responses(self.path)

    def check_covers(self, items: list[PromptItem], prompts_path: Path) -> None:
        from writer_r1.eval.io import check_covers

        check_covers(self.responses, items, self.path, prompts_path)

    async def agenerate(self, item: PromptItem) -> str:
        try:
            return self.responses[item.prompt]
        except KeyError:
            raise GenerationFailed(f"{self.path} holds no response for prompt {item.id!r}") from None


class ModelSystem:
    """A chat model answering each prompt as one user message, optionally through the reflection loop.

    Args:
        model: a spec string or a chat model.
        base_url: the OpenAI-compatible server of an `openai:` spec.
        reflect: wrap the model in `ReflectiveChatModel` (criteria from the row, else `criteria`).
        attempts: calls per prompt before it is recorded as failed.
        model_kwargs: extra constructor arguments for a spec (temperature, max_tokens ...).
    """

    is_model = True

    def __init__(
        self,
        model: str | BaseChatModel,
        *,
        base_url: str | None = None,
        reflect: bool = False,
        criteria: CriteriaSet | None = None,
        attempts: int = 3,
        max_wait_s: float = 8.0,
        reflect_iterations: int = 2,
        model_kwargs: dict[str, Any] | None = None,
    ):
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        self.spec = model if isinstance(model, str) else None
        self.base_url = base_url
        self.reflect = reflect
        self.criteria = criteria
        self.attempts = attempts
        self.max_wait_s = max_wait_s
        self.reflect_iterations = reflect_iterations
        self.model_kwargs = dict(model_kwargs or {})
        self._model = model if isinstance(model, BaseChatModel) else None
        base = self.spec or type(model).__name__
        self.name = f"{base} + reflection" if reflect else base

    @property
    def model(self) -> BaseChatModel:
        if self._model is None:
            from writer_r1.core.models import load_chat_model

            assert self.spec is not None
            kwargs = dict(self.model_kwargs)
            if self.spec.startswith("openai"):
                kwargs.setdefault("max_retries", 0)  # one retry policy: ours
            self._model = load_chat_model(self.spec, base_url=self.base_url, **kwargs)
        return self._model

    def check(self) -> None:
        """Resolve the spec now, so a bad spec is one clear error before anything is written."""
        _ = self.model

    def _runner(self, item: PromptItem) -> BaseChatModel:
        if not self.reflect:
            return self.model
        from writer_r1.graphs.reflective_model import ReflectiveChatModel

        return ReflectiveChatModel(
            base=self.model, criteria=criteria_of(item, self.criteria), max_iterations=self.reflect_iterations
        )

    async def agenerate(self, item: PromptItem) -> str:
        runner = self._runner(item)
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential(multiplier=0.25, max=self.max_wait_s),
                retry=retry_if_exception_type(Exception),
                reraise=True,
            ):
                with attempt:
                    message = await runner.ainvoke([HumanMessage(content=item.prompt)])
                    return message.text
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - recorded as a failed generation
            logger.warning("generation failed for %s after %d attempts: %s", item.id, self.attempts, error)
            raise GenerationFailed(f"{type(error).__name__}: {error}"[:500]) from error
        raise GenerationFailed("no attempt was made")  # pragma: no cover


def resolve_system(
    value: str,
    *,
    base_url: str | None = None,
    reflect: bool = False,
    criteria: CriteriaSet | None = None,
    option: str = "--system",
) -> ResponsesSystem | ModelSystem:
    """A responses file when `value` names an existing file (or ends in .jsonl), else a model spec."""
    path = Path(value)
    if path.is_file() or value.endswith(".jsonl"):
        if reflect:
            raise EvalInputError(f"{option}: {value} is a responses file; reflection needs a model spec")
        return ResponsesSystem(path)
    system = ModelSystem(value, base_url=base_url, reflect=reflect, criteria=criteria)
    system.check()
    return system
