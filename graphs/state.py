"""State of our graphs: pydantic models, so checkpoints and Studio see typed, serialisable values.

Each graph appends its own state classes below. Fields written by parallel branches (the coder fan-out)
carry a reducer; every other field is written by one node at a time and simply replaced.
"""

from __future__ import annotations

import operator
from typing import Annotated

from pydantic import BaseModel, Field
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet
from writer_r1.core.records import Category, Code, Critique, RequirementCode

# --- the Grounded-Theory criteria graph ---------------------------------------------------------------


class CodingTally(BaseModel):
    """How one coder task went: what it kept and what it dropped."""

    source: int = Field(description="Index of the coded text; -1 for the task statement.")
    kept: int = 0
    dropped_quotes: int = 0
    error: str | None = None


class Sample(BaseModel):
    """A sample text, with an optional human comment on it (the coder treats the comment as evidence)."""

    text: str
    comment: str | None = None


class CriteriaInput(BaseModel):
    """What a criteria run starts from."""

    task: str = Field(description="The writing task (a prompt or a genre) the criteria are for.")
    samples: list[str | Sample] = Field(
        default_factory=list, description="Sample texts (or {text, comment}) to ground the criteria in (optional)."
    )
    seed_criteria: CriteriaSet | None = Field(default=None, description="Criteria to start from and refine (optional).")


class CriteriaOutput(BaseModel):
    """What a criteria run returns."""

    criteria: CriteriaSet | None = None


class CriteriaState(CriteriaInput, CriteriaOutput):
    """The whole state of a criteria run."""

    texts: list[str] = Field(default_factory=list, description="Every text coded so far (given, then drafted).")
    comments: list[str | None] = Field(default_factory=list, description="The human comment on each text, if any.")
    language: str = Field(default="en", description="The task's language code; every role writes in it.")
    extracted: Annotated[list[ConstraintSpec], operator.add] = Field(
        default_factory=list, description="Checkable constraints the extractor found in the task statement."
    )
    categories: list[Category] = Field(default_factory=list, description="The latest axial categories.")
    probes: list[str] = Field(
        default_factory=list, description="What the latest theoretical samples were asked to probe."
    )
    coded_upto: int = Field(default=0, description="texts[:coded_upto] are coded; the rest wait for the coder.")
    batch_start: int = Field(default=0, description="First text of the latest batch (its codes measure saturation).")
    codes: Annotated[list[Code], operator.add] = Field(default_factory=list)
    requirements: Annotated[list[RequirementCode], operator.add] = Field(default_factory=list)
    tallies: Annotated[list[CodingTally], operator.add] = Field(default_factory=list)
    draft: CriteriaSet | None = Field(default=None, description="The inducer's latest criteria.")
    critique: Critique | None = None
    rounds: int = Field(default=0, description="Saturation rounds done.")
    critique_rounds: int = Field(default=0, description="Critic reviews done.")
    inductions: int = Field(default=0, description="Inducer calls done.")
    saturation_gap: float | None = None
    notes: list[str] = Field(default_factory=list, description="What the run wants a reader of the result to know.")


class CodeTask(BaseModel):
    """The input of one coder branch (sent with `Send`)."""

    task: str
    text: str
    source: int = Field(description="Index of the text in `texts`; -1 codes the task statement into requirements.")
    concepts: list[str] = Field(
        default_factory=list, description="Concept labels already in use, for constant comparison."
    )
    comment: str | None = Field(default=None, description="A human comment on the text (evidence for the coder).")
    language: str = "en"


# --- the MRPO reflection graph ------------------------------------------------------------------------

from writer_r1.agents.reflector import Weakness  # noqa: E402 - reflection part of this module
from writer_r1.core.records import Experience, Reflection  # noqa: E402
from writer_r1.core.scorecard import Scorecard  # noqa: E402


class HistoryEntry(BaseModel):
    """One evaluated draft of a reflection run: its text, scorecard, and whether it became the best."""

    index: int = Field(description="Position in the trajectory; 0 is the first draft.")
    text: str
    scorecard: Scorecard
    accepted: bool = Field(description="True when this draft became the best (the first draft always does).")
    verdict: str = Field(default="", description="Why it was accepted or rejected.")
    reflection: Reflection | None = Field(default=None, description="The reflection that produced this revision.")
    base_index: int | None = Field(default=None, description="The draft this revision was made from.")


class ReflectionInput(BaseModel):
    """What a reflection run starts from."""

    task: str = Field(description="The writing task.")
    draft: str | None = Field(default=None, description="A draft to improve; empty: the writer drafts one.")
    criteria: CriteriaSet | None = Field(
        default=None, description="Criteria to judge by; empty: from the library or built."
    )
    constraints: list[ConstraintSpec] | None = Field(
        default=None, description="Checkable constraints; empty: extracted from the task."
    )


class ReflectionOutput(BaseModel):
    """What a reflection run returns: the best draft (never a worse one than the first) and the trajectory."""

    best_draft: str | None = None
    best_scorecard: Scorecard | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    criteria: CriteriaSet | None = None
    stop_reason: str | None = None


class ReflectionState(ReflectionInput, ReflectionOutput):
    """The whole state of a reflection run (one node writes each field at a time; `constraints` is resolved by prepare)."""

    pending: str | None = Field(default=None, description="The draft waiting for evaluation.")
    pending_scorecard: Scorecard | None = None
    pending_reflection: Reflection | None = Field(default=None, description="The reflection behind the pending draft.")
    best_index: int | None = None
    iterations: int = Field(default=0, description="Revisions made.")
    stale_rounds: int = Field(default=0, description="Revisions in a row that were not accepted.")
    weaknesses: list[Weakness] = Field(default_factory=list)
    recalled: list[Experience] = Field(default_factory=list)
    reflection: Reflection | None = None


# --- checkpoint serialisation -------------------------------------------------------------------------


def model_types(*roots: type[BaseModel]) -> set[tuple[str, str]]:
    """(module, name) of every pydantic model reachable from `roots` through field annotations.

    What a checkpoint serialiser must allow to restore our state (LangGraph's strict msgpack mode, and the
    default mode without the "unregistered type" warning).
    """
    import typing

    found: set[tuple[str, str]] = set()
    pending: list[object] = list(roots)
    while pending:
        item = pending.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            key = (item.__module__, item.__name__)
            if key in found:
                continue
            found.add(key)
            pending.extend(field.annotation for field in item.model_fields.values())
        else:
            pending.extend(typing.get_args(item))
    return found


def criteria_checkpoint_types() -> set[tuple[str, str]]:
    """Every model a criteria-graph checkpoint holds (state values and pending `Send` arguments)."""
    return model_types(CriteriaState, CodeTask)
