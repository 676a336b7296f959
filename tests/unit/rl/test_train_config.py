"""Training configs: our keys split from TRL's, clear errors, and the judge kept off the policy server."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from writer_r1.core.errors import UserError
from writer_r1.rl.train import (
    TrainConfig,
    build_reward,
    check_judge_is_not_the_policy_server,
    check_whole_groups,
    grpo_trainer,
    server_endpoint,
    sft_trainer,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_our_keys_and_trls_keys_are_split(tmp_path: Path) -> None:
    config = TrainConfig.from_yaml(
        write(
            tmp_path,
            (
                "model: m\ndataset: d.jsonl\nreward: {type: criteria, judge_model: fake}\n"
                "num_generations: 8\nuse_vllm: true\n"
            ),
        )
    )
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
        ("model: m\ndataset: d\nreward: {margin: 0}", "margin"),
        ("model: m\ndataset: d\nreplay: {probability: 0.5}", "memory"),
        ("model: m\ndataset: d\nreplay: {memory: m.sqlite, probability: 2}", "probability"),
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
        (
            {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": "http://gpu:9000"},
            "http://gpu:9000/v1",
            True,
        ),
        ({"use_vllm": True, "vllm_mode": "server"}, "http://localhost:8001/v1", False),
        ({"use_vllm": True, "vllm_mode": "colocate"}, "http://localhost:8000/v1", False),
        ({}, "http://localhost:8000/v1", False),
        ({"use_vllm": True, "vllm_mode": "server"}, "http://127.0.0.1:8000/v1/", True),
        (
            {"use_vllm": True, "vllm_mode": "server", "vllm_server_host": "10.0.0.5", "vllm_server_port": 9000},
            "http://10.0.0.5:9000/v1",
            True,
        ),
        (
            {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": "http://localhost:8000"},
            "http://[::1]:8000/v1",
            True,
        ),
        ({"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": "https://gpu"}, "https://gpu:443/v1", True),
        (
            {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": "http://gpu:8000"},
            "http://gpu2:8000/v1",
            False,
        ),
    ],
)
def test_the_judge_is_never_the_policy_server(trainer: dict, judge: str, refused: bool) -> None:
    config = TrainConfig(model="m", dataset="d", reward={"judge_base_url": judge}, trainer=trainer)
    if refused:
        with pytest.raises(UserError, match="own server"):
            check_judge_is_not_the_policy_server(config)
    else:
        check_judge_is_not_the_policy_server(config)


def test_the_judge_url_from_the_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITER_R1_BASE_URL", "http://0.0.0.0:8000/v1")
    config = TrainConfig(
        model="m",
        dataset="d",
        reward={"judge_model": "openai:judge"},
        trainer={"use_vllm": True, "vllm_mode": "server"},
    )
    with pytest.raises(UserError, match="own server"):
        check_judge_is_not_the_policy_server(config)


def test_server_endpoints_normalise_loopback_and_default_ports() -> None:
    assert server_endpoint("http://0.0.0.0:8000") == server_endpoint("localhost:8000") == ("localhost", 8000)
    assert server_endpoint("https://Judge.example/v1") == ("judge.example", 443)


def _args(processes: int, per_device: int, steps: int, generations: int, **extra) -> SimpleNamespace:
    values = {
        "world_size": processes,
        "per_device_train_batch_size": per_device,
        "steps_per_generation": steps,
        "num_generations": generations,
        "num_generations_eval": None,
        "eval_strategy": "no",
        "per_device_eval_batch_size": 8,
        **extra,
    }
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (_args(1, 3, 2, 2), False),  # one process: TRL's own check covers it
        (_args(2, 3, 4, 2), False),  # 12 per process, groups of 2
        (_args(2, 3, 1, 2), True),  # 3 per process: a group straddles two processes
        (_args(4, 8, 1, 8), False),
        (_args(2, 4, 1, 4, eval_strategy="steps", per_device_eval_batch_size=6), True),
        (_args(2, 4, 1, 4, eval_strategy="steps", per_device_eval_batch_size=6, num_generations_eval=3), False),
    ],
)
def test_each_process_must_score_whole_groups(args: SimpleNamespace, refused: bool) -> None:
    if refused:
        with pytest.raises(UserError, match="num_generations"):
            check_whole_groups(args)
    else:
        check_whole_groups(args)


def test_build_reward_passes_every_setting() -> None:
    config = TrainConfig(
        model="m",
        dataset="d",
        reward={
            "judge_model": "fake",
            "judge_base_url": "http://judge:8001/v1",
            "margin": 0.2,
            "verifier_model": "fake",
            "extractor_model": "fake",
            "max_concurrency": 7,
        },
    )
    reward = build_reward(config.reward, num_generations=4)
    assert (reward.__name__, reward.margin, reward.num_generations) == ("rlmr", 0.2, 4)
    assert reward.quality.base_url == "http://judge:8001/v1" and reward.quality.max_concurrency == 7
    assert reward.compliance.verifier_model == reward.compliance.extractor_model == "fake"
    assert (
        build_reward(TrainConfig(model="m", dataset="d", reward={"type": "constraints"}).reward).__name__
        == "constraints"
    )


def _dataset(tmp_path: Path, rows: list[dict]) -> str:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"not_a_trl_key": 1}, "not_a_trl_key"),
        ({"num_generations": 3, "per_device_train_batch_size": 4}, "divisible"),
    ],
)
def test_bad_trl_settings_are_clear_errors_before_anything_loads(tmp_path: Path, settings: dict, message: str) -> None:
    config = TrainConfig(
        model=str(tmp_path / "no-model"),
        dataset=str(tmp_path / "absent.jsonl"),
        trainer={"output_dir": str(tmp_path), "use_cpu": True, **settings},
    )
    with pytest.raises(UserError, match=message):
        grpo_trainer(config)


def test_a_grpo_dataset_without_criteria_is_refused_before_the_model_loads(tmp_path: Path) -> None:
    config = TrainConfig(
        model=str(tmp_path / "no-model"),
        dataset=_dataset(tmp_path, [{"prompt": "p"}]),
        reward={"judge_model": "fake"},
        trainer={"output_dir": str(tmp_path), "use_cpu": True, "num_generations": 2, "per_device_train_batch_size": 2},
    )
    with pytest.raises(UserError, match="criteria"):
        grpo_trainer(config)


def test_replay_needs_an_existing_memory_and_is_grpo_only(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path, [{"prompt": "p"}])
    trainer = {"output_dir": str(tmp_path), "use_cpu": True, "num_generations": 2, "per_device_train_batch_size": 2}
    config = TrainConfig(
        model="m",
        dataset=dataset,
        reward={"type": "constraints"},
        replay={"memory": str(tmp_path / "absent.sqlite")},
        trainer=trainer,
    )
    with pytest.raises(UserError, match="no experience memory"):
        grpo_trainer(config)
    with pytest.raises(UserError, match="GRPO only"):
        sft_trainer(config)
