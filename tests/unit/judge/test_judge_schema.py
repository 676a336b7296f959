"""The generated verdict schema and the per-criterion reply parser, table-driven with adversarial replies."""

from __future__ import annotations

import json

import pytest
from writer_r1.agents.judge_schema import (
    pairwise_schema,
    parse_pairwise,
    parse_verdicts,
    verdict_contract,
    verdict_schema,
)
from writer_r1.core.structured import response_format_for


def test_schema_has_one_required_bounded_property_per_criterion(criteria) -> None:
    schema = verdict_schema(criteria.criteria)
    assert schema["required"] == ["imagery", "pacing", "clarity"]
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == ["imagery", "pacing", "clarity"]
    for criterion in criteria.criteria:
        prop = schema["properties"][criterion.id]
        assert list(prop["properties"]) == ["reason", "level"]  # the reason is generated before the level
        assert prop["required"] == ["reason", "level"] and prop["additionalProperties"] is False
        assert prop["properties"]["level"] == {"type": "integer", "minimum": 1, "maximum": criterion.max_level}


def test_contract_is_strict_and_becomes_a_json_schema_response_format(criteria) -> None:
    contract = verdict_contract(criteria.criteria)
    assert contract.strict is True
    fmt = response_format_for(contract)
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == verdict_schema(criteria.criteria)


def test_contract_parse_is_all_or_nothing(criteria) -> None:
    contract = verdict_contract(criteria.criteria)
    good = {key: {"reason": "r", "level": 1} for key in ("imagery", "pacing", "clarity")}
    assert set(contract.parse(good).scores) == {"imagery", "pacing", "clarity"}
    with pytest.raises(ValueError, match="pacing"):
        contract.parse({**good, "pacing": {"reason": "r", "level": 9}})


def _v(level: object, reason: object = "because") -> dict:
    return {"reason": reason, "level": level}


GOOD = {"imagery": _v(4), "pacing": _v(2), "clarity": _v(3)}
ZW = "\u200b"

# (name, reply, expected valid ids, ids expected to be problems with a fragment of the problem)
CASES = [
    ("plain", json.dumps(GOOD), {"imagery", "pacing", "clarity"}, {}),
    (
        "code fence",
        "Here you go:\n```json\n" + json.dumps(GOOD, indent=2) + "\n```",
        {"imagery", "pacing", "clarity"},
        {},
    ),
    (
        "prose",
        "The imagery is strong, I would give it 4/5 and clarity 3.",
        set(),
        {"imagery": "no JSON object", "pacing": "no JSON object", "clarity": "no JSON object"},
    ),
    ("empty", "", set(), {"imagery": "empty"}),
    (
        "schema echo",
        json.dumps({"type": "object", "properties": {"imagery": {"type": "object"}}}),
        set(),
        {"imagery": "no verdict"},
    ),
    (
        "format example echo",
        '{"imagery": {"reason": "<short reason>", "level": <integer>}}',
        set(),
        {"imagery": "no JSON object"},
    ),
    (
        "echo then answer",
        '{"imagery": {"reason": "<short reason>", "level": "<integer>"}} ' + json.dumps(GOOD),
        {"imagery", "pacing", "clarity"},
        {},
    ),
    ("truncated", json.dumps(GOOD)[:40], set(), {"imagery": "no JSON object"}),
    (
        "missing criterion",
        json.dumps({"imagery": _v(4), "clarity": _v(3)}),
        {"imagery", "clarity"},
        {"pacing": "no verdict"},
    ),
    (
        "duplicate criterion key",
        '{"imagery": {"reason": "a", "level": 4}, "pacing": {"reason": "b", "level": 2}, '
        '"clarity": {"reason": "c", "level": 3}, "imagery": {"reason": "d", "level": 1}}',
        {"pacing", "clarity"},
        {"imagery": "more than once"},
    ),
    (
        "duplicate level key",
        '{"imagery": {"reason": "a", "level": 4, "level": 5}, "pacing": {"reason": "b", "level": 2},'
        ' "clarity": {"reason": "c", "level": 3}}',
        {"pacing", "clarity"},
        {"imagery": "level more than once"},
    ),
    ("out of range high", json.dumps({**GOOD, "pacing": _v(4)}), {"imagery", "clarity"}, {"pacing": "1 to 3, got 4"}),
    ("out of range zero", json.dumps({**GOOD, "imagery": _v(0)}), {"pacing", "clarity"}, {"imagery": "got 0"}),
    ("negative", json.dumps({**GOOD, "imagery": _v(-2)}), {"pacing", "clarity"}, {"imagery": "got -2"}),
    ("float level", json.dumps({**GOOD, "imagery": _v(2.5)}), {"pacing", "clarity"}, {"imagery": "got 2.5"}),
    ("integral float level", json.dumps({**GOOD, "imagery": _v(2.0)}), {"pacing", "clarity"}, {"imagery": "got 2.0"}),
    ("string level", json.dumps({**GOOD, "clarity": _v("3")}), {"imagery", "pacing"}, {"clarity": 'got "3"'}),
    ("boolean level", json.dumps({**GOOD, "clarity": _v(True)}), {"imagery", "pacing"}, {"clarity": "got true"}),
    ("null level", json.dumps({**GOOD, "clarity": _v(None)}), {"imagery", "pacing"}, {"clarity": "got null"}),
    ("no level", json.dumps({**GOOD, "clarity": {"reason": "r"}}), {"imagery", "pacing"}, {"clarity": "no level"}),
    ("empty reason", json.dumps({**GOOD, "clarity": _v(3, "  ")}), {"imagery", "pacing"}, {"clarity": "reason"}),
    ("reason not a string", json.dumps({**GOOD, "clarity": _v(3, 7)}), {"imagery", "pacing"}, {"clarity": "reason"}),
    (
        "verdict not an object",
        json.dumps({**GOOD, "clarity": 3}),
        {"imagery", "pacing"},
        {"clarity": "must be an object"},
    ),
    (
        "extra keys are ignored",
        json.dumps({**GOOD, "imagery": {**_v(4), "confidence": 0.9}, "note": "hi"}),
        {"imagery", "pacing", "clarity"},
        {},
    ),
    (
        "unknown criterion",
        json.dumps({"imagery": _v(4), "pacing": _v(2), "clarty": _v(3)}),
        {"imagery", "pacing"},
        {"clarity": "no verdict"},
    ),
    (
        "zero-width characters",
        json.dumps(GOOD).replace('"imagery"', f'"ima{ZW}gery"').replace(": 4", f":{ZW} 4"),
        {"imagery", "pacing", "clarity"},
        {},
    ),
    ("wrapped in one key", json.dumps({"verdicts": GOOD}), {"imagery", "pacing", "clarity"}, {}),
    ("a list, not an object", json.dumps([GOOD]), {"imagery", "pacing", "clarity"}, {}),
]


