"""SFT datasets from reflections (MRPO): what worked becomes supervised data for TRL's `SFTTrainer`.

Two kinds of rows, both in TRL's conversational `messages` format:

- **best draft** — task → the best accepted revision of that task;
- **reflection** — task + draft + its scorecard → the reflection (diagnosis, plan) and the revision,
  only for reflections whose revision was accepted (a rejected one is not a behaviour to imitate).

Sources: the experience memory (`ExperienceMemory`, `rows_from_memory`) and reflection trajectories
(`ReflectionResult`, `rows_from_results`).

Example:
    >>> from writer_r1.core.records import Experience, Reflection
    >>> exp = Experience(task="Write a haiku", reflection=Reflection(diagnosis="flat", plan=["add an image"]),
    ...                  draft="snow falls", revision="snow on the cedar", score_before=0.2, score_after=0.6,
    ...                  accepted=True)
    >>> [row["messages"][-1]["content"] for row in best_draft_rows([exp])]
    ['snow on the cedar']
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from writer_r1.core.errors import UserError
from writer_r1.core.records import Experience
from writer_r1.prompts import fence

Row = dict[str, list[dict[str, str]]]


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


def _reflection_answer(experience: Experience) -> str:
    reflection = experience.reflection
    plan = "\n".join(f"- {step}" for step in reflection.plan)
    keep = "\n".join(f"- {item}" for item in reflection.keep)
    parts = [f"Diagnosis: {reflection.diagnosis}"]
    if plan:
        parts.append(f"Plan:\n{plan}")
    if keep:
        parts.append(f"Keep:\n{keep}")
    parts.append(f"Revision:\n{experience.revision}")
    return "\n\n".join(parts)


def reflection_rows(experiences: Iterable[Experience]) -> list[Row]:
    """Task + draft + what was weak → reflection and revision, for accepted reflections only."""
    rows = []
    for experience in experiences:
        if not experience.accepted or not experience.revision.strip() or not experience.draft.strip():
            continue
        fenced, _ = fence(experience.draft, stem="DRAFT")
        weak = ", ".join(experience.weak_criteria) or "none recorded"
        failed = ", ".join(experience.failed_constraints) or "none"
        score = "unknown" if experience.score_before is None else f"{experience.score_before:.3f}"
        prompt = (
            f"Task: {experience.task}\n\nDraft:\n{fenced}\n\n"
            f"Scorecard: overall {score}; weakest criteria: {weak}; failed constraints: {failed}.\n\n"
            "Diagnose the draft, plan the revision, then write the revised text."
        )
        rows.append({"messages": [{"role": "user", "content": prompt},
                                  {"role": "assistant", "content": _reflection_answer(experience)}]})
    return rows


def rows_from_memory(memory: Any, kind: str = "best") -> list[Row]:
    """Rows of `kind` ("best" or "reflection") from an `ExperienceMemory`."""
    return _rows(list(memory.iter_experiences(accepted=True)), kind)


def _rows(experiences: list[Experience], kind: str) -> list[Row]:
    if kind == "best":
        return best_draft_rows(experiences)
    if kind == "reflection":
        return reflection_rows(experiences)
    raise UserError(f"kind must be 'best' or 'reflection', got {kind!r}")


def experiences_from_result(task: str, result: Any) -> list[Experience]:
    """Each revision in a reflection run's trajectory (`ReflectionResult.history`) as an `Experience`.

    The draft it was made from, that draft's scorecard (weakest criteria as the reflector ranked them,
    failed constraints, overall), the reflection and the revision with its score and verdict — what the
    reflection graph stores in memory, rebuilt from a trajectory that was not stored.
    """
    from writer_r1.agents.reflector import rank_weaknesses, weak_criteria_ids

    by_index = {entry.index: entry for entry in result.history}
    experiences = []
    for entry in result.history:
        if entry.reflection is None or entry.base_index not in by_index:
            continue
        base = by_index[entry.base_index]
        experiences.append(Experience(
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
        ))
    return experiences


def rows_from_results(tasks: Iterable[str], results: Iterable[Any], kind: str = "best") -> list[Row]:
    """Rows of `kind` ("best" or "reflection") from reflection runs (`ReflectionResult`, one per task)."""
    experiences = [e for task, result in zip(tasks, results, strict=True) for e in experiences_from_result(task, result)]
    return _rows(experiences, kind)


def to_dataset(rows: list[Row]) -> Any:
    """A `datasets.Dataset` for `SFTTrainer` (extra `[train]`)."""
    from datasets import Dataset

    return Dataset.from_list(rows)


def write_jsonl(rows: list[Row], path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
