"""Structured output from any chat model: schema-constrained where the server can, scanned and validated always.

Against an OpenAI-compatible server the JSON Schema goes out as `response_format` (`json_schema`);
vLLM enforces it. For every other model the schema is stated in the prompt. Either way the reply is
scanned for the first balanced JSON object with the expected keys, validated, and — on failure —
retried with the validation error fed back, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ValidationError
from writer_r1.core.errors import StructuredOutputError
from writer_r1.core.json_scan import MAX_REPLY_CHARS, find_json_object
from writer_r1.core.retry import InvalidReply, model_call_retrying

logger = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class JsonContract(Generic[T]):
    """What a structured call must return: a JSON Schema, and a parser that validates a decoded object.

    `parse` raises `ValueError` (pydantic's `ValidationError` is one) with a message the model can act on.
    """

    name: str
    schema: dict[str, Any]
    parse: Callable[[dict[str, Any]], T]
    required_keys: frozenset[str] = field(default_factory=frozenset)
    strict: bool = False

    @staticmethod
    def from_model(model: type[M], *, name: str | None = None) -> JsonContract[M]:
        schema = model.model_json_schema()
        required = frozenset(schema.get("required", []))
        return JsonContract(
            name=name or model.__name__, schema=schema, parse=model.model_validate, required_keys=required
        )


def supports_response_format(model: BaseChatModel) -> bool:
    """Whether the model takes a `response_format` json_schema (and, for servers like vLLM, enforces it)."""
    explicit = getattr(model, "supports_response_format", None)
    if isinstance(explicit, bool):
        return explicit
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a base dependency
        return False
    return isinstance(model, ChatOpenAI)


def response_format_for(contract: JsonContract[Any]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": contract.name, "schema": contract.schema, "strict": contract.strict},
    }


def format_instruction(contract: JsonContract[Any]) -> str:
    return (
        "Reply with exactly one JSON object, and nothing else, that conforms to this JSON Schema:\n"
        f"{json.dumps(contract.schema, ensure_ascii=False)}"
    )


def _as_contract(schema: type[BaseModel] | JsonContract[T]) -> JsonContract[Any]:
    if isinstance(schema, JsonContract):
        return schema
    return JsonContract.from_model(schema)


def _reply_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append(str(part.get("text", "")))
    return "".join(parts)


def parse_reply(text: str, contract: JsonContract[T]) -> T:
    """Scan a reply for the contract's JSON object and validate it. Raises `ValueError` on failure (linear time)."""
    if len(text) > MAX_REPLY_CHARS:
        raise ValueError(f"the reply is too long ({len(text):,} characters, at most {MAX_REPLY_CHARS:,})")
    candidate = find_json_object(text, contract.required_keys)
    if candidate is None:
        raise ValueError(f"the reply holds no JSON object with the required keys {sorted(contract.required_keys)}")
    return contract.parse(candidate)


def _error_message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        lines = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()[:12]]
        return "; ".join(lines)
    return str(error)


def _prepare(
    model: BaseChatModel, messages: Sequence[BaseMessage], contract: JsonContract[Any], add_instruction: bool | None
):
    enforced = supports_response_format(model)
    call_kwargs: dict[str, Any] = {"response_format": response_format_for(contract)} if enforced else {}
    history = list(messages)
    if add_instruction if add_instruction is not None else not enforced:
        history.append(SystemMessage(content=format_instruction(contract)))
    return history, call_kwargs


def _retry_turn(reply: str, error: Exception) -> list[BaseMessage]:
    return [
        AIMessage(content=reply),
        HumanMessage(
            content=(
                f"That reply was not valid: {_error_message(error)}. Reply again with one corrected JSON object only."
            )
        ),
    ]


async def ainvoke_structured(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    schema: type[M] | JsonContract[T],
    *,
    retries: int = 2,
    add_instruction: bool | None = None,
    config: RunnableConfig | None = None,
) -> Any:
    """Call `model` and return a validated instance of `schema`, retrying with the error fed back.

    One retry policy (`core.retry`): transport errors that may pass (a server that is down, an HTTP 500)
    are retried after a backoff, invalid replies at once with the error fed back; after at most
    `retries + 1` attempts a `StructuredOutputError` says what went wrong each time.

    Example:
        >>> import asyncio
        >>> from writer_r1.core.fake import FakeChatModel
        >>> from writer_r1.core.records import Critique
        >>> critique = asyncio.run(ainvoke_structured(FakeChatModel(), [HumanMessage("Review")], Critique))
        >>> isinstance(critique.approved, bool)
        True
    """
    contract = _as_contract(schema)
    history, call_kwargs = _prepare(model, messages, contract, add_instruction)
    errors: list[str] = []
    reply: str | None = None
    attempt_number = 0
    try:
        async for attempt in model_call_retrying(retries):
            with attempt:
                attempt_number += 1
                try:
                    message = await model.ainvoke(history, config=config, **call_kwargs)
                except Exception as error:  # any transport failure is retried (when it may pass), then reported
                    errors.append(f"attempt {attempt_number}: {type(error).__name__}: {error}")
                    logger.warning("structured call %s failed: %s", contract.name, error)
                    raise
                reply = _reply_text(message)
                try:
                    return parse_reply(reply, contract)
                except ValueError as error:
                    errors.append(f"attempt {attempt_number}: {_error_message(error)}")
                    logger.info("structured reply for %s rejected: %s", contract.name, _error_message(error))
                    history = history + _retry_turn(reply, error)
                    raise InvalidReply(_error_message(error)) from error
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - what went wrong each time is in `errors`
        pass
    raise StructuredOutputError(
        f"no valid {contract.name} after {attempt_number} attempts: {errors[-1] if errors else 'no reply'}",
        attempts=attempt_number,
        last_reply=reply,
        errors=errors,
    )


def invoke_structured(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    schema: type[M] | JsonContract[T],
    *,
    retries: int = 2,
    add_instruction: bool | None = None,
    config: RunnableConfig | None = None,
) -> Any:
    """Synchronous `ainvoke_structured`, safe to call from code that already runs an event loop."""
    from writer_r1.core.asyncio_utils import run_sync

    return run_sync(
        ainvoke_structured(model, messages, schema, retries=retries, add_instruction=add_instruction, config=config)
    )
