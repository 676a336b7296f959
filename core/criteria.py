"""Criteria: the dimension → criterion → level hierarchy that judges, reflects and rewards.

A `CriteriaSet` is validated once, at load, and is immutable afterwards; its `version` is a
content hash so caches and stored experiences can tell two sets apart.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

SLUG_PATTERN = r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$"
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def slugify(text: str, *, fallback: str = "criterion") -> str:
    """Turn a name into a stable id.

    >>> slugify("Period Authenticity!")
    'period-authenticity'
    """
    slug = _SLUG_STRIP.sub("-", text.lower()).strip("-")
    return slug or fallback


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConstraintSpec(_Frozen):
    """A checkable requirement: a constraint registry id and its keyword arguments.

    `id` is `family:name` (e.g. `length_constraints:number_words`); the family `llm` marks a
    requirement that no deterministic checker expresses and that an LLM verifies.

    Example:
        >>> ConstraintSpec(id="length_constraints:number_words",
        ...                kwargs={"relation": "at least", "num_words": 300}).id
        'length_constraints:number_words'
    """

    id: str = Field(pattern=r"^[a-z0-9_]+:[a-z0-9_]+$")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None

    @property
    def is_llm_verified(self) -> bool:
        return self.id.startswith("llm:")

    def key(self) -> str:
        """A canonical string for this constraint (id plus sorted kwargs)."""
        return f"{self.id}{json.dumps(self.kwargs, sort_keys=True, ensure_ascii=False)}"


class Level(_Frozen):
    """One rung of a criterion's ordered scale, with the anchor a judge compares against."""

    anchor: str = Field(min_length=1)
    label: str | None = None


class Example(_Frozen):
    """A quote from a sample text that grounded a criterion (Grounded Theory's evidence), with its code."""

    concept: str = Field(min_length=1)
    quote: str = Field(min_length=1)
    polarity: Literal["strength", "weakness"]
    source: int = Field(default=-1, description="Index of the sample text the quote comes from.")


class Criterion(_Frozen):
    """One observable aspect of a text, judged on ordered levels (worst first).

    A negative criterion ("purple prose") is written by ordering its levels, so a higher level
    is always better.
    """

    id: str = Field(pattern=SLUG_PATTERN)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    levels: tuple[Level, ...] = Field(min_length=2)
    weight: float = 1.0
    kind: Literal["quality", "constraint"] = "quality"
    check: ConstraintSpec | None = None
    evidence: tuple[str, ...] = ()
    examples: tuple[Example, ...] = Field(
        default=(), description="Quotes from the sample texts that grounded it; shown to readers, not to the judge."
    )

    @field_validator("weight")
    @classmethod
    def _weight_is_positive(cls, weight: float) -> float:
        if not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"weight must be a finite number > 0, got {weight!r}")
        return weight

    @property
    def max_level(self) -> int:
        return len(self.levels)

    def score_of(self, level: int) -> float:
        """Map a 1-based level to [0, 1]: the worst level is 0, the best is 1."""
        if not 1 <= level <= self.max_level:
            raise ValueError(f"level {level} outside 1..{self.max_level} for criterion {self.id!r}")
        return (level - 1) / (self.max_level - 1)


class Dimension(_Frozen):
    """A group of related criteria with its own weight."""

    name: str = Field(min_length=1)
    description: str = ""
    weight: float = 1.0
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @field_validator("weight")
    @classmethod
    def _weight_is_positive(cls, weight: float) -> float:
        if not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"weight must be a finite number > 0, got {weight!r}")
        return weight


class Provenance(_Frozen):
    """Where a criteria set came from."""

    source: str = "manual"
    model: str | None = None
    samples: int = 0
    rounds: int = 0
    critique_rounds: int = 0
    saturation_gap: float | None = None
    codes: int = 0
    core_category: str | None = Field(default=None, description="The central concern the criteria relate to.")
    notes: tuple[str, ...] = ()


