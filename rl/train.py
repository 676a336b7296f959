"""Training entry points: a YAML file onto TRL's `GRPOConfig` / `SFTConfig`, plus our reward and judge settings.

A config holds our keys (`model`, `dataset`, `dataset_split`, `reward`, `replay`, `peft`) and passes every
other key to TRL's config class unchanged, so every TRL option (`use_vllm`, `vllm_mode`, `num_generations`,
`learning_rate`, ...) is available. Heavy libraries are imported only when training starts.

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
    replay:                           # optional MRPO replay (GRPO only)
      memory: memory.sqlite
      probability: 0.5
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field
from writer_r1.core.errors import UserError

logger = logging.getLogger(__name__)


class RewardSettings(BaseModel):
    """The `reward` section: which reward, the judge (its own server), and RLMR's settings."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["mixed", "criteria", "constraints"] = "mixed"
    judge_model: str | None = None
    judge_base_url: str | None = None
    max_concurrency: int = Field(default=64, ge=1)
    criteria_per_call: int | None = Field(default=None, ge=1)
    retries: int = Field(default=2, ge=0)
    cache: str | None = "memory"
    library: str | None = None
    verifier_model: str | None = None
    extractor_model: str | None = None
    margin: float = Field(default=0.05, gt=0)
    severity_weight: float = Field(default=0.01, ge=0)
    fallback_penalty: float = Field(default=0.5, ge=0)
    mode: Literal["below_mean", "below_compliant"] = "below_mean"


class ReplaySettings(BaseModel):
    """The `replay` section (GRPO): the experience memory whose best accepted revisions join groups."""

    model_config = ConfigDict(extra="forbid")

    memory: str
    probability: float = Field(default=0.5, ge=0.0, le=1.0)
    seed: int = 0


OUR_KEYS = frozenset({"model", "dataset", "dataset_split", "reward", "replay", "peft"})


class TrainConfig(BaseModel):
    """Our part of a training config; `trainer` holds the keys that go to TRL's config class."""

    model_config = ConfigDict(extra="forbid")

    model: str
    dataset: str
    dataset_split: str = "train"
    reward: RewardSettings = Field(default_factory=RewardSettings)
    replay: ReplaySettings | None = None
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
        ours = {key: raw.pop(key) for key in list(raw) if key in OUR_KEYS}
        try:
            return cls(**ours, trainer=raw)
        except ValueError as error:
            raise UserError(f"{path}: {error}") from error


def _require_training_stack() -> None:
    import importlib.util

    missing = [name for name in ("torch", "trl", "transformers", "datasets") if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(f"training needs {', '.join(missing)}: pip install 'writer-r1[train]'")


def build_reward(settings: RewardSettings, *, num_generations: int | None = None) -> Any:
    """The reward function a config asks for."""
    from writer_r1.rl.rewards import ConstraintReward, CriteriaReward, MixedReward

    models = {"verifier_model": settings.verifier_model, "extractor_model": settings.extractor_model}
    if settings.type == "constraints":
        return ConstraintReward(**models, base_url=settings.judge_base_url)
    judge = {
        "base_url": settings.judge_base_url, "max_concurrency": settings.max_concurrency,
        "criteria_per_call": settings.criteria_per_call, "retries": settings.retries, "cache": settings.cache,
        "library": settings.library,
    }
    if settings.type == "criteria":
        return CriteriaReward(settings.judge_model, **judge)
    return MixedReward(
        settings.judge_model, **judge, **models, margin=settings.margin, severity_weight=settings.severity_weight,
        fallback_penalty=settings.fallback_penalty, mode=settings.mode, num_generations=num_generations,
    )


_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "::"}


def server_endpoint(url: str) -> tuple[str, int]:
    """(host, port) of a server URL, with every loopback spelling as `localhost` and the scheme's default port."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError as error:
        raise UserError(f"{url!r} is not a valid server URL: {error}") from error
    return ("localhost" if host in _LOOPBACK_HOSTS else host), port or (443 if parts.scheme == "https" else 80)


def judge_url(config: TrainConfig) -> str | None:
    """The server the judge will call: `reward.judge_base_url`, else the environment's default."""
    if config.reward.type == "constraints" and config.reward.verifier_model is None:
        return None
    return config.reward.judge_base_url or os.environ.get("WRITER_R1_BASE_URL") or os.environ.get("OPENAI_BASE_URL")


