"""The checker contract: typed, validated arguments; a description; a verdict on a text.

A checker class declares its `id` (`family:name`), its keyword arguments as a pydantic model
(`Args`), how it describes itself and how it measures a text. Constructing one validates the
arguments and nothing else: a missing or invalid argument raises `ConstraintArgumentError`,
never a random default.

Example:
    >>> from writer_r1.constraints import get_checker
    >>> checker = get_checker("length_constraints:number_words", relation="at least", num_words=3)
    >>> checker.describe()
    'Answer with at least 3 words.'
    >>> checker.check("one two three"), checker.verdict("one two").detail
    (True, 'found 2 words; needed at least 3')
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError
from writer_r1.constraints.errors import ConstraintArgumentError
from writer_r1.constraints.text import TextStats, analyze

Relation = Literal["less than", "at least"]


def compare(actual: int, relation: Relation, threshold: int) -> bool:
    """IFEval's two relations: `less than` is `<`, `at least` is `>=`."""
    return actual < threshold if relation == "less than" else actual >= threshold


class Args(BaseModel):
    """Base of every checker's keyword arguments: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(Args):
    """For checkers that take no arguments."""


class Verdict(NamedTuple):
    """A checker's answer on one text: whether it passed, and what was observed."""

    passed: bool
    detail: str = ""


ArgsT = TypeVar("ArgsT", bound=Args)


class Checker(ABC, Generic[ArgsT]):
    """A self-describing constraint check. Subclasses set `id`, `Args` and implement two methods.

    Generic in its arguments model, so `self.args` has the subclass's type:
    `class WordCount(Checker[WordCountArgs]): Args = WordCountArgs`.
    """

    id: ClassVar[str]
    Args: ClassVar[type[Args]] = NoArgs
    summary: ClassVar[str] = ""
    args: ArgsT

    def __init__(self, **kwargs: Any):
        try:
            self.args = cast(ArgsT, self.Args.model_validate(kwargs))
        except ValidationError as error:
            raise ConstraintArgumentError(self.id, _validation_message(error)) from None
        except ValueError as error:
            raise ConstraintArgumentError(self.id, str(error)) from None

    @property
    def kwargs(self) -> dict[str, Any]:
        """The arguments as given (validated), without unset defaults."""
        return self.args.model_dump(mode="json", exclude_unset=True)

    @abstractmethod
    def describe(self) -> str:
        """The instruction this checker verifies, worded as a prompt would state it."""

    @abstractmethod
    def measure(self, stats: TextStats) -> Verdict:
        """The verdict on a text, reading its shared measurements."""

    def needs_language(self, stats: TextStats) -> bool:
        """Whether `measure(stats)` would read `stats.language` (lets callers batch detection)."""
        return False

    def verdict(self, text: str | TextStats) -> Verdict:
        stats = text if isinstance(text, TextStats) else analyze(text)
        return self.measure(stats)

    def check(self, text: str | TextStats) -> bool:
        """True when `text` satisfies the constraint."""
        return self.verdict(text).passed

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r}, {self.kwargs!r})"


def _validation_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"]) or "(arguments)"
        message = item["msg"]
        if item["type"] == "missing":
            message = "missing required argument"
        elif item["type"] == "extra_forbidden":
            message = "unexpected argument"
        parts.append(f"{location}: {message}")
    return "; ".join(parts)
