"""Term constraints: must include, must avoid, start with, end with.

Matching ignores case by default; an English term matches whole words (so "art" does not match
"start"), a CJK term matches anywhere.

Example:
    >>> from writer_r1.constraints import get_checker
    >>> get_checker("writing:must_avoid", terms=["very"]).check("Every word counts.")
    True
    >>> get_checker("writing:ends_with", phrase="The End").check("...and so it was. **The end.**")
    True
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from writer_r1.constraints.base import Args, Checker, Verdict
from writer_r1.constraints.registry import register
from writer_r1.constraints.text import TextStats


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


Term = Annotated[str, AfterValidator(_nonblank)]


def term_pattern(term: str, *, case_sensitive: bool) -> re.Pattern[str]:
    """A pattern for `term`: whole-word edges where the term starts or ends with a word character."""
    start = r"(?<!\w)" if re.match(r"[A-Za-z0-9]", term) else ""
    end = r"(?!\w)" if re.search(r"[A-Za-z0-9]$", term) else ""
    return re.compile(start + re.escape(term) + end, 0 if case_sensitive else re.IGNORECASE)


class TermsArgs(Args):
    terms: list[Term] = Field(min_length=1, description="words or phrases")
    mode: Literal["all", "any"] = Field(default="all", description="all terms, or at least one")
    case_sensitive: bool = False
    min_count: int = Field(default=1, ge=1, description="occurrences each term needs (must_include)")


def _quote(terms: list[str]) -> str:
    return ", ".join(f'"{t}"' for t in terms)


@register
class MustInclude(Checker[TermsArgs]):
    """Required words or phrases appear (all of them, or any one)."""

    id = "writing:must_include"
    Args = TermsArgs

    def describe(self) -> str:
        a = self.args
        which = "the following" if a.mode == "all" or len(a.terms) == 1 else "at least one of"
        times = f" (each at least {a.min_count} times)" if a.min_count > 1 else ""
        return f"Include {which}: {_quote(a.terms)}{times}."

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        counts = {t: len(term_pattern(t, case_sensitive=a.case_sensitive).findall(stats.text)) for t in a.terms}
        present = [t for t, n in counts.items() if n >= a.min_count]
        ok = len(present) == len(a.terms) if a.mode == "all" else bool(present)
        missing = [t for t in a.terms if t not in present]
        return Verdict(ok, f"missing: {_quote(missing)}" if missing else "all present")


class AvoidArgs(Args):
    terms: list[Term] = Field(min_length=1, description="words or phrases that must not appear")
    case_sensitive: bool = False


@register
class MustAvoid(Checker[AvoidArgs]):
    """None of the listed words or phrases appears."""

    id = "writing:must_avoid"
    Args = AvoidArgs

    def describe(self) -> str:
        return f"Do not use: {_quote(self.args.terms)}."

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        used = [t for t in a.terms if term_pattern(t, case_sensitive=a.case_sensitive).search(stats.text)]
        return Verdict(not used, f"used: {_quote(used)}" if used else "none used")


class PhraseArgs(Args):
    phrase: Term
    case_sensitive: bool = False


_EDGE_MARKUP = "\"'“”‘’「」『』*_#>` \t\r\n"
_END_PUNCTUATION = ".!?。！？…"


def _normalise(text: str, case_sensitive: bool) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if case_sensitive else text.lower()


@register
class StartsWith(Checker[PhraseArgs]):
    """The text begins with a phrase (leading quotes, markdown marks and whitespace ignored)."""

    id = "writing:starts_with"
    Args = PhraseArgs

    def describe(self) -> str:
        return f'Begin with "{self.args.phrase}".'

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        text = _normalise(stats.text.lstrip(_EDGE_MARKUP), a.case_sensitive)
        phrase = _normalise(a.phrase.lstrip(_EDGE_MARKUP), a.case_sensitive)
        ok = text.startswith(phrase)
        return Verdict(ok, "starts with the phrase" if ok else f"starts with {text[:40]!r}")


@register
class EndsWith(Checker[PhraseArgs]):
    """The text ends with a phrase (trailing quotes, markdown marks and final punctuation ignored)."""

    id = "writing:ends_with"
    Args = PhraseArgs

    def describe(self) -> str:
        return f'End with "{self.args.phrase}".'

    def measure(self, stats: TextStats) -> Verdict:
        a = self.args
        strip = _EDGE_MARKUP + _END_PUNCTUATION
        text = _normalise(stats.text.rstrip(strip), a.case_sensitive).rstrip(strip)
        phrase = _normalise(a.phrase.rstrip(strip), a.case_sensitive).rstrip(strip)
        ok = text.endswith(phrase)
        return Verdict(ok, "ends with the phrase" if ok else f"ends with {text[-40:]!r}")
