"""Judge.score against scripted models: retries that re-ask only the failing criteria, explicit
unscored entries (never a default score, never an exception), chunking, concurrency and caching."""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
import time
from typing import Any

import pytest
from writer_r1.agents.judge import Judge
from writer_r1.agents.judge_cache import MemoryJudgeCache, SqliteJudgeCache
from writer_r1.core.scorecard import Scorecard
from writer_r1.testing import ScriptedChatModel


def verdicts(**levels: Any) -> str:
    """A JSON reply giving each criterion id the level passed (any JSON value, to test bad ones)."""
    return json.dumps({key: {"reason": f"reason for {key}", "level": level} for key, level in levels.items()})


GOOD = verdicts(imagery=4, pacing=2, clarity=3)
ALL = {"imagery", "pacing", "clarity"}
TEXT = "Gulls wheel over the harbour as the first light catches the masts."


def _judge(replies: list[Any], **kwargs: Any) -> tuple[Judge, ScriptedChatModel]:
    model = ScriptedChatModel(replies=replies)
    return Judge(model, cache=kwargs.pop("cache", None), **kwargs), model


def test_a_good_reply_is_one_call_and_a_full_scorecard(criteria) -> None:
    judge, model = _judge([GOOD])
    card = judge.score(TEXT, criteria)
    assert len(model.calls) == 1
    assert [(s.criterion_id, s.level) for s in card.scores] == [("imagery", 4), ("pacing", 2), ("clarity", 3)]
    assert card.unscored == ()
    # Craft: (1.0*0.75 + 0.5*0.5) / 1.5; Language: 2/3; overall weighted 2:1
    craft = (0.75 + 0.25) / 1.5
    assert card.dimensions[0].score == pytest.approx(craft)
    assert card.overall == pytest.approx((2 * craft + 2 / 3) / 3)


BAD_FIRST_REPLIES = [
    ("prose", "I'd rate imagery 4, pacing 2 and clarity 3."),
    ("truncated", GOOD[:50]),
    ("schema echo", json.dumps({"type": "object", "properties": {"imagery": {}}, "required": ["imagery"]})),
    ("exception", RuntimeError("connection refused")),
    ("string level", verdicts(imagery="4", pacing=2, clarity=3)),
    ("bool level", verdicts(imagery=True, pacing=2, clarity=3)),
    ("float level", verdicts(imagery=2.5, pacing=2, clarity=3)),
    ("out of range", verdicts(imagery=6, pacing=2, clarity=3)),
    ("missing", verdicts(pacing=2, clarity=3)),
    ("duplicate key", GOOD[:-1] + ', "imagery": {"reason": "again", "level": 1}}'),
    ("unknown id instead", verdicts(imagry=4, pacing=2, clarity=3)),
]


@pytest.mark.parametrize(("name", "bad"), BAD_FIRST_REPLIES, ids=[b[0] for b in BAD_FIRST_REPLIES])
def test_a_bad_reply_is_recovered_by_a_retry(criteria, name: str, bad: Any) -> None:
    judge, model = _judge([bad, GOOD], retries=2)
    card = judge.score(TEXT, criteria)
    assert card.unscored == ()
    assert {s.criterion_id: s.level for s in card.scores} == {"imagery": 4, "pacing": 2, "clarity": 3}
    assert len(model.calls) == 2


@pytest.mark.parametrize(("name", "bad"), BAD_FIRST_REPLIES, ids=[b[0] for b in BAD_FIRST_REPLIES])
def test_a_reply_that_stays_bad_ends_unscored_never_as_a_score(criteria, name: str, bad: Any) -> None:
    model = ScriptedChatModel(replies=[], default=(lambda m, k: bad) if isinstance(bad, Exception) else bad)
    card = Judge(model, retries=1, cache=None).score(TEXT, criteria)
    assert len(model.calls) == 2
    scored = {s.criterion_id for s in card.scores}
    unscored = {u.criterion_id for u in card.unscored}
    assert scored | unscored == ALL and not scored & unscored
    assert "imagery" in unscored  # every bad reply above breaks imagery
    for entry in card.unscored:
        assert entry.reason.startswith("no valid verdict after 2 attempts")
    if not scored:
        assert card.overall is None


