"""The reflector: diagnoses a scored draft and writes a concrete revision plan (a `Reflection`).

What to fix is decided in code, not by the model: `rank_weaknesses` puts failed constraints first,
then criteria by effective weight × gap to the best level. The reflector model is given that ranking,
what already works, and lessons recalled from earlier revisions, and writes the plan.

Example:
    >>> from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
    >>> from writer_r1.core.scorecard import CriterionScore, Scorecard
    >>> levels = [Level(anchor="flat"), Level(anchor="some detail"), Level(anchor="vivid")]
    >>> cs = CriteriaSet(dimensions=[Dimension(name="Style", criteria=[
    ...     Criterion(id="imagery", name="Imagery", description="Concrete images", levels=levels, weight=3),
    ...     Criterion(id="pace", name="Pace", description="Moves along", levels=levels)])])
    >>> card = Scorecard.build(cs, [CriterionScore(criterion_id="imagery", reason="r", level=2, score=0.5),
    ...                             CriterionScore(criterion_id="pace", reason="r", level=1, score=0.0)], [])
    >>> [w.id for w in rank_weaknesses(cs, card)]  # 0.75 × 0.5 beats 0.25 × 1.0
    ['imagery', 'pace']
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.records import Experience, Reflection
from writer_r1.core.scorecard import Scorecard
from writer_r1.core.structured import JsonContract, ainvoke_structured

logger = logging.getLogger(__name__)


class Weakness(BaseModel):
    """One thing to fix: a failed constraint or an under-scoring criterion, with its priority."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["constraint", "criterion"]
    id: str
    name: str
    priority: float
    detail: str
    target: str = ""


