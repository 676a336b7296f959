"""End to end against the real loopback OpenAI-compatible server: the generated schema goes out as
`response_format`, injected faults are recovered, and fresh event loops work."""

from __future__ import annotations

import json

from writer_r1.agents.judge import Judge
from writer_r1.agents.judge_schema import verdict_schema
from writer_r1.core.models import load_chat_model
from writer_r1.testing import FaultPlan

TEXT = "The harbour woke slowly: ropes creaked, a gull complained, and the first ferry coughed into life."


def _judge(server, **kwargs) -> Judge:
    return Judge(load_chat_model("openai:loopback-model", base_url=server.base_url), **kwargs)


def test_the_request_carries_the_generated_schema(loopback, criteria) -> None:
    card = _judge(loopback, cache=None).score(TEXT, criteria)
    assert card.complete and card.overall is not None
    assert len(loopback.requests) == 1
    fmt = loopback.requests[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == verdict_schema(criteria.criteria)
    assert TEXT in loopback.requests[0]["messages"][0]["content"]


def test_criteria_per_call_sends_one_schema_per_chunk(loopback, criteria) -> None:
    card = _judge(loopback, cache=None, criteria_per_call=1).score(TEXT, criteria)
    assert card.complete
    required = sorted(r["response_format"]["json_schema"]["schema"]["required"][0] for r in loopback.requests)
    assert required == ["clarity", "imagery", "pacing"]


def test_faults_are_recovered(make_loopback, criteria) -> None:
    server = make_loopback(faults=FaultPlan(script=["http500", "garbage", "truncated"]))
    card = _judge(server, cache=None, retries=3).score(TEXT, criteria)
    assert card.complete
    assert len(server.requests) == 4  # one policy, the judge's: every attempt is one request


def test_a_server_that_keeps_failing_gives_an_explicit_unscored_card(make_loopback, criteria) -> None:
    server = make_loopback(faults=FaultPlan(rates={"garbage": 1.0}))
    card = _judge(server, cache=None, retries=1).score(TEXT, criteria)
    assert card.scores == () and card.overall is None
    assert {u.criterion_id for u in card.unscored} == {"imagery", "pacing", "clarity"}
    assert all("no JSON object" in u.reason for u in card.unscored)


def test_a_closed_port_is_unscored_not_raised(criteria) -> None:
    from writer_r1.testing import OpenAICompatServer

    with OpenAICompatServer() as server:
        url = server.base_url
    model = load_chat_model("openai:loopback-model", base_url=url, max_retries=0, timeout=2)
    card = Judge(model, retries=0, cache=None).score(TEXT, criteria)
    assert card.overall is None and len(card.unscored) == 3
    assert all("model call failed" in u.reason for u in card.unscored)


def test_sync_score_twice_on_fresh_event_loops(loopback, criteria) -> None:
    judge = _judge(loopback, cache=None)
    first = judge.score(TEXT, criteria)
    second = judge.score(TEXT, criteria)
    assert first.complete and second.complete
    assert len(loopback.requests) == 2
    # the fake responder is deterministic, so the same request gets the same verdict
    assert first.model_dump_json() == second.model_dump_json()


def test_pairwise_over_http(loopback, criteria) -> None:
    result = _judge(loopback, cache=None).compare(TEXT, "A harbour. Morning.", criteria)
    assert result.preferred in {"a", "b", "tie"}
    assert [r["response_format"]["json_schema"]["name"] for r in loopback.requests] == ["pairwise_verdict"] * 2
    assert {
        json.dumps(r["response_format"]["json_schema"]["schema"]["properties"]["winner"]) for r in loopback.requests
    }
