"""Errors raised by the constraint registry and checkers.

Both are `ValueError`s (through `writer_r1.core.errors.UserError`), so a caller that validates
user input with `except ValueError` catches them, and the CLI prints them as one line.
"""

from __future__ import annotations

from writer_r1.core.errors import UserError


class ConstraintError(UserError):
    """Base class of the constraint package's deliberate errors."""


class UnknownConstraintError(ConstraintError):
    """A constraint id that the registry does not know.

    Example:
        >>> from writer_r1.constraints import get_checker
        >>> get_checker("writing:nope")
        Traceback (most recent call last):
        ...
        writer_r1.constraints.errors.UnknownConstraintError: unknown constraint id 'writing:nope'...
    """

    def __init__(self, constraint_id: str, known: list[str] | None = None):
        self.constraint_id = constraint_id
        hint = ""
        if known:
            family = constraint_id.split(":", 1)[0]
            same_family = [k for k in known if k.startswith(family + ":")]
            if same_family:
                hint = f"; known in family {family!r}: {', '.join(same_family)}"
        super().__init__(f"unknown constraint id {constraint_id!r}{hint}")


class ConstraintArgumentError(ConstraintError):
    """Missing, unexpected or invalid keyword arguments for a checker."""

    def __init__(self, constraint_id: str, problem: str):
        self.constraint_id = constraint_id
        self.problem = problem
        super().__init__(f"bad arguments for {constraint_id}: {problem}")
