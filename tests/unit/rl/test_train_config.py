"""Training configs: our keys split from TRL's, clear errors, and the judge kept off the policy server."""

from __future__ import annotations

from pathlib import Path

import pytest
from writer_r1.core.errors import UserError
from writer_r1.rl.train import TrainConfig, build_reward, check_judge_is_not_the_policy_server


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_our_keys_and_trls_keys_are_split(tmp_path: Path) -> None:
    config = TrainConfig.from_yaml(write(tmp_path, (
        "model: m\ndataset: d.jsonl\nreward: {type: criteria, judge_model: fake}\n"
        "num_generations: 8\nuse_vllm: true\n"
    )))
    assert config.model == "m" and config.reward.type == "criteria"
    assert config.trainer == {"num_generations": 8, "use_vllm": True}
    assert build_reward(config.reward).__name__ == "criteria"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model: [unclosed", "not valid YAML"),
        ("- a list", "mapping"),
        ("dataset: d.jsonl", "model"),
        ("model: m\ndataset: d\nreward: {type: vibes}", "type"),
        ("model: m\ndataset: d\nreward: {judge_modle: x}", "judge_modle"),
    ],
)
def test_bad_configs_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        TrainConfig.from_yaml(write(tmp_path, text))


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no config file"):
        TrainConfig.from_yaml(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("trainer", "judge", "refused"),
    [
        ({"use_vllm": True, "vllm_mode": "server"}, "http://localhost:8000/v1", True),
        ({"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": "http://gpu:9000"}, "http://gpu:9000/v1", True),
        ({"use_vllm": True, "vllm_mode": "server"}, "http://localhost:8001/v1", False),
        ({"use_vllm": True, "vllm_mode": "colocate"}, "http://localhost:8000/v1", False),
        ({}, "http://localhost:8000/v1", False),
    ],
)
def test_the_judge_is_never_the_policy_server(trainer: dict, judge: str, refused: bool) -> None:
    config = TrainConfig(model="m", dataset="d", reward={"judge_base_url": judge}, trainer=trainer)
    if refused:
        with pytest.raises(UserError, match="own server"):
            check_judge_is_not_the_policy_server(config)
    else:
        check_judge_is_not_the_policy_server(config)
