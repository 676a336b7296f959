"""Scorecards: what a judge and the constraint checks say about one text.

A judge failure is never a score: a criterion that could not be judged is an explicit
`UnscoredCriterion`. A partial scorecard is not a score either: `overall` is None unless every
criterion is scored (`min_coverage` may relax this to a share of the criteria), and two cards are
compared only on the criteria scored in both (`shared_overall`).

Example:
    >>> from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
    >>> levels = [Level(anchor="weak"), Level(anchor="strong")]
    >>> cs = CriteriaSet(dimensions=[Dimension(name="Style", criteria=[
    ...     Criterion(id="clarity", name="Clarity", description="Easy to follow", levels=levels),
    ...     Criterion(id="pace", name="Pace", description="Moves along", levels=levels)])])
    >>> scored = [CriterionScore(criterion_id="clarity", reason="Plain.", level=2, score=1.0)]
    >>> missing = [UnscoredCriterion(criterion_id="pace", reason="no valid verdict")]
    >>> Scorecard.build(cs, scored, missing).overall is None
    True
    >>> Scorecard.build(cs, scored, missing, min_coverage=0.5).overall
    1.0
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
    """Per-criterion scores, dimension subtotals, a weighted overall and constraint results.

    `overall` is None when the scored share of the criteria (`coverage`) is below the `min_coverage`
    the card was built with (1.0 by default: every criterion must be scored). `weights` holds each
    criterion's effective weight in `overall`, for comparisons on shared criteria.
    """

    criteria_version: str
    scores: tuple[CriterionScore, ...] = ()
    unscored: tuple[UnscoredCriterion, ...] = ()
    dimensions: tuple[DimensionScore, ...] = ()
    overall: float | None = Field(default=None, ge=0.0, le=1.0)
    constraints: tuple[ConstraintResult, ...] = ()
    coverage: float = Field(default=1.0, ge=0.0, le=1.0)
    weights: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def build(
        cls,
        criteria: CriteriaSet,
        scores: list[CriterionScore],
        unscored: list[UnscoredCriterion],
        constraints: list[ConstraintResult] | tuple[ConstraintResult, ...] = (),
        *,
        min_coverage: float = 1.0,
    ) -> Scorecard:
        """Assemble a scorecard in the criteria set's order, with weighted subtotals over what was scored.

        `overall` is set only when at least `min_coverage` of the criteria (by count) are scored.
        """
        if not 0.0 < min_coverage <= 1.0:
            raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage}")
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
        coverage = len(ordered) / len(criteria.criteria) if criteria.criteria else 0.0
        enough = coverage + 1e-12 >= min_coverage
        overall = min(1.0, max(0.0, overall_sum / overall_weight)) if overall_weight and enough else None
        return cls(
            criteria_version=criteria.version,
            scores=tuple(ordered),
            unscored=tuple(list(unscored) + missing),
            dimensions=tuple(dimensions),
            overall=overall,
            constraints=tuple(constraints),
            coverage=coverage,
            weights=criteria.effective_weights(),
        )

    def with_constraints(self, constraints: list[ConstraintResult]) -> Scorecard:
        return self.model_copy(update={"constraints": tuple(constraints)})

    @property
    def complete(self) -> bool:
        """Every criterion is scored."""
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


def shared_overall(first: Scorecard, second: Scorecard) -> tuple[float, float, int] | None:
    """Both cards' weighted scores over the criteria scored in both, and how many those are.

    When both cards are complete on the same criteria this is their `overall` pair. Weights come from
    the cards (`Scorecard.weights`, equal when a card has none). None when no criterion is scored in both.

    Example:
        >>> a = Scorecard(criteria_version="v", scores=(CriterionScore(criterion_id="x", reason="r", level=2, score=0.5),))
        >>> b = Scorecard(criteria_version="v", scores=(CriterionScore(criterion_id="x", reason="r", level=3, score=1.0),
        ...     CriterionScore(criterion_id="y", reason="r", level=1, score=0.0)))
        >>> shared_overall(a, b)
        (0.5, 1.0, 1)
    """
    first_scores = {s.criterion_id: s.score for s in first.scores}
    second_scores = {s.criterion_id: s.score for s in second.scores}
    shared = [key for key in first_scores if key in second_scores]
    if not shared:
        return None
    weights = first.weights or second.weights
    total = sum(weights.get(key, 1.0) for key in shared) if weights else float(len(shared))
    if total <= 0:
        return None

    def mean(scores: dict[str, float]) -> float:
        return sum((weights.get(key, 1.0) if weights else 1.0) * scores[key] for key in shared) / total

    return mean(first_scores), mean(second_scores), len(shared)
