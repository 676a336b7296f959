"""PairwiseReward: win shares against a reference member of the group, both orders, linear cost, failures → None."""

from __future__ import annotations

import json
import pickle
import re

import pytest
from writer_r1.core.errors import UserError
from writer_r1.rl.pairwise import Bout, PairwiseReward, win_shares
from writer_r1.testing import FaultPlan

SHOWN = re.compile(r"Text ([AB]) is between the two (\S+) lines:\n\2\n(.*?)\n\2", re.S)


def prefer_longer(request: dict) -> str:
    """A judge that prefers the longer text (ties on equal length), whatever the order it is shown in."""
    prompt = request["messages"][-1]["content"] if len(request["messages"]) == 1 else request["messages"][0]["content"]
    texts = {label: text for label, _, text in SHOWN.findall(prompt)}
    a, b = len(texts.get("A", "")), len(texts.get("B", ""))
    return json.dumps({"reason": f"lengths {a} and {b}", "winner": "A" if a > b else "B" if b > a else "tie"})


def always_first(request: dict) -> str:
    return json.dumps({"reason": "the first one", "winner": "A"})


GROUP = ["short", "a much longer completion", "mid length", "the longest completion of them all by far"]


def _judge(make_loopback, responder, **kwargs):
    server = make_loopback(responder=responder, **kwargs)
    from writer_r1.core.models import load_chat_model

    return server, load_chat_model("openai:loopback-model", base_url=server.base_url, max_retries=0)


@pytest.mark.parametrize("reference", ["random", "best"])
async def test_win_shares_follow_the_judge_and_cost_is_linear(make_loopback, reference) -> None:
    server, judge = _judge(make_loopback, prefer_longer)
    reward = PairwiseReward(judge_model=judge, reference=reference, cache=None, num_generations=4)
    metrics: dict[str, float] = {}
    rewards = await reward(
        prompts=["Write something."] * 8,
        completions=GROUP + GROUP,
        log_metric=lambda name, value: metrics.__setitem__(name, value),
    )
    assert all(0.0 <= r <= 1.0 for r in rewards)
    assert rewards[3] == max(rewards[:4]) and rewards[0] == min(rewards[:4])  # the longest wins, the shortest loses
    assert len(server.requests) == 2 * 2 * 3  # two groups × (G − 1) comparisons × both orders
    assert metrics["pairwise/comparisons_per_completion"] == pytest.approx(3 / 4)
    assert metrics["pairwise/consistent_fraction"] == 1.0


async def test_position_bias_cancels_to_ties(make_loopback) -> None:
    _, judge = _judge(make_loopback, always_first)
    reward = PairwiseReward(judge_model=judge, cache=None)
    rewards = await reward(prompts=["p"] * 4, completions=GROUP)
    assert rewards == [0.5] * 4


async def test_judge_failures_are_none_never_a_loss(make_loopback) -> None:
    server, judge = _judge(make_loopback, prefer_longer, faults=FaultPlan(rates={"garbage": 1.0}))
    reward = PairwiseReward(judge_model=judge, cache=None, retries=0)
    metrics: dict[str, float] = {}
    rewards = await reward(
        prompts=["p"] * 4, completions=GROUP, log_metric=lambda name, value: metrics.__setitem__(name, value)
    )
    assert rewards == [None] * 4
    assert metrics["pairwise/failed_comparisons"] == 1.0 and metrics["pairwise/unscored_fraction"] == 1.0


def test_a_failed_comparison_leaves_only_its_members_unscored() -> None:
    shares = win_shares(4, [Bout(1, 0, 1.0, True, []), Bout(2, 0, None, False, []), Bout(3, 0, 0.5, False, [])])
    assert shares == [0.25, 1.0, None, 0.5]


async def test_identical_texts_tie_without_a_judge_call(make_loopback) -> None:
    server, judge = _judge(make_loopback, prefer_longer)
    rewards = await PairwiseReward(judge_model=judge, cache=None)(prompts=["p"] * 3, completions=["same"] * 3)
    assert rewards == [0.5] * 3 and server.requests == []


async def test_the_random_reference_is_reproducible_and_seeded(make_loopback) -> None:
    _, judge = _judge(make_loopback, prefer_longer)
    texts = [f"text number {i} " + "x" * i for i in range(8)]
    picks = {PairwiseReward(judge_model=judge, seed=seed)._reference_of(texts) for seed in range(20)}
    assert len(picks) > 1  # the seed moves it
    assert PairwiseReward(judge_model=judge, seed=3)._reference_of(texts) == PairwiseReward(
        judge_model=judge, seed=3
    )._reference_of(texts)


async def test_best_reference_faces_challengers_with_the_champion(make_loopback) -> None:
    server, judge = _judge(make_loopback, prefer_longer)
    reward = PairwiseReward(judge_model=judge, reference="best", cache=None)
    groups, bouts = await reward.bouts(["p"] * 4, GROUP, {})
    assert [(b.challenger, b.reference) for b in bouts[0]] == [(1, 0), (2, 1), (3, 1)]


def test_bad_reference_is_refused_and_the_reward_pickles() -> None:
    with pytest.raises(UserError):
        PairwiseReward(judge_model="fake", reference="round-robin")
    reward = PairwiseReward(judge_model="fake", reference="best")
    before = reward.score(["p"] * 3, ["one", "two two", "three three three"])
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == "pairwise" and clone.score(["p"] * 3, ["one", "two two", "three three three"]) == before