def test_only_the_failing_criteria_are_asked_again(criteria) -> None:
    first = verdicts(imagery=4, pacing=7, clarity=3)
    judge, model = _judge([first, verdicts(pacing=1)])
    card = judge.score(TEXT, criteria)
    assert {s.criterion_id: s.level for s in card.scores} == {"imagery": 4, "pacing": 1, "clarity": 3}
    retry = model.calls[1]
    retry_prompt = retry.messages[-1].content
    assert '"pacing": level 1 to 3' in retry_prompt and "1 to 3, got 7" in retry_prompt
    assert '"imagery": level' not in retry_prompt and '"clarity": level' not in retry_prompt
    assert retry.messages[-2].content == first  # the rejected reply is shown back


def test_the_retry_schema_asks_only_for_the_failing_criteria(criteria) -> None:
    model = ScriptedChatModel(
        replies=[verdicts(imagery=4, clarity=3), verdicts(pacing=2)], supports_response_format=True
    )
    card = Judge(model, cache=None).score(TEXT, criteria)
    assert card.complete
    schemas = [call.kwargs["response_format"]["json_schema"]["schema"] for call in model.calls]
    assert schemas[0]["required"] == ["imagery", "pacing", "clarity"]
    assert schemas[1]["required"] == ["pacing"]


def test_a_later_reply_cannot_overwrite_an_accepted_verdict(criteria) -> None:
    judge, _ = _judge([verdicts(imagery=4, pacing=9, clarity=3), verdicts(imagery=1, pacing=2, clarity=1)])
    card = judge.score(TEXT, criteria)
    assert {s.criterion_id: s.level for s in card.scores} == {"imagery": 4, "pacing": 2, "clarity": 3}


def test_partial_failure_keeps_the_valid_verdicts(criteria) -> None:
    model = ScriptedChatModel(replies=[verdicts(imagery=4, pacing=2, clarity=0)], default=verdicts(clarity="3"))
    card = Judge(model, retries=2, cache=None).score(TEXT, criteria)
    assert [s.criterion_id for s in card.scores] == ["imagery", "pacing"]
    assert [u.criterion_id for u in card.unscored] == ["clarity"]
    assert 'got "3"' in card.unscored[0].reason
    assert card.dimensions[1].score is None  # Language had only clarity
    assert card.overall is None and card.coverage == pytest.approx(2 / 3)  # a partial card is not a score
    relaxed = Judge(
        ScriptedChatModel(replies=[verdicts(imagery=4, pacing=2, clarity=0)], default=verdicts(clarity="3")),
        retries=2,
        cache=None,
        min_coverage=0.6,
    ).score(TEXT, criteria)
    assert relaxed.overall == relaxed.dimensions[0].score  # relaxed: computed over what was scored


def test_a_server_that_stays_down_leaves_everything_unscored(criteria) -> None:
    model = ScriptedChatModel(replies=[], default=lambda m, k: ConnectionError("server down"))
    card = Judge(model, retries=2, cache=None).score(TEXT, criteria)
    assert card.scores == () and card.overall is None
    assert {u.criterion_id for u in card.unscored} == ALL
    assert all("ConnectionError: server down" in u.reason for u in card.unscored)


def test_criteria_per_call_splits_into_chunks(criteria) -> None:
    def answer(messages, kwargs) -> str:
        prompt = messages[0].content
        ids = [c for c in ("imagery", "pacing", "clarity") if f'"{c}": level' in prompt]
        return verdicts(**{c: 2 for c in ids})

    model = ScriptedChatModel(replies=[], default=answer)
    card = Judge(model, criteria_per_call=2, cache=None).score(TEXT, criteria)
    assert card.complete and len(model.calls) == 2
    asked = sorted(sorted(c for c in ALL if f'"{c}": level' in call.prompt) for call in model.calls)
    assert asked == [["clarity"], ["imagery", "pacing"]]


