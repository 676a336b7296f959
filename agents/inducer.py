"""The inducer: axial and selective coding — codes → criteria → dimensions, with level anchors and weights.

The model fills `Induction` (ids optional); `criteria_from_induction` turns it into a `CriteriaSet` with
stable, unique slug ids (a criterion keeps its id across rounds while its name or given id stays) and
registry constraints validated against their checkers. An invalid reply is retried with the error fed
back (`ainvoke_structured`); a model that never produces a valid induction raises `StructuredOutputError`.

Example:
    >>> induction = Induction.model_validate({"dimensions": [{"name": "Craft", "criteria": [
    ...     {"name": "Imagery", "description": "Concrete sensory images", "levels": ["none", "some", "vivid"]}]}]})
    >>> criteria_from_induction(induction, task="A poem").criteria[0].id
    'imagery'
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ConfigDict, Field
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet, Criterion, Dimension, Level, Provenance, slugify
from writer_r1.core.records import Code, Critique, RequirementCode

logger = logging.getLogger(__name__)

MIN_LEVELS, MAX_LEVELS = 3, 7


class _Schema(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InducedCriterion(_Schema):
    id: str | None = Field(default=None, description="Optional; keep a previous id when the criterion is the same.")
    name: str = Field(min_length=1)
    description: str = Field(min_length=1, description="What a judge observes in the text.")
    levels: list[str] = Field(min_length=MIN_LEVELS, max_length=MAX_LEVELS, description="Anchors, worst first.")
    weight: float = Field(default=5.0, ge=1, le=10, description="Importance for the task, 1-10.")
    kind: Literal["quality", "constraint"] = "quality"
    evidence: list[str] = Field(default_factory=list, description="Concept labels that ground it.")


class InducedDimension(_Schema):
    name: str = Field(min_length=1)
    description: str = ""
    weight: float = Field(default=5.0, ge=1, le=10)
    criteria: list[InducedCriterion] = Field(min_length=1)


class InducedConstraint(_Schema):
    requirement: str = ""
    id: str = Field(description="A checker id from the list.")
    kwargs: dict[str, Any] = Field(default_factory=dict)


class Induction(_Schema):
    """What the inducer model returns."""

    dimensions: list[InducedDimension] = Field(min_length=1)
    constraints: list[InducedConstraint] = Field(default_factory=list)
    language: str = "en"


class ConceptSummary(BaseModel):
    """One concept as the inducer sees it: a representative observation and how many texts show it."""

    concept: str
    observation: str
    polarity: str
    count: int


def summarise_codes(codes: Sequence[Code], limit: int = 80) -> list[ConceptSummary]:
    """Codes grouped by (concept, polarity), most frequent first — the inducer's view of the data."""
    texts: dict[tuple[str, str], set[int]] = {}
    first: dict[tuple[str, str], Code] = {}
    for code in codes:
        key = (code.concept.strip().casefold(), code.polarity)
        texts.setdefault(key, set()).add(code.source)
        first.setdefault(key, code)
    ordered = sorted(texts, key=lambda key: (-len(texts[key]), key))
    return [
        ConceptSummary(
            concept=first[key].concept, observation=first[key].observation, polarity=key[1], count=len(texts[key])
        )
        for key in ordered[:limit]
    ]


def _unique(slug: str, taken: set[str]) -> str:
    candidate, number = slug, 2
    while candidate in taken:
        candidate, number = f"{slug}-{number}", number + 1
    taken.add(candidate)
    return candidate


def criterion_slug(induced: InducedCriterion) -> str:
    """The given id or the name as a slug; a name with no ASCII letters (Chinese ...) gets a hash of itself."""
    source = (induced.id or "").strip() or induced.name
    slug = slugify(source, fallback="")
    return slug or "c-" + hashlib.sha256(source.strip().encode()).hexdigest()[:8]


def validated_constraints(induced: Sequence[InducedConstraint]) -> tuple[list[ConstraintSpec], list[str]]:
    """Registry constraints whose checker accepts the kwargs, and a note for each one dropped."""
    from writer_r1.constraints import get_checker

    kept: list[ConstraintSpec] = []
    notes: list[str] = []
    for item in induced:
        kwargs = {key: value for key, value in item.kwargs.items() if value is not None}
        try:
            get_checker(item.id, **kwargs)
            kept.append(ConstraintSpec(id=item.id, kwargs=kwargs, description=item.requirement or None))
        except ValueError as error:
            notes.append(f"dropped constraint {item.id}: {str(error).splitlines()[0]}")
    return kept, notes


