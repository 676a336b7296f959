"""The completeness rule in the loop: an incomplete scorecard is never accepted, never reaches the target,
and two cards are compared only on the criteria scored in both."""

from __future__ import annotations

import pytest
from writer_r1.core.scorecard import CriterionScore, Scorecard, UnscoredCriterion
from writer_r1.graphs.context import ReflectionContext
from writer_r1.graphs.reflection import acceptance, areflect, stop_reason


async def test_an_incomplete_revision_is_rejected_and_never_stops_the_loop_on_target(roles, criteria) -> None:
    script = roles(
        revisions=["«R1» imagery only", "«R2» unused"],
        # R1: imagery at the top, pace never judged (its verdict is missing from every reply)
        levels={"D0": {"imagery": 2, "pace": 2}, "R1": {"imagery": 5}},
    )
    result = await areflect(
        "Write a short story about a lighthouse keeper",
        model=script.model(),
        criteria=criteria,
        max_iterations=1,
        target_score=0.5,
        patience=5,
    )
    first, revision = result.history
    assert revision.scorecard.overall is None and not revision.scorecard.complete
    assert revision.accepted is False and "unscored" in revision.verdict
    assert result.best_draft == first.text and result.stop_reason == "max_iterations"


def _card(levels: dict[str, float], unscored: tuple[str, ...] = (), overall: float | None = None) -> Scorecard:
    scores = tuple(CriterionScore(criterion_id=k, reason="r", level=1, score=v) for k, v in levels.items())
    missing = tuple(UnscoredCriterion(criterion_id=k, reason="no verdict") for k in unscored)
    weights = {key: 1 / 3 for key in ("a", "b", "c")}
    return Scorecard(criteria_version="v", scores=scores, unscored=missing, overall=overall, weights=weights)


def test_a_partial_card_is_never_accepted_even_with_a_relaxed_overall() -> None:
    best = _card({"a": 0.5, "b": 0.5, "c": 0.5}, overall=0.5)
    relaxed = _card({"a": 1.0, "b": 1.0}, unscored=("c",), overall=1.0)  # as if built with min_coverage < 1
    accepted, why = acceptance(best, relaxed, min_gain=0.01)
    assert accepted is False and "1 criteria unscored" in why


def test_a_complete_card_is_compared_with_an_incomplete_best_on_shared_criteria() -> None:
    best = _card({"a": 0.75, "b": 0.75}, unscored=("c",))
    worse = _card({"a": 0.5, "b": 0.5, "c": 1.0}, overall=2 / 3)  # its overall beats 0.75 only thanks to "c"
    assert acceptance(best, worse, min_gain=0.01)[0] is False
    better = _card({"a": 1.0, "b": 0.75, "c": 0.0}, overall=1.75 / 3)
    accepted, why = acceptance(best, better, min_gain=0.01)
    assert accepted is True and "2 shared criteria" in why


def test_an_incomplete_best_never_reaches_the_target() -> None:
    context = ReflectionContext(target_score=0.5, max_iterations=9, patience=9)
    relaxed = _card({"a": 1.0, "b": 1.0}, unscored=("c",), overall=1.0)
    assert stop_reason(relaxed, iterations=1, stale_rounds=0, context=context) is None
    complete = _card({"a": 1.0, "b": 1.0, "c": 1.0}, overall=1.0)
    assert stop_reason(complete, iterations=1, stale_rounds=0, context=context) == "target_reached"


@pytest.mark.parametrize("coverage", [1.0, 0.5])
def test_min_coverage_sets_when_a_card_has_an_overall(criteria, coverage: float) -> None:
    scored = [CriterionScore(criterion_id="imagery", reason="r", level=5, score=1.0)]
    missing = [UnscoredCriterion(criterion_id="pace", reason="no verdict")]
    card = Scorecard.build(criteria, scored, missing, min_coverage=coverage)
    assert card.coverage == pytest.approx(0.5)
    assert (card.overall is None) is (coverage == 1.0)
    with pytest.raises(ValueError, match="min_coverage"):
        Scorecard.build(criteria, scored, missing, min_coverage=0.0)
