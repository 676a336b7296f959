"""Scorecards: what a judge and the constraint checks say about one text.

A judge failure is never a score: a criterion that could not be judged is an explicit
`UnscoredCriterion`, and `overall` is computed over what was scored (None when nothing was).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from writer_r1.core.criteria import CriteriaSet


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CriterionScore(_Frozen):
    """A judged criterion: the reason comes first, then the level it justifies."""

    criterion_id: str
    reason: str
    level: int = Field(ge=1)
    score: float = Field(ge=0.0, le=1.0)


class UnscoredCriterion(_Frozen):
    """A criterion the judge could not score, and why."""

    criterion_id: str
    reason: str


class DimensionScore(_Frozen):
    name: str
    weight: float
    score: float | None = Field(default=None, ge=0.0, le=1.0)


class ConstraintResult(_Frozen):
    """The verdict on one constraint. `passed=None` means it could not be verified."""

    id: str
    kwargs: dict = Field(default_factory=dict)
    passed: bool | None
    detail: str = ""
    method: Literal["rule", "llm"] = "rule"


class Scorecard(_Frozen):
    """Per-criterion scores, dimension subtotals, a weighted overall and constraint results."""

    criteria_version: str
    scores: tuple[CriterionScore, ...] = ()
    unscored: tuple[UnscoredCriterion, ...] = ()
    dimensions: tuple[DimensionScore, ...] = ()
    overall: float | None = Field(default=None, ge=0.0, le=1.0)
    constraints: tuple[ConstraintResult, ...] = ()

    @classmethod
    def build(
        cls,
        criteria: CriteriaSet,
        scores: list[CriterionScore],
        unscored: list[UnscoredCriterion],
        constraints: list[ConstraintResult] | tuple[ConstraintResult, ...] = (),
    ) -> Scorecard:
        """Assemble a scorecard in the criteria set's order, with weighted subtotals over what was scored."""
        by_id = {s.criterion_id: s for s in scores}
        ordered = [by_id[c.id] for c in criteria.criteria if c.id in by_id]
        unscored_ids = {u.criterion_id for u in unscored}
        missing = [
            UnscoredCriterion(criterion_id=c.id, reason="no verdict was produced")
            for c in criteria.criteria
            if c.id not in by_id and c.id not in unscored_ids
        ]
        dimensions: list[DimensionScore] = []
        overall_sum = overall_weight = 0.0
        for dimension in criteria.dimensions:
            scored = [(c.weight, by_id[c.id].score) for c in dimension.criteria if c.id in by_id]
            weight_sum = sum(w for w, _ in scored)
            subtotal = sum(w * s for w, s in scored) / weight_sum if scored else None
            dimensions.append(DimensionScore(name=dimension.name, weight=dimension.weight, score=subtotal))
            if subtotal is not None:
                overall_sum += dimension.weight * subtotal
                overall_weight += dimension.weight
        overall = min(1.0, max(0.0, overall_sum / overall_weight)) if overall_weight else None
        return cls(
            criteria_version=criteria.version,
            scores=tuple(ordered),
            unscored=tuple(list(unscored) + missing),
            dimensions=tuple(dimensions),
            overall=overall,
            constraints=tuple(constraints),
        )

    def with_constraints(self, constraints: list[ConstraintResult]) -> Scorecard:
        return self.model_copy(update={"constraints": tuple(constraints)})

    @property
    def complete(self) -> bool:
        return not self.unscored

    @property
    def constraints_passed(self) -> bool:
        """True when every constraint passed (an unverifiable one does not count as passed)."""
        return all(result.passed is True for result in self.constraints)

    @property
    def failed_constraints(self) -> list[ConstraintResult]:
        return [result for result in self.constraints if result.passed is False]

    @property
    def constraint_pass_rate(self) -> float | None:
        verified = [r for r in self.constraints if r.passed is not None]
        if not verified:
            return None
        return sum(1 for r in verified if r.passed) / len(verified)

    def score_of(self, criterion_id: str) -> CriterionScore | None:
        for score in self.scores:
            if score.criterion_id == criterion_id:
                return score
        return None
