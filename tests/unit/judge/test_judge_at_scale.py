"""The judge path at RL scale, against the real loopback server: replies that are nested, huge, ambiguous or
partial; an always-500 server and a hung one (bounded requests, bounded time); temperature 0 on the wire;
the direct transport across event loops; the completeness rule in rewards."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from writer_r1.agents.judge import Judge
from writer_r1.core.json_scan import MAX_REPLY_CHARS
from writer_r1.core.models import load_chat_model
from writer_r1.core.openai_compat import OpenAICompatChat
from writer_r1.rl.rewards import CriteriaReward, MixedReward
from writer_r1.testing import FaultPlan

TEXT = "The harbour woke slowly: ropes creaked, a gull complained, and the first ferry coughed into life."


def _verdict(level: int, reason: str = "Concrete and clear.") -> dict:
    return {"reason": reason, "level": level}


def _good(criteria) -> str:
    return json.dumps({c.id: _verdict(2) for c in criteria.criteria})


def _judge(server, **kwargs) -> Judge:
    return Judge(load_chat_model("openai:loopback-model", base_url=server.base_url), cache=None, **kwargs)


def test_openai_specs_take_the_direct_transport_and_send_temperature_zero(loopback, criteria) -> None:
    model = load_chat_model("openai:loopback-model", base_url=loopback.base_url)
    assert isinstance(model, OpenAICompatChat)
    card = Judge(model, cache=None).score(TEXT, criteria)
    assert card.complete and card.overall is not None
    [request] = loopback.requests
    assert request["temperature"] == 0
    assert request["response_format"]["json_schema"]["strict"] is True
    assert "stream" not in request


def test_a_temperature_set_on_the_model_or_the_judge_is_sent(loopback, criteria) -> None:
    model = load_chat_model("openai:loopback-model", base_url=loopback.base_url, temperature=0.3)
    Judge(model, cache=None).score(TEXT, criteria)
    Judge(model, cache=None, temperature=0.7).score(TEXT + " Again.", criteria)
    assert [r["temperature"] for r in loopback.requests] == [0.3, 0.7]


def test_a_user_supplied_langchain_model_goes_through_langchain_with_temperature_zero(loopback, criteria) -> None:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="loopback-model", base_url=loopback.base_url, api_key="EMPTY", max_retries=0, use_responses_api=False
    )
    judge = Judge(model, cache=None)
    assert judge._direct is None
    card = asyncio.run(judge.ascore(TEXT, criteria))
    assert card.complete
    assert loopback.requests[0]["temperature"] == 0


def test_two_event_loops_in_turn_then_sync_after_async(loopback, criteria) -> None:
    judge = _judge(loopback)
    first = asyncio.run(judge.ascore(TEXT, criteria))
    second = asyncio.run(judge.ascore(TEXT + " Second loop.", criteria))
    third = judge.score(TEXT + " Sync.", criteria)

    async def inside_a_running_loop() -> bool:  # sync call from async code: run_sync's fresh loop in a thread
        return judge.score(TEXT + " Nested.", criteria).complete

    assert first.complete and second.complete and third.complete and asyncio.run(inside_a_running_loop())
    assert len(loopback.requests) == 4


def test_an_always_500_server_gets_retries_plus_one_requests_per_chunk(make_loopback, criteria) -> None:
    server = make_loopback(faults=FaultPlan(rates={"http500": 1.0}))
    card = _judge(server, retries=2, criteria_per_call=1).score(TEXT, criteria)
    assert card.overall is None and card.scores == ()
    assert len(server.requests) == 3 * 3  # three chunks, retries + 1 requests each, none from the client itself
    assert all("HTTP 500" in u.reason for u in card.unscored)


def test_a_bad_request_is_not_retried(make_loopback, criteria) -> None:
    server = make_loopback(faults=FaultPlan(rates={"http400": 1.0}))
    card = _judge(server, retries=2).score(TEXT, criteria)
    assert len(server.requests) == 1 and card.overall is None
    assert all("HTTP 400" in u.reason for u in card.unscored)


def test_a_hung_server_is_bounded_by_the_deadline(make_loopback, criteria) -> None:
    server = make_loopback(faults=FaultPlan(rates={"hang": 1.0}), hang_s=30)
    start = time.monotonic()
    card = _judge(server, retries=5, timeout=1.0).score(TEXT, criteria)
    elapsed = time.monotonic() - start
    assert elapsed < 5, elapsed
    assert card.overall is None and len(card.unscored) == 3
    assert all("deadline of 1 s" in u.reason for u in card.unscored)


def test_a_hung_pairwise_comparison_is_bounded_too(make_loopback, criteria) -> None:
    server = make_loopback(faults=FaultPlan(rates={"hang": 1.0}), hang_s=30)
    start = time.monotonic()
    result = _judge(server, timeout=0.5).compare(TEXT, "A harbour.", criteria)
    assert time.monotonic() - start < 5
    assert result.preferred is None and all("deadline" in v.reason for v in result.verdicts)


NESTED = '{"a": ' * 1000 + "1" + "}" * 1000  # about 6 KB, 1,000 deep


@pytest.mark.parametrize(
    "reply",
    [NESTED, "{" * 1_000_000, "[" * 200_000, '{"imagery": ' * 3000, "x" * (MAX_REPLY_CHARS + 1)],
    ids=["nested-1000", "1MB-of-braces", "brackets", "unclosed-keys", "over-the-cap"],
)
def test_hostile_replies_are_unscored_never_raised(make_loopback, criteria, reply: str) -> None:
    server = make_loopback(responder=lambda request: reply)
    card = _judge(server, retries=0).score(TEXT, criteria)
    assert card.overall is None and card.scores == ()
    quality = CriteriaReward(
        judge_model=load_chat_model("openai:loopback-model", base_url=server.base_url), retries=0, cache=None
    )
    assert quality.score(["Write."], [TEXT], criteria=[criteria.model_dump_json()]) == [None]
    mixed = MixedReward(
        judge_model=load_chat_model("openai:loopback-model", base_url=server.base_url), retries=0, cache=None
    )
    assert mixed.score(["Write."], [TEXT], criteria=[criteria.model_dump_json()], constraints=["[]"]) == [None]


def test_a_megabyte_reply_does_not_stall_other_calls(make_loopback, criteria) -> None:
    huge = "{" * 200_000
    server = make_loopback(
        responder=lambda request: huge if "HOSTILE-MARKER" in json.dumps(request) else _good(criteria)
    )
    judge = _judge(server, retries=0)

    async def both() -> tuple:
        return await asyncio.gather(judge.ascore("HOSTILE-MARKER " + TEXT, criteria), judge.ascore(TEXT, criteria))

    start = time.monotonic()
    hostile, fine = asyncio.run(both())
    assert hostile.overall is None and fine.complete
    assert time.monotonic() - start < 60  # linear: the old scan took minutes on far less


def test_two_different_verdicts_are_ambiguous_not_last_wins(make_loopback, criteria) -> None:
    first = {c.id: _verdict(1, "Flat.") for c in criteria.criteria}
    second = {c.id: _verdict(2, "Vivid.") for c in criteria.criteria}
    server = make_loopback(responder=lambda request: json.dumps(first) + "\nOn reflection:\n" + json.dumps(second))
    card = _judge(server, retries=1).score(TEXT, criteria)
    assert card.overall is None and card.scores == ()
    assert all("ambiguous" in u.reason for u in card.unscored)
    assert len(server.requests) == 2


def test_the_same_verdict_twice_is_not_ambiguous(make_loopback, criteria) -> None:
    server = make_loopback(responder=lambda request: _good(criteria) + "\n" + _good(criteria))
    assert _judge(server).score(TEXT, criteria).complete


def test_a_partial_reply_leaves_no_overall_and_the_reward_none(make_loopback, criteria) -> None:
    partial = json.dumps({"imagery": _verdict(5), "pacing": _verdict(3)})  # clarity never judged
    server = make_loopback(responder=lambda request: partial)
    card = _judge(server, retries=1).score(TEXT, criteria)
    assert [s.criterion_id for s in card.scores] == ["imagery", "pacing"] and card.overall is None
    model = load_chat_model("openai:loopback-model", base_url=server.base_url)
    assert CriteriaReward(judge_model=model, retries=0, cache=None).score(
        ["Write."], [TEXT], criteria=[criteria.model_dump_json()]
    ) == [None]
    relaxed = CriteriaReward(judge_model=model, retries=0, cache=None, min_coverage=0.5).score(
        ["Write."], [TEXT + " x"], criteria=[criteria.model_dump_json()]
    )
    assert relaxed[0] == pytest.approx(1.0)


@pytest.mark.parametrize("text", [TEXT, "A text quoting <<<TEXT>>> on its own line.\n<<<TEXT>>>", ""])
def test_the_prepared_prompt_is_the_template_rendered_in_full(criteria, text: str) -> None:
    from writer_r1.agents.judge import _criteria_texts
    from writer_r1.prompts import make_delimiter, render

    judge = Judge("fake", cache=None)
    task = criteria.task
    delimiter = make_delimiter(text, task, *_criteria_texts(criteria.criteria))
    expected = render(
        "judge",
        task=task,
        criteria=list(criteria.criteria),
        text=f"{delimiter}\n{text}\n{delimiter}",
        delimiter=delimiter,
        problems={},
    )
    assert judge.prompt(text, criteria.criteria, task) == expected
    assert judge.prompt(text, criteria.criteria, task) == expected  # the second time from the prepared template
    assert len(judge._prepared) == 1


def test_the_model_identity_of_an_openai_spec_is_unchanged() -> None:
    from writer_r1.core.models import model_identity

    model = load_chat_model("openai:m", base_url="http://127.0.0.1:9/v1")
    assert model_identity(model).startswith("ChatOpenAI:m@http://127.0.0.1:9/v1")
