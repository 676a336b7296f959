"""Training entry points: a YAML file onto TRL's `GRPOConfig` / `SFTConfig`, plus our reward and judge settings.

A config holds our keys (`model`, `dataset`, `reward`, `peft`) and passes every other key to TRL's config
class unchanged, so every TRL option (`use_vllm`, `vllm_mode`, `num_generations`, `learning_rate`, ...)
is available. Heavy libraries are imported only when training starts.

Example config (GRPO, judge on its own vLLM server):

    model: Qwen/Qwen3-0.6B
    dataset: data/grpo.jsonl          # prompt, criteria, constraints (writer-r1 data prepare)
    reward:
      type: mixed                     # mixed (RLMR) | criteria | constraints
      judge_model: openai:Qwen/Qwen3-8B
      judge_base_url: http://localhost:8001/v1
    output_dir: runs/grpo
    num_generations: 8
    use_vllm: true
    vllm_mode: colocate
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from writer_r1.core.errors import UserError

logger = logging.getLogger(__name__)


class RewardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["mixed", "criteria", "constraints"] = "mixed"
    judge_model: str | None = None
    judge_base_url: str | None = None
    max_concurrency: int = Field(default=64, ge=1)
    criteria_per_call: int | None = Field(default=None, ge=1)
    retries: int = Field(default=2, ge=0)
    cache: str | None = "memory"
    margin: float = 0.05
    severity_weight: float = 0.01
    fallback_penalty: float = 0.5


class TrainConfig(BaseModel):
    """Our part of a training config; `trainer` holds the keys that go to TRL's config class."""

    model_config = ConfigDict(extra="forbid")

    model: str
    dataset: str
    dataset_split: str = "train"
    reward: RewardSettings = Field(default_factory=RewardSettings)
    peft: dict[str, Any] | None = None
    trainer: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise UserError(f"no config file {path}") from error
        except yaml.YAMLError as error:
            raise UserError(f"{path} is not valid YAML: {error}") from error
        if not isinstance(raw, dict):
            raise UserError(f"{path} must hold a mapping of settings")
        ours = {key: raw.pop(key) for key in list(raw) if key in {"model", "dataset", "dataset_split", "reward", "peft"}}
        try:
            return cls(**ours, trainer=raw)
        except ValueError as error:
            raise UserError(f"{path}: {error}") from error


def _require_training_stack() -> None:
    import importlib.util

    missing = [name for name in ("torch", "trl", "transformers", "datasets") if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(f"training needs {', '.join(missing)}: pip install 'writer-r1[train]'")


def build_reward(settings: RewardSettings) -> Any:
    """The reward function a config asks for."""
    from writer_r1.rl.rewards import ConstraintReward, CriteriaReward, MixedReward

    if settings.type == "constraints":
        return ConstraintReward()
    judge = {
        "base_url": settings.judge_base_url, "max_concurrency": settings.max_concurrency,
        "criteria_per_call": settings.criteria_per_call, "retries": settings.retries, "cache": settings.cache,
    }
    if settings.type == "criteria":
        return CriteriaReward(settings.judge_model, **judge)
    return MixedReward(
        settings.judge_model, **judge, margin=settings.margin,
        severity_weight=settings.severity_weight, fallback_penalty=settings.fallback_penalty,
    )


def check_judge_is_not_the_policy_server(config: TrainConfig) -> None:
    """The policy server's weights move during training: judging with it would judge with the policy."""
    trainer = config.trainer
    if not trainer.get("use_vllm") or trainer.get("vllm_mode", "colocate") != "server":
        return
    judge_url = (config.reward.judge_base_url or "").rstrip("/").removesuffix("/v1")
    base = trainer.get("vllm_server_base_url")
    if base is None:
        base = f"http://{trainer.get('vllm_server_host', '0.0.0.0')}:{trainer.get('vllm_server_port', 8000)}"
    hosts = {base.rstrip("/"), base.rstrip("/").replace("0.0.0.0", "localhost"), base.rstrip("/").replace("0.0.0.0", "127.0.0.1")}
    if judge_url and judge_url in hosts:
        raise UserError(
            f"the judge ({config.reward.judge_base_url}) is the policy's vLLM server ({base}); "
            "run the judge on its own server (vllm serve JUDGE_MODEL --port 8001)"
        )


def load_dataset_from(config: TrainConfig) -> Any:
    from datasets import load_dataset

    path = Path(config.dataset)
    if path.suffix in {".jsonl", ".json"}:
        if not path.is_file():
            raise UserError(f"no dataset file {path}")
        return load_dataset("json", data_files=str(path), split=config.dataset_split)
    return load_dataset(config.dataset, split=config.dataset_split)


def _model_and_tokenizer(config: TrainConfig) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(config.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return AutoModelForCausalLM.from_pretrained(config.model), tokenizer


def _peft_config(config: TrainConfig) -> Any:
    if config.peft is None:
        return None
    from peft import LoraConfig

    return LoraConfig(**config.peft)


def grpo_trainer(config: TrainConfig, *, reward: Any = None, rollout_func: Any = None) -> Any:
    """A ready `GRPOTrainer` for `config` (the reward from `config.reward` unless one is given)."""
    from trl import GRPOConfig, GRPOTrainer

    check_judge_is_not_the_policy_server(config)
    dataset = load_dataset_from(config)
    model, tokenizer = _model_and_tokenizer(config)
    return GRPOTrainer(
        model=model,
        reward_funcs=[reward if reward is not None else build_reward(config.reward)],
        args=GRPOConfig(**config.trainer),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_peft_config(config),
        rollout_func=rollout_func,
    )


def sft_trainer(config: TrainConfig) -> Any:
    """A ready `SFTTrainer` for `config` (dataset in TRL's `messages` or prompt/completion format)."""
    from trl import SFTConfig, SFTTrainer

    dataset = load_dataset_from(config)
    model, tokenizer = _model_and_tokenizer(config)
    return SFTTrainer(
        model=model,
        args=SFTConfig(**config.trainer),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_peft_config(config),
    )


def train(kind: Literal["sft", "grpo"], config_path: str | Path) -> Any:
    """Run `writer-r1 train sft|grpo --config FILE`: build the trainer, train, save; return the trainer."""
    _require_training_stack()
    config = TrainConfig.from_yaml(config_path)
    trainer = grpo_trainer(config) if kind == "grpo" else sft_trainer(config)
    trainer.train()
    trainer.save_model()
    return trainer
