"""SFT datasets from reflections (MRPO): what worked becomes supervised data for TRL's `SFTTrainer`.

Rows are in TRL's conversational `messages` format, of two kinds:

- **best draft** — task → the best accepted revision of that task;
- **reflection** — for each accepted revision, the two calls the reflection graph made, each rendered with
  the very prompt the graph renders, so a fine-tuned model sees at training what it sees at inference:
  the reflector's (`prompts/reflector.j2`: task, fenced draft, ranked weaknesses, what to keep) → the
  reflection as the JSON the reflector returns, and the writer's (`prompts/writer_revise.j2`: draft,
  diagnosis, plan, the anchors aimed for, the requirements) → the revised text. A rejected revision is not
  a behaviour to imitate and gives no row.

Sources: reflection trajectories (`ReflectionResult`, `rows_from_results`) hold every scorecard, so both
rows are rendered exactly (recalled lessons, which depend on the memory at that time, are left out). The
experience memory (`rows_from_memory`) keeps no scorecard, so it gives the writer's row only, without aims
and with the requirements it recorded as failed.

Example:
    >>> from writer_r1.core.records import Experience, Reflection
    >>> exp = Experience(task="Write a haiku", reflection=Reflection(diagnosis="flat", plan=["add an image"]),
    ...                  draft="snow falls", revision="snow on the cedar", score_before=0.2, score_after=0.6,
    ...                  accepted=True)
    >>> [row["messages"][-1]["content"] for row in best_draft_rows([exp])]
    ['snow on the cedar']
    >>> [row] = reflection_rows([exp])
    >>> row["messages"][0]["content"].startswith("You are a skilled writer revising a draft.")
    True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from writer_r1.core.criteria import ConstraintSpec, CriteriaSet
from writer_r1.core.errors import UserError
from writer_r1.core.records import Experience
from writer_r1.core.scorecard import Scorecard

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

Row = dict[str, list[dict[str, str]]]


@dataclass(frozen=True)
class ReflectionTurn:
    """One revision with what its reflector and writer saw: the draft's scorecard, the criteria, the requirements.

    Without `criteria` and `scorecard` (an experience from memory) only the writer's row can be rendered.
    """

    experience: Experience
    criteria: CriteriaSet | None = None
    scorecard: Scorecard | None = None
    constraints: tuple[ConstraintSpec, ...] = ()


def best_draft_rows(experiences: Iterable[Experience]) -> list[Row]:
    """One row per task: the task as the user turn, its highest-scoring accepted revision as the answer."""
    best: dict[str, Experience] = {}
    for experience in experiences:
        if not experience.accepted or not experience.revision.strip() or experience.score_after is None:
            continue
        current = best.get(experience.task)
        if current is None or (current.score_after or 0.0) < experience.score_after:
            best[experience.task] = experience
    return [
        {"messages": [{"role": "user", "content": task}, {"role": "assistant", "content": exp.revision}]}
        for task, exp in best.items()
    ]


def _language(task: str) -> str:
    from writer_r1.agents.language import task_language

    return task_language(task)


def _unused_model() -> BaseChatModel:
    """A chat model that is never called: the agents here only render their prompts."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    return FakeListChatModel(responses=[])


def reflector_row(turn: ReflectionTurn) -> Row | None:
    """The reflector's call for this revision, as the graph renders it, answered with the reflection's JSON."""
    from writer_r1.agents.reflector import Reflector, rank_weaknesses

    experience = turn.experience
    if turn.criteria is None or turn.scorecard is None:
        return None
    reflector = Reflector(_unused_model(), language=_language(experience.task))  # renders the prompt only
    prompt = reflector.prompt(
        experience.task,
        experience.draft,
        turn.criteria,
        turn.scorecard,
        weaknesses=rank_weaknesses(turn.criteria, turn.scorecard),
    )
    answer = json.dumps(experience.reflection.model_dump(mode="json"), ensure_ascii=False)
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}


