"""The judge's reply contracts: JSON Schemas generated from the criteria, and strict per-criterion parsing.

The pointwise schema has one required property per criterion id, each `{"reason": str, "level": int}`
with the level bounded to that criterion's range, so a schema-constrained server (vLLM) can only
produce a complete, in-range verdict. The reply is still validated in full and criterion by
criterion: valid verdicts are kept, the others come back as problems the judge can re-ask about.

Example:
    >>> from writer_r1.core.criteria import Criterion, Level
    >>> clarity = Criterion(id="clarity", name="Clarity", description="Easy to follow",
    ...                     levels=[Level(anchor="muddled"), Level(anchor="ok"), Level(anchor="crisp")])
    >>> verdict_schema([clarity])["properties"]["clarity"]["properties"]["level"]
    {'type': 'integer', 'minimum': 1, 'maximum': 3}
    >>> parsed = parse_verdicts('```json\\n{"clarity": {"reason": "Plain words.", "level": 3}}\\n```', [clarity])
    >>> parsed.scores["clarity"].score, parsed.problems
    (1.0, {})
    >>> parse_verdicts('{"clarity": {"reason": "r", "level": 2.5}}', [clarity]).problems["clarity"]
    'level must be an integer from 1 to 3, got 2.5'
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from writer_r1.core.criteria import Criterion
from writer_r1.core.json_scan import MAX_REPLY_CHARS, iter_json_objects
from writer_r1.core.scorecard import CriterionScore
from writer_r1.core.structured import JsonContract

VERDICT_SCHEMA_NAME = "criteria_verdicts"
PAIRWISE_SCHEMA_NAME = "pairwise_verdict"
Winner = Literal["A", "B", "tie"]


class _JsonObject(dict[str, Any]):
    """A decoded JSON object that remembers which keys it held more than once."""

    duplicates: set[str]

    def __init__(self) -> None:
        super().__init__()
        self.duplicates = set()


def _object_with_duplicates(pairs: list[tuple[str, Any]]) -> _JsonObject:
    obj = _JsonObject()
    for key, value in pairs:
        if key in obj:
            obj.duplicates.add(key)
        obj[key] = value
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_object_with_duplicates)


def iter_reply_objects(reply: str) -> Iterator[_JsonObject]:
    """Every balanced top-level JSON object in a reply, duplicate keys recorded (invisible characters removed)."""
    for value in iter_json_objects(reply, _DECODER):
        if isinstance(value, _JsonObject):
            yield value


# --- pointwise ---------------------------------------------------------------------------------


def verdict_schema(criteria: Sequence[Criterion]) -> dict[str, Any]:
    """The JSON Schema of a verdict on `criteria`: every id required, reason before a bounded level."""
    properties = {
        criterion.id: {
            "type": "object",
            "description": criterion.name,
            "properties": {
                "reason": {"type": "string"},
                "level": {"type": "integer", "minimum": 1, "maximum": criterion.max_level},
            },
            "required": ["reason", "level"],
            "additionalProperties": False,
        }
        for criterion in criteria
    }
    return {
        "type": "object",
        "properties": properties,
        "required": [criterion.id for criterion in criteria],
        "additionalProperties": False,
    }


@dataclass
class ParsedVerdicts:
    """What one reply settled: valid scores by criterion id, and a problem for each criterion it did not."""

    scores: dict[str, CriterionScore] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    unknown_ids: list[str] = field(default_factory=list)


def _level_problem(level: Any, criterion: Criterion) -> str | None:
    # bool is an int subclass and 3.0 is a float: neither is an integer level.
    if type(level) is not int or not 1 <= level <= criterion.max_level:
        return f"level must be an integer from 1 to {criterion.max_level}, got {json.dumps(level)}"
    return None


def _verdict(value: Any, criterion: Criterion) -> CriterionScore | str:
    """A score for one criterion's verdict object, or the problem with it."""
    if not isinstance(value, dict):
        return f"the verdict must be an object with reason and level, got {json.dumps(value)[:80]}"
    duplicated = sorted(getattr(value, "duplicates", set()) & {"reason", "level"})
    if duplicated:
        return f"the verdict gives {', '.join(duplicated)} more than once"
    if "level" not in value:
        return "the verdict has no level"
    if problem := _level_problem(value["level"], criterion):
        return problem
    reason = value.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        return "the verdict needs a non-empty reason (a string) before the level"
    level: int = value["level"]
    return CriterionScore(
        criterion_id=criterion.id, reason=reason.strip(), level=level, score=criterion.score_of(level)
    )


def _evaluate(candidate: _JsonObject, criteria: Sequence[Criterion]) -> ParsedVerdicts:
    parsed = ParsedVerdicts()
    for criterion in criteria:
        if criterion.id not in candidate:
            parsed.problems[criterion.id] = "no verdict was given"
        elif criterion.id in candidate.duplicates:
            parsed.problems[criterion.id] = "the verdict was given more than once"
        else:
            outcome = _verdict(candidate[criterion.id], criterion)
            if isinstance(outcome, str):
                parsed.problems[criterion.id] = outcome
            else:
                parsed.scores[criterion.id] = outcome
    wanted = {criterion.id for criterion in criteria}
    parsed.unknown_ids = [key for key in candidate if key not in wanted]
    return parsed


def _unwrapped(candidate: _JsonObject, wanted: set[str]) -> _JsonObject:
    # A model may wrap its verdicts ({"verdicts": {...}}); a single wrapper key is looked through.
    if not wanted & candidate.keys() and len(candidate) == 1:
        inner = next(iter(candidate.values()))
        if isinstance(inner, _JsonObject):
            return inner
    return candidate


