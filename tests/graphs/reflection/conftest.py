"""Scripted models for the reflection loop: one chat model that answers by the role its prompt names."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
from writer_r1.testing import ScriptedChatModel

MARKER = re.compile(r"«(\w+)»")


def five_levels(name: str) -> list[Level]:
    return [Level(anchor=f"{name} level {i}") for i in range(1, 6)]


@pytest.fixture
def criteria() -> CriteriaSet:
    """Imagery weighs 3, pace 1: overall = (3·s_imagery + s_pace) / 4 with s = (level − 1) / 4."""
    return CriteriaSet(
        task="a short story",
        dimensions=[
            Dimension(
                name="Craft",
                criteria=[
                    Criterion(
                        id="imagery",
                        name="Imagery",
                        description="Concrete images",
                        levels=five_levels("imagery"),
                        weight=3,
                    ),
                    Criterion(id="pace", name="Pace", description="Moves along", levels=five_levels("pace"), weight=1),
                ],
            )
        ],
    )


@dataclass
class Roles:
    """Replies by role. Texts carry a marker «NAME»; `levels[NAME]` is the judge's verdict for that text
    ({criterion: level}, or "garbage" for an unparseable reply)."""

    draft: str = "«D0» The first draft."
    revisions: list[str] = field(default_factory=list)
    levels: dict[str, Any] = field(default_factory=dict)
    reflection: dict[str, Any] | str | Callable[[str], Any] = field(
        default_factory=lambda: {
            "diagnosis": "Imagery is thin.",
            "targets": ["imagery"],
            "plan": ["Add a sensory detail."],
            "keep": ["the ending"],
        }
    )
    pairwise: Callable[[str, str], str] | None = None
    extracted: list[dict[str, Any]] = field(default_factory=list)
    prompts: dict[str, list[str]] = field(default_factory=dict)

    def reply(self, messages: list, kwargs: dict) -> str:
        prompt = "\n".join(m.content for m in messages)
        role = self.role_of(messages[0].content)
        self.prompts.setdefault(role, []).append(prompt)
        if role == "extractor":
            return json.dumps({"constraints": self.extracted, "unverifiable": []})
        if role == "reflector":
            value = self.reflection(prompt) if callable(self.reflection) else self.reflection
            return value if isinstance(value, str) else json.dumps(value)
        if role == "revise":
            if not self.revisions:
                raise RuntimeError("no revision scripted")
            return self.revisions.pop(0)
        if role == "pairwise":
            assert self.pairwise is not None, "pairwise check not scripted"
            first, second = MARKER.findall(messages[0].content.split("Text A is between")[1])[:2]
            return json.dumps({"reason": "compared", "winner": self.pairwise(first, second)})
        if role == "judge":
            marker = MARKER.findall(messages[0].content.split("The text to judge")[1])[0]
            verdict = self.levels[marker]
            if verdict == "garbage":
                return "I cannot judge this."
            return json.dumps({cid: {"reason": f"{cid} of {marker}", "level": level} for cid, level in verdict.items()})
        return self.draft

    @staticmethod
    def role_of(first_message: str) -> str:
        if first_message.startswith("You turn a writing task into checkable constraints"):
            return "extractor"
        if first_message.startswith("You are a writing coach"):
            return "reflector"
        if first_message.startswith("You are a skilled writer revising"):
            return "revise"
        if "Compare two texts" in first_message:
            return "pairwise"
        if first_message.startswith("You are a careful writing judge"):
            return "judge"
        return "draft"

    def model(self) -> ScriptedChatModel:
        return ScriptedChatModel(default=self.reply)


@pytest.fixture
def roles() -> Callable[..., Roles]:
    return Roles