@pytest.mark.parametrize(("name", "reply", "valid", "problems"), CASES, ids=[c[0] for c in CASES])
def test_parse_verdicts(criteria, name: str, reply: str, valid: set[str], problems: dict[str, str]) -> None:
    parsed = parse_verdicts(reply, criteria.criteria)
    assert set(parsed.scores) == valid
    assert set(parsed.problems) == {c.id for c in criteria.criteria} - valid
    for criterion_id, fragment in problems.items():
        assert fragment in parsed.problems[criterion_id]
    for criterion_id, score in parsed.scores.items():
        criterion = criteria.criterion(criterion_id)
        assert type(score.level) is int and 1 <= score.level <= criterion.max_level
        assert score.score == criterion.score_of(score.level)
        assert score.reason


def test_parse_takes_levels_from_the_reply() -> None:
    from writer_r1.core.criteria import Criterion, Level

    scale = Criterion(id="x", name="X", description="x", levels=[Level(anchor=str(i)) for i in range(5)])
    parsed = parse_verdicts('{"x": {"reason": "ok", "level": 2}}', [scale])
    assert (parsed.scores["x"].level, parsed.scores["x"].score) == (2, 0.25)


def test_contradictory_objects_are_never_merged(criteria) -> None:
    first = json.dumps({"imagery": _v(5)})
    second = json.dumps({"pacing": _v(1), "clarity": _v(1)})
    parsed = parse_verdicts(first + "\n" + second, criteria.criteria)
    assert set(parsed.scores) == {"pacing", "clarity"}  # the object settling more criteria wins, alone


def test_pairwise_schema_and_parser() -> None:
    assert pairwise_schema()["properties"]["winner"]["enum"] == ["A", "B", "tie"]
    assert list(pairwise_schema()["properties"]) == ["reason", "winner"]
    assert parse_pairwise('```json\n{"reason": "A is vivid", "winner": "A"}\n```') == ("A", "A is vivid")
    assert parse_pairwise('{"reason": "same", "winner": "tie"}') == ("tie", "same")
    for bad in (
        '{"reason": "x", "winner": "a"}',
        '{"winner": "A"}',
        "A is better",
        '{"reason": "", "winner": "B"}',
        '{"reason": "x", "winner": "A", "winner": "B"}',
    ):
        assert isinstance(parse_pairwise(bad), str), bad
