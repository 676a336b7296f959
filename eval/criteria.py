"""The criteria a prompt is judged by: from its row (a CriteriaSet, a WritingBench rubric, a HelloBench
checklist), else the run's criteria file, else a short generic writing rubric.

Example:
    >>> from writer_r1.eval.io import PromptItem
    >>> row = {"prompt": "Write a story.", "checklists": ["Is it a story?"]}
    >>> criteria_of(PromptItem(id="1", prompt="Write a story.", row=row)).criteria[0].name
    'Checklist 1'
    >>> criteria_of(PromptItem(id="2", prompt="Write.")) is None
    True
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import ValidationError
from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
from writer_r1.core.errors import UserError
from writer_r1.eval.io import EvalInputError, PromptItem


def criteria_of(item: PromptItem, default: CriteriaSet | None = None) -> CriteriaSet | None:
    """The criteria a row brings (`criteria` as a CriteriaSet object or a WritingBench list, `checklist`,
    HelloBench `checklists`), else `default`."""
    row = item.row
    try:
        criteria = row.get("criteria")
        if isinstance(criteria, dict):
            return CriteriaSet.model_validate(criteria)
        if isinstance(criteria, list) or isinstance(row.get("checklist"), list):
            return CriteriaSet.from_writingbench(row)
        if isinstance(row.get("checklists"), list):
            return CriteriaSet.from_hellobench(row)
    except (ValidationError, UserError) as error:
        first = str(error).strip().splitlines()[0]
        raise EvalInputError(f"line {item.line}: key 'criteria': {first}") from error
    return default


@lru_cache(maxsize=1)
def generic_criteria() -> CriteriaSet:
    """The rubric used when neither the row nor the run gives criteria: four broad, observable criteria."""

    def criterion(cid: str, name: str, description: str, worst: str, middle: str, best: str) -> Criterion:
        return Criterion(
            id=cid,
            name=name,
            description=description,
            levels=(Level(anchor=worst), Level(anchor=middle), Level(anchor=best)),
        )

    return CriteriaSet(
        task="",
        dimensions=(
            Dimension(
                name="Task",
                criteria=(
                    criterion(
                        "instructions",
                        "Instruction following",
                        "Does every explicit requirement of the task (length, format, content, tone)?",
                        "ignores requirements",
                        "meets most requirements",
                        "meets every requirement",
                    ),
                    criterion(
                        "content",
                        "Content",
                        "Relevant, substantive, accurate content for the task",
                        "off-topic or empty",
                        "relevant but thin",
                        "relevant, specific and rich",
                    ),
                ),
            ),
            Dimension(
                name="Writing",
                criteria=(
                    criterion(
                        "clarity",
                        "Clarity and structure",
                        "Easy to follow; ideas in a sensible order",
                        "confusing",
                        "mostly clear",
                        "clear and well organised",
                    ),
                    criterion(
                        "style",
                        "Style",
                        "Fitting, precise, vivid language without padding",
                        "flat or padded",
                        "adequate",
                        "precise and engaging",
                    ),
                ),
            ),
        ),
    )
