"""RLMR makes a policy learn quality and a constraint together: GRPO on a tiny random Qwen2, judged over HTTP.

Quality is the loopback server's scoring-rule judge (the share of five "fantasy" words in the completion, on a
21-level criterion) read through the real path: `MixedReward` → `CriteriaReward` → `Judge` → HTTP → verdict →
scorecard. The constraint ("contain the word river", ~7 % of samples at the start) goes through the registry.
Both must rise well above where they start — learning, not just running. The full experiment (every mode,
scale and seed) is `bench/rlmr_learning.py`.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from writer_r1.core.criteria import CriteriaSet

pytestmark = pytest.mark.slow

PROMPT = "Tell a tale."
CRITERIA = CriteriaSet.model_validate(
    {
        "task": PROMPT,
        "dimensions": [
            {
                "name": "Wonder",
                "criteria": [
                    {
                        "id": "fantasy",
                        "name": "Fantasy vocabulary",
                        "description": "How much of the text is fantasy words",
                        "levels": [{"anchor": f"{5 * i} % of the words are fantasy words"} for i in range(21)],
                    }
                ],
            }
        ],
    }
)
RIVER = [{"id": "keywords:existence", "kwargs": {"keywords": ["river"]}}]


@pytest.fixture(scope="module")
def fantasy_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("trl")
    from writer_r1.testing.scoring_judge import FANTASY_CORPUS
    from writer_r1.testing.tiny_models import tiny_qwen2

    return tiny_qwen2(tmp_path_factory.mktemp("fantasy-qwen2"), head="causal", corpus=FANTASY_CORPUS)


def test_grpo_with_rlmr_raises_quality_and_constraint_pass_rate_together(fantasy_model_dir, make_loopback, tmp_path):
    from writer_r1.rl.train import TrainConfig, grpo_trainer
    from writer_r1.testing.scoring_judge import FANTASY_WORDS, LexicalShare, scoring_rule_responder

    judge = make_loopback(responder=scoring_rule_responder(LexicalShare(FANTASY_WORDS)))
    row = {
        "prompt": [{"role": "user", "content": PROMPT}],
        "criteria": CRITERIA.model_dump_json(),
        "constraints": json.dumps(RIVER),
    }
    data = tmp_path / "grpo.jsonl"
    data.write_text("\n".join(json.dumps(row) for _ in range(32)) + "\n")
    steps = 45
    config = TrainConfig(
        model=str(fantasy_model_dir),
        dataset=str(data),
        reward={"type": "mixed", "judge_model": "openai:loopback-model", "judge_base_url": judge.base_url},
        trainer={
            "output_dir": str(tmp_path / "out"),
            "use_cpu": True,
            "report_to": "none",
            "save_strategy": "no",
            "logging_steps": 1,
            "disable_tqdm": True,
            "seed": 0,
            "max_steps": steps,
            "beta": 0.0,
            "learning_rate": 5e-3,
            "lr_scheduler_type": "constant",
            "num_generations": 8,
            "per_device_train_batch_size": 16,
            "max_completion_length": 24,
            "temperature": 1.0,
        },
    )
    trainer = grpo_trainer(config)
    trainer.train()

    logged = [entry for entry in trainer.state.log_history if "rlmr/quality_mean" in entry]
    assert len(logged) == steps
    quality = [entry["rlmr/quality_mean"] for entry in logged]
    passed = [entry["rlmr/constraint_pass_rate"] for entry in logged]
    quality_start, quality_end = statistics.fmean(quality[:5]), statistics.fmean(quality[-5:])
    pass_start, pass_end = statistics.fmean(passed[:5]), statistics.fmean(passed[-5:])
    curves = f"quality {[round(q, 2) for q in quality]}, constraint {[round(p, 2) for p in passed]}"
    assert quality_start < 0.1 and pass_start < 0.3, curves  # what a random policy does
    assert quality_end > quality_start + 0.1 and quality_end > 3 * quality_start, curves
    assert pass_end > pass_start + 0.4, curves
    # Every completion's quality came over HTTP from the scoring-rule judge, under the criteria's JSON Schema.
    assert judge.requests and all("response_format" in request for request in judge.requests)
    assert not any(entry.get("quality/unscored_fraction") for entry in logged)
