"""The agents' structured outputs: codes, categories, critiques, reflections, experiences.

These models are also the JSON schemas the agents are asked to fill, so their field
descriptions are written for the model that reads them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from writer_r1.core.criteria import ConstraintSpec


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Code(_Record):
    """An open-coding observation grounded in a verbatim quote."""

    concept: str = Field(description="A short label for the observed concept, e.g. 'sensory detail'.")
    observation: str = Field(description="What is observed in the text, in one sentence.")
    quote: str = Field(description="A verbatim quote from the text that shows it.")
    polarity: Literal["strength", "weakness"] = Field(description="Whether it helps or hurts the writing.")
    source: int = Field(default=-1, description="Index of the coded text; -1 for the task statement.")


class RequirementCode(_Record):
    """An explicit requirement of the task statement (length, format, point of view, tone ...)."""

    requirement: str = Field(description="The requirement, as stated or clearly implied by the task.")
    quote: str = Field(description="The words of the task that state it, verbatim.")


class Codes(_Record):
    codes: list[Code] = Field(default_factory=list)


class RequirementCodes(_Record):
    requirements: list[RequirementCode] = Field(default_factory=list)


class Category(_Record):
    """An axial-coding group of concepts."""

    name: str
    description: str = ""
    concepts: list[str] = Field(default_factory=list)


class CritiqueIssue(_Record):
    kind: Literal["vague", "redundant", "conflict", "uncovered", "weight", "checkable", "discrimination", "other"]
    criterion_ids: list[str] = Field(default_factory=list)
    detail: str


class Critique(_Record):
    """The critic's verdict on a draft criteria set."""

    approved: bool = Field(description="True when the criteria need no further revision.")
    issues: list[CritiqueIssue] = Field(default_factory=list)
    summary: str = ""


class Reflection(_Record):
    """A diagnosis of a draft and a concrete plan for revising it."""

    diagnosis: str = Field(description="What holds the draft back, weakest criteria and failed constraints first.")
    targets: list[str] = Field(default_factory=list, description="Criterion ids or constraint ids to fix.")
    plan: list[str] = Field(default_factory=list, description="Concrete revision steps.")
    keep: list[str] = Field(default_factory=list, description="What already works and must be kept.")


class Experience(_Record):
    """A stored reflection and its outcome, recalled for later tasks."""

    task: str
    criteria_version: str = ""
    weak_criteria: list[str] = Field(default_factory=list)
    failed_constraints: list[str] = Field(default_factory=list)
    reflection: Reflection
    draft: str = ""
    revision: str = ""
    score_before: float | None = None
    score_after: float | None = None
    accepted: bool = False
    lesson: str = ""

    @property
    def gain(self) -> float | None:
        if self.score_before is None or self.score_after is None:
            return None
        return self.score_after - self.score_before


class ExtractedConstraints(_Record):
    """The extractor's reading of a free-form task."""

    constraints: list[ConstraintSpec] = Field(default_factory=list)
    unverifiable: list[str] = Field(
        default_factory=list, description="Requirements that no registry checker expresses, in plain words."
    )
