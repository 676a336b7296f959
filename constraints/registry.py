"""The id → checker registry and the public functions over it.

Ids are `family:name`. Families: the 25 IFEval instruction ids (`keywords:`, `length_constraints:`,
`detectable_format:` ...), `writing:` (length ranges with CJK-aware counting, terms, start/end,
title, sections, point of view, dialogue, lists) and `llm:` (requirements no rule expresses; an
LLM verifies them in `verify`).

Example:
    >>> "writing:word_count_range" in registered_ids()
    True
    >>> describe({"id": "writing:must_include", "kwargs": {"terms": ["harbour"]}})
    'Include the following: "harbour".'
    >>> check({"id": "punctuation:no_comma"}, "No commas here.").passed
    True
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Mapping
from typing import Any

from writer_r1.constraints.base import Checker
from writer_r1.constraints.errors import ConstraintArgumentError, UnknownConstraintError
from writer_r1.core.criteria import ConstraintSpec
from writer_r1.core.scorecard import ConstraintResult

logger = logging.getLogger(__name__)

_REGISTRY: dict[str, type[Checker]] = {}
_CHECKER_MODULES = (
    "writer_r1.constraints.ifeval.checkers",
    "writer_r1.constraints.writing.length",
    "writer_r1.constraints.writing.content",
    "writer_r1.constraints.writing.structure",
    "writer_r1.constraints.writing.voice",
    "writer_r1.constraints.llm",
)
_loaded = False
_load_lock = threading.Lock()

SpecLike = ConstraintSpec | Mapping[str, Any]


def register(cls: type[Checker]) -> type[Checker]:
    """Class decorator: add a checker class under its `id` (a second class for one id is an error)."""
    existing = _REGISTRY.get(cls.id)
    if existing is not None and existing is not cls and existing.__qualname__ != cls.__qualname__:
        raise RuntimeError(f"constraint id {cls.id!r} registered twice ({existing.__name__}, {cls.__name__})")
    _REGISTRY[cls.id] = cls
    return cls


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if not _loaded:
            for module in _CHECKER_MODULES:
                importlib.import_module(module)
            _loaded = True


def registered_ids() -> list[str]:
    """Every registered constraint id, sorted."""
    _ensure_loaded()
    return sorted(_REGISTRY)


def checker_class(constraint_id: str) -> type[Checker]:
    """The checker class registered under `constraint_id`; `UnknownConstraintError` otherwise."""
    _ensure_loaded()
    try:
        return _REGISTRY[constraint_id]
    except KeyError:
        raise UnknownConstraintError(constraint_id, sorted(_REGISTRY)) from None


def get_checker(constraint_id: str, **kwargs: Any) -> Checker:
    """A checker for `constraint_id` with validated `kwargs`.

    Example:
        >>> get_checker("keywords:existence", keywords=["tide"]).check("The TIDE turned.")
        True
        >>> get_checker("keywords:existence")
        Traceback (most recent call last):
        ...
        writer_r1.constraints.errors.ConstraintArgumentError: bad arguments for keywords:existence: keywords: missing required argument
    """
    return checker_class(constraint_id)(**kwargs)


def as_spec(spec: SpecLike) -> ConstraintSpec:
    """A `ConstraintSpec` from a spec or a mapping with `id` and optional `kwargs`."""
    if isinstance(spec, ConstraintSpec):
        return spec
    if not isinstance(spec, Mapping) or "id" not in spec:
        raise ConstraintArgumentError(str(spec)[:60], "a constraint is a mapping with an 'id' and optional 'kwargs'")
    try:
        return ConstraintSpec(id=spec["id"], kwargs=dict(spec.get("kwargs") or {}), description=spec.get("description"))
    except ValueError as error:
        raise UnknownConstraintError(str(spec["id"]), None) from error


def checker_for(spec: SpecLike) -> Checker:
    """The checker a spec names, with its kwargs validated (`None`-valued kwargs are dropped)."""
    spec = as_spec(spec)
    kwargs = {key: value for key, value in spec.kwargs.items() if value is not None}
    return get_checker(spec.id, **kwargs)


def describe(spec: SpecLike) -> str:
    """The instruction text of a constraint."""
    return checker_for(spec).describe()


def check(spec: SpecLike, text: str) -> ConstraintResult:
    """Check one constraint by rule. Unknown ids and bad kwargs raise.

    A checker that fails on a strange text gives `passed=None` with the error in `detail`; an
    `llm:` constraint gives `passed=None` (use `verify` with an LLM verifier for those).
    """
    spec = as_spec(spec)
    checker = checker_for(spec)
    if getattr(checker, "needs_llm", False):
        return ConstraintResult(
            id=spec.id, kwargs=spec.kwargs, passed=None, detail="not verified: needs an LLM verifier", method="llm"
        )
    try:
        passed, detail = checker.verdict(text)
    except Exception as error:  # noqa: BLE001 - a checker bug on odd text is reported, never a verdict
        logger.warning("checker %s failed: %s", spec.id, error)
        return ConstraintResult(
            id=spec.id, kwargs=spec.kwargs, passed=None, detail=f"checker error: {type(error).__name__}: {error}"
        )
    return ConstraintResult(id=spec.id, kwargs=spec.kwargs, passed=bool(passed), detail=detail)


def catalog() -> list[dict[str, Any]]:
    """One entry per registered checker: id, what it checks, and its kwargs JSON Schema."""
    _ensure_loaded()
    entries = []
    for constraint_id in sorted(_REGISTRY):
        cls = _REGISTRY[constraint_id]
        schema = cls.Args.model_json_schema()
        entries.append(
            {
                "id": constraint_id,
                "summary": cls.summary or (cls.__doc__ or "").strip().splitlines()[0],
                "kwargs": {
                    "properties": {
                        name: {k: v for k, v in prop.items() if k != "title"}
                        for name, prop in schema.get("properties", {}).items()
                    },
                    "required": schema.get("required", []),
                },
            }
        )
    return entries
