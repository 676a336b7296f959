"""Pairwise comparison in both orders: position bias cancels, failures are explicit, cache maps orders back."""

from __future__ import annotations

import json
import re

import pytest
from writer_r1.agents.judge import Comparison, Judge, combine_orders
from writer_r1.agents.judge_cache import MemoryJudgeCache
from writer_r1.testing import ScriptedChatModel

STRONG, WEAK = "Gulls wheel over the harbour at first light.", "It was a harbour. It was morning."


def _shown_first(messages) -> str:
    return re.search(r"<<<TEXT-A>>>\n(.*?)\n<<<TEXT-A>>>", messages[0].content, re.S).group(1)


def _reply(winner: str, reason: str = "weighed the criteria") -> str:
    return json.dumps({"reason": reason, "winner": winner})


def prefers_strong(messages, kwargs) -> str:
    return _reply("A" if _shown_first(messages) == STRONG else "B")


@pytest.mark.parametrize(
    ("first", "second", "preferred", "consistent"),
    [
        ("a", "a", "a", True),
        ("b", "b", "b", True),
        ("tie", "tie", "tie", True),
        ("a", "b", "tie", False),  # position bias: each order prefers what it showed first
        ("a", "tie", "a", False),
        ("tie", "b", "b", False),
        (None, "a", None, False),
        ("a", None, None, False),
    ],
)
def test_combining_the_two_orders(first, second, preferred, consistent) -> None:
    assert combine_orders(first, second) == (preferred, consistent)


def test_a_consistent_judge_prefers_the_better_text_in_both_orders(criteria) -> None:
    model = ScriptedChatModel(replies=[], default=prefers_strong)
    result = Judge(model, cache=None).compare(STRONG, WEAK, criteria)
    assert isinstance(result, Comparison)
    assert (result.preferred, result.consistent) == ("a", True)
    assert [(v.order, v.winner) for v in result.verdicts] == [("ab", "a"), ("ba", "a")]
    assert {_shown_first(call.messages) for call in model.calls} == {STRONG, WEAK}
    flipped = Judge(model, cache=None).compare(WEAK, STRONG, criteria)
    assert (flipped.preferred, flipped.consistent) == ("b", True)


def test_a_judge_that_always_picks_the_first_shown_is_a_tie(criteria) -> None:
    model = ScriptedChatModel(replies=[], default=_reply("A", "the first one"))
    result = Judge(model, cache=None).compare(STRONG, WEAK, criteria)
    assert (result.preferred, result.consistent) == ("tie", False)
    assert result.reasons == ["the first one", "the first one"]


def test_an_invalid_reply_is_retried_then_reported(criteria) -> None:
    def answer(messages, kwargs) -> str:
        if _shown_first(messages) == WEAK:
            return "Text A, clearly."  # never valid
        return _reply("maybe") if len(messages) == 1 else _reply("A")

    model = ScriptedChatModel(replies=[], default=answer)
    result = Judge(model, retries=1, cache=None).compare(STRONG, WEAK, criteria)
    ab, ba = result.verdicts
    assert ab.winner == "a"  # recovered on its retry
    assert ba.winner is None and "no valid verdict after 2 attempts" in ba.reason
    assert (result.preferred, result.consistent) == (None, False)


def test_a_down_server_gives_no_preference_and_no_exception(criteria) -> None:
    model = ScriptedChatModel(replies=[], default=lambda m, k: TimeoutError("read timed out"))
    result = Judge(model, retries=0, cache=None).compare(STRONG, WEAK, criteria)
    assert result.preferred is None
    assert all("TimeoutError" in v.reason for v in result.verdicts)


def test_cached_orders_serve_the_swapped_comparison(criteria) -> None:
    model = ScriptedChatModel(replies=[], default=prefers_strong, supports_response_format=True)
    judge = Judge(model, cache=MemoryJudgeCache())
    first = judge.compare(STRONG, WEAK, criteria)
    swapped = judge.compare(WEAK, STRONG, criteria)
    assert len(model.calls) == 2
    assert (first.preferred, swapped.preferred) == ("a", "b")
    assert model.calls[0].kwargs["response_format"]["json_schema"]["schema"]["required"] == ["reason", "winner"]
