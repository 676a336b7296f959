"""Registry, conflicts and verify: errors, unverified LLM constraints, checker failures."""

from __future__ import annotations

import pytest
from writer_r1.constraints import (
    ConstraintArgumentError,
    ConstraintReport,
    UnknownConstraintError,
    catalog,
    check,
    conflicts_between,
    conflicts_with,
    describe,
    find_conflicts,
    get_checker,
    registered_ids,
    verify,
)
from writer_r1.constraints.base import Checker, Verdict
from writer_r1.constraints.registry import register
from writer_r1.testing import ScriptedChatModel


def test_registry_lists_all_families():
    ids = registered_ids()
    assert len([i for i in ids if not i.startswith(("writing:", "llm:", "testing:"))]) == 25
    assert "writing:word_count_range" in ids and "llm:requirement" in ids
    assert all(entry["kwargs"]["properties"] is not None for entry in catalog())


def test_errors_are_value_errors():
    with pytest.raises(UnknownConstraintError, match="known in family 'writing'"):
        get_checker("writing:does_not_exist")
    with pytest.raises(ValueError):
        check({"id": "nope:nothing"}, "text")
    with pytest.raises(ConstraintArgumentError, match="missing required argument"):
        describe({"id": "keywords:existence", "kwargs": {}})
    with pytest.raises(ConstraintArgumentError, match="unexpected argument"):
        get_checker("punctuation:no_comma", strict=True)
    with pytest.raises(UnknownConstraintError):
        check({"id": "Bad Id"}, "text")


def test_conflicts_are_symmetric_and_sensible():
    ids = registered_ids()
    for a in ids:
        for b in ids:
            assert conflicts_between(a, b) == conflicts_between(b, a)
    assert conflicts_between("change_case:english_capital", "change_case:english_lowercase")
    assert conflicts_between("detectable_format:constrained_response", "punctuation:no_comma")
    assert conflicts_between("detectable_format:json_format", "detectable_format:title")
    assert not conflicts_between("detectable_format:json_format", "keywords:existence")
    assert not conflicts_between("writing:must_include", "writing:must_include")
    assert "writing:no_bullet_lists" in conflicts_with("detectable_format:number_bullet_lists")
    specs = [{"id": "writing:point_of_view", "kwargs": {"person": "first"}}, {"id": "punctuation:no_comma"},
             {"id": "writing:point_of_view", "kwargs": {"person": "third"}}]  # fmt: skip
    assert find_conflicts(specs) == [("writing:point_of_view", "writing:point_of_view")]


def test_verify_without_llm_marks_llm_constraints_unverified():
    report = verify("A short text.", [{"id": "llm:requirement", "kwargs": {"requirement": "Be hopeful"}}])
    assert isinstance(report, ConstraintReport)
    (result,) = report.results
    assert result.passed is None and result.method == "llm" and "not verified" in result.detail
    assert report.passed is False and report.pass_rate is None


def test_verify_with_scripted_llm_verifier():
    model = ScriptedChatModel(replies=['{"reason": "It ends on a hopeful note.", "satisfied": true}'])
    report = verify(
        "Tomorrow will be better.",
        [{"id": "llm:requirement", "kwargs": {"requirement": "Be hopeful"}}, {"id": "punctuation:no_comma"}],
        llm_verifier=model,
    )
    assert [(r.passed, r.method) for r in report.results] == [(True, "llm"), (True, "rule")]
    assert "Tomorrow will be better." in model.calls[0].prompt and "Be hopeful" in model.calls[0].prompt
    assert report.passed


def test_verifier_failure_is_unverified_not_a_verdict():
    model = ScriptedChatModel(replies=[RuntimeError("server down")] * 3)
    report = verify("text", [{"id": "llm:requirement", "kwargs": {"requirement": "x"}}], llm_verifier=model)
    assert report.results[0].passed is None and "verifier failed" in report.results[0].detail


def test_verify_rejects_unknown_ids_and_bad_kwargs_before_checking():
    with pytest.raises(UnknownConstraintError):
        verify("text", [{"id": "punctuation:no_comma"}, {"id": "writing:unknown"}])
    with pytest.raises(ConstraintArgumentError):
        verify("text", [{"id": "writing:word_count_range", "kwargs": {"min": "many"}}])


@register
class _Exploding(Checker):
    """A checker that fails on any text (test only)."""

    id = "testing:exploding"

    def describe(self) -> str:
        return "explodes"

    def measure(self, stats) -> Verdict:  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("boom")


def test_checker_exception_gives_unverified_with_detail():
    result = verify("text", [{"id": "testing:exploding"}]).results[0]
    assert result.passed is None
    assert "ZeroDivisionError: boom" in result.detail


@pytest.mark.asyncio
async def test_averify_runs():
    from writer_r1.constraints import averify

    report = await averify("no commas", [{"id": "punctuation:no_comma"}])
    assert report.passed
