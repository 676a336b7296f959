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
from typing import Any, Literal, get_args

from langchain_core.language_models import BaseChatModel
from pydantic.json_schema import SkipJsonSchema
from writer_r1.core.lru import LRU
from writer_r1.core.models import default_model_spec, load_chat_model

Role = Literal["writer", "coder", "inducer", "critic", "judge", "reflector"]
ROLES: tuple[str, ...] = get_args(Role)

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
    thinking: dict[str, bool] | None = field(
        default=None,
        metadata={
            "description": "Per-role thinking of Qwen3-style models (enable_thinking in the chat template), e.g. "
            '{"inducer": true, "critic": true, "judge": false}; a role not named keeps the model\'s default.'
        },
    )

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {self.max_concurrency}")
        unknown = sorted(set(self.thinking or {}) - set(ROLES))
        if unknown:
            raise ValueError(f"thinking names unknown roles {unknown}; roles: {list(ROLES)}")


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
    discrimination_check: bool = field(
        default=True,
        metadata={
            "description": "Before each review, judge every criterion on the texts its strength and weakness codes "
            "came from; one that scores them alike is an issue."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("min_samples", "samples_per_round", "max_rounds", "max_critique_rounds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("saturation_threshold", "coverage_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {getattr(self, name)}")


MAX_SHARED_MODELS = 16
"""Chat models built from spec strings kept per process (least recently used dropped first)."""

_MODELS: LRU[tuple[str, str | None], BaseChatModel] = LRU(MAX_SHARED_MODELS)
_MODELS_LOCK = threading.Lock()


def spec_of(context: ModelContext, role: Role) -> str | BaseChatModel:
    """The model (spec or instance) a role uses: its override, else the main model, else the default spec."""
    chosen = getattr(context, f"{role}_model", None) or context.model
    return chosen if chosen is not None else default_model_spec()


_SWITCH = {"on": True, "true": True, "1": True, "yes": True, "off": False, "false": False, "0": False, "no": False}


def parse_thinking(values: list[str] | None) -> dict[str, bool] | None:
    """`--thinking ROLE=on|off` options as a `thinking` setting; a bad role or value is a ValueError.

    >>> parse_thinking(["inducer=on", "judge=off"])
    {'inducer': True, 'judge': False}
    """
    if not values:
        return None
    thinking: dict[str, bool] = {}
    for value in values:
        role, _, switch = value.partition("=")
        role, switch = role.strip(), switch.strip().lower()
        if role not in ROLES or switch not in _SWITCH:
            raise ValueError(f"--thinking takes ROLE=on|off with ROLE one of {', '.join(ROLES)}; got {value!r}")
        thinking[role] = _SWITCH[switch]
    return thinking


_THINKING: dict[tuple[int, bool], tuple[BaseChatModel, BaseChatModel]] = {}
_MAX_THINKING = 64
"""Thinking variants of chat model instances passed in from Python (bounded; the instance is held with its
variant, so its id stays unique)."""


def model_for(context: ModelContext, role: Role) -> BaseChatModel:
    """The chat model for `role`, built once per (spec, base_url, thinking) and shared by every run in this process.

    With `context.thinking[role]` set, the model renders its chat template with that `enable_thinking`.
    """
    chosen = spec_of(context, role)
    thinking = (context.thinking or {}).get(role)
    if isinstance(chosen, BaseChatModel):
        if thinking is None:
            return chosen
        from writer_r1.core.thinking import with_thinking

        with _MODELS_LOCK:
            thinking_key = (id(chosen), thinking)
            entry = _THINKING.get(thinking_key)
            if entry is None or entry[0] is not chosen:  # the instance is held, so its id stays unique
                entry = (chosen, with_thinking(chosen, thinking))
                _THINKING[thinking_key] = entry
                while len(_THINKING) > _MAX_THINKING:
                    _THINKING.pop(next(iter(_THINKING)))
            return entry[1]
    key = (chosen if thinking is None else f"{chosen}#enable_thinking={thinking}", context.base_url)
    with _MODELS_LOCK:
        if key not in _MODELS:
            model = load_chat_model(chosen, base_url=context.base_url)
            if thinking is not None:
                from writer_r1.core.thinking import with_thinking

                model = with_thinking(model, thinking)
            _MODELS[key] = model
        return _MODELS[key]


def model_name(context: ModelContext, role: Role = "inducer") -> str:
    """A readable name of the model a role uses, for provenance."""
    chosen = spec_of(context, role)
    if isinstance(chosen, BaseChatModel):
        return str(getattr(chosen, "model_name", None) or getattr(chosen, "model", None) or type(chosen).__name__)
    return chosen


@dataclass(kw_only=True)
class ReflectionContext(ModelContext):
    """Models and limits of the MRPO reflection loop; every loop stops at its own limit."""

    reflector_model: ModelSpec = _spec_field("reflector")
    max_iterations: int = field(default=3, metadata={"description": "Most revisions; 0 only evaluates the draft."})
    target_score: float = field(
        default=0.85,
        metadata={"description": "Stop once the best overall score reaches this and every constraint passes."},
    )
    patience: int = field(default=2, metadata={"description": "Stop after this many revisions in a row without gain."})
    min_gain: float = field(
        default=0.01,
        metadata={"description": "A revision replaces the best only if its overall rises by at least this."},
    )
    accept_constraint_fixes: bool = field(
        default=True,
        metadata={
            "description": "Also accept a revision that fixes a failed constraint without lowering the overall score."
        },
    )
    pairwise_check: bool = field(
        default=False,
        metadata={
            "description": "Also require the judge to prefer the revision in both orders of a pairwise comparison."
        },
    )
    pairwise_margin: float = field(
        default=0.05,
        metadata={
            "description": "A revision whose gain is below this must also win a position-swapped pairwise "
            "comparison (judge noise); 0 turns it off."
        },
    )
    memory_path: str | None = field(
        default=None,
        metadata={
            "description": "Experience memory: an SQLite path or a postgres:// URL; empty: the graph's store, if any."
        },
    )
    recall_k: int = field(default=4, metadata={"description": "Past experiences recalled into each reflection."})
    extract_constraints: bool = field(
        default=True,
        metadata={
            "description": "Extract constraints from the task with the model as well as by rules (when a model is set)."
        },
    )
    criteria_per_call: int | None = field(
        default=None, metadata={"description": "Criteria judged per judge call; empty: all in one call."}
    )
    criteria_library: str | None = field(
        default=None, metadata={"description": "Criteria library to look up (and store) criteria for the task."}
    )
    use_library: bool = field(
        default=True,
        metadata={
            "description": "Reuse or adapt stored criteria (and store new ones); off: always build, store nothing."
        },
    )
    draft_temperature: float = field(default=0.8, metadata={"description": "Temperature of the first draft."})
    revise_temperature: float | None = field(default=0.7, metadata={"description": "Temperature of revisions."})
    judge: SkipJsonSchema[Any] = field(
        default=None, metadata={"description": "A ready judge object (Python only); overrides judge_model."}
    )
    memory: SkipJsonSchema[Any] = field(
        default=None, metadata={"description": "A ready ExperienceMemory (Python only); overrides memory_path."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("max_iterations", "recall_k"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.patience < 1:
            raise ValueError(f"patience must be at least 1, got {self.patience}")
        if not 0.0 <= self.target_score <= 1.0:
            raise ValueError(f"target_score must be within [0, 1], got {self.target_score}")
        if not 0.0 <= self.min_gain <= 1.0:
            raise ValueError(f"min_gain must be within [0, 1], got {self.min_gain}")
        if not 0.0 <= self.pairwise_margin <= 1.0:
            raise ValueError(f"pairwise_margin must be within [0, 1], got {self.pairwise_margin}")
