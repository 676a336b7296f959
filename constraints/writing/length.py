"""Length constraints for English and Chinese writing: words, characters, sentences, paragraphs.

Every range takes `min` / `max`, or a `target` with a relative `tolerance` ("about 2,000 words"
→ 1,800..2,200 with the default 10 %). Words are counted CJK-aware: each CJK character is a
word, other words count once, so "不少于800字" and "at least 800 words" read the same way.

Example:
    >>> from writer_r1.constraints import get_checker
    >>> c = get_checker("writing:word_count_range", target=10)
    >>> c.describe()
    'Write about 10 words (between 9 and 11).'
    >>> c.verdict("一二三四五 six seven eight nine ten").passed
    True
"""

from __future__ import annotations

import math
import re
from typing import ClassVar, TypeVar

from pydantic import Field, model_validator
from writer_r1.constraints.base import Args, Checker, Verdict
from writer_r1.constraints.registry import register
from writer_r1.constraints.text import TextStats, character_count, writing_sentences


class RangeArgs(Args):
    """A count range: `min` and/or `max`, or `target` ± `tolerance` (a fraction of the target)."""

    min: int | None = Field(default=None, ge=0, description="smallest acceptable count")
    max: int | None = Field(default=None, ge=0, description="largest acceptable count")
    target: int | None = Field(default=None, gt=0, description="approximate count ('about N')")
    tolerance: float = Field(default=0.1, ge=0, le=1, description="relative tolerance around target")

    @model_validator(mode="after")
    def _one_way(self) -> RangeArgs:
        if self.target is None and self.min is None and self.max is None:
            raise ValueError("give min and/or max, or target")
        if self.target is not None and (self.min is not None or self.max is not None):
            raise ValueError("give either target (with tolerance) or min/max, not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def bounds(self) -> tuple[int | None, int | None]:
        if self.target is not None:
            return math.floor(self.target * (1 - self.tolerance)), math.ceil(self.target * (1 + self.tolerance))
        return self.min, self.max

    def phrase(self, unit: str) -> str:
        low, high = self.bounds()
        if self.target is not None:
            return f"about {self.target:,} {unit} (between {low:,} and {high:,})"
        if low is not None and high is not None:
            return f"between {low:,} and {high:,} {unit}"
        if low is not None:
            return f"at least {low:,} {unit}"
        return f"at most {high:,} {unit}"

    def accepts(self, count: int) -> bool:
        low, high = self.bounds()
        return (low is None or count >= low) and (high is None or count <= high)


RangeArgsT = TypeVar("RangeArgsT", bound=RangeArgs)


class _RangeChecker(Checker[RangeArgsT]):
    Args = RangeArgs
    unit: ClassVar[str] = ""
    verb: ClassVar[str] = "Write"

    def count(self, stats: TextStats) -> int:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.verb} {self.args.phrase(self.unit)}."

    def measure(self, stats: TextStats) -> Verdict:
        found = self.count(stats)
        return Verdict(self.args.accepts(found), f"found {found:,} {self.unit}; needed {self.args.phrase(self.unit)}")


@register
class WordCountRange(_RangeChecker[RangeArgs]):
    """Word count in a range (CJK characters count as words)."""

    id = "writing:word_count_range"
    unit = "words"

    def count(self, stats: TextStats) -> int:
        return stats.cjk_words


class CharacterRangeArgs(RangeArgs):
    include_whitespace: bool = Field(default=False, description="count spaces and line breaks too")


@register
class CharacterCountRange(_RangeChecker[CharacterRangeArgs]):
    """Character count in a range (whitespace excluded unless asked): how 字数 limits are read."""

    id = "writing:character_count_range"
    Args = CharacterRangeArgs
    unit = "characters"

    def count(self, stats: TextStats) -> int:
        return character_count(stats.text, include_whitespace=self.args.include_whitespace)


@register
class SentenceCountRange(_RangeChecker[RangeArgs]):
    """Sentence count in a range (Chinese and English terminators)."""

    id = "writing:sentence_count_range"
    unit = "sentences"

    def count(self, stats: TextStats) -> int:
        return len(writing_sentences(stats.text))


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_BLANK_LINE = re.compile(r"\n\s*\n")


def paragraphs(text: str) -> list[str]:
    """Paragraphs: blocks between blank lines, or non-empty lines when the text has no blank line.

    Markdown headings and horizontal rules are not paragraphs.
    """
    text = text.strip()
    if not text:
        return []
    blocks = _BLANK_LINE.split(text) if _BLANK_LINE.search(text) else text.splitlines()
    kept = []
    for block in blocks:
        lines = [
            line for line in block.splitlines() if line.strip() and not _HEADING.match(line) and not _RULE.match(line)
        ]
        if lines:
            kept.append("\n".join(lines))
    return kept


@register
class ParagraphCountRange(_RangeChecker[RangeArgs]):
    """Paragraph count in a range (blank-line blocks; single lines when there is no blank line)."""

    id = "writing:paragraph_count_range"
    unit = "paragraphs"

    def count(self, stats: TextStats) -> int:
        return len(paragraphs(stats.text))