def test_one_failing_chunk_does_not_affect_the_others(criteria) -> None:
    def answer(messages, kwargs) -> str | Exception:
        return RuntimeError("boom") if '"pacing": level' in messages[0].content else verdicts(imagery=5, clarity=4)

    model = ScriptedChatModel(replies=[], default=answer)
    card = Judge(model, criteria_per_call=1, retries=1, cache=None).score(TEXT, criteria)
    assert {s.criterion_id for s in card.scores} == {"imagery", "clarity"}
    assert [u.criterion_id for u in card.unscored] == ["pacing"]


class _Gauge:
    """A scripted reply that records how many calls are in flight at once."""

    def __init__(self, delay: float):
        self.delay, self.now, self.peak = delay, 0, 0
        self.lock = threading.Lock()

    async def __call__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        await asyncio.sleep(self.delay)
        with self.lock:
            self.now -= 1


class _SlowModel(ScriptedChatModel):
    gauge: Any = None

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
        await self.gauge()
        return self._generate(messages, stop, **kwargs)


def test_one_semaphore_bounds_all_calls_of_a_judge(criteria) -> None:
    gauge = _Gauge(0.02)
    model = _SlowModel(replies=[], default=lambda m, k: verdicts(imagery=1, pacing=1, clarity=1), gauge=gauge)
    judge = Judge(model, criteria_per_call=1, max_concurrency=4, cache=None)

    async def both() -> list[list[Scorecard]]:  # two batches at once share the bound
        texts = [f"text {i}" for i in range(10)]
        return await asyncio.gather(judge.ascore_many(texts, criteria), judge.ascore_many(texts[::-1], criteria))

    first, second = asyncio.run(both())
    assert all(card.complete for card in first + second)
    assert gauge.peak == 4


def test_sync_calls_from_fresh_event_loops_and_inside_a_running_loop(criteria) -> None:
    model = ScriptedChatModel(replies=[], default=GOOD)
    judge = Judge(model, max_concurrency=2, cache=None)
    assert judge.score(TEXT, criteria).complete  # asyncio.run: loop 1
    assert judge.score(TEXT, criteria).complete  # asyncio.run: loop 2, same judge
    assert asyncio.run(judge.ascore(TEXT, criteria)).complete

    async def inside() -> Scorecard:
        return judge.score(TEXT, criteria)  # sync call from inside a running loop

    assert asyncio.run(inside()).complete
    assert len(model.calls) == 4


def test_score_many_keeps_order_and_judges_repeats_once(criteria) -> None:
    def answer(messages, kwargs) -> str:
        level = 1 if "alpha" in messages[0].content else 3
        return verdicts(imagery=level, pacing=1, clarity=1)

    model = ScriptedChatModel(replies=[], default=answer)
    cards = Judge(model, cache=None).score_many(["alpha", "beta", "alpha"], criteria)
    assert [c.score_of("imagery").level for c in cards] == [1, 3, 1]
    assert len(model.calls) == 2


def test_the_task_defaults_to_the_criteria_task_and_can_be_overridden(criteria) -> None:
    judge, model = _judge([GOOD, GOOD])
    judge.score(TEXT, criteria)
    judge.score(TEXT, criteria, task="Describe a lighthouse keeper's morning.")
    assert criteria.task in model.calls[0].prompt
    assert "lighthouse keeper" in model.calls[1].prompt and criteria.task not in model.calls[1].prompt


def test_invalid_settings_are_rejected() -> None:
    model = ScriptedChatModel(replies=[])
    for kwargs in ({"criteria_per_call": 0}, {"max_concurrency": 0}, {"retries": -1}):
        with pytest.raises(ValueError):
            Judge(model, **kwargs)
    with pytest.raises(TypeError):
        Judge(model, cache=42)  # type: ignore[arg-type]


def test_a_spec_string_builds_the_model() -> None:
    judge = Judge("fake")
    assert type(judge.model).__name__ == "FakeChatModel"


