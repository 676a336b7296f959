"""The loopback OpenAI-compatible server itself: protocol, latency, capacity, faults."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from writer_r1.testing import FaultPlan

SCHEMA = {
    "type": "object",
    "properties": {"level": {"type": "integer", "minimum": 1, "maximum": 3}},
    "required": ["level"],
}


def _chat(server, **extra) -> httpx.Response:
    body = {"model": server.model, "messages": [{"role": "user", "content": "hi"}], **extra}
    return httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=10)


def test_models_and_completions(loopback) -> None:
    assert httpx.get(f"{loopback.base_url}/models").json()["data"][0]["id"] == "loopback-model"
    reply = _chat(loopback).json()
    assert reply["choices"][0]["message"]["content"]


def test_response_format_gets_a_valid_instance(loopback) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "v", "schema": SCHEMA}}
    content = _chat(loopback, response_format=fmt).json()["choices"][0]["message"]["content"]
    assert 1 <= json.loads(content)["level"] <= 3


def test_streaming_reassembles_to_the_same_text(loopback) -> None:
    plain = _chat(loopback).json()["choices"][0]["message"]["content"]
    events = [line[6:] for line in _chat(loopback, stream=True).text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    streamed = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert streamed == plain


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("http500", lambda r: r.status_code == 500),
        ("garbage", lambda r: "garbage" in r.json()["choices"][0]["message"]["content"]),
        ("truncated", lambda r: r.status_code == 200),
    ],
)
def test_injected_faults(make_loopback, fault: str, check) -> None:
    server = make_loopback(faults=FaultPlan(script=[fault]))
    assert check(_chat(server))
    assert _chat(server).status_code == 200


def test_hang_is_bounded(make_loopback) -> None:
    server = make_loopback(faults=FaultPlan(script=["hang"]), hang_s=0.3)
    started = time.perf_counter()
    assert _chat(server).status_code == 200
    assert time.perf_counter() - started < 5


def test_capacity_queues_requests_beyond_the_cap(make_loopback) -> None:
    server = make_loopback(latency_s=0.2, capacity=2)
    threads = [threading.Thread(target=_chat, args=(server,)) for _ in range(6)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert server.max_in_flight == 2
    assert elapsed >= 0.55  # three waves of 0.2 s


def test_fault_rates_are_seeded() -> None:
    draws = [FaultPlan(rates={"http500": 0.2, "garbage": 0.1}, seed=1).next() for _ in range(3)]
    plan_a = FaultPlan(rates={"http500": 0.2, "garbage": 0.1}, seed=3)
    plan_b = FaultPlan(rates={"http500": 0.2, "garbage": 0.1}, seed=3)
    assert [plan_a.next() for _ in range(50)] == [plan_b.next() for _ in range(50)]
    assert len(draws) == 3


def test_bad_request_bodies_get_400(loopback) -> None:
    response = httpx.post(f"{loopback.base_url}/chat/completions", content=b"{not json", timeout=5)
    assert response.status_code == 400
