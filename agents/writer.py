"""The writer: drafts a text for a task, and revises a draft following a reflection.

Example:
    >>> import asyncio
    >>> from writer_r1.core.fake import FakeChatModel
    >>> from writer_r1.core.records import Reflection
    >>> writer = Writer(FakeChatModel())
    >>> draft = asyncio.run(writer.adraft("A short story about a lighthouse keeper", temperature=0.7))
    >>> plan = Reflection(diagnosis="Flat imagery.", plan=["Add one concrete sensory detail per paragraph."])
    >>> revision = asyncio.run(writer.arevise("A short story about a lighthouse keeper", draft, plan))
    >>> bool(draft.strip()) and bool(revision.strip())
    True
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict
from writer_r1.core.criteria import ConstraintSpec
from writer_r1.core.records import Reflection

logger = logging.getLogger(__name__)

_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
_WHOLE_FENCE = re.compile(r"^```[\w-]*\n(?P<body>.*)\n```$", re.DOTALL)


class EmptyTextError(RuntimeError):
    """The writer model returned no text."""


def clean_text(reply: str) -> str:
    """The text a writer model meant: reasoning blocks removed, a fence around the whole reply unwrapped.

    >>> clean_text("<think>plan</think>\\nThe sea was calm.")
    'The sea was calm.'
    """
    text = _THINK_BLOCK.sub("", reply).strip()
    if match := _WHOLE_FENCE.match(text):
        text = match.group("body").strip()
    return text


def constraint_lines(constraints: Sequence[ConstraintSpec]) -> list[str]:
    """Instruction lines for constraints: their own description, else the checker's."""
    from writer_r1.constraints import describe

    lines = []
    for spec in constraints:
        try:
            lines.append(spec.description or describe(spec))
        except ValueError as error:  # an unknown or malformed spec cannot be described; say so, don't drop it
            logger.warning("cannot describe constraint %s: %s", spec.id, error)
            lines.append(f"{spec.id} {spec.kwargs}")
    return lines


class Aim(BaseModel):
    """The level a revision aims for on one criterion: its name and that level's anchor."""

    model_config = ConfigDict(frozen=True)

    criterion_id: str
    name: str
    anchor: str


def length_hint(text: str) -> str:
    """The draft's length in the unit a reader counts: CJK characters, else words.

    >>> length_hint("One two three.")
    'about 3 words'
    """
    from writer_r1.constraints.text import has_cjk

    if has_cjk(text):
        return f"about {sum(1 for c in text if not c.isspace())} characters"
    return f"about {len(text.split())} words"


class Writer:
    """Drafts and revises texts with a chat model.

    Args:
        model: any LangChain chat model.
        draft_template / revise_template: paths overriding `prompts/writer_draft.j2` / `writer_revise.j2`.
        language: the task's language code; drafts and revisions are written in it.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        draft_template: str | os.PathLike[str] | None = None,
        revise_template: str | os.PathLike[str] | None = None,
        language: str | None = None,
    ):
        self.model = model
        self.draft_template = draft_template
        self.revise_template = revise_template
        self.language = language

    def draft_prompt(
        self,
        task: str,
        *,
        approach: str | None = None,
        constraints: Sequence[ConstraintSpec] = (),
        probe: str | None = None,
    ) -> str:
        """The drafting prompt; `probe` asks a theoretical sample to show a gap of the current criteria."""
        from writer_r1.agents.language import language_for
        from writer_r1.prompts import render

        return render(
            "writer_draft",
            template=self.draft_template,
            task=task,
            approach=approach,
            probe=probe,
            constraints=constraint_lines(constraints),
            language=language_for(self.language, task),
        )

    def revise_prompt(
        self,
        task: str,
        draft: str,
        reflection: Reflection,
        *,
        constraints: Sequence[ConstraintSpec] = (),
        aims: Sequence[Aim] = (),
    ) -> str:
        """The revision prompt: change only what the plan targets, keep the rest verbatim, aim at `aims`' anchors."""
        from writer_r1.agents.language import language_for
        from writer_r1.prompts import fence, render

        fenced, delimiter = fence(draft, stem="DRAFT")
        return render(
            "writer_revise",
            template=self.revise_template,
            task=task,
            draft=fenced,
            delimiter=delimiter,
            reflection=reflection,
            aims=list(aims),
            length=length_hint(draft),
            constraints=constraint_lines(constraints),
            language=language_for(self.language, task),
        )

    async def adraft(
        self,
        task: str,
        *,
        temperature: float | None = None,
        approach: str | None = None,
        constraints: Sequence[ConstraintSpec] = (),
        probe: str | None = None,
        config: RunnableConfig | None = None,
    ) -> str:
        """Write a first draft for `task` (an `approach` varies it, e.g. "told as a letter")."""
        prompt = self.draft_prompt(task, approach=approach, constraints=constraints, probe=probe)
        return await self._complete(prompt, temperature=temperature, config=config)

    async def arevise(
        self,
        task: str,
        draft: str,
        reflection: Reflection,
        *,
        temperature: float | None = None,
        constraints: Sequence[ConstraintSpec] = (),
        aims: Sequence[Aim] = (),
        config: RunnableConfig | None = None,
    ) -> str:
        """Revise `draft` following `reflection`'s diagnosis, plan and what to keep, aiming at `aims`' anchors."""
        prompt = self.revise_prompt(task, draft, reflection, constraints=constraints, aims=aims)
        return await self._complete(prompt, temperature=temperature, config=config)

    async def _complete(self, prompt: str, *, temperature: float | None, config: RunnableConfig | None) -> str:
        kwargs: dict[str, Any] = {} if temperature is None else {"temperature": temperature}
        message = await self.model.ainvoke([HumanMessage(content=prompt)], config=config, **kwargs)
        content = (
            message.content
            if isinstance(message.content, str)
            else "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in message.content)
        )
        text = clean_text(content)
        if not text:
            raise EmptyTextError("the writer model returned an empty text")
        return text
