"""Training entry points: a YAML file onto TRL's `GRPOConfig` / `SFTConfig`, plus our reward and judge settings.

A config holds our keys (`model`, `dataset`, `dataset_split`, `reward`, `replay`, `peft`) and passes every
other key to TRL's config class unchanged, so every TRL option (`use_vllm`, `vllm_mode`, `num_generations`,
`learning_rate`, ...) is available. Heavy libraries are imported only when training starts.

Example config (GRPO, judge on its own vLLM server):

    model: Qwen/Qwen3-0.6B
    dataset: data/grpo.jsonl          # prompt, criteria, constraints (writer-r1 data prepare)
    reward:
      type: mixed                     # mixed (RLMR) | criteria | constraints
      mode: below_mean                # RLMR's rule: below_mean | below_compliant
      judge_model: openai:Qwen/Qwen3-8B
      judge_base_url: http://localhost:8001/v1
      quality:                        # optional: RLMR's quality half (default: the criteria judge above)
        type: classifier              # criteria | classifier | pairwise | callable
        model: Skywork/Skywork-Reward-V2-Qwen3-0.6B
        base_url: http://localhost:8002   # a `vllm serve ... --runner pooling` server; absent: in process
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
from typing import Annotated, Any, Literal, TypedDict
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from writer_r1.core.errors import UserError

logger = logging.getLogger(__name__)


class CriteriaQuality(BaseModel):
    """`quality: {type: criteria}`: the criteria judge; unset settings come from the `reward` section."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["criteria"] = "criteria"
    judge_model: str | None = None
    judge_base_url: str | None = None


class ClassifierQuality(BaseModel):
    """`quality: {type: classifier}`: a trained reward model, in process or served by vLLM (`base_url`)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["classifier"]
    model: str
    base_url: str | None = None
    batch_size: int = Field(default=8, ge=1)
    max_length: int | None = Field(default=None, ge=1)
    bucket: bool = True
    device: str | None = None
    dtype: str = "auto"
    chat_template: bool = True
    max_concurrency: int = Field(default=64, ge=1)
    timeout: float = Field(default=60.0, gt=0)
    retries: int = Field(default=2, ge=0)


class PairwiseQuality(BaseModel):
    """`quality: {type: pairwise}`: group-relative pairwise judging; judge settings default to the `reward` section's."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["pairwise"]
    judge_model: str | None = None
    judge_base_url: str | None = None
    reference: Literal["random", "best"] = "random"
    seed: int = 0
    max_concurrency: int | None = Field(default=None, ge=1)
    retries: int | None = Field(default=None, ge=0)


class CallableQuality(BaseModel):
    """`quality: {type: callable, function: "package.module:name", kwargs: {...}}`: your own TRL reward
    function; with `kwargs` (or when `name` is a class) it is called with them to build the function."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["callable"]
    function: str
    kwargs: dict[str, Any] | None = None


QualitySettings = Annotated[
    CriteriaQuality | ClassifierQuality | PairwiseQuality | CallableQuality, Field(discriminator="type")
]


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
    quality: QualitySettings | None = None

    @model_validator(mode="after")
    def _quality_is_for_mixed(self) -> RewardSettings:
        if self.quality is not None and self.type != "mixed":
            raise ValueError(f"reward.quality applies to type: mixed (RLMR's quality half), not to type: {self.type}")
        return self

    def needs_criteria(self) -> bool:
        """Whether the dataset must carry a `criteria` column (the criteria judge scores against it)."""
        return self.type == "criteria" or (
            self.type == "mixed" and (self.quality is None or self.quality.type == "criteria")
        )


class ReplaySettings(BaseModel):
    """The `replay` section (GRPO): the experience memory whose best accepted revisions join groups."""

    model_config = ConfigDict(extra="forbid")

    memory: str
    probability: float = Field(default=0.5, ge=0.0, le=1.0)
    seed: int = 0


OUR_KEYS = frozenset({"model", "dataset", "dataset_split", "reward", "replay", "peft", "eval"})


class TrainConfig(BaseModel):
    """Our part of a training config; `trainer` holds the keys that go to TRL's config class."""

    model_config = ConfigDict(extra="forbid")

    model: str
    dataset: str
    dataset_split: str = "train"
    reward: RewardSettings = Field(default_factory=RewardSettings)
    replay: ReplaySettings | None = None
    peft: dict[str, Any] | None = None
    eval: dict[str, Any] | None = None  # per-checkpoint evaluation (writer_r1.eval.callback.EvalSettings)
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


