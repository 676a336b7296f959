"""Verify a text against a list of constraints: rules first, an LLM verifier for `llm:` ones.

Unknown ids and bad arguments raise before anything is checked. A checker that fails on an odd
text, or a verifier call that fails, gives `passed=None` with the reason in `detail`: never a crash
and never a silent verdict. Without a verifier model, `llm:` constraints come back unverified.

Example:
    >>> report = verify("I walked to the harbour at dawn.", [
    ...     {"id": "writing:point_of_view", "kwargs": {"person": "first"}},
    ...     {"id": "writing:word_count_range", "kwargs": {"max": 5}},
    ...     {"id": "llm:requirement", "kwargs": {"requirement": "The mood is hopeful"}},
    ... ])
    >>> [r.passed for r in report.results]
    [True, False, None]
    >>> report.passed, report.unverified
    (False, 1)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from writer_r1.constraints.registry import SpecLike, as_spec, check, checker_for
from writer_r1.core.criteria import ConstraintSpec
from writer_r1.core.scorecard import ConstraintResult

logger = logging.getLogger(__name__)


class ConstraintReport(BaseModel):
    """One `ConstraintResult` per constraint, in the order given."""

    model_config = ConfigDict(frozen=True)

    results: tuple[ConstraintResult, ...] = ()

    @property
    def passed(self) -> bool:
        """True only when every constraint was verified and passed."""
        return all(r.passed is True for r in self.results)

    @property
    def failed(self) -> list[ConstraintResult]:
        return [r for r in self.results if r.passed is False]

    @property
    def unverified(self) -> int:
        return sum(1 for r in self.results if r.passed is None)

    @property
    def pass_rate(self) -> float | None:
        """Share of the verified constraints that passed (None when none was verified)."""
        verified = [r for r in self.results if r.passed is not None]
        return sum(1 for r in verified if r.passed) / len(verified) if verified else None


def _validated(constraints: Iterable[SpecLike]) -> list[ConstraintSpec]:
    specs = [as_spec(c) for c in constraints]
    for spec in specs:
        checker_for(spec)  # raises UnknownConstraintError / ConstraintArgumentError
    return specs


async def _llm_result(spec: ConstraintSpec, text: str, model: Any) -> ConstraintResult:
    from writer_r1.constraints.llm import averify_requirement

    requirement = checker_for(spec).describe()
    try:
        verdict = await averify_requirement(model, text, requirement)
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001 - a verifier failure is "unverified", never a verdict
        logger.warning("LLM verification of %r failed: %s", requirement, error)
        return ConstraintResult(
            id=spec.id, kwargs=spec.kwargs, passed=None, detail=f"verifier failed: {error}", method="llm"
        )
    return ConstraintResult(
        id=spec.id, kwargs=spec.kwargs, passed=verdict.satisfied, detail=verdict.reason, method="llm"
    )


async def averify(
    text: str, constraints: Sequence[SpecLike] | Iterable[SpecLike], *, llm_verifier: Any = None
) -> ConstraintReport:
    """Async `verify`: the LLM verifications run concurrently."""
    specs = _validated(constraints)
    results: list[ConstraintResult | None] = [None] * len(specs)
    pending = []
    for index, spec in enumerate(specs):
        if spec.is_llm_verified and llm_verifier is not None:
            pending.append((index, _llm_result(spec, text, llm_verifier)))
        else:
            results[index] = check(spec, text)
    for (index, _), result in zip(pending, await asyncio.gather(*(c for _, c in pending)), strict=True):
        results[index] = result
    return ConstraintReport(results=tuple(r for r in results if r is not None))


def verify(
    text: str, constraints: Sequence[SpecLike] | Iterable[SpecLike], *, llm_verifier: Any = None
) -> ConstraintReport:
    """Check `text` against `constraints` (specs or `{"id", "kwargs"}` mappings)."""
    specs = _validated(constraints)
    if llm_verifier is None or not any(s.is_llm_verified for s in specs):
        return ConstraintReport(results=tuple(check(spec, text) for spec in specs))
    from writer_r1.core.asyncio_utils import run_sync

    return run_sync(averify(text, specs, llm_verifier=llm_verifier))


__all__ = ["ConstraintReport", "averify", "verify"]