class CriteriaSet(_Frozen):
    """A task's criteria: dimensions of weighted criteria plus checkable constraints.

    Example:
        >>> levels = [Level(anchor="flat"), Level(anchor="vivid")]
        >>> cs = CriteriaSet(task="a short story", dimensions=[Dimension(name="Style",
        ...     criteria=[Criterion(id="imagery", name="Imagery", description="Concrete images",
        ...                         levels=levels)])])
        >>> cs.criterion("imagery").max_level
        2
        >>> CriteriaSet.model_validate_json(cs.model_dump_json()) == cs
        True
    """

    task: str = ""
    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    constraints: tuple[ConstraintSpec, ...] = ()
    language: str = "en"
    provenance: Provenance = Field(default_factory=Provenance)

    @model_validator(mode="before")
    @classmethod
    def _drop_derived_fields(cls, data: Any) -> Any:
        # `version` is derived from the content; a stored value is recomputed, never trusted.
        if isinstance(data, dict) and "version" in data:
            data = {k: v for k, v in data.items() if k != "version"}
        return data

    @model_validator(mode="after")
    def _ids_are_unique(self) -> CriteriaSet:
        seen: set[str] = set()
        duplicates: list[str] = []
        for criterion in self.criteria:
            if criterion.id in seen:
                duplicates.append(criterion.id)
            seen.add(criterion.id)
        if duplicates:
            raise ValueError(f"duplicate criterion ids: {sorted(set(duplicates))}")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def version(self) -> str:
        """Content hash of everything that changes how a text is judged."""
        # The grounding quotes do not change how a text is judged, so they are not part of the version.
        content = self.model_dump(
            mode="json",
            include={"task", "dimensions", "constraints", "language"},
            exclude={"dimensions": {"__all__": {"criteria": {"__all__": {"examples"}}}}},
        )
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode())
        return digest.hexdigest()[:16]

    @property
    def criteria(self) -> list[Criterion]:
        return [criterion for dimension in self.dimensions for criterion in dimension.criteria]

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)

    def dimension_of(self, criterion_id: str) -> Dimension:
        for dimension in self.dimensions:
            if any(c.id == criterion_id for c in dimension.criteria):
                return dimension
        raise KeyError(criterion_id)

    def effective_weights(self) -> dict[str, float]:
        """Each criterion's share of the overall score: dimension share × share within it. Sums to 1."""
        total_dimension = sum(d.weight for d in self.dimensions)
        weights: dict[str, float] = {}
        for dimension in self.dimensions:
            total_criteria = sum(c.weight for c in dimension.criteria)
            for criterion in dimension.criteria:
                weights[criterion.id] = (dimension.weight / total_dimension) * (criterion.weight / total_criteria)
        return weights

    def normalized(self) -> CriteriaSet:
        """The same set with dimension weights and criterion weights each summing to 1."""
        total_dimension = sum(d.weight for d in self.dimensions)
        dimensions = []
        for dimension in self.dimensions:
            total_criteria = sum(c.weight for c in dimension.criteria)
            criteria = tuple(c.model_copy(update={"weight": c.weight / total_criteria}) for c in dimension.criteria)
            dimensions.append(
                dimension.model_copy(update={"weight": dimension.weight / total_dimension, "criteria": criteria})
            )
        return self.model_copy(update={"dimensions": tuple(dimensions)})

    def subset(self, criterion_ids: list[str]) -> CriteriaSet:
        """The same set restricted to some criteria (dimensions left empty are dropped)."""
        wanted = set(criterion_ids)
        dimensions = []
        for dimension in self.dimensions:
            kept = tuple(c for c in dimension.criteria if c.id in wanted)
            if kept:
                dimensions.append(dimension.model_copy(update={"criteria": kept}))
        return CriteriaSet.model_validate(
            {**self.model_dump(exclude={"version"}), "dimensions": [d.model_dump() for d in dimensions]}
        )

    # --- adapters -------------------------------------------------------------------------

    @classmethod
    def from_writingbench(cls, row: dict[str, Any]) -> CriteriaSet:
        """Import a WritingBench query (v1 `criteria` or v2 `checklist`, bands `1-2` … `9-10`)."""
        from writer_r1.core.adapters import criteria_from_writingbench

        return criteria_from_writingbench(row)

    @classmethod
    def from_hellobench(cls, row: dict[str, Any]) -> CriteriaSet:
        """Import a HelloBench prompt with its checklist questions."""
        from writer_r1.core.adapters import criteria_from_hellobench

        return criteria_from_hellobench(row)

    @classmethod
    def load(cls, path: str) -> CriteriaSet:
        """Read and validate a criteria set from a JSON file."""
        with open(path, encoding="utf-8") as handle:
            return cls.model_validate_json(handle.read())


def criteria_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a criteria file."""
    return CriteriaSet.model_json_schema(mode="validation")