class _RewardModels(TypedDict):
    """The constraint checker's models, as reward keyword arguments."""

    verifier_model: str | None
    extractor_model: str | None


class _JudgeOptions(TypedDict):
    """The criteria judge's settings, as reward keyword arguments."""

    base_url: str | None
    max_concurrency: int
    criteria_per_call: int | None
    retries: int
    cache: str | None
    library: str | None


class _MixingOptions(TypedDict):
    """RLMR's mixing settings, as `MixedReward` keyword arguments."""

    margin: float
    severity_weight: float
    fallback_penalty: float
    mode: Literal["below_mean", "below_compliant"]
    num_generations: int | None


def build_reward(settings: RewardSettings, *, num_generations: int | None = None) -> Any:
    """The reward function a config asks for."""
    from writer_r1.rl.rewards import ConstraintReward, CriteriaReward, MixedReward

    models: _RewardModels = {"verifier_model": settings.verifier_model, "extractor_model": settings.extractor_model}
    if settings.type == "constraints":
        return ConstraintReward(**models, base_url=settings.judge_base_url)
    judge: _JudgeOptions = {
        "base_url": settings.judge_base_url,
        "max_concurrency": settings.max_concurrency,
        "criteria_per_call": settings.criteria_per_call,
        "retries": settings.retries,
        "cache": settings.cache,
        "library": settings.library,
    }
    if settings.type == "criteria":
        return CriteriaReward(settings.judge_model, **judge)
    mixing: _MixingOptions = {
        "margin": settings.margin,
        "severity_weight": settings.severity_weight,
        "fallback_penalty": settings.fallback_penalty,
        "mode": settings.mode,
        "num_generations": num_generations,
    }
    quality = settings.quality
    if quality is None:
        return MixedReward(settings.judge_model, **judge, **models, **mixing)
    return MixedReward(
        quality=build_quality(settings, num_generations=num_generations),
        **models,
        base_url=settings.judge_base_url,
        **mixing,
    )


def build_quality(settings: RewardSettings, *, num_generations: int | None = None) -> Any:
    """RLMR's quality reward from `reward.quality` (judge settings it leaves unset come from `reward`)."""
    quality = settings.quality
    if quality is None or quality.type == "criteria":
        from writer_r1.rl.rewards import CriteriaReward

        override = quality if quality is not None else CriteriaQuality()
        return CriteriaReward(
            override.judge_model or settings.judge_model,
            base_url=override.judge_base_url or settings.judge_base_url,
            max_concurrency=settings.max_concurrency,
            criteria_per_call=settings.criteria_per_call,
            retries=settings.retries,
            cache=settings.cache,
            library=settings.library,
        )
    if quality.type == "classifier":
        from writer_r1.rl.classifier import ClassifierReward

        return ClassifierReward(**quality.model_dump(exclude={"type"}))
    if quality.type == "pairwise":
        from writer_r1.rl.pairwise import PairwiseReward

        return PairwiseReward(
            quality.judge_model or settings.judge_model,
            reference=quality.reference,
            seed=quality.seed,
            num_generations=num_generations,
            base_url=quality.judge_base_url or settings.judge_base_url,
            max_concurrency=quality.max_concurrency or settings.max_concurrency,
            retries=settings.retries if quality.retries is None else quality.retries,
            cache=settings.cache,
            library=settings.library,
        )
    return load_callable(quality.function, quality.kwargs)


