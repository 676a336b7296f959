"""Structured output: balanced-JSON scan, validation, retries with the error fed back, a typed error at the end."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field
from writer_r1.core.errors import StructuredOutputError
from writer_r1.core.json_scan import find_json_object, iter_json_objects
from writer_r1.core.models import load_chat_model
from writer_r1.core.structured import ainvoke_structured, invoke_structured
from writer_r1.testing import FaultPlan, ScriptedChatModel


class Verdict(BaseModel):
    reason: str
    level: int = Field(ge=1, le=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"reason": "ok", "level": 3}', {"reason": "ok", "level": 3}),
        ('Sure!\n```json\n{"reason": "ok", "level": 3}\n```', {"reason": "ok", "level": 3}),
        ('Format: {"level": 0}. Mine: {"reason": "r", "level": 4}', {"reason": "r", "level": 4}),
        ('{"reason": "a } brace in a string", "level": 2}', {"reason": "a } brace in a string", "level": 2}),
        ('{"re\u200bason": "zw", "level": 1}', {"reason": "zw", "level": 1}),
        ('{"reason": "cut', None),
        ("no json at all, level 5", None),
        ('[{"reason": "in a list", "level": 2}]', {"reason": "in a list", "level": 2}),
    ],
)
def test_scan_finds_the_first_balanced_object_with_the_keys(text: str, expected: dict | None) -> None:
    assert find_json_object(text, {"reason", "level"}) == expected


def test_scan_yields_nested_objects_once() -> None:
    assert list(iter_json_objects('{"a": {"b": 1}} {"c": 2}')) == [{"a": {"b": 1}}, {"c": 2}]


def test_retry_feeds_the_validation_error_back() -> None:
    model = ScriptedChatModel(replies=['{"reason": "x", "level": 9}', '{"reason": "fixed", "level": 5}'])
    verdict = invoke_structured(model, [HumanMessage("judge this")], Verdict, retries=1)
    assert verdict == Verdict(reason="fixed", level=5)
    retry_prompt = model.calls[1].prompt
    assert "level" in retry_prompt and "less than or equal to 5" in retry_prompt
    # The schema is stated in the prompt for a model that cannot enforce it.
    assert '"maximum": 5' in model.calls[0].prompt


def test_all_attempts_failing_raise_a_typed_error_with_every_reason() -> None:
    model = ScriptedChatModel(replies=["prose", RuntimeError("server down"), '{"reason": "r"}'])
    with pytest.raises(StructuredOutputError) as caught:
        invoke_structured(model, [HumanMessage("judge")], Verdict, retries=2)
    assert caught.value.attempts == 3
    assert len(caught.value.errors) == 3
    assert "server down" in caught.value.errors[1]
    assert caught.value.last_reply == '{"reason": "r"}'


def test_fake_model_answers_any_schema_offline() -> None:
    verdict = invoke_structured(load_chat_model("fake"), [HumanMessage("judge")], Verdict)
    assert 1 <= verdict.level <= 5


def test_openai_spec_gets_structured_output_and_recovers_from_faults(make_loopback) -> None:
    server = make_loopback(faults=FaultPlan(script=["http500", "garbage", "truncated"]))
    model = load_chat_model("openai:loopback-model", base_url=server.base_url, max_retries=0)
    verdict = invoke_structured(model, [HumanMessage("judge")], Verdict, retries=3)
    assert isinstance(verdict, Verdict)
    assert len(server.requests) == 4
    sent = server.requests[-1]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"]["required"] == ["reason", "level"]


def test_async_calls_work_from_a_fresh_event_loop_each_time(loopback) -> None:
    model = load_chat_model("openai:loopback-model", base_url=loopback.base_url)
    for _ in range(3):  # a client cached on a closed loop fails on the second run
        verdict = asyncio.run(ainvoke_structured(model, [HumanMessage("judge")], Verdict))
        assert isinstance(verdict, Verdict)


async def test_sync_helper_works_inside_a_running_loop(loopback) -> None:
    model = load_chat_model("openai:loopback-model", base_url=loopback.base_url)
    assert isinstance(invoke_structured(model, [HumanMessage("judge")], Verdict), Verdict)


async def test_concurrent_structured_calls(loopback) -> None:
    model = load_chat_model("openai:loopback-model", base_url=loopback.base_url)
    results = await asyncio.gather(
        *(ainvoke_structured(model, [HumanMessage(f"judge {i}")], Verdict) for i in range(20))
    )
    assert len(results) == 20


def test_scan_keeps_control_characters_inside_strings() -> None:
    """Small models (grammar-constrained ones included) write raw tabs and control bytes inside strings."""
    from writer_r1.core.json_scan import iter_json_objects

    assert list(iter_json_objects('{"reason": "a\ttab and \x1b escape", "level": 2}')) == [
        {"reason": "a\ttab and \x1b escape", "level": 2}
    ]
