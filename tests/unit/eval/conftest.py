"""Fixtures for the evaluation harness: the IFEval GPT-4 responses, loopback servers, scripted judges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def gpt4_responses() -> dict[str, str]:
    """IFEval's published GPT-4 response for each of its 541 prompts."""
    path = DATA / "ifeval" / "input_response_data_gpt4_20231107_145030.jsonl"
    with path.open(encoding="utf-8") as handle:
        return {row["prompt"]: row["response"] for row in map(json.loads, handle)}


def last_user_message(request: dict) -> str:
    return next(m["content"] for m in reversed(request["messages"]) if m.get("role") == "user")


@pytest.fixture(scope="session")
def gpt4_responder(gpt4_responses):
    """A loopback responder answering each IFEval prompt with GPT-4's published response."""
    return lambda request: gpt4_responses[last_user_message(request)]
