"""Voice constraints: narrative point of view and the presence of dialogue (English and Chinese).

Point of view is read from pronouns outside quoted speech: a first-person narration uses
I / we (我 / 我们); a third-person narration uses he / she / they (他 / 她 / 它) and has few
first-person pronouns outside dialogue.

Example:
    >>> from writer_r1.constraints import get_checker
    >>> get_checker("writing:point_of_view", person="first").check("I walked home. She waved at me.")
    True
    >>> get_checker("writing:point_of_view", person="third").check('He said, "I am tired." She nodded.')
    True
    >>> get_checker("writing:dialogue").check("“你来了？”她问。")
    True
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field
from writer_r1.constraints.base import Args, Checker, Verdict
from writer_r1.constraints.registry import register
from writer_r1.constraints.text import TextStats

_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”]*”|「[^」]*」|『[^』]*』|‘[^’\n]*’")
_SPEAKER_LINE = re.compile(
    r"^\s*(?:\*\*)?[A-Z][A-Za-z .'-]{0,30}(?:\*\*)?\s*[:：]\s*\S|^\s*[\u4e00-\u9fff]{1,6}\s*[:：]\s*\S", re.MULTILINE
)

_EN = {
    "first": re.compile(r"\b(?:I|me|my|mine|myself|we|us|our|ours|ourselves|I'm|I've|I'd|I'll)\b"),
    "second": re.compile(r"\b(?:you|your|yours|yourself|yourselves)\b", re.IGNORECASE),
    "third": re.compile(
        r"\b(?:he|him|his|himself|she|her|hers|herself|they|them|their|theirs|themselves)\b", re.IGNORECASE
    ),
}
_ZH_NOT_PRONOUN = re.compile(r"其他|其它|吉他|自我|忘我")
_ZH = {"first": re.compile(r"[我咱]"), "second": re.compile(r"[你您]"), "third": re.compile(r"[他她它]")}

Person = Literal["first", "second", "third"]


def narration(text: str) -> str:
    """The text with quoted speech removed."""
    return _QUOTED.sub(" ", text)


def pronoun_counts(text: str) -> dict[str, int]:
    """Pronouns per person outside quoted speech (English and Chinese together)."""
    body = narration(text)
    chinese = _ZH_NOT_PRONOUN.sub(" ", body)
    return {person: len(_EN[person].findall(body)) + len(_ZH[person].findall(chinese)) for person in _EN}


class PointOfViewArgs(Args):
    person: Person = Field(description="first, second or third person narration")
    max_other_share: float = Field(
        default=0.1, ge=0, le=1, description="third person: the largest share of first-person pronouns tolerated"
    )


@register
class PointOfView(Checker[PointOfViewArgs]):
    """Narrative point of view from pronouns outside dialogue."""

    id = "writing:point_of_view"
    Args = PointOfViewArgs

    def describe(self) -> str:
        return f"Write in the {self.args.person} person."

    def measure(self, stats: TextStats) -> Verdict:
        counts = pronoun_counts(stats.text)
        first, second, third = counts["first"], counts["second"], counts["third"]
        total = first + second + third
        detail = f"pronouns outside dialogue: first {first}, second {second}, third {third}"
        person = self.args.person
        if person == "first":
            ok = first > 0 and first >= 0.2 * total
        elif person == "second":
            ok = second > 0 and second >= max(first, 0.2 * total)
        else:
            ok = third > 0 and first <= self.args.max_other_share * total
        return Verdict(ok, detail)


class DialogueArgs(Args):
    min_lines: int = Field(default=1, ge=1, description="the least number of quoted or speaker lines")


@register
class Dialogue(Checker[DialogueArgs]):
    """The text contains dialogue: quoted speech or 'Name: line' speaker lines."""

    id = "writing:dialogue"
    Args = DialogueArgs

    def describe(self) -> str:
        n = self.args.min_lines
        return "Include dialogue." if n == 1 else f"Include at least {n} lines of dialogue."

    def measure(self, stats: TextStats) -> Verdict:
        quoted = [q for q in _QUOTED.findall(stats.text) if len(q.strip('"“”「」『』‘’ ')) >= 2]
        found = len(quoted) + len(_SPEAKER_LINE.findall(stats.text))
        return Verdict(found >= self.args.min_lines, f"found {found} dialogue lines")
