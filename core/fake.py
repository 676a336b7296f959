"""The `fake` model: offline, deterministic and schema-aware.

Asked for structured output (a `response_format` json_schema), it returns a valid instance of that
schema; otherwise it writes prose derived from the prompt. The same prompt always gets the same reply,
so demos, tests and Studio runs without a model are reproducible.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

_WORD = re.compile(r"[A-Za-z\u4e00-\u9fff][\w'\u4e00-\u9fff-]*")
_SENTENCE = re.compile(r"[^.!?。！？\n]{12,200}[.!?。！？]")
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the this to was were will with "
    "write about your you should must please text story essay".split()
)


FakeReply = Callable[[list[BaseMessage]], Any]
_REPLIES: dict[str, FakeReply] = {}


def register_fake_reply(schema_title: str, reply: FakeReply) -> None:
    """Make the `fake` model answer requests for the schema titled `schema_title` with `reply(messages)`
    (a JSON-serialisable instance), for schemas whose valid values a generator cannot know (registry ids,
    their arguments). The module that owns the schema registers its reply.

    >>> from langchain_core.messages import HumanMessage
    >>> register_fake_reply("Greeting", lambda messages: {"text": "hello"})
    >>> schema = {"title": "Greeting", "type": "object", "properties": {"text": {"type": "string"}}}
    >>> FakeChatModel().invoke([HumanMessage("hi")], response_format={"type": "json_schema",
    ...     "json_schema": {"name": "Greeting", "schema": schema}}).content
    '{"text": "hello"}'
    """
    _REPLIES[schema_title] = reply


def _message_text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else json.dumps(message.content, ensure_ascii=False)


def _seed(messages: list[BaseMessage], salt: str = "") -> int:
    digest = hashlib.sha256(salt.encode())
    for message in messages:
        digest.update(message.type.encode())
        digest.update(_message_text(message).encode())
    return int.from_bytes(digest.digest()[:8], "big")


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str, step: int, *, default: float) -> float:
    if inclusive in schema:
        return schema[inclusive]
    if exclusive in schema:
        return schema[exclusive] + step
    return default


class SchemaInstanceGenerator:
    """Builds a valid instance of a JSON Schema (the subset pydantic and our judge emit)."""

    def __init__(self, schema: dict[str, Any], rng: random.Random, source_text: str):
        self._root = schema
        self._rng = rng
        self._sentences = [s.strip() for s in _SENTENCE.findall(source_text)] or [source_text.strip()[:80] or "text"]
        self._words = [w for w in _WORD.findall(source_text) if w.lower() not in _STOPWORDS] or ["writing"]

    def generate(self) -> Any:
        return self._value(self._root, "root")

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            path = schema["$ref"].lstrip("#/").split("/")
            target: Any = self._root
            for part in path:
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def _value(self, schema: dict[str, Any], name: str) -> Any:
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self._rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if self._resolve(o).get("type") != "null"] or schema[key]
                return self._value(options[0], name)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self._resolve(part))
            return self._value(merged, name)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or (kind is None and "properties" in schema):
            properties = schema.get("properties", {})
            return {key: self._value(sub, key) for key, sub in properties.items()}
        if kind == "array":
            low = schema.get("minItems", 1)
            high = max(low, min(schema.get("maxItems", 3), 3))
            items = schema.get("items", {"type": "string"})
            return [self._value(items, name) for _ in range(self._rng.randint(low, high))]
        if kind == "integer":
            low = _bound(schema, "minimum", "exclusiveMinimum", +1, default=1)
            high = _bound(schema, "maximum", "exclusiveMaximum", -1, default=low + 4)
            return self._rng.randint(int(low), int(max(low, high)))
        if kind == "number":
            low = float(schema.get("minimum", 0.0))
            high = float(schema.get("maximum", low + 1.0))
            return round(self._rng.uniform(low, high), 3)
        if kind == "boolean":
            return self._rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema, name)

    def _string(self, schema: dict[str, Any], name: str) -> str:
        lowered = name.lower()
        if "quote" in lowered:
            return self._rng.choice(self._sentences)
        if lowered in {"id", "criterion_id"} or lowered.endswith("_id"):
            return "-".join(w.lower() for w in self._rng.sample(self._words, k=min(2, len(self._words))))
        if lowered in {"name", "concept", "label", "title"}:
            return " ".join(self._rng.sample(self._words, k=min(2, len(self._words)))).title()
        words = self._rng.choices(self._words, k=8)
        text = f"{name.replace('_', ' ').capitalize()}: " + " ".join(words) + "."
        minimum = schema.get("minLength", 0)
        return text if len(text) >= minimum else text + " " + "x" * (minimum - len(text))


_NOUNS = (
    "morning river letter window street lantern harbor garden kitchen train field voice memory silence rain".split()
)
_VERBS = "drifts waits turns gathers remembers settles opens carries answers lingers".split()
_ADJECTIVES = "quiet bright narrow familiar distant warm patient restless pale".split()
_TEMPLATES = (
    "The {a} {n1} {v} beside the {n2}.",
    "Nobody spoke of the {n1}, yet the {n2} {v} all the same.",
    "By evening the {n1} was {a}, and the {n2} {v}.",
    "She thought of the {n1} and the {a} {n2}.",
    "Somewhere a {n1} {v}, {a} as a {n2}.",
)


def _prose(messages: list[BaseMessage], rng: random.Random) -> str:
    prompt = " ".join(_message_text(m) for m in messages if m.type in {"human", "system"})
    topic = [w.lower() for w in _WORD.findall(prompt) if w.lower() not in _STOPWORDS and len(w) > 3][:40]
    nouns = topic + _NOUNS
    paragraphs = []
    for _ in range(rng.randint(2, 4)):
        sentences = [
            rng.choice(_TEMPLATES).format(
                a=rng.choice(_ADJECTIVES), n1=rng.choice(nouns), n2=rng.choice(nouns), v=rng.choice(_VERBS)
            )
            for _ in range(rng.randint(3, 6))
        ]
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


class FakeChatModel(BaseChatModel):
    """Offline, deterministic, schema-aware chat model (spec `fake`).

    Example:
        >>> from langchain_core.messages import HumanMessage
        >>> model = FakeChatModel()
        >>> model.invoke([HumanMessage("Write a haiku")]).content == model.invoke([HumanMessage("Write a haiku")]).content
        True
    """

    supports_response_format: bool = True
    salt: str = ""

    @property
    def _llm_type(self) -> str:
        return "writer-r1-fake"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": "fake", "salt": self.salt}

    def _reply(self, messages: list[BaseMessage], **kwargs: Any) -> str:
        rng = random.Random(_seed(messages, self.salt + json.dumps(kwargs.get("temperature"))))
        response_format = kwargs.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            schema = response_format["json_schema"]["schema"]
            registered = _REPLIES.get(str(schema.get("title", "")))
            if registered is not None:
                return json.dumps(registered(messages), ensure_ascii=False)
            source = "\n".join(_message_text(m) for m in messages if m.type == "human")
            return json.dumps(SchemaInstanceGenerator(schema, rng, source).generate(), ensure_ascii=False)
        return _prose(messages, rng)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self._reply(messages, **kwargs)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in re.split(r"(?<=\s)", self._reply(messages, **kwargs)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for piece in re.split(r"(?<=\s)", self._reply(messages, **kwargs)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                await run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
