"""The criteria library: criteria sets stored by task in a LangGraph store, found again by meaning.

`criteria_for(task)` is the entry point most code wants: it returns the stored set when the task is the
same (similarity ≥ `same_task_threshold`), adapts the nearest stored set with one inducer call when the task
is similar (≥ `similarity_threshold`), and otherwise builds criteria with the Grounded-Theory graph — storing
what it adapted or built.

The default library lives at `$WRITER_R1_HOME/library.sqlite`, else `~/.cache/writer-r1/library.sqlite`.

Example:
    >>> from writer_r1.memory.embeddings import LexicalEmbeddings
    >>> library = CriteriaLibrary(":memory:", embeddings=LexicalEmbeddings())
    >>> stored = criteria_for("A haiku about autumn", library=library, model="fake", max_rounds=0, max_critique_rounds=0)
    >>> criteria_for("A haiku about autumn", library=library, model="fake") == stored
    True
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, SearchItem
from writer_r1.core.criteria import CriteriaSet, Provenance
from writer_r1.core.errors import StructuredOutputError, UserError
from writer_r1.memory.embeddings import cosine, default_embeddings
from writer_r1.memory.store import open_store

logger = logging.getLogger(__name__)

NAMESPACE = ("writer_r1", "criteria")
SAME_TASK_THRESHOLD = 0.97


def default_library_path() -> Path:
    """`$WRITER_R1_HOME/library.sqlite`, else `~/.cache/writer-r1/library.sqlite`."""
    home = os.environ.get("WRITER_R1_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".cache" / "writer-r1"
    return base / "library.sqlite"


class CriteriaLibrary:
    """Criteria sets keyed by their version, searchable by task.

    Args:
        store_or_path: a LangGraph store, or a location for `open_store` (SQLite path, `:memory:`,
            `postgres://` URL); None: `default_library_path()`.
        embeddings: what the task index embeds with (default: `default_embeddings()`); also used to score
            hits when the store has no semantic index of its own.

    Example:
        >>> from writer_r1.memory.embeddings import LexicalEmbeddings
        >>> from writer_r1.core.criteria import CriteriaSet
        >>> library = CriteriaLibrary(":memory:", embeddings=LexicalEmbeddings())
        >>> criteria = CriteriaSet.model_validate({"task": "A poem about rain", "dimensions": [{"name": "Craft",
        ...     "criteria": [{"id": "imagery", "name": "Imagery", "description": "Images",
        ...                   "levels": [{"anchor": "none"}, {"anchor": "vivid"}]}]}]})
        >>> key = library.put(criteria)
        >>> library.get(key) == criteria
        True
        >>> [round(score, 2) for _, score in library.search("A poem about rain")]
        [1.0]
    """

    def __init__(
        self, store_or_path: BaseStore | str | os.PathLike[str] | None = None, *, embeddings: Embeddings | None = None
    ) -> None:
        self.embeddings = embeddings or default_embeddings()
        if isinstance(store_or_path, BaseStore):
            self.store = store_or_path
        else:
            location = str(store_or_path) if store_or_path is not None else str(default_library_path())
            self.store = open_store(location, embeddings=self.embeddings, fields=["task"])

    @staticmethod
    def _value(criteria: CriteriaSet) -> dict[str, Any]:
        return {"task": criteria.task, "version": criteria.version, "criteria": criteria.model_dump(mode="json")}

    @staticmethod
    def _criteria(value: dict[str, Any]) -> CriteriaSet:
        return CriteriaSet.model_validate(value["criteria"])

    def _scored(self, task: str, items: Sequence[SearchItem]) -> list[tuple[CriteriaSet, float]]:
        unscored = [item for item in items if item.score is None]
        if unscored:  # a store without a semantic index: score here
            query = self.embeddings.embed_query(task)
            vectors = self.embeddings.embed_documents([item.value.get("task", "") for item in items])
            scores = [cosine(query, vector) for vector in vectors]
        else:
            scores = [float(item.score) for item in items]
        ranked = sorted(
            zip((self._criteria(item.value) for item in items), scores, strict=True), key=lambda pair: -pair[1]
        )
        return ranked

    def put(self, criteria: CriteriaSet) -> str:
        """Store `criteria` (idempotent: the key is its content version) and return the key."""
        self.store.put(NAMESPACE, criteria.version, self._value(criteria), index=["task"])
        return criteria.version

    async def aput(self, criteria: CriteriaSet) -> str:
        await self.store.aput(NAMESPACE, criteria.version, self._value(criteria), index=["task"])
        return criteria.version

    def get(self, key: str) -> CriteriaSet | None:
        item = self.store.get(NAMESPACE, key)
        return None if item is None else self._criteria(item.value)

    async def aget(self, key: str) -> CriteriaSet | None:
        item = await self.store.aget(NAMESPACE, key)
        return None if item is None else self._criteria(item.value)

    def search(self, task: str, limit: int = 5) -> list[tuple[CriteriaSet, float]]:
        """Stored sets nearest to `task`, with their similarity (cosine, 1.0 = the same task), best first."""
        return self._scored(task, self.store.search(NAMESPACE, query=task, limit=limit))

    async def asearch(self, task: str, limit: int = 5) -> list[tuple[CriteriaSet, float]]:
        return self._scored(task, await self.store.asearch(NAMESPACE, query=task, limit=limit))


async def _adapt(
    stored: CriteriaSet, similarity: float, task: str, model: Any, base_url: str | None, limits: dict[str, Any]
) -> CriteriaSet:
    from writer_r1.agents.inducer import Inducer, criteria_from_induction, validated_constraints
    from writer_r1.graphs.context import model_for, model_name
    from writer_r1.graphs.criteria import criteria_context, task_constraints

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


async def acriteria_for(
    task: str,
    *,
    library: CriteriaLibrary | BaseStore | str | None = None,
    model: Any = None,
    base_url: str | None = None,
    similarity_threshold: float = 0.8,
    same_task_threshold: float = SAME_TASK_THRESHOLD,
    **limits: Any,
) -> CriteriaSet:
    """Criteria for `task`: reused, adapted from a similar task's, or built (see the module docstring)."""
    if not task.strip():
        raise UserError("the task is empty")
    if not 0.0 <= similarity_threshold <= same_task_threshold <= 1.0:
        raise UserError("need 0 <= similarity_threshold <= same_task_threshold <= 1")
    # Opening a SQLite file or loading an embedding model blocks: off the event loop.
    shelf = library if isinstance(library, CriteriaLibrary) else await asyncio.to_thread(CriteriaLibrary, library)
    hits = await shelf.asearch(task, limit=1)
    if hits:
        stored, similarity = hits[0]
        if similarity >= same_task_threshold:
            logger.info("reusing stored criteria %s (similarity %.3f)", stored.version, similarity)
            return stored
        if similarity >= similarity_threshold:
            try:
                adapted = await _adapt(stored, similarity, task, model, base_url, limits)
            except StructuredOutputError as error:
                logger.warning("adapting stored criteria %s failed (%s); building from scratch", stored.version, error)
            else:
                await shelf.aput(adapted)
                return adapted
    from writer_r1.graphs.criteria import abuild_criteria

    built = await abuild_criteria(task, model=model, base_url=base_url, **limits)
    await shelf.aput(built)
    return built


def criteria_for(
    task: str,
    *,
    library: CriteriaLibrary | BaseStore | str | None = None,
    model: Any = None,
    base_url: str | None = None,
    similarity_threshold: float = 0.8,
    same_task_threshold: float = SAME_TASK_THRESHOLD,
    **limits: Any,
) -> CriteriaSet:
    """Synchronous `acriteria_for`."""
    from writer_r1.core.asyncio_utils import run_sync

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
