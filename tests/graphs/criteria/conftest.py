"""A role-aware scripted model for the criteria graph: each reply function sees the prompt and knows its role.

Tests get `scripted` through the `make_scripted` fixture; the resume test's subprocess loads this file by path.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

ROLE_MARKERS = {
    "writer": "You are a skilled writer.",
    "coder": "You are a qualitative researcher doing open coding",
    "requirements": "You list the explicit requirements of a writing task.",
    "inducer": "You build criteria for judging writing by axial and selective coding",
    "critic": "You review a draft set of criteria",
    "extractor": "You turn a writing task into checkable constraints",
    "judge": "You are a careful writing judge",
}

SAMPLE_SENTENCES = [
    "The keeper climbed the iron stairs at dusk.",
    "Salt crusted the window of the lamp room.",
    "He talked to the gulls as if they were old friends.",
    "The supply boat was three weeks late.",
    "At midnight the fog swallowed the beam.",
]


def role_of(prompt: str) -> str:
    for role, marker in ROLE_MARKERS.items():
        if marker in prompt:
            return role
    raise AssertionError(f"no role marker in prompt: {prompt[:200]!r}")


def fenced_text(prompt: str) -> str:
    """The text between the first pair of <<<...>>> delimiter lines."""
    match = re.search(r"^(<<<[A-Z]+(?:-[0-9a-f]+)?>>>)\n(.*?)\n\1$", prompt, re.MULTILINE | re.DOTALL)
    assert match, "no fenced text in the prompt"
    return match.group(2)


def default_writer(prompt: str, kwargs: dict[str, Any], number: int) -> str:
    first = SAMPLE_SENTENCES[number % len(SAMPLE_SENTENCES)]
    second = SAMPLE_SENTENCES[(number + 2) % len(SAMPLE_SENTENCES)]
    return f"Draft {number} at temperature {kwargs.get('temperature')}. {first} {second}"


def default_coder(prompt: str, kwargs: dict[str, Any], number: int) -> str:
    text = fenced_text(prompt)
    sentence = re.findall(r"[^.]+\.", text)[-1].strip()
    return json.dumps(
        {
            "codes": [
                {
                    "concept": "sensory detail",
                    "observation": "Concrete sensory detail of the sea.",
                    "quote": sentence,
                    "polarity": "strength",
                }
            ]
        }
    )


def default_requirements(prompt: str, kwargs: dict[str, Any], number: int) -> str:
    return json.dumps({"requirements": [{"requirement": "a short story", "quote": "short story"}]})


def induction(*, keep_id: str | None = None, constraints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    levels = ["absent", "thin", "present", "strong", "vivid"]
    return {
        "dimensions": [
            {
                "name": "Craft",
                "description": "How the prose works",
                "weight": 6,
                "criteria": [
                    {
                        "id": keep_id,
                        "name": "Sensory detail",
                        "description": "Concrete sensory detail of the sea and the lamp",
                        "levels": levels,
                        "weight": 8,
                        "evidence": ["sensory detail"],
                    },
                    {
                        "name": "Voice",
                        "description": "A distinctive narrating voice",
                        "levels": levels,
                        "weight": 4,
                        "evidence": [],
                    },
                ],
            },
            {
                "name": "Task fit",
                "description": "What the task asks for",
                "weight": 4,
                "criteria": [
                    {
                        "name": "Story form",
                        "description": "Reads as a complete short story",
                        "levels": levels,
                        "weight": 5,
                        "kind": "constraint",
                    }
                ],
            },
        ],
        "constraints": constraints or [],
        "language": "en",
    }


def default_inducer(prompt: str, kwargs: dict[str, Any], number: int) -> str:
    return json.dumps(induction())


def default_critic(prompt: str, kwargs: dict[str, Any], number: int) -> str:
    return json.dumps({"approved": True, "issues": [], "summary": "fine"})


def default_extractor(prompt: str, kwargs: dict[str, Any], number: int) -> str:
    return json.dumps({"constraints": [], "unverifiable": []})


def judged_ids(prompt: str) -> list[tuple[str, int]]:
    """(criterion id, top level) of each criterion a judge prompt asks about (from its contract lines)."""
    return [(cid, int(top)) for cid, top in re.findall(r'^- "([^"]+)": level 1 to (\d+)$', prompt, re.MULTILINE)]


def default_judge(prompt: str, kwargs: dict[str, Any], number: int) -> str:
    return json.dumps({cid: {"reason": "r", "level": top} for cid, top in judged_ids(prompt)})


RoleReply = Callable[[str, dict[str, Any], int], str]


class RoleScript:
    """A reply function for `ScriptedChatModel(default=...)` that dispatches on the prompt's role.

    `number` passed to a handler is how many calls that role had before this one.
    """

    def __init__(self, **handlers: RoleReply) -> None:
        unknown = set(handlers) - set(ROLE_MARKERS)
        assert not unknown, unknown
        self.handlers: dict[str, RoleReply] = {
            "writer": default_writer,
            "coder": default_coder,
            "requirements": default_requirements,
            "inducer": default_inducer,
            "critic": default_critic,
            "extractor": default_extractor,
            "judge": default_judge,
            **handlers,
        }
        self.counts: Counter[str] = Counter()
        self.prompts: dict[str, list[str]] = {role: [] for role in ROLE_MARKERS}
        self._lock = threading.Lock()

    def __call__(self, messages: list[Any], kwargs: dict[str, Any]) -> str:
        prompt = "\n".join(m.content if isinstance(m.content, str) else str(m.content) for m in messages)
        role = role_of(prompt)
        with self._lock:
            number = self.counts[role]
            self.counts[role] += 1
            self.prompts[role].append(prompt)
        return self.handlers[role](prompt, kwargs, number)


def scripted(**handlers: RoleReply) -> tuple[Any, RoleScript]:
    from writer_r1.testing import ScriptedChatModel

    script = RoleScript(**handlers)
    return ScriptedChatModel(default=script), script


@pytest.fixture
def make_scripted() -> Callable[..., tuple[Any, RoleScript]]:
    """`make_scripted(coder=fn, ...)` → (a ScriptedChatModel, its RoleScript with per-role counts and prompts)."""
    return scripted


@pytest.fixture(name="induction")
def induction_fixture() -> Callable[..., dict[str, Any]]:
    """`induction(keep_id=..., constraints=[...])` → a valid inducer reply as a dict."""
    return induction
