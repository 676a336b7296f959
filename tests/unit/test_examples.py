"""The files in examples/ are what the README and docs say: valid criteria, readable prompts and samples, and
training configs that load through `writer-r1 train`'s own config loader (and TRL's config classes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from writer_r1.core.criteria import CriteriaSet

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_criteria_file_is_a_valid_criteria_set_with_checkable_constraints() -> None:
    from writer_r1.constraints.registry import checker_for

    criteria = CriteriaSet.load(str(EXAMPLES / "criteria.json"))
    assert len(criteria.criteria) == 4 and criteria.constraints
    for spec in criteria.constraints:
        checker_for(spec)


def test_prompts_and_samples_read_as_the_commands_read_them() -> None:
    from writer_r1.graphs.commands import read_samples
    from writer_r1.rl.commands import read_prompts

    assert len(read_prompts(EXAMPLES / "prompts.jsonl")) == 4
    assert len(read_samples(EXAMPLES / "samples.jsonl")) == 3


@pytest.mark.parametrize(("name", "config_class"), [("grpo.yaml", "GRPOConfig"), ("sft.yaml", "SFTConfig")])
def test_training_configs_load_through_the_config_loader(name: str, config_class: str, tmp_path, monkeypatch) -> None:
    from writer_r1.rl.train import TrainConfig, _trl_config

    config = TrainConfig.from_yaml(EXAMPLES / name)
    assert config.model and config.dataset and config.trainer["output_dir"]
    trl = pytest.importorskip("trl", reason="the [train] extra is not installed")
    monkeypatch.chdir(tmp_path)  # TRL may create output_dir
    import torch

    # TRL defaults to bf16, which a CPU-only machine refuses; the files themselves target a GPU.
    cpu = {} if torch.cuda.is_available() else {"use_cpu": True}
    args = _trl_config(getattr(trl, config_class), {**config.trainer, **cpu})
    assert args.learning_rate == config.trainer["learning_rate"]
    if name == "grpo.yaml":
        from writer_r1.rl.train import check_whole_groups, judge_url

        assert args.use_vllm and args.vllm_mode == "colocate" and judge_url(config) == "http://localhost:8001/v1"
        check_whole_groups(args)
