"""`reward: {type: mixed, quality: {...}}` in a training config: each quality source is built with its settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from writer_r1.core.errors import UserError
from writer_r1.rl.classifier import ClassifierReward
from writer_r1.rl.pairwise import PairwiseReward
from writer_r1.rl.rewards import CriteriaReward, MixedReward
from writer_r1.rl.train import (
    TrainConfig,
    build_reward,
    check_judge_is_not_the_policy_server,
    grpo_trainer,
    load_callable,
)


def config_of(tmp_path: Path, reward: dict, **trainer) -> TrainConfig:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"model": "m", "dataset": "d.jsonl", "reward": reward, **trainer}))
    return TrainConfig.from_yaml(path)


def test_a_classifier_quality_is_built_with_its_settings(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "type": "mixed",
            "mode": "below_compliant",
            "quality": {
                "type": "classifier",
                "model": "rm",
                "base_url": "http://localhost:8002",
                "max_length": 512,
                "bucket": False,
            },
        },
    )
    reward = build_reward(config.reward, num_generations=4)
    assert isinstance(reward, MixedReward) and reward.mode == "below_compliant" and reward.num_generations == 4
    assert isinstance(reward.quality, ClassifierReward)
    assert (reward.quality.model, reward.quality.base_url, reward.quality.max_length, reward.quality.bucket) == (
        "rm",
        "http://localhost:8002",
        512,
        False,
    )
    assert not config.reward.needs_criteria()


def test_a_pairwise_quality_inherits_the_judge_settings(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "type": "mixed",
            "judge_model": "openai:judge",
            "judge_base_url": "http://j:1/v1",
            "retries": 5,
            "quality": {"type": "pairwise", "reference": "best"},
        },
    )
    reward = build_reward(config.reward, num_generations=8)
    assert isinstance(reward.quality, PairwiseReward)
    assert reward.quality.reference == "best" and reward.quality.num_generations == 8
    judging = reward.quality.judging
    assert (judging.judge_model, judging.base_url, judging.retries) == ("openai:judge", "http://j:1/v1", 5)


def test_a_criteria_quality_and_no_quality_are_the_criteria_judge(tmp_path: Path) -> None:
    plain = build_reward(config_of(tmp_path, {"type": "mixed", "judge_model": "fake"}).reward)
    explicit = config_of(
        tmp_path,
        {"type": "mixed", "judge_model": "fake", "quality": {"type": "criteria", "judge_model": "openai:other"}},
    )
    assert isinstance(plain.quality, CriteriaReward) and plain.quality.judge_model == "fake"
    assert build_reward(explicit.reward).quality.judge_model == "openai:other"
    assert explicit.reward.needs_criteria()


def test_a_callable_quality_from_a_file_with_kwargs(tmp_path: Path) -> None:
    source = tmp_path / "my_rewards.py"
    source.write_text(
        "class Length:\n"
        "    __name__ = 'length'\n"
        "    def __init__(self, scale=1.0):\n        self.scale = scale\n"
        "    def __call__(self, prompts, completions, **kwargs):\n"
        "        return [self.scale * len(c) for c in completions]\n"
    )
    config = config_of(
        tmp_path,
        {"type": "mixed", "quality": {"type": "callable", "function": f"{source}:Length", "kwargs": {"scale": 10.0}}},
    )
    reward = build_reward(config.reward)
    assert reward.quality.scale == 10.0
    rewards = reward.score(
        ["No commas."] * 2, ["a, b", "abc"], constraints=[json.dumps([{"id": "punctuation:no_comma"}])] * 2
    )
    assert rewards[1] == 30.0 and rewards[0] < rewards[1]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("nocolon", "package.module:name"),
        ("writer_r1.rl.rewards:Nope", "no 'Nope'"),
        ("writer_r1_absent_module:f", "cannot import"),
        ("/absent/file.py:f", "no Python file"),
        ("writer_r1.rl.rewards:logger", "not callable"),
    ],
)
def test_bad_callables_are_clear_errors(reference: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_callable(reference)


@pytest.mark.parametrize(
    ("reward", "message"),
    [
        ({"type": "criteria", "quality": {"type": "classifier", "model": "rm"}}, "type: mixed"),
        ({"type": "mixed", "quality": {"type": "classifier"}}, "model"),
        ({"type": "mixed", "quality": {"type": "pairwise", "reference": "all"}}, "reference"),
        ({"type": "mixed", "quality": {"type": "oracle"}}, "oracle"),
        ({"type": "mixed", "mode": "strictest"}, "mode"),
    ],
)
def test_bad_quality_sections_are_clear_errors(tmp_path: Path, reward: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        config_of(tmp_path, reward)


def test_a_served_reward_model_on_the_policy_server_is_refused(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        {
            "type": "mixed",
            "judge_model": "fake",
            "quality": {"type": "classifier", "model": "rm", "base_url": "http://127.0.0.1:8000"},
        },
        use_vllm=True,
        vllm_mode="server",
    )
    with pytest.raises(UserError, match="policy"):
        check_judge_is_not_the_policy_server(config)


def test_a_dataset_without_criteria_is_fine_for_a_classifier_quality(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"prompt": "Write."}) + "\n")
    config = TrainConfig(
        model=str(tmp_path / "absent-model"),
        dataset=str(data),
        reward={"type": "mixed", "quality": {"type": "classifier", "model": "rm"}},
        trainer={"output_dir": str(tmp_path / "out"), "use_cpu": True, "report_to": "none"},
    )
    with pytest.raises(OSError):  # past the dataset check: it fails on loading the (absent) policy model
        grpo_trainer(config)
