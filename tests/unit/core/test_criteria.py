"""The criteria data model: validation at load, content versions, JSON Schema, rubric adapters."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError
from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level, criteria_json_schema

LEVELS = [{"anchor": "weak"}, {"anchor": "fair"}, {"anchor": "strong"}]


def make_set(**overrides) -> dict:
    data = {
        "task": "Write a ghost story",
        "dimensions": [
            {
                "name": "Craft",
                "weight": 2.0,
                "criteria": [
                    {"id": "imagery", "name": "Imagery", "description": "Concrete sensory images", "levels": LEVELS},
                    {"id": "pacing", "name": "Pacing", "description": "Tension builds", "levels": LEVELS, "weight": 3},
                ],
            },
            {
                "name": "Voice",
                "criteria": [{"id": "voice", "name": "Voice", "description": "A distinct narrator", "levels": LEVELS}],
            },
        ],
    }
    data.update(overrides)
    return data


def test_valid_set_round_trips_exactly() -> None:
    criteria = CriteriaSet.model_validate(make_set())
    dumped = criteria.model_dump_json()
    again = CriteriaSet.model_validate_json(dumped)
    assert again == criteria
    assert again.model_dump_json() == dumped
    assert json.loads(dumped)["version"] == criteria.version


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["dimensions"][1]["criteria"][0].update(id="imagery"), "duplicate criterion ids"),
        (lambda d: d["dimensions"][0]["criteria"][0].update(weight=-1), "finite number > 0"),
        (lambda d: d["dimensions"][0]["criteria"][0].update(weight=0), "finite number > 0"),
        (lambda d: d["dimensions"][0]["criteria"][0].update(weight=math.nan), "finite number > 0"),
        (lambda d: d["dimensions"][0].update(weight=math.inf), "finite number > 0"),
        (lambda d: d.update(dimensions=[]), "at least 1"),
        (lambda d: d["dimensions"][0].update(criteria=[]), "at least 1"),
        (lambda d: d["dimensions"][0]["criteria"][0].update(levels=[{"anchor": "only"}]), "at least 2"),
        (lambda d: d["dimensions"][0]["criteria"][0].update(id="Not A Slug"), "pattern"),
        (lambda d: d["dimensions"][0]["criteria"][0].update(kind="vibes"), "quality"),
        (lambda d: d["dimensions"][0]["criteria"][0].update(surprise=1), "Extra inputs"),
    ],
)
def test_invalid_sets_fail_with_clear_messages(mutate, message: str) -> None:
    data = make_set()
    mutate(data)
    with pytest.raises(ValidationError, match=message):
        CriteriaSet.model_validate(data)


def test_version_is_a_content_hash() -> None:
    base = CriteriaSet.model_validate(make_set())
    assert CriteriaSet.model_validate(make_set()).version == base.version
    changed = make_set()
    changed["dimensions"][0]["criteria"][0]["description"] = "Different"
    assert CriteriaSet.model_validate(changed).version != base.version
    # A stored version is recomputed, never trusted.
    assert CriteriaSet.model_validate({**make_set(), "version": "forged"}).version == base.version


def test_effective_weights_sum_to_one_and_follow_the_hierarchy() -> None:
    weights = CriteriaSet.model_validate(make_set()).effective_weights()
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["pacing"] == pytest.approx(2 / 3 * 3 / 4)
    assert weights["voice"] == pytest.approx(1 / 3)


def test_levels_map_worst_to_zero_and_best_to_one() -> None:
    criterion = Criterion(id="c", name="C", description="d", levels=tuple(Level(anchor=str(i)) for i in range(5)))
    assert [criterion.score_of(level) for level in (1, 3, 5)] == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="outside 1..5"):
        criterion.score_of(6)


def test_normalized_and_subset_keep_validity() -> None:
    criteria = CriteriaSet.model_validate(make_set())
    normalized = criteria.normalized()
    assert sum(d.weight for d in normalized.dimensions) == pytest.approx(1.0)
    assert normalized.effective_weights() == pytest.approx(criteria.effective_weights())
    subset = criteria.subset(["voice"])
    assert [c.id for c in subset.criteria] == ["voice"]
    assert [d.name for d in subset.dimensions] == ["Voice"]


def test_published_json_schema_is_current() -> None:
    published = Path(__file__).resolve().parents[3] / "core" / "criteria.schema.json"
    assert json.loads(published.read_text()) == criteria_json_schema(), (
        "core/criteria.schema.json is stale: regenerate it with "
        "python -c 'import json, writer_r1.core.criteria as c; print(json.dumps(c.criteria_json_schema(), indent=2))'"
    )


def test_dimension_requires_positive_weight() -> None:
    with pytest.raises(ValidationError):
        Dimension(name="x", weight=-2, criteria=())
