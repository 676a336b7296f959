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
from collections.abc import Mapping, Sequence
from itertools import zip_longest
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ConfigDict, Field
from writer_r1.core.criteria import (
    ConstraintSpec,
    CriteriaSet,
    Criterion,
    Dimension,
    Example,
    Level,
    Provenance,
    slugify,
)
from writer_r1.core.records import Category, Code, Critique, RequirementCode

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
    codes: list[str] = Field(default_factory=list, description="Ids of the codes that ground it (C1, C2 ...).")
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


class InducedCategory(_Schema):
    """Axial coding: one property of the writing and the codes that vary along it."""

    name: str = Field(min_length=1)
    description: str = ""
    codes: list[str] = Field(default_factory=list, description="Ids of its codes (C1, C2 ...).")


class Induction(_Schema):
    """What the inducer model returns: categories (axial), the core category (selective), the criteria."""

    categories: list[InducedCategory] = Field(default_factory=list)
    core_category: str = ""
    dimensions: list[InducedDimension] = Field(min_length=1)
    constraints: list[InducedConstraint] = Field(default_factory=list)
    language: str = "en"


class ConceptSummary(BaseModel):
    """One concept as the inducer sees it: an id, a representative observation, quotes, how many texts show it."""

    id: str = ""
    concept: str
    observation: str
    polarity: str
    count: int
    quotes: list[str] = Field(default_factory=list)


MAX_QUOTE_CHARS = 160


def _short(quote: str) -> str:
    quote = " ".join(quote.split())
    return quote if len(quote) <= MAX_QUOTE_CHARS else quote[: MAX_QUOTE_CHARS - 1].rstrip() + "…"


def summarise_codes(codes: Sequence[Code], limit: int = 80, quotes: int = 2) -> list[ConceptSummary]:
    """Codes grouped by (concept, polarity), most frequent first, numbered C1, C2 ... — the inducer's view.

    Each concept keeps up to `quotes` quotes from different texts, so a criterion can quote its evidence.
    """
    texts: dict[tuple[str, str], set[int]] = {}
    members: dict[tuple[str, str], list[Code]] = {}
    for code in codes:
        key: tuple[str, str] = (code.concept.strip().casefold(), code.polarity)
        texts.setdefault(key, set()).add(code.source)
        members.setdefault(key, []).append(code)
    ordered = sorted(texts, key=lambda key: (-len(texts[key]), key))
    summaries = []
    for number, key in enumerate(ordered[:limit], start=1):
        first = members[key][0]
        shown: list[str] = []
        seen_sources: set[int] = set()
        for code in members[key]:
            if code.source not in seen_sources and len(shown) < quotes:
                seen_sources.add(code.source)
                shown.append(_short(code.quote))
        summaries.append(
            ConceptSummary(
                id=f"C{number}",
                concept=first.concept,
                observation=first.observation,
                polarity=key[1],
                count=len(texts[key]),
                quotes=shown,
            )
        )
    return summaries


def code_table(codes: Sequence[Code], limit: int = 80) -> dict[str, list[Code]]:
    """The codes behind each id the inducer is shown (`summarise_codes` numbering)."""
    members: dict[tuple[str, str], list[Code]] = {}
    for code in codes:
        members.setdefault((code.concept.strip().casefold(), code.polarity), []).append(code)
    return {
        summary.id: members[(summary.concept.strip().casefold(), summary.polarity)]
        for summary in summarise_codes(codes, limit)
    }


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


_QUOTE_MARKS = ('"', "\u201c", "\u201d", "\u300c", "\u300e", "\u00ab", "'")
MAX_EXAMPLES = 4


def grounding_codes(induced: InducedCriterion, table: Mapping[str, Sequence[Code]]) -> list[Code]:
    """The codes a criterion names by id, then those whose concept label it lists as evidence."""
    found: list[Code] = []
    for code_id in induced.codes:
        found += table.get(code_id.strip().upper(), [])
    labels = {label.strip().casefold() for label in induced.evidence}
    for members in table.values():
        if members and members[0].concept.strip().casefold() in labels:
            found += [code for code in members if code not in found]
    return found


def _with_example(anchor: str, code: Code | None) -> str:
    if code is None or any(mark in anchor for mark in _QUOTE_MARKS):
        return anchor
    return f'{anchor.rstrip(". ")} (e.g. "{_short(code.quote)}")'


def grounded_levels(anchors: Sequence[str], codes: Sequence[Code]) -> tuple[Level, ...]:
    """Level anchors grounded in the codes: the worst one quotes a weakness code, the best a strength code,
    unless the model already quoted an example in them.

    Example:
        >>> codes = [Code(concept="cliché", observation="o", quote="dark and stormy night", polarity="weakness"),
        ...          Code(concept="fresh image", observation="o", quote="the fog ate the beam", polarity="strength")]
        >>> [level.anchor for level in grounded_levels(["stock phrases", "some", "fresh images"], codes)]
        ['stock phrases (e.g. "dark and stormy night")', 'some', 'fresh images (e.g. "the fog ate the beam")']
    """
    cleaned = [anchor.strip() or f"level {i + 1}" for i, anchor in enumerate(anchors)]
    weakness = next((code for code in codes if code.polarity == "weakness"), None)
    strength = next((code for code in codes if code.polarity == "strength"), None)
    cleaned[0] = _with_example(cleaned[0], weakness)
    cleaned[-1] = _with_example(cleaned[-1], strength)
    return tuple(Level(anchor=anchor) for anchor in cleaned)