def check_judge_is_not_the_policy_server(config: TrainConfig) -> None:
    """The policy server's weights move during training: judging with it would judge with the policy."""
    trainer = config.trainer
    if not trainer.get("use_vllm") or trainer.get("vllm_mode", "colocate") != "server":
        return
    judge = judge_url(config)
    if not judge:
        return
    policy = trainer.get("vllm_server_base_url") or (
        f"http://{trainer.get('vllm_server_host', '0.0.0.0')}:{trainer.get('vllm_server_port', 8000)}"
    )
    if server_endpoint(judge) == server_endpoint(policy):
        raise UserError(
            f"the judge ({judge}) is the policy's vLLM server ({policy}); its weights move during training. "
            "Run the judge on its own server (vllm serve JUDGE_MODEL --port 8001) and set reward.judge_base_url"
        )


def check_whole_groups(args: Any) -> None:
    """RLMR mixes within a group, and TRL scores each process's slice: every slice must hold whole groups."""
    processes = args.world_size
    if processes <= 1:
        return  # TRL itself requires the generation batch to be a multiple of num_generations
    local = args.per_device_train_batch_size * args.steps_per_generation
    if local % args.num_generations:
        raise UserError(
            f"with {processes} processes each scores {local} completions (per_device_train_batch_size × "
            f"steps_per_generation), not a multiple of num_generations={args.num_generations}: groups would be "
            "split across processes and RLMR's per-group mixing would be wrong"
        )
    eval_generations = args.num_generations_eval or args.num_generations
    if args.eval_strategy != "no" and args.per_device_eval_batch_size % eval_generations:
        raise UserError(
            f"per_device_eval_batch_size={args.per_device_eval_batch_size} is not a multiple of "
            f"num_generations_eval={eval_generations}: evaluation groups would be split across processes"
        )


def load_dataset_from(config: TrainConfig, required: Sequence[str] = ()) -> Any:
    """The training dataset (a local JSON/JSONL file or a hub id), with its `required` columns checked."""
    from datasets import load_dataset

    path = Path(config.dataset)
    if path.suffix in {".jsonl", ".json"}:
        if not path.is_file():
            raise UserError(f"no dataset file {path}")
        dataset = load_dataset("json", data_files=str(path), split=config.dataset_split)
    else:
        dataset = load_dataset(config.dataset, split=config.dataset_split)
    missing = [column for column in required if column not in dataset.column_names]
    if missing:
        raise UserError(
            f"dataset {config.dataset} lacks the column(s) {', '.join(missing)} "
            f"(it has {', '.join(dataset.column_names)}); writer-r1 data prepare builds GRPO datasets"
        )
    return dataset


def _trl_config(config_class: Any, settings: dict[str, Any]) -> Any:
    try:
        return config_class(**settings)
    except TypeError as error:  # an unknown key
        raise UserError(f"{config_class.__name__}: {error}") from error
    except ValueError as error:  # TRL's own validation
        raise UserError(f"{config_class.__name__}: {error}") from error


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
    """A ready `GRPOTrainer` for `config` (the reward from `config.reward` unless one is given; the
    replay `rollout_func` from `config.replay` unless one is given)."""
    from trl import GRPOConfig, GRPOTrainer
    from writer_r1.rl.rewards import MixedReward

    check_judge_is_not_the_policy_server(config)
    args = _trl_config(GRPOConfig, config.trainer)
    required = ["prompt"]
    if reward is None:
        reward = build_reward(config.reward, num_generations=args.num_generations)
        if config.reward.type != "constraints":
            required.append("criteria")
    if isinstance(reward, MixedReward):
        check_whole_groups(args)
    if rollout_func is None and config.replay is not None:
        rollout_func = replay_rollout(config.replay)
    dataset = load_dataset_from(config, required)
    model, tokenizer = _model_and_tokenizer(config)
    return GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_peft_config(config),
        rollout_func=rollout_func,
    )


def replay_rollout(settings: ReplaySettings) -> Any:
    """The MRPO replay `rollout_func` for a `replay` section."""
    from writer_r1.rl.replay import ReplayRollout

    if not Path(settings.memory).is_file():
        raise UserError(f"no experience memory at {settings.memory} (fill one with writer-r1 reflect --memory)")
    return ReplayRollout(settings.memory, probability=settings.probability, seed=settings.seed)


def sft_trainer(config: TrainConfig) -> Any:
    """A ready `SFTTrainer` for `config` (dataset in TRL's `messages` or prompt/completion format)."""
    from trl import SFTConfig, SFTTrainer

    if config.replay is not None:
        raise UserError("replay applies to GRPO only (SFT data from the memory: writer-r1 data sft)")
    args = _trl_config(SFTConfig, config.trainer)
    dataset = load_dataset_from(config)
    model, tokenizer = _model_and_tokenizer(config)
    return SFTTrainer(
        model=model,
        args=args,
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
