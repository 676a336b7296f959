"""Two real training steps of TRL's GRPOTrainer and SFTTrainer on a tiny random Qwen2, judged by a loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from writer_r1.core.criteria import CriteriaSet

pytestmark = pytest.mark.slow

CRITERIA = CriteriaSet.model_validate(
    {
        "task": "Write about the sea",
        "dimensions": [
            {"name": "Craft", "criteria": [
                {"id": "imagery", "name": "Imagery", "description": "Concrete images",
                 "levels": [{"anchor": "none"}, {"anchor": "some"}, {"anchor": "vivid"}]},
                {"id": "rhythm", "name": "Rhythm", "description": "Varied sentences",
                 "levels": [{"anchor": "flat"}, {"anchor": "varied"}]},
            ]},
        ],
    }
)


def _grpo_rows(path: Path) -> Path:
    rows = [
        {"prompt": [{"role": "user", "content": "Write a short poem about the sea without commas."}],
         "criteria": CRITERIA.model_dump_json(), "constraints": json.dumps([{"id": "punctuation:no_comma"}])},
        {"prompt": [{"role": "user", "content": "Describe a storm over the harbour."}],
         "criteria": CRITERIA.model_dump_json(), "constraints": None},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _trainer_settings(tmp_path: Path, **extra) -> dict:
    return {"output_dir": str(tmp_path / "out"), "use_cpu": True, "report_to": "none", "max_steps": 2,
            "logging_steps": 1, "save_strategy": "no", "learning_rate": 1e-4, "seed": 0, **extra}


def test_grpo_trains_two_steps_with_mixed_reward_and_logs_reward_metrics(tiny_model_dir, make_loopback, tmp_path) -> None:
    from writer_r1.rl.train import TrainConfig, grpo_trainer

    judge = make_loopback()
    config = TrainConfig(
        model=str(tiny_model_dir),
        dataset=str(_grpo_rows(tmp_path / "grpo.jsonl")),
        reward={"type": "mixed", "judge_model": "openai:loopback-model", "judge_base_url": judge.base_url},
        trainer=_trainer_settings(tmp_path, per_device_train_batch_size=4, num_generations=4,
                                  max_completion_length=12, temperature=1.0),
    )
    trainer = grpo_trainer(config)
    trainer.train()
    logged = {key for entry in trainer.state.log_history for key in entry}
    assert trainer.state.global_step == 2
    assert "rewards/rlmr/mean" in logged
    assert {"rlmr/constraint_pass_rate", "rlmr/all_violating_groups", "quality/dimension/Craft"} <= logged
    assert len(judge.requests) >= 8  # every completion went to the judge
    assert all("response_format" in request for request in judge.requests)


def test_sft_trains_two_steps_from_the_cli_config(tiny_model_dir, tmp_path) -> None:
    from writer_r1.cli import main

    rows = [{"messages": [{"role": "user", "content": "Write about the sea."},
                          {"role": "assistant", "content": "The grey water rocked the boats."}]}] * 8
    data = tmp_path / "sft.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    config = tmp_path / "sft.yaml"
    config.write_text(yaml.safe_dump({"model": str(tiny_model_dir), "dataset": str(data),
                                      **_trainer_settings(tmp_path, per_device_train_batch_size=4, max_length=64)}))
    main(["train", "sft", "--config", str(config)])  # an error would exit with status 2
    assert (tmp_path / "out" / "config.json").is_file()


def test_grpo_from_the_cli_config(tiny_model_dir, make_loopback, tmp_path) -> None:
    from writer_r1.cli import main

    judge = make_loopback()
    config = tmp_path / "grpo.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_model_dir), "dataset": str(_grpo_rows(tmp_path / "grpo.jsonl")),
        "reward": {"type": "mixed", "judge_model": "openai:loopback-model", "judge_base_url": judge.base_url},
        **_trainer_settings(tmp_path, per_device_train_batch_size=4, num_generations=4, max_completion_length=8),
    }))
    main(["train", "grpo", "--config", str(config)])
    assert len(judge.requests) >= 8


def test_replay_puts_the_memorys_best_revision_into_a_group(tiny_model_dir, tmp_path) -> None:
    from writer_r1.core.records import Experience, Reflection
    from writer_r1.memory.embeddings import LexicalEmbeddings
    from writer_r1.memory.experience import ExperienceMemory
    from writer_r1.rl.replay import ReplayRollout
    from writer_r1.rl.train import TrainConfig, grpo_trainer

    task = "Write a short poem about the sea without commas."
    revision = "The grey sea rocks the boats at dusk"
    memory = ExperienceMemory(str(tmp_path / "memory.sqlite"), embeddings=LexicalEmbeddings())
    memory.remember(Experience(task=task, reflection=Reflection(diagnosis="flat"), draft="sea", revision=revision,
                               score_before=0.1, score_after=0.9, accepted=True))
    seen: list[tuple[str, bool]] = []

    def recording_reward(prompts, completions, replayed, **kwargs):
        seen.extend((c if isinstance(c, str) else c[-1]["content"], r) for c, r in zip(completions, replayed, strict=True))
        return [1.0 if r else 0.0 for r in replayed]

    recording_reward.__name__ = "recording"
    config = TrainConfig(
        model=str(tiny_model_dir), dataset=str(_grpo_rows(tmp_path / "grpo.jsonl")), reward={"type": "constraints"},
        trainer=_trainer_settings(tmp_path, per_device_train_batch_size=4, num_generations=4, max_completion_length=16),
    )
    rollout = ReplayRollout(memory, probability=1.0)
    trainer = grpo_trainer(config, reward=recording_reward, rollout_func=rollout)
    trainer.train()
    replayed = [text for text, flag in seen if flag]
    assert replayed and all(text.strip() == revision for text in replayed)
    assert rollout.replayed == len(replayed)
    assert len(seen) == 8 and sum(flag for _, flag in seen) < len(seen)
