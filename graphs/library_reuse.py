"""Reuse, adapt or build: criteria for a task from the criteria library, decided by similarity and provenance.

`criteria_for(task)` is the entry point most code wants. It searches the library (`memory.library`, which only
stores and finds) and:

- **reuses** the stored set when its task is the same (similarity ≥ `same_task_threshold`);
- **adapts** the nearest stored set with one inducer call when the task is similar (≥ `similarity_threshold`);
- otherwise **builds** criteria with the Grounded-Theory graph;

storing what it adapted or built. **Provenance decides reuse**: every stored set records the model that built
it (`provenance.model`), and a set built by the offline `fake` model is never reused or adapted by a run with
another model (the README's first command stores fake criteria; a real run must not be judged on them). What
was decided is logged at INFO (which set, its similarity, its model) and returned by `aresolve_criteria` as a
`CriteriaChoice`, which the reflection graph streams to the CLI's progress. `library=None` skips the library:
the criteria are built and not stored.

This is orchestration (it runs the inducer and the criteria graph), so it lives in `graphs`; `memory` never
imports from `graphs` or `agents`.

Example:
    >>> from writer_r1.memory.embeddings import LexicalEmbeddings
    >>> from writer_r1.memory.library import CriteriaLibrary
    >>> library = CriteriaLibrary(":memory:", embeddings=LexicalEmbeddings())
    >>> stored = criteria_for("A haiku about autumn", library=library, model="fake", max_rounds=0, max_critique_rounds=0)
    >>> criteria_for("A haiku about autumn", library=library, model="fake") == stored
    True
    >>> choice = resolve_criteria("A haiku about autumn", library=library, model="fake")
    >>> choice.action, choice.similarity, choice.source_model
    ('reused', 1.0, 'fake')
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langgraph.store.base import BaseStore
from pydantic import BaseModel, ConfigDict
from writer_r1.agents.inducer import Inducer, criteria_from_induction, validated_constraints
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.criteria import CriteriaSet, Provenance
from writer_r1.core.errors import StructuredOutputError, UserError
from writer_r1.core.models import default_model_spec
from writer_r1.graphs.context import model_for, model_name
from writer_r1.graphs.criteria import abuild_criteria, criteria_context, task_constraints
from writer_r1.memory.library import CriteriaLibrary

logger = logging.getLogger(__name__)

SAME_TASK_THRESHOLD = 0.97
SIMILARITY_THRESHOLD = 0.8
CANDIDATES = 8
"""Stored sets looked at per decision (the nearest one a run may use is taken)."""


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT_LIBRARY"


DEFAULT_LIBRARY: Any = _Default()
"""The default value of `library`: the library at `default_library_path()`. Pass `None` to skip the library."""

Action = Literal["reused", "adapted", "built"]


class _Source(TypedDict):
    """Where a reused or adapted `CriteriaChoice` came from (its source fields)."""

    source_version: str | None
    source_task: str | None
    similarity: float | None
    source_model: str | None
    skipped: tuple[str, ...]


def is_fake_model(name: str | None) -> bool:
    """Whether a provenance model name (or spec) is the offline `fake` test double.

    Example:
        >>> is_fake_model("fake"), is_fake_model("fake:7"), is_fake_model("openai:qwen3"), is_fake_model(None)
        (True, True, False, False)
    """
    if not name:
        return False
    return name == "fake" or name.startswith("fake:") or name == "FakeChatModel"


class CriteriaChoice(BaseModel):
    """What `aresolve_criteria` decided, for logs and progress views."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    criteria: CriteriaSet
    action: Action
    source_version: str | None = None
    source_task: str | None = None
    similarity: float | None = None
    source_model: str | None = None
    skipped: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: what was done, from which stored set, how similar, built by which model."""
        if self.action == "built":
            text = f"built criteria {self.criteria.version} ({self.criteria.provenance.model or 'unknown model'})"
        else:
            verb = "reusing stored criteria" if self.action == "reused" else "adapted stored criteria"
            text = (
                f"{verb} {self.source_version} for {self.source_task!r} (similarity {self.similarity:.2f}, "
                f"built by {self.source_model or 'an unknown model'})"
            )
            if self.action == "adapted":
                text += f" into {self.criteria.version}"
        return text + "".join(f"; {note}" for note in self.skipped)


def _run_model_name(model: Any, limits: dict[str, Any]) -> str | None:
    """The name of the model this run would build or adapt with (its inducer), as provenance records it."""
    inducer = limits.get("inducer_model") or model or default_model_spec()
    if isinstance(inducer, BaseChatModel):
        return str(getattr(inducer, "model_name", None) or getattr(inducer, "model", None) or type(inducer).__name__)
    return str(inducer)


async def _adapt(
    stored: CriteriaSet, similarity: float, task: str, model: Any, base_url: str | None, limits: dict[str, Any]
) -> CriteriaSet:
    context = criteria_context(model, base_url, **limits)
    induction = await Inducer(model_for(context, "inducer")).aadapt(stored, task)
    induced, dropped = validated_constraints(induction.constraints)
    provenance = Provenance(
        source="adapted",
        model=model_name(context, "inducer"),
        samples=stored.provenance.samples,
        rounds=stored.provenance.rounds,
        critique_rounds=stored.provenance.critique_rounds,
        saturation_gap=stored.provenance.saturation_gap,
        codes=stored.provenance.codes,
        notes=(f"adapted from stored set {stored.version} for {stored.task!r} (similarity {similarity:.2f})", *dropped),
    )
    adapted = criteria_from_induction(
        induction, task=task, constraints=task_constraints(task, induced), provenance=provenance
    )
    return CriteriaSet.model_validate(adapted.normalized().model_dump())


async def _open_library(library: Any) -> CriteriaLibrary | None:
    if library is None:
        return None
    if isinstance(library, CriteriaLibrary):
        return library
    location = None if library is DEFAULT_LIBRARY else library
    # Opening an SQLite file or loading an embedding model blocks: off the event loop.
    return await asyncio.to_thread(CriteriaLibrary, location)


async def aresolve_criteria(
    task: str,
    *,
    library: CriteriaLibrary | BaseStore | str | None = DEFAULT_LIBRARY,
    model: Any = None,
    base_url: str | None = None,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    same_task_threshold: float = SAME_TASK_THRESHOLD,
    **limits: Any,
) -> CriteriaChoice:
    """Criteria for `task` and how they were obtained (see the module docstring)."""
    if not task.strip():
        raise UserError("the task is empty")
    if not 0.0 <= similarity_threshold <= same_task_threshold <= 1.0:
        raise UserError("need 0 <= similarity_threshold <= same_task_threshold <= 1")
    shelf = await _open_library(library)
    skipped: list[str] = []
    if shelf is not None:
        real_run = not is_fake_model(_run_model_name(model, limits))
        for stored, similarity in await shelf.asearch(task, limit=CANDIDATES):
            if similarity < similarity_threshold:
                break
            if real_run and is_fake_model(stored.provenance.model):
                skipped.append(
                    f"skipped {stored.version} (similarity {similarity:.2f}): built by the fake model, "
                    "not reused by a real run"
                )
                logger.info("criteria library: %s", skipped[-1])
                continue
            source: _Source = {
                "source_version": stored.version,
                "source_task": stored.task,
                "similarity": round(similarity, 6),
                "source_model": stored.provenance.model,
                "skipped": tuple(skipped),
            }
            if similarity >= same_task_threshold:
                choice = CriteriaChoice(criteria=stored, action="reused", **source)
                logger.info("criteria library: %s", choice.describe())
                return choice
            try:
                adapted = await _adapt(stored, similarity, task, model, base_url, limits)
            except StructuredOutputError as error:
                logger.warning("adapting stored criteria %s failed (%s); building from scratch", stored.version, error)
                break
            await shelf.aput(adapted)
            choice = CriteriaChoice(criteria=adapted, action="adapted", **source)
            logger.info("criteria library: %s", choice.describe())
            return choice
    built = await abuild_criteria(task, model=model, base_url=base_url, **limits)
    if shelf is not None:
        await shelf.aput(built)
    choice = CriteriaChoice(criteria=built, action="built", skipped=tuple(skipped))
    logger.info("criteria library: %s", choice.describe())
    return choice


def resolve_criteria(task: str, **kwargs: Any) -> CriteriaChoice:
    """Synchronous `aresolve_criteria`."""
    return run_sync(aresolve_criteria(task, **kwargs))


async def acriteria_for(
    task: str,
    *,
    library: CriteriaLibrary | BaseStore | str | None = DEFAULT_LIBRARY,
    model: Any = None,
    base_url: str | None = None,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    same_task_threshold: float = SAME_TASK_THRESHOLD,
    **limits: Any,
) -> CriteriaSet:
    """Criteria for `task`: reused, adapted from a similar task's, or built (see the module docstring).

    `library`: a `CriteriaLibrary`, a store, a location (SQLite path, `postgres://` URL); the default library
    when not given; `None` skips the library (build, store nothing).
    """
    choice = await aresolve_criteria(
        task,
        library=library,
        model=model,
        base_url=base_url,
        similarity_threshold=similarity_threshold,
        same_task_threshold=same_task_threshold,
        **limits,
    )
    return choice.criteria


def criteria_for(
    task: str,
    *,
    library: CriteriaLibrary | BaseStore | str | None = DEFAULT_LIBRARY,
    model: Any = None,
    base_url: str | None = None,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    same_task_threshold: float = SAME_TASK_THRESHOLD,
    **limits: Any,
) -> CriteriaSet:
    """Synchronous `acriteria_for`."""
    return run_sync(
        acriteria_for(
            task,
            library=library,
            model=model,
            base_url=base_url,
            similarity_threshold=similarity_threshold,
            same_task_threshold=same_task_threshold,
            **limits,
        )
    )


__all__ = [
    "DEFAULT_LIBRARY",
    "CriteriaChoice",
    "acriteria_for",
    "aresolve_criteria",
    "criteria_for",
    "is_fake_model",
    "resolve_criteria",
]
