"""WritingBench and HelloBench rubrics import and round-trip through JSON exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from writer_r1.core.adapters import WRITINGBENCH_BANDS
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.errors import UserError

WRITINGBENCH_FILES = [
    "v1_style_subset.jsonl",
    "v1_format_subset.jsonl",
    "v1_length_subset.jsonl",
    "v1_style_subset_C.jsonl",
    "v2_length_subset.jsonl",
    "v2_length_subset_C.jsonl",
]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("name", WRITINGBENCH_FILES)
def test_every_writingbench_rubric_imports_and_round_trips(test_data: Path, name: str) -> None:
    for row in _rows(test_data / "writingbench" / name):
        criteria = CriteriaSet.from_writingbench(row)
        items = row.get("checklist") or row["criteria"]
        assert len(criteria.criteria) == len(items)
        for criterion, item in zip(criteria.criteria, items, strict=True):
            assert criterion.name == item["name"]
            assert [level.label for level in criterion.levels] == list(WRITINGBENCH_BANDS)
            assert [level.anchor for level in criterion.levels] == [item[band] for band in WRITINGBENCH_BANDS]
        assert CriteriaSet.model_validate_json(criteria.model_dump_json()) == criteria


def test_writingbench_detects_chinese_queries(test_data: Path) -> None:
    languages = {
        CriteriaSet.from_writingbench(r).language for r in _rows(test_data / "writingbench" / "v2_length_subset.jsonl")
    }
    assert languages == {"en", "zh"}


def test_every_hellobench_checklist_imports_and_round_trips(test_data: Path) -> None:
    rows = _rows(test_data / "hellobench" / "heuristic_text_generation.jsonl")
    assert len(rows) == 16 and len({row["category"] for row in rows}) == 5
    for row in rows:
        criteria = CriteriaSet.from_hellobench(row)
        assert [c.description for c in criteria.criteria] == [q.strip() for q in row["checklists"]]
        assert all(c.max_level == 5 for c in criteria.criteria)
        assert CriteriaSet.model_validate_json(criteria.model_dump_json()) == criteria


def test_hellobench_levels_match_its_score_scale() -> None:
    criteria = CriteriaSet.from_hellobench(
        {"id": "x", "category": "story", "instruction": "Write", "checklists": ["Is it good?"]}
    )
    criterion = criteria.criteria[0]
    assert [criterion.score_of(level) for level in range(1, 6)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [level.label for level in criterion.levels] == ["0", "0.25", "0.5", "0.75", "1"]


@pytest.mark.parametrize(
    "row",
    [{}, {"criteria": []}, {"criteria": [{"name": "x", "criteria_description": "y"}]}, {"checklist": "nope"}],
)
def test_malformed_writingbench_rows_are_clear_errors(row: dict) -> None:
    with pytest.raises(UserError):
        CriteriaSet.from_writingbench(row)


def test_duplicate_names_get_distinct_ids() -> None:
    item = {"name": "Style", "criteria_description": "d", **{band: band for band in WRITINGBENCH_BANDS}}
    criteria = CriteriaSet.from_writingbench({"query": "q", "criteria": [item, item]})
    assert [c.id for c in criteria.criteria] == ["style", "style-2"]


def test_writingbench_criterion_with_a_null_name_is_a_clear_error() -> None:
    item = {"name": None, "criteria_description": "d", **{band: "x" for band in WRITINGBENCH_BANDS}}
    with pytest.raises(UserError, match=r"criterion 0 lacks \['name'\]"):
        CriteriaSet.from_writingbench({"query": "q", "checklist": [item]})
