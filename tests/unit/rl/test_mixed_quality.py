"""MixedReward with a pluggable quality source: any TRL reward function, sync or async, on any scale."""

from __future__ import annotations

import asyncio
import json
import pickle

import pytest
from writer_r1.core.errors import UserError
from writer_r1.rl.rewards import MixedReward, call_reward

NO_COMMA = json.dumps([{"id": "punctuation:no_comma"}])


class Metrics:
    def __init__(self) -> None:
        self.logged: dict[str, list[float]] = {}

    def __call__(self, name: str, value: float) -> None:
        self.logged.setdefault(name, []).append(value)


def logit_quality(prompts, completions, **kwargs):
    """A reward model's raw score: unbounded, here the number of words times 10 minus 25."""
    return [10.0 * len(c.split()) - 25.0 for c in completions]


class AsyncQuality:
    __name__ = "async_quality"

    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def __call__(self, prompts, completions, **kwargs):
        await asyncio.sleep(0)
        self.calls.append(kwargs)
        kwargs["log_metric"]("async_quality/seen", float(len(completions)))
        return [float(len(c)) for c in completions]


async def test_a_sync_quality_function_on_an_unbounded_scale_keeps_the_guarantee() -> None:
    reward = MixedReward(quality=logit_quality)
    completions = ["one, two, three, four, five, six", "one two", "one two three", "one"]
    metrics = Metrics()
    rewards = await reward(prompts=["p"] * 4, completions=completions, constraints=[NO_COMMA] * 4, log_metric=metrics)
    assert rewards[1:] == [-5.0, 5.0, -15.0]  # compliant: the quality itself
    assert rewards[0] < sum(rewards) / 4  # the most fluent draft broke the constraint: below the mean
    assert metrics.logged["rlmr/constraint_pass_rate"] == [0.75]
    assert metrics.logged["rlmr/lambda_mean"][0] > 35.0  # λ in the quality's own units


async def test_below_compliant_mode_ranks_the_violator_last() -> None:
    reward = MixedReward(quality=logit_quality, mode="below_compliant")
    completions = ["one, two, three, four, five, six", "one two", "one two three", "one"]
    rewards = await reward(prompts=["p"] * 4, completions=completions, constraints=[NO_COMMA] * 4)
    assert rewards[0] < min(rewards[1:])


async def test_an_async_callable_class_gets_trls_keywords_and_its_logging() -> None:
    quality = AsyncQuality()
    reward = MixedReward(quality=quality, num_generations=2)
    metrics = Metrics()
    extra: dict[str, list] = {}
    rewards = await reward(
        prompts=["a", "a"],
        completions=["x, y", "x y z"],
        constraints=[NO_COMMA] * 2,
        completion_ids=[[1], [2]],
        trainer_state=object(),
        log_metric=metrics,
        log_extra=lambda column, values: extra.setdefault(column, []).extend(values),
    )
    assert rewards[0] < rewards[1] == 5.0
    assert {"completion_ids", "trainer_state", "constraints", "log_metric", "log_extra"} <= set(quality.calls[0])
    assert metrics.logged["async_quality/seen"] == [2.0]


async def test_a_failed_or_nan_quality_is_unscored_never_a_number() -> None:
    reward = MixedReward(quality=lambda prompts, completions, **kw: [None, float("nan"), 0.5])
    rewards = await reward(prompts=["p"] * 3, completions=["a", "b", "c"], constraints=[NO_COMMA] * 3)
    assert rewards == [None, None, 0.5]


@pytest.mark.parametrize(
    "bad", [lambda p, c, **k: [1.0], lambda p, c, **k: ["high"] * len(c), lambda p, c, **k: [True] * len(c)]
)
async def test_a_quality_function_returning_the_wrong_thing_is_a_clear_error(bad) -> None:
    def wrapped(prompts, completions, **kwargs):
        return bad(prompts, completions, **kwargs)

    with pytest.raises(UserError, match="quality reward"):
        await MixedReward(quality=wrapped)(prompts=["p", "p"], completions=["a", "b"], constraints=[NO_COMMA] * 2)


def test_quality_and_a_judge_model_together_are_refused() -> None:
    with pytest.raises(UserError, match="not both"):
        MixedReward("fake", quality=logit_quality)
    with pytest.raises(UserError, match="callable"):
        MixedReward(quality="openai:some-model")


def test_a_mixed_reward_with_a_custom_quality_pickles_and_keeps_working() -> None:
    reward = MixedReward(quality=AsyncQuality(), mode="below_compliant")
    columns = {"constraints": [NO_COMMA] * 2, "log_metric": Metrics()}
    before = reward.score(["p", "p"], ["a, b", "ab"], **columns)
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.mode == "below_compliant" and clone.__name__ == "rlmr"
    assert clone.score(["p", "p"], ["a, b", "ab"], **columns) == before


async def test_call_reward_runs_a_sync_function_off_the_event_loop() -> None:
    import threading

    seen: list[str] = []

    def sync_reward(prompts, completions, **kwargs):
        seen.append(threading.current_thread().name)
        return [1.0] * len(completions)

    assert await call_reward(sync_reward, ["p"], ["c"], {}) == [1.0]
    assert seen and seen[0] != threading.main_thread().name