def criteria_from_induction(
    induction: Induction,
    *,
    task: str,
    constraints: Sequence[ConstraintSpec] = (),
    provenance: Provenance | None = None,
) -> CriteriaSet:
    """A validated `CriteriaSet` from an induction: slug ids made unique, weights as given (normalise later)."""
    taken: set[str] = set()
    dimensions = []
    for dimension in induction.dimensions:
        criteria = []
        for induced in dimension.criteria:
            criteria.append(
                Criterion(
                    id=_unique(criterion_slug(induced), taken),
                    name=induced.name.strip(),
                    description=induced.description.strip(),
                    levels=tuple(
                        Level(anchor=anchor.strip() or f"level {i + 1}") for i, anchor in enumerate(induced.levels)
                    ),
                    weight=induced.weight,
                    kind=induced.kind,
                    evidence=tuple(dict.fromkeys(e.strip() for e in induced.evidence if e.strip())),
                )
            )
        dimensions.append(
            Dimension(
                name=dimension.name.strip(),
                description=dimension.description.strip(),
                weight=dimension.weight,
                criteria=tuple(criteria),
            )
        )
    return CriteriaSet(
        task=task,
        dimensions=tuple(dimensions),
        constraints=tuple(constraints),
        language=(induction.language or "en").strip() or "en",
        provenance=provenance or Provenance(source="induced"),
    )


class Inducer:
    """Induces criteria from codes (and adapts a stored set to a new task) with one structured call each.

    Args:
        model: the chat model that induces.
        levels: level anchors per criterion to ask for (3-7).
        retries: structured-output retries for invalid inductions.
    """

    def __init__(self, model: BaseChatModel, *, levels: int = 5, retries: int = 2, template: str | None = None) -> None:
        if not MIN_LEVELS <= levels <= MAX_LEVELS:
            raise ValueError(f"levels must be within {MIN_LEVELS}..{MAX_LEVELS}, got {levels}")
        self.model = model
        self.levels = levels
        self.retries = retries
        self.template = template

    def prompt(
        self,
        task: str,
        codes: Sequence[Code] = (),
        requirements: Sequence[RequirementCode] = (),
        *,
        previous: CriteriaSet | None = None,
        previous_label: str = "Previous criteria",
        critique: Critique | None = None,
    ) -> str:
        from writer_r1.constraints import catalog
        from writer_r1.prompts import render

        return render(
            "inducer",
            template=self.template,
            task=task,
            requirements=list(requirements),
            codes=summarise_codes(codes),
            texts=len({code.source for code in codes}),
            previous=previous,
            previous_label=previous_label,
            critique=critique if critique is not None and critique.issues else None,
            catalog=[entry for entry in catalog() if entry["id"] != "llm:requirement"],
            levels=self.levels,
            min_dimensions=2,
            max_dimensions=5,
        )

    async def ainduce(
        self,
        task: str,
        codes: Sequence[Code] = (),
        requirements: Sequence[RequirementCode] = (),
        *,
        previous: CriteriaSet | None = None,
        critique: Critique | None = None,
    ) -> Induction:
        """One induction from the codes, revising `previous` when given (with the critic's issues)."""
        from writer_r1.core.structured import ainvoke_structured

        prompt = self.prompt(task, codes, requirements, previous=previous, critique=critique)
        return await ainvoke_structured(self.model, [HumanMessage(content=prompt)], Induction, retries=self.retries)

    async def aadapt(self, criteria: CriteriaSet, task: str) -> Induction:
        """Adapt criteria built for a similar task to `task` (one call): keep what fits, change what does not."""
        from writer_r1.core.structured import ainvoke_structured

        prompt = self.prompt(
            task, previous=criteria, previous_label=f"Criteria built for a similar task ({criteria.task!r})"
        )
        return await ainvoke_structured(self.model, [HumanMessage(content=prompt)], Induction, retries=self.retries)


def concept_counts(codes: Sequence[Code]) -> Counter[str]:
    """How many codes use each concept label (case-folded)."""
    return Counter(code.concept.strip().casefold() for code in codes)