def load_callable(reference: str, kwargs: dict[str, Any] | None = None) -> Any:
    """`package.module:name` (or `path/to/file.py:name`) as a reward function; a class, or any name given
    `kwargs`, is called with them to build it.

    Example:
        >>> load_callable("writer_r1.rl.rewards:ConstraintReward").__name__
        'constraints'
    """
    import importlib
    import importlib.util
    import inspect

    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise UserError(f"quality.function must look like package.module:name or path/file.py:name, got {reference!r}")
    try:
        if module_name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
            if spec is None or spec.loader is None or not Path(module_name).is_file():
                raise UserError(f"no Python file {module_name}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise UserError(f"cannot import {module_name} for quality.function: {error}") from error
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UserError(f"{module_name} has no {attribute!r} (quality.function {reference!r})")
        target = getattr(target, part)
    if kwargs is not None or inspect.isclass(target):
        target = target(**(kwargs or {}))
    if not callable(target):
        raise UserError(f"quality.function {reference!r} is not callable")
    return target


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


def reward_server_urls(config: TrainConfig) -> list[str]:
    """Every server the reward calls: the judge's and, for `reward.quality`, its judge or reward model server."""
    urls = [judge_url(config)]
    quality = config.reward.quality
    if isinstance(quality, CriteriaQuality | PairwiseQuality) and quality.judge_base_url:
        urls.append(quality.judge_base_url)
    if isinstance(quality, ClassifierQuality) and quality.base_url:
        urls.append(quality.base_url)
    return list(dict.fromkeys(url for url in urls if url))


def check_judge_is_not_the_policy_server(config: TrainConfig) -> None:
    """The policy server's weights move during training: judging with it would judge with the policy."""
    trainer = config.trainer
    if not trainer.get("use_vllm") or trainer.get("vllm_mode", "colocate") != "server":
        return
    policy = trainer.get("vllm_server_base_url") or (
        f"http://{trainer.get('vllm_server_host', '0.0.0.0')}:{trainer.get('vllm_server_port', 8000)}"
    )
    for judge in reward_server_urls(config):
        if server_endpoint(judge) == server_endpoint(policy):
            raise UserError(
                f"the judge ({judge}) is the policy's vLLM server ({policy}); its weights move during training. "
                "Run the judge (or reward model) on its own server (vllm serve JUDGE_MODEL --port 8001) and point "
                "reward.judge_base_url (or reward.quality's URL) at it"
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
    from writer_r1.rl.pairwise import PairwiseReward
    from writer_r1.rl.rewards import MixedReward

    check_judge_is_not_the_policy_server(config)
    args = _trl_config(GRPOConfig, config.trainer)
    required = ["prompt"]
    if reward is None:
        reward = build_reward(config.reward, num_generations=args.num_generations)
        if config.reward.needs_criteria():
            required.append("criteria")
    if isinstance(reward, MixedReward | PairwiseReward):  # group-relative: each process must see whole groups
        check_whole_groups(args)
    if rollout_func is None and config.replay is not None:
        rollout_func = replay_rollout(config.replay)
    callbacks = [eval_callback(config.eval)] if config.eval is not None else []
    dataset = load_dataset_from(config, required)
    model, tokenizer = _model_and_tokenizer(config)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=_peft_config(config),
        rollout_func=rollout_func,
        callbacks=callbacks,
    )
    for callback in callbacks:
        callback.trainer = trainer
    return trainer


def eval_callback(section: dict[str, Any]) -> Any:
    """The per-checkpoint `EvalCallback` for an `eval` section (validated here, before training starts)."""
    from pydantic import ValidationError
    from writer_r1.eval.callback import EvalCallback, EvalSettings

    try:
        settings = EvalSettings.model_validate(section)
    except ValidationError as error:
        raise UserError(f"eval section: {error}") from error
    if not Path(settings.prompts).is_file():
        raise UserError(f"eval section: no prompts file {settings.prompts}")
    return EvalCallback(settings)


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
