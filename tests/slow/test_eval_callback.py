"""Per-checkpoint evaluation: EvalCallback in a real GRPOTrainer run on the tiny Qwen2, judged on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from writer_r1.core.criteria import CriteriaSet

pytestmark = pytest.mark.slow

CRITERIA = CriteriaSet.model_validate(
    {
        "dimensions": [
            {
                "name": "Craft",
                "criteria": [
                    {
                        "id": "imagery",
                        "name": "Imagery",
                        "description": "Concrete images",
                        "levels": [{"anchor": "none"}, {"anchor": "vivid"}],
                    }
                ],
            }
        ]
    }
)


def first_shown(request: dict) -> str:
    return json.dumps({"reason": "The first text is better.", "winner": "A"})


def test_each_save_logs_a_win_rate_against_the_start_and_ifeval(tiny_model_dir, make_loopback, tmp_path: Path) -> None:
    from writer_r1.rl.train import TrainConfig, grpo_trainer

    reward_judge = make_loopback()
    eval_judge = make_loopback(responder=first_shown)
    dataset = tmp_path / "grpo.jsonl"
    dataset.write_text(
        "".join(
            json.dumps(
                {
                    "prompt": [{"role": "user", "content": f"Write about the sea {i}."}],
                    "criteria": CRITERIA.model_dump_json(),
                }
            )
            + "\n"
            for i in range(2)
        )
    )
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text("".join(json.dumps({"prompt": f"Describe a storm over harbour {i}."}) + "\n" for i in range(3)))
    config = TrainConfig(
        model=str(tiny_model_dir),
        dataset=str(dataset),
        reward={"type": "criteria", "judge_model": "openai:loopback-model", "judge_base_url": reward_judge.base_url},
        eval={
            "prompts": str(heldout),
            "judge_model": "openai:eval-judge",
            "judge_base_url": eval_judge.base_url,
            "max_new_tokens": 8,
            "ifeval": 3,
        },
        trainer={
            "output_dir": str(tmp_path / "out"),
            "use_cpu": True,
            "report_to": "none",
            "max_steps": 2,
            "logging_steps": 1,
            "save_strategy": "steps",
            "save_steps": 1,
            "learning_rate": 1e-4,
            "seed": 0,
            "per_device_train_batch_size": 4,
            "num_generations": 4,
            "max_completion_length": 8,
        },
    )
    trainer = grpo_trainer(config)
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "writer_eval/win_rate" in entry]
    assert [entry["step"] for entry in logged] == [1, 2]
    for entry in logged:
        # The eval judge always prefers the text shown first: every verdict flips, the win rate is exactly 0.5.
        assert entry["writer_eval/win_rate"] == 0.5 and entry["writer_eval/inconsistent"] == 3.0
        assert entry["writer_eval/n"] == 3.0 and entry["writer_eval/unscored"] == 0.0
        assert 0.0 <= entry["writer_eval/ifeval_prompt_level_loose"] <= 1.0
    folder = tmp_path / "out" / "writer_r1_eval"
    assert (folder / "checkpoint-2" / "pairwise" / "report.html").is_file()
    assert len(eval_judge.requests) == 2 * 3 * 2  # two saves × three prompts × two orders
