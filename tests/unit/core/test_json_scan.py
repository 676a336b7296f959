"""The JSON scan is linear, non-recursive and never raises, whatever the reply."""

from __future__ import annotations

import json
import time

import pytest
from writer_r1.agents.judge_schema import parse_pairwise, parse_verdicts
from writer_r1.core.criteria import Criterion, Level
from writer_r1.core.json_scan import MAX_DEPTH, MAX_REPLY_CHARS, find_json_object, iter_json_objects
from writer_r1.core.structured import JsonContract, parse_reply

CLARITY = Criterion(
    id="clarity", name="Clarity", description="Easy to follow", levels=[Level(anchor="muddled"), Level(anchor="clear")]
)
VERDICT = '{"clarity": {"reason": "Plain.", "level": 2}}'

HOSTILE = {
    "nested-1000": '{"a": ' * 1000 + "1" + "}" * 1000,
    "open-braces-1MB": "{" * 1_000_000,
    "open-brackets": "[" * 300_000,
    "unterminated-string": '{"a": "' + '\\"' * 200_000,
    "many-empty-objects": "{}" * 100_000,
    "deep-then-closed": "{" * 5000 + "}" * 5000,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_text_never_raises_and_stays_linear(name: str) -> None:
    text = HOSTILE[name]
    start = time.perf_counter()
    objects = list(iter_json_objects(text))
    assert time.perf_counter() - start < 30  # quadratic scans took minutes (1 MB of "{": 425 s)
    assert all(isinstance(o, dict) for o in objects)
    assert parse_verdicts(text, [CLARITY]).scores == {}
    assert isinstance(parse_pairwise(text), str)


@pytest.mark.parametrize("name", [name for name in HOSTILE if name != "unterminated-string"])
def test_a_verdict_after_hostile_text_is_still_found(name: str) -> None:
    text = HOSTILE[name][:200_000] + "\n" + VERDICT
    assert parse_verdicts(text, [CLARITY]).scores["clarity"].level == 2


def test_an_open_string_swallows_a_verdict_after_it() -> None:
    # As JSON says: everything after an unterminated string's opening quote is inside the string.
    text = HOSTILE["unterminated-string"][:200_000] + "\n" + VERDICT
    assert "clarity" not in parse_verdicts(text, [CLARITY]).scores


def test_objects_beyond_max_depth_are_not_decoded_but_shallower_ones_are() -> None:
    deep = '{"x": ' * (MAX_DEPTH + 5) + VERDICT + "}" * (MAX_DEPTH + 5)
    [found] = list(iter_json_objects(deep))  # the outermost object shallow enough to decode
    depth = 0
    while "x" in found:
        found, depth = found["x"], depth + 1
    assert found == json.loads(VERDICT) and depth < MAX_DEPTH


def test_prose_braces_and_quotes_do_not_hide_the_object() -> None:
    assert find_json_object('I think { this "matters" ... ' + VERDICT, {"clarity"}) == json.loads(VERDICT)
    assert find_json_object("say {like this " + VERDICT + "}", {"clarity"}) == json.loads(VERDICT)
    assert list(iter_json_objects('[{"a": 1}, {"b": "}{"}]')) == [{"a": 1}, {"b": "}{"}]


def test_replies_over_the_cap_are_rejected_unscanned() -> None:
    long_reply = VERDICT + " " * MAX_REPLY_CHARS
    assert "too long" in parse_verdicts(long_reply, [CLARITY]).problems["clarity"]
    assert "too long" in parse_pairwise('{"reason": "r", "winner": "A"}' + " " * MAX_REPLY_CHARS)
    with pytest.raises(ValueError, match="too long"):
        parse_reply(long_reply, JsonContract(name="x", schema={}, parse=dict))


def test_two_different_verdicts_are_ambiguous_whatever_their_order() -> None:
    other = '{"clarity": {"reason": "Muddled.", "level": 1}}'
    for reply in (VERDICT + other, other + VERDICT, f"```json\n{VERDICT}\n```\nOr rather: {other}"):
        parsed = parse_verdicts(reply, [CLARITY])
        assert parsed.scores == {} and "ambiguous" in parsed.problems["clarity"]
    assert parse_verdicts(VERDICT + " " + VERDICT, [CLARITY]).scores["clarity"].level == 2
    pairwise = '{"reason": "A is tighter.", "winner": "A"} {"reason": "B is tighter.", "winner": "B"}'
    assert "ambiguous" in parse_pairwise(pairwise)