def _too_long(reply: str) -> str | None:
    if len(reply) > MAX_REPLY_CHARS:
        return f"the reply is too long to be a verdict ({len(reply):,} characters, at most {MAX_REPLY_CHARS:,})"
    return None


def parse_verdicts(reply: str, criteria: Sequence[Criterion]) -> ParsedVerdicts:
    """Validate a judge reply criterion by criterion.

    Every JSON object in the reply is a candidate; the one settling the most criteria wins. Candidates
    are never merged, and a reply that holds two *different* valid verdicts on a criterion (two objects
    that disagree, whatever their order) leaves that criterion unsettled: ambiguity is a failure, never
    "the last one wins". (An echoed format example with placeholders is not a valid verdict.) A duplicated key, a level that is not an integer in range (2.5, "3", true), or a
    missing reason makes that criterion a problem; ids the criteria do not hold are ignored and reported
    in `unknown_ids`. A reply longer than `MAX_REPLY_CHARS` is not scanned. Never raises; linear time.
    """
    if problem := _too_long(reply):
        return ParsedVerdicts(problems={criterion.id: problem for criterion in criteria})
    wanted = {criterion.id for criterion in criteria}
    best: ParsedVerdicts | None = None
    seen: dict[str, set[tuple[int, str]]] = {}  # criterion id -> the distinct valid verdicts the reply gives it
    for candidate in iter_reply_objects(reply):
        parsed = _evaluate(_unwrapped(candidate, wanted), criteria)
        for key, score in parsed.scores.items():
            seen.setdefault(key, set()).add((score.level, score.reason))
        if best is None or len(parsed.scores) > len(best.scores):
            best = parsed
    if best is None:
        excerpt = " ".join(reply[:400].split())[:80]
        problem = f"the reply holds no JSON object (it began: {excerpt!r})" if excerpt else "the reply was empty"
        return ParsedVerdicts(problems={criterion.id: problem for criterion in criteria})
    for key, values in seen.items():
        if len(values) > 1:
            best.scores.pop(key, None)
            best.problems[key] = f"ambiguous: the reply gives {len(values)} different verdicts for it; give exactly one"
    return best


def verdict_contract(criteria: Sequence[Criterion]) -> JsonContract[ParsedVerdicts]:
    """The strict contract sent as `response_format`.

    The judge parses replies with `parse_verdicts` (per criterion, duplicate keys seen); the contract's
    own `parse` is all-or-nothing, for callers that use it with `ainvoke_structured`.
    """

    def parse_complete(obj: dict[str, Any]) -> ParsedVerdicts:
        parsed = parse_verdicts(json.dumps(obj), criteria)
        if parsed.problems:
            raise ValueError("; ".join(f"{key}: {problem}" for key, problem in parsed.problems.items()))
        return parsed

    return JsonContract(
        name=VERDICT_SCHEMA_NAME,
        schema=verdict_schema(criteria),
        parse=parse_complete,
        required_keys=frozenset(criterion.id for criterion in criteria),
        strict=True,
    )


# --- pairwise ----------------------------------------------------------------------------------


def pairwise_schema() -> dict[str, Any]:
    """One overall verdict on two texts: a reason, then the winner ("A", "B" or "tie")."""
    return {
        "type": "object",
        "properties": {
            "reason": {"type": "string"},
            "winner": {"type": "string", "enum": ["A", "B", "tie"]},
        },
        "required": ["reason", "winner"],
        "additionalProperties": False,
    }


def _parse_pairwise_object(obj: dict[str, Any]) -> tuple[Winner, str]:
    outcome = parse_pairwise(json.dumps(obj))
    if isinstance(outcome, str):
        raise ValueError(outcome)
    return outcome


def pairwise_contract() -> JsonContract[tuple[Winner, str]]:
    return JsonContract(
        name=PAIRWISE_SCHEMA_NAME,
        schema=pairwise_schema(),
        parse=_parse_pairwise_object,
        required_keys=frozenset({"reason", "winner"}),
        strict=True,
    )


def parse_pairwise(reply: str) -> tuple[Winner, str] | str:
    """The (winner, reason) a pairwise reply states, or the problem with it.

    Example:
        >>> parse_pairwise('{"reason": "B is tighter.", "winner": "B"}')
        ('B', 'B is tighter.')
        >>> parse_pairwise('{"reason": "?", "winner": "C"}')
        'winner must be "A", "B" or "tie", got "C"'
    """
    if problem := _too_long(reply):
        return problem
    problem = "the reply holds no JSON object with reason and winner"
    found: tuple[Winner, str] | None = None
    for candidate in iter_reply_objects(reply):
        if not {"reason", "winner"} <= candidate.keys():
            continue
        winner, reason = candidate["winner"], candidate["reason"]
        if candidate.duplicates & {"reason", "winner"}:
            problem = "the verdict gives reason or winner more than once"
        elif winner not in ("A", "B", "tie"):
            problem = f'winner must be "A", "B" or "tie", got {json.dumps(winner)}'
        elif not isinstance(reason, str) or not reason.strip():
            problem = "the verdict needs a non-empty reason (a string)"
        elif found is None:
            found = (winner, reason.strip())
        elif found != (winner, reason.strip()):
            return "ambiguous: the reply gives two different verdicts; give exactly one"
    return found if found is not None else problem