class Strength(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str


def rank_weaknesses(criteria: CriteriaSet, scorecard: Scorecard) -> list[Weakness]:
    """Failed constraints (in order), then criteria below their best level by effective weight × gap.

    Ties keep the criteria set's order; unscored criteria are not ranked (their gap is unknown).
    """
    weaknesses = [
        Weakness(
            kind="constraint",
            id=result.id,
            name="requirement not met",
            priority=float("inf"),
            detail=_constraint_detail(result.id, result.kwargs, result.detail),
        )
        for result in scorecard.failed_constraints
    ]
    weights = criteria.effective_weights()
    ranked: list[tuple[float, int, Weakness]] = []
    for position, criterion in enumerate(criteria.criteria):
        score = scorecard.score_of(criterion.id)
        if score is None or score.score >= 1.0:
            continue
        priority = weights[criterion.id] * (1.0 - score.score)
        next_level = min(score.level + 1, criterion.max_level)
        weakness = Weakness(
            kind="criterion",
            id=criterion.id,
            name=criterion.name,
            priority=priority,
            detail=f"level {score.level} of {criterion.max_level} ({criterion.levels[score.level - 1].anchor}). "
            f"Judge: {score.reason}",
            target=f"level {next_level}: {criterion.levels[next_level - 1].anchor}"
            + (f"; best: {criterion.levels[-1].anchor}" if next_level < criterion.max_level else ""),
        )
        ranked.append((-priority, position, weakness))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return weaknesses + [weakness for _, _, weakness in ranked]


def strengths_of(criteria: CriteriaSet, scorecard: Scorecard) -> list[Strength]:
    """Criteria already at their best level."""
    return [
        Strength(id=criterion.id, name=criterion.name)
        for criterion in criteria.criteria
        if (score := scorecard.score_of(criterion.id)) is not None and score.score >= 1.0
    ]


def weak_criteria_ids(weaknesses: Sequence[Weakness], limit: int = 3) -> list[str]:
    """The ids of the top `limit` weak criteria (constraints excluded): the recall key for experience memory."""
    return [w.id for w in weaknesses if w.kind == "criterion"][:limit]


def _constraint_detail(constraint_id: str, kwargs: dict, detail: str) -> str:
    from writer_r1.constraints import describe

    try:
        instruction = describe({"id": constraint_id, "kwargs": kwargs})
    except ValueError:
        instruction = f"{constraint_id} {kwargs}"
    return f"{instruction}" + (f" ({detail})" if detail else "")


def fallback_reflection(weaknesses: Sequence[Weakness], strengths: Sequence[Strength], *, limit: int = 3) -> Reflection:
    """A plan built from the ranking alone, for when the reflector model gives no valid reply."""
    top = list(weaknesses[:limit])
    if not top:
        return Reflection(diagnosis="Every scored criterion is at its best level.", keep=[s.name for s in strengths])
    plan = []
    for weakness in top:
        if weakness.kind == "constraint":
            plan.append(f"Meet the requirement: {weakness.detail}")
        else:
            plan.append(f"Improve {weakness.name}: aim for {weakness.target}")
    return Reflection(
        diagnosis="Weakest first: " + "; ".join(f"{w.name} [{w.id}]" for w in top),
        targets=[w.id for w in top],
        plan=plan,
        keep=[s.name for s in strengths],
    )


MAX_UNTRUSTED_LINE = 600
"""The longest judge reason or lesson shown in a reflector prompt (characters, on one line)."""


def _one_line(text: str) -> str:
    """Untrusted text as one quoted line: whitespace runs (newlines included) collapsed, length bounded."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_UNTRUSTED_LINE else line[: MAX_UNTRUSTED_LINE - 1] + "…"


@lru_cache(maxsize=1)
def reflection_contract() -> JsonContract[Reflection]:
    """The structured-output contract of a reflection (its JSON Schema is built once: it costs milliseconds)."""
    return JsonContract.from_model(Reflection)


class Reflector:
    """Writes a `Reflection` for a scored draft.

    Args:
        model: any LangChain chat model (structured output through `ainvoke_structured`).
        template: a path overriding `prompts/reflector.j2`.
        max_weaknesses: how many ranked weaknesses the prompt lists.
        retries: structured-output retries.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        template: str | os.PathLike[str] | None = None,
        max_weaknesses: int = 5,
        retries: int = 2,
        language: str | None = None,
    ):
        self.model = model
        self.template = template
        self.max_weaknesses = max_weaknesses
        self.retries = retries
        self.language = language  # the task's language code: the reflection is written in it

    def prompt(
        self,
        task: str,
        draft: str,
        criteria: CriteriaSet,
        scorecard: Scorecard,
        *,
        weaknesses: Sequence[Weakness] | None = None,
        experiences: Sequence[Experience] = (),
    ) -> str:
        from writer_r1.agents.language import language_for
        from writer_r1.prompts import make_delimiter, render

        ranked = list(weaknesses) if weaknesses is not None else rank_weaknesses(criteria, scorecard)
        shown = ranked[: self.max_weaknesses]
        lessons = [e for e in experiences if e.lesson]
        # Judge reasons and recalled lessons are model output, untrusted like the draft: the fence avoids them
        # too, and each is shown on one line, so none can close the fence or add a line of its own.
        delimiter = make_delimiter(draft, *(w.detail for w in shown), *(e.lesson for e in lessons), stem="DRAFT")
        fenced = f"{delimiter}\n{draft}\n{delimiter}"
        shown = [w.model_copy(update={"detail": _one_line(w.detail)}) for w in shown]
        lessons = [e.model_copy(update={"lesson": _one_line(e.lesson)}) for e in lessons]
        return render(
            "reflector",
            template=self.template,
            task=task,
            draft=fenced,
            delimiter=delimiter,
            overall=scorecard.overall,
            weaknesses=shown,
            strengths=strengths_of(criteria, scorecard),
            unscored=[u.criterion_id for u in scorecard.unscored],
            successes=[e for e in lessons if e.accepted],
            failures=[e for e in lessons if not e.accepted],
            language=language_for(self.language, task),
        )

    async def areflect(
        self,
        task: str,
        draft: str,
        criteria: CriteriaSet,
        scorecard: Scorecard,
        *,
        weaknesses: Sequence[Weakness] | None = None,
        experiences: Sequence[Experience] = (),
        config: RunnableConfig | None = None,
    ) -> Reflection:
        """The model's reflection. Raises `StructuredOutputError` when no valid reply comes."""
        prompt = self.prompt(task, draft, criteria, scorecard, weaknesses=weaknesses, experiences=experiences)
        return await ainvoke_structured(
            self.model, [HumanMessage(content=prompt)], reflection_contract(), retries=self.retries, config=config
        )
