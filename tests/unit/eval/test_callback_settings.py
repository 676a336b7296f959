"""The `eval` section of a training config is validated before training starts."""

from __future__ import annotations

import pytest
from writer_r1.core.errors import UserError
from writer_r1.rl.train import TrainConfig, eval_callback


def test_yaml_eval_section_is_ours_and_validated(tmp_path):
    path = tmp_path / "grpo.yaml"
    path.write_text(
        "model: m\ndataset: d.jsonl\neval:\n  prompts: heldout.jsonl\n  judge_model: fake\nnum_generations: 4\n"
    )
    config = TrainConfig.from_yaml(path)
    assert config.eval == {"prompts": "heldout.jsonl", "judge_model": "fake"} and "eval" not in config.trainer
    with pytest.raises(UserError, match="no prompts file heldout.jsonl"):
        eval_callback(config.eval)
    with pytest.raises(UserError, match="judge_model"):
        eval_callback({"prompts": str(path)})
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text('{"prompt": "Write a haiku."}\n')
    assert eval_callback({"prompts": str(heldout), "judge_model": "fake", "ifeval": 5}).settings.ifeval == 5