def writer_row(turn: ReflectionTurn) -> Row:
    """The writer's revision call, as the graph renders it (with the aimed-for anchors when the scorecard is known)."""
    from writer_r1.agents.writer import Writer
    from writer_r1.graphs.reflection import aims_of

    experience = turn.experience
    aims = []
    if turn.criteria is not None and turn.scorecard is not None:
        aims = aims_of(turn.criteria, turn.scorecard, experience.reflection.targets)
    writer = Writer(_unused_model(), language=_language(experience.task))  # renders the prompt only
    prompt = writer.revise_prompt(
        experience.task, experience.draft, experience.reflection, constraints=list(turn.constraints), aims=aims
    )
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": experience.revision}]}


def reflection_rows(items: Iterable[Experience | ReflectionTurn]) -> list[Row]:
    """The reflector's and the writer's rows of each accepted revision (see the module docstring)."""
    rows = []
    for item in items:
        turn = item if isinstance(item, ReflectionTurn) else ReflectionTurn(experience=item)
        experience = turn.experience
        if not experience.accepted or not experience.revision.strip() or not experience.draft.strip():
            continue
        if (row := reflector_row(turn)) is not None:
            rows.append(row)
        rows.append(writer_row(turn))
    return rows


def rows_from_memory(memory: Any, kind: str = "best") -> list[Row]:
    """Rows of `kind` ("best" or "reflection") from an `ExperienceMemory`."""
    return _rows(list(memory.iter_experiences(accepted=True)), kind)


def _rows(turns: Sequence[Experience | ReflectionTurn], kind: str) -> list[Row]:
    if kind == "best":
        return best_draft_rows(t.experience if isinstance(t, ReflectionTurn) else t for t in turns)
    if kind == "reflection":
        return reflection_rows(turns)
    raise UserError(f"kind must be 'best' or 'reflection', got {kind!r}")


def experiences_from_result(task: str, result: Any) -> list[Experience]:
    """Each revision in a reflection run's trajectory (`ReflectionResult.history`) as an `Experience`.

    The draft it was made from, that draft's scorecard (weakest criteria as the reflector ranked them,
    failed constraints, overall), the reflection and the revision with its score and verdict — what the
    reflection graph stores in memory, rebuilt from a trajectory that was not stored.
    """
    return [turn.experience for turn in turns_from_result(task, result)]


def turns_from_result(task: str, result: Any) -> list[ReflectionTurn]:
    """Each revision of a trajectory with the criteria, its draft's scorecard and the requirements checked."""
    from writer_r1.agents.reflector import rank_weaknesses, weak_criteria_ids

    by_index = {entry.index: entry for entry in result.history}
    turns = []
    for entry in result.history:
        if entry.reflection is None or entry.base_index not in by_index:
            continue
        base = by_index[entry.base_index]
        experience = Experience(
            task=task,
            criteria_version=result.criteria.version,
            weak_criteria=weak_criteria_ids(rank_weaknesses(result.criteria, base.scorecard)),
            failed_constraints=[r.id for r in base.scorecard.failed_constraints],
            reflection=entry.reflection,
            draft=base.text,
            revision=entry.text,
            score_before=base.scorecard.overall,
            score_after=entry.scorecard.overall,
            accepted=entry.accepted,
        )
        constraints = tuple(ConstraintSpec(id=r.id, kwargs=r.kwargs) for r in base.scorecard.constraints)
        turns.append(ReflectionTurn(experience, result.criteria, base.scorecard, constraints))
    return turns


def rows_from_results(tasks: Iterable[str], results: Iterable[Any], kind: str = "best") -> list[Row]:
    """Rows of `kind` ("best" or "reflection") from reflection runs (`ReflectionResult`, one per task)."""
    turns = [t for task, result in zip(tasks, results, strict=True) for t in turns_from_result(task, result)]
    return _rows(turns, kind)


def to_dataset(rows: list[Row]) -> Any:
    """A `datasets.Dataset` for `SFTTrainer` (extra `[train]`)."""
    from datasets import Dataset

    return Dataset.from_list(rows)


def write_jsonl(rows: list[Row], path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