def _examples(codes: Sequence[Code]) -> tuple[Example, ...]:
    """Up to MAX_EXAMPLES quotes, strengths and weaknesses alternating, one per text where possible."""
    strengths = [code for code in codes if code.polarity == "strength"]
    weaknesses = [code for code in codes if code.polarity == "weakness"]
    picked: list[Code] = []
    for pair in zip_longest(strengths, weaknesses):
        picked += [code for code in pair if code is not None and code not in picked]
    unique = list({(code.quote, code.source): code for code in picked}.values())[:MAX_EXAMPLES]
    return tuple(
        Example(concept=code.concept, quote=code.quote, polarity=code.polarity, source=code.source) for code in unique
    )


def criteria_from_induction(
    induction: Induction,
    *,
    task: str,
    constraints: Sequence[ConstraintSpec] = (),
    provenance: Provenance | None = None,
    codes: Mapping[str, Sequence[Code]] | None = None,
    language: str | None = None,
) -> CriteriaSet:
    """A validated `CriteriaSet` from an induction: slug ids made unique, weights as given (normalise later).

    With `codes` (id → the codes behind it, see `code_table`) each criterion keeps its grounding quotes as
    `examples`, its evidence lists their concepts, and its worst and best anchors quote a weakness and a
    strength code. `language` (the task's) overrides the language the model reported.
    """
    table = codes or {}
    taken: set[str] = set()
    dimensions = []
    for dimension in induction.dimensions:
        criteria = []
        for induced in dimension.criteria:
            grounding = grounding_codes(induced, table)
            evidence = [e.strip() for e in induced.evidence] + [code.concept for code in grounding]
            criteria.append(
                Criterion(
                    id=_unique(criterion_slug(induced), taken),
                    name=induced.name.strip(),
                    description=induced.description.strip(),
                    levels=grounded_levels(induced.levels, grounding),
                    weight=induced.weight,
                    kind=induced.kind,
                    evidence=tuple(dict.fromkeys(e for e in evidence if e)),
                    examples=_examples(grounding),
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
        language=(language or induction.language or "en").strip() or "en",
        provenance=provenance or Provenance(source="induced", core_category=induction.core_category.strip() or None),
    )


def categories_of(induction: Induction, table: Mapping[str, Sequence[Code]]) -> list[Category]:
    """The induction's axial categories as `Category` records, their concepts read from the code ids."""
    categories = []
    for category in induction.categories:
        concepts = [members[0].concept for code_id in category.codes if (members := table.get(code_id.strip().upper()))]
        categories.append(
            Category(
                name=category.name.strip(),
                description=category.description.strip(),
                concepts=list(dict.fromkeys(concepts)),
            )
        )
    return categories


def display_weights(criteria: CriteriaSet) -> dict[str, float]:
    """Weights on the inducer's 1-10 scale (normalised sets — each group summing to 1 — are scaled so the heaviest
    of a group is 10), by dimension name and criterion id."""

    def scaled(values: list[float]) -> list[float]:
        if all(1 <= value <= 10 for value in values) and abs(sum(values) - 1) > 1e-9:
            return [round(value, 1) for value in values]
        top = max(values)
        return [round(max(1.0, 10 * value / top), 1) for value in values]

    weights = dict(
        zip([d.name for d in criteria.dimensions], scaled([d.weight for d in criteria.dimensions]), strict=True)
    )
    for dimension in criteria.dimensions:
        ids = [c.id for c in dimension.criteria]
        weights |= dict(zip(ids, scaled([c.weight for c in dimension.criteria]), strict=True))
    return weights


class Inducer:
    """Induces criteria from codes (and adapts a stored set to a new task) with one structured call each.

    Args:
        model: the chat model that induces.
        levels: level anchors per criterion to ask for (3-7).
        retries: structured-output retries for invalid inductions.
        language: the task's language code; every name, description and anchor is written in it.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        levels: int = 5,
        retries: int = 2,
        template: str | None = None,
        language: str | None = None,
    ) -> None:
        if not MIN_LEVELS <= levels <= MAX_LEVELS:
            raise ValueError(f"levels must be within {MIN_LEVELS}..{MAX_LEVELS}, got {levels}")
        self.model = model
        self.levels = levels
        self.retries = retries
        self.template = template
        self.language = language

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
        """The prompt: numbered codes with quotes, the previous criteria in full (levels, weights), the critique."""
        from writer_r1.agents.language import language_for, task_language
        from writer_r1.prompts import render
        from writer_r1.prompts.language import primary_code

        return render(
            "inducer",
            template=self.template,
            task=task,
            requirements=list(requirements),
            codes=summarise_codes(codes),
            texts=len({code.source for code in codes}),
            previous=previous,
            previous_label=previous_label,
            weights=display_weights(previous) if previous is not None else {},
            critique=critique if critique is not None and critique.issues else None,
            levels=self.levels,
            min_dimensions=2,
            max_dimensions=5,
            language=language_for(self.language, task),
            language_code=primary_code(self.language if self.language is not None else task_language(task)) or "en",
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
