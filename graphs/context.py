"""Run-time context of our graphs (LangGraph `context_schema`): which models to use and the loop limits.

Nodes read it as `Runtime[...].context`. Models are named by spec strings (`fake`, `openai:MODEL`, `hf:...`)
so a run can be configured from Studio or JSON; from Python a chat model instance may be passed instead.
`None` means "the default model" (`core.models.default_model_spec()`), resolved only when a node first needs
a model — no client is built at import time. Each graph appends its own context class below the base.

Example:
    >>> context = CriteriaContext(model="fake", coder_model="fake:coder")
    >>> model_for(context, "coder") is model_for(context, "coder")
    True
    >>> type(model_for(context, "writer")).__name__
    'FakeChatModel'
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic.json_schema import SkipJsonSchema
from writer_r1.core.models import default_model_spec, load_chat_model

Role = Literal["writer", "coder", "inducer", "critic", "judge", "reflector"]

ModelSpec = str | SkipJsonSchema[BaseChatModel] | None
"""A spec string, a chat model instance (Python only), or None for the default model."""


def _spec_field(role: str) -> Any:
    return field(default=None, metadata={"description": f"Model spec for the {role}; empty: the main model."})


@dataclass(kw_only=True)
class ModelContext:
    """Models for every role: `model` is the main one, each `<role>_model` overrides it for one role."""

    model: ModelSpec = field(
        default=None,
        metadata={
            "description": "Main model spec: fake | openai:MODEL | hf:MODEL | vllm:MODEL | provider:model. Empty: WRITER_R1_MODEL or the default."
        },
    )
    base_url: str | None = field(
        default=None,
        metadata={
            "description": "Base URL of an OpenAI-compatible server for openai: specs (else WRITER_R1_BASE_URL)."
        },
    )
    writer_model: ModelSpec = _spec_field("writer")
    coder_model: ModelSpec = _spec_field("coder")
    inducer_model: ModelSpec = _spec_field("inducer")
    critic_model: ModelSpec = _spec_field("critic")
    judge_model: ModelSpec = _spec_field("judge")
    max_concurrency: int = field(default=8, metadata={"description": "Most model calls a node runs at once."})

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {self.max_concurrency}")


@dataclass(kw_only=True)
class CriteriaContext(ModelContext):
    """Limits of the Grounded-Theory criteria graph; every loop stops at its own limit."""

    min_samples: int = field(
        default=3, metadata={"description": "Texts to ground the criteria in; the writer drafts the missing ones."}
    )
    samples_per_round: int = field(default=2, metadata={"description": "Fresh texts drafted per saturation round."})
    max_rounds: int = field(
        default=2, metadata={"description": "Most saturation rounds (theoretical sampling); 0 skips saturation."}
    )
    saturation_threshold: float = field(
        default=0.2,
        metadata={"description": "Stop sampling when the share of new codes no criterion covers is at most this."},
    )
    coverage_threshold: float = field(
        default=0.2,
        metadata={"description": "Lexical similarity of a code to a criterion from which the criterion covers it."},
    )
    max_critique_rounds: int = field(default=2, metadata={"description": "Most critic reviews; 0 skips the critic."})

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("min_samples", "samples_per_round", "max_rounds", "max_critique_rounds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("saturation_threshold", "coverage_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {getattr(self, name)}")


_MODELS: dict[tuple[str, str | None], BaseChatModel] = {}
_MODELS_LOCK = threading.Lock()


def spec_of(context: ModelContext, role: Role) -> str | BaseChatModel:
    """The model (spec or instance) a role uses: its override, else the main model, else the default spec."""
    chosen = getattr(context, f"{role}_model", None) or context.model
    return chosen if chosen is not None else default_model_spec()


def model_for(context: ModelContext, role: Role) -> BaseChatModel:
    """The chat model for `role`, built once per (spec, base_url) and shared by every run in this process."""
    chosen = spec_of(context, role)
    if isinstance(chosen, BaseChatModel):
        return chosen
    key = (chosen, context.base_url)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = load_chat_model(chosen, base_url=context.base_url)
        return _MODELS[key]


def model_name(context: ModelContext, role: Role = "inducer") -> str:
    """A readable name of the model a role uses, for provenance."""
    chosen = spec_of(context, role)
    if isinstance(chosen, BaseChatModel):
        return str(getattr(chosen, "model_name", None) or getattr(chosen, "model", None) or type(chosen).__name__)
    return chosen
