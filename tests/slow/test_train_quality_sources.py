"""RLMR's pluggable quality half in real training: 2 GRPOTrainer steps each with a trained reward model (a tiny
random Qwen2ForSequenceClassification built offline) and with group-relative pairwise judging (loopback judge),
from Python and from `writer-r1 train grpo --config`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

DEVICE = os.environ.get("WRITER_R1_TEST_DEVICE", "cpu")
DEVICE_SETTINGS = {"use_cpu": True} if DEVICE == "cpu" else {"use_cpu": False, "bf16": True}
RLMR_METRICS = {"rewards/rlmr/mean", "rlmr/constraint_pass_rate", "rlmr/all_violating_groups", "rlmr/quality_mean"}


@pytest.fixture(scope="module")
def tiny_reward_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ["HF_HUB_OFFLINE"] = "1"
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from writer_r1.testing.tiny_models import tiny_qwen2

    return tiny_qwen2(tmp_path_factory.mktemp("tiny-reward-model"), head="classifier", seed=1)


def _rows(path: Path) -> Path:
    rows = [
        {
            "prompt": [{"role": "user", "content": "Write a short poem about the sea without commas."}],
            "constraints": json.dumps([{"id": "punctuation:no_comma"}]),
        },
        {"prompt": [{"role": "user", "content": "Describe a storm over the harbour."}], "constraints": None},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _trainer_settings(tmp_path: Path) -> dict:
    return {
        "output_dir": str(tmp_path / "out"),
        **DEVICE_SETTINGS,
        "report_to": "none",
        "max_steps": 2,
        "logging_steps": 1,
        "save_strategy": "no",
        "learning_rate": 1e-4,
        "seed": 0,
        "per_device_train_batch_size": 4,
        "num_generations": 4,
        "max_completion_length": 12,
        "temperature": 1.0,
    }


def _logged(trainer) -> set[str]:
    return {key for entry in trainer.state.log_history for key in entry}


def test_grpo_with_a_trained_reward_model_as_quality_from_python(
    tiny_model_dir, tiny_reward_model_dir, tmp_path
) -> None:
    from writer_r1.rl import ClassifierReward, MixedReward
    from writer_r1.rl.train import TrainConfig, grpo_trainer

    quality = ClassifierReward(str(tiny_reward_model_dir), batch_size=4)
    reward = MixedReward(quality=quality, num_generations=4)
    config = TrainConfig(
        model=str(tiny_model_dir), dataset=str(_rows(tmp_path / "grpo.jsonl")), trainer=_trainer_settings(tmp_path)
    )
    trainer = grpo_trainer(config, reward=reward)
    trainer.train()
    assert trainer.state.global_step == 2
    assert RLMR_METRICS | {"classifier/truncated_fraction", "classifier/score_mean"} <= _logged(trainer)
    assert quality.backend.device.startswith(DEVICE)
    expected_dtype = "torch.float32" if DEVICE == "cpu" else "torch.bfloat16"
    assert str(quality.backend.model.dtype) == expected_dtype


def test_grpo_with_pairwise_judging_as_quality_from_python(tiny_model_dir, make_loopback, tmp_path) -> None:
    from writer_r1.rl import MixedReward, PairwiseReward
    from writer_r1.rl.train import TrainConfig, grpo_trainer

    judge = make_loopback()
    quality = PairwiseReward(judge_model="openai:loopback-model", base_url=judge.base_url, num_generations=4)
    reward = MixedReward(quality=quality, num_generations=4, mode="below_compliant")
    config = TrainConfig(
        model=str(tiny_model_dir), dataset=str(_rows(tmp_path / "grpo.jsonl")), trainer=_trainer_settings(tmp_path)
    )
    trainer = grpo_trainer(config, reward=reward)
    trainer.train()
    assert trainer.state.global_step == 2
    assert RLMR_METRICS | {"pairwise/comparisons_per_completion"} <= _logged(trainer)
    # two steps of one group of 4: at most 3 comparisons × both orders each (identical completions tie for free)
    assert 0 < len(judge.requests) <= 2 * 2 * 3


@pytest.mark.parametrize("source", ["classifier", "pairwise"])
def test_grpo_with_a_pluggable_quality_from_the_cli_config(
    tiny_model_dir, tiny_reward_model_dir, make_loopback, tmp_path, capfd, source
) -> None:
    from writer_r1.cli import main

    judge = make_loopback()
    quality = (
        {"type": "classifier", "model": str(tiny_reward_model_dir), "batch_size": 4}
        if source == "classifier"
        else {
            "type": "pairwise",
            "judge_model": "openai:loopback-model",
            "judge_base_url": judge.base_url,
            "reference": "best",
        }
    )
    config = tmp_path / "grpo.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": str(tiny_model_dir),
                "dataset": str(_rows(tmp_path / "grpo.jsonl")),
                "reward": {"type": "mixed", "mode": "below_compliant", "quality": quality},
                **_trainer_settings(tmp_path),
            }
        )
    )
    main(["train", "grpo", "--config", str(config)])  # an error would exit with status 2
    output = "".join(capfd.readouterr())
    assert "trained 2 steps" in output
    assert all(name in output for name in RLMR_METRICS)  # TRL's log lines carry the RLMR metrics
    assert (f"{source}/" in output) and (tmp_path / "out" / "config.json").is_file()
    assert (len(judge.requests) > 0) == (source == "pairwise")
