"""The critic: reviews a draft criteria set and returns a typed `Critique` (approved, issues by kind).

Example:
    >>> import asyncio
    >>> from writer_r1.core.fake import FakeChatModel
    >>> from writer_r1.core.criteria import CriteriaSet
    >>> criteria = CriteriaSet.model_validate({"task": "A poem", "dimensions": [{"name": "Craft", "criteria": [
    ...     {"id": "imagery", "name": "Imagery", "description": "Concrete images", "levels": [{"anchor": "none"}, {"anchor": "vivid"}]}]}]})
    >>> isinstance(asyncio.run(Critic(FakeChatModel()).acritique(criteria)).approved, bool)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.records import Critique


class Critic:
    """Reviews criteria with one structured call.

    Args:
        model: the chat model that reviews.
        retries: structured-output retries for malformed replies.
    """

    def __init__(
        self, model: BaseChatModel, *, retries: int = 2, template: str | None = None, language: str | None = None
    ) -> None:
        self.model = model
        self.retries = retries
        self.template = template
        self.language = language

    def prompt(
        self, criteria: CriteriaSet, uncovered: Sequence[tuple[str, int]] = (), discrimination: Sequence[Any] = ()
    ) -> str:
        """The review prompt; `discrimination` holds the check's results (criterion_id, strong_level, weak_level)."""
        from writer_r1.constraints import describe
        from writer_r1.prompts import render
        from writer_r1.prompts.language import language_label

        constraints = []
        for spec in criteria.constraints:
            try:
                constraints.append(f"{spec.id}: {describe(spec)}")
            except ValueError:
                constraints.append(spec.id)
        return render(
            "critic",
            template=self.template,
            task=criteria.task,
            criteria=criteria,
            constraints=constraints,
            uncovered=list(uncovered),
            discrimination=list(discrimination),
            language=language_label(self.language or criteria.language),
        )

    async def acritique(
        self, criteria: CriteriaSet, *, uncovered: Sequence[tuple[str, int]] = (), discrimination: Sequence[Any] = ()
    ) -> Critique:
        """The critic's verdict; `uncovered` lists (concept, count) of frequent codes no criterion covers,
        `discrimination` how each criterion scored the strong and the weak sample texts of its codes."""
        from writer_r1.core.structured import ainvoke_structured

        prompt = self.prompt(criteria, uncovered, discrimination)
        return await ainvoke_structured(self.model, [HumanMessage(content=prompt)], Critique, retries=self.retries)