# --- caching ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite", "object"])
def test_cache_hits_are_byte_identical_and_make_no_call(criteria, tmp_path, kind: str) -> None:
    cache: Any = {"memory": "memory", "sqlite": str(tmp_path / "judge.sqlite"), "object": MemoryJudgeCache()}[kind]
    model = ScriptedChatModel(replies=[GOOD])
    judge = Judge(model, cache=cache)
    first = judge.score(TEXT, criteria)
    second = judge.score(TEXT, criteria)
    assert len(model.calls) == 1
    assert second.model_dump_json() == first.model_dump_json()
    if kind == "sqlite":  # a second judge on the same file (a new process, say) hits too
        again = Judge(ScriptedChatModel(replies=[]), cache=str(tmp_path / "judge.sqlite")).score(TEXT, criteria)
        assert again.model_dump_json() == first.model_dump_json()


def test_the_cache_key_covers_text_task_criteria_model_and_chunking(criteria, tmp_path) -> None:
    cache = MemoryJudgeCache()
    model = ScriptedChatModel(replies=[], default=verdicts(imagery=2, pacing=2, clarity=2))
    judge = Judge(model, cache=cache)
    judge.score(TEXT, criteria)
    judge.score(TEXT + " More.", criteria)
    judge.score(TEXT, criteria, task="another task")
    judge.score(TEXT, criteria.subset(["imagery", "pacing", "clarity"]).model_copy(update={"language": "fr"}))
    assert len(model.calls) == 4
    other_model = ScriptedChatModel(
        replies=[], default=verdicts(imagery=5, pacing=3, clarity=4), name_for_cache="other"
    )
    assert Judge(other_model, cache=cache).score(TEXT, criteria).score_of("imagery").level == 5
    chunked = Judge(model, cache=cache, criteria_per_call=1)
    chunked.score(TEXT, criteria)
    assert len(model.calls) == 7
    chunked.score(TEXT, criteria)
    assert len(model.calls) == 7


def test_failures_are_never_cached(criteria) -> None:
    cache = MemoryJudgeCache()
    model = ScriptedChatModel(replies=[verdicts(imagery=4, pacing=2, clarity=9), verdicts(clarity=9), GOOD])
    judge = Judge(model, retries=1, cache=cache)
    assert not judge.score(TEXT, criteria).complete
    assert len(cache) == 0
    assert judge.score(TEXT, criteria).complete
    assert len(cache) == 1


def test_a_partly_failed_text_reuses_only_its_complete_chunks(criteria) -> None:
    cache = MemoryJudgeCache()

    def flaky(messages, kwargs) -> str | Exception:
        return RuntimeError("down") if '"clarity": level' in messages[0].content else verdicts(imagery=3, pacing=3)

    model = ScriptedChatModel(replies=[], default=flaky)
    judge = Judge(model, criteria_per_call=2, retries=0, cache=cache)
    assert [u.criterion_id for u in judge.score(TEXT, criteria).unscored] == ["clarity"]
    judge.score(TEXT, criteria)
    asked = [c for call in model.calls for c in ("imagery", "clarity") if f'"{c}": level' in call.prompt]
    assert asked == ["imagery", "clarity", "clarity"]  # the complete chunk came from the cache


def test_an_unreadable_cache_entry_is_judged_again(criteria) -> None:
    class Corrupt(MemoryJudgeCache):
        def get(self, key: str) -> str | None:
            return "not json"

    model = ScriptedChatModel(replies=[GOOD])
    assert Judge(model, cache=Corrupt()).score(TEXT, criteria).complete
    assert len(model.calls) == 1


def test_sqlite_cache_is_safe_under_threads(tmp_path) -> None:
    cache = SqliteJudgeCache(tmp_path / "c.sqlite")
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(50):
                cache.put(f"{worker}-{i}", json.dumps([worker, i]))
                assert cache.get(f"{worker}-{i}") == json.dumps([worker, i])
        except BaseException as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(cache) == 400
    assert SqliteJudgeCache(tmp_path / "c.sqlite").get("7-49") == "[7, 49]"


def test_a_judge_pickles_with_its_cache(criteria, tmp_path) -> None:
    judge = Judge("fake", cache=str(tmp_path / "p.sqlite"))
    first = judge.score(TEXT, criteria)
    clone = pickle.loads(pickle.dumps(judge))
    start = time.perf_counter()
    assert clone.score(TEXT, criteria).model_dump_json() == first.model_dump_json()
    assert time.perf_counter() - start < 5
