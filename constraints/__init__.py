"""Deterministic constraint checks: an id → checker registry, IFEval compatibility, verification.

Public API:

- `get_checker(id, **kwargs)`, `registered_ids()`, `describe(spec)`, `check(spec, text)`,
  `catalog()` — the registry (`family:name` ids; kwargs validated, errors are `ValueError`s);
- `verify(text, constraints, llm_verifier=None)` / `averify` — a `ConstraintReport`;
- `conflicts_between`, `conflicts_with`, `find_conflicts` — ids that cannot be combined;
- `writer_r1.constraints.ifeval` — IFEval's strict / loose evaluation and official files.

Example:
    >>> from writer_r1.constraints import check, get_checker
    >>> get_checker("writing:word_count_range", min=3).check("三个字")
    True
    >>> check({"id": "punctuation:no_comma"}, "a, b").passed
    False
"""

from writer_r1.constraints.base import Checker, Verdict
from writer_r1.constraints.conflicts import conflicts_between, conflicts_with, find_conflicts
from writer_r1.constraints.errors import ConstraintArgumentError, ConstraintError, UnknownConstraintError
from writer_r1.constraints.registry import (
    as_spec,
    catalog,
    check,
    checker_class,
    describe,
    get_checker,
    register,
    registered_ids,
)
from writer_r1.constraints.verify import ConstraintReport, averify, verify
from writer_r1.core.criteria import ConstraintSpec
from writer_r1.core.scorecard import ConstraintResult

__all__ = [
    "Checker",
    "ConstraintArgumentError",
    "ConstraintError",
    "ConstraintReport",
    "ConstraintResult",
    "ConstraintSpec",
    "UnknownConstraintError",
    "Verdict",
    "as_spec",
    "averify",
    "catalog",
    "check",
    "checker_class",
    "conflicts_between",
    "conflicts_with",
    "describe",
    "find_conflicts",
    "get_checker",
    "register",
    "registered_ids",
    "verify",
]
