"""Experience memory: reflections and their outcomes, recalled for later drafts of similar tasks.

Each `Experience` (task, weak criteria, the reflection, draft, revision, scores, accepted or not, a
one-line lesson) is one item in a LangGraph store, indexed by meaning on its task.
`arecall` finds the experiences nearest a new task, ranks those sharing its weak criteria higher, and returns both success
patterns (accepted revisions) and failure patterns (rejected ones), which the reflector prompt lists.
`best_revision` serves replay (RL), `iter_experiences` serves SFT dataset building.

Every write is one committed SQLite transaction (WAL): several tasks, threads or processes may write at once,
and a killed process loses nothing that `aremember` returned from (a power cut may lose the last writes unless
the store was opened with `open_store(path, durable=True)`, which fsyncs every write). At scale (100,000 experiences) recall
and `best_revision` are index lookups, not scans: our stores (`open_store`) keep a vector index and an exact
`task_key` index beside the table (see `memory/store.py`); `bench/memory_scale.py` measures them.

Example:
    >>> from writer_r1.core.records import Experience, Reflection
    >>> from writer_r1.memory.embeddings import LexicalEmbeddings
    >>> memory = ExperienceMemory(":memory:", embeddings=LexicalEmbeddings(256))
    >>> _ = memory.remember(Experience(task="A ghost story set in a lighthouse", weak_criteria=["dread"],
    ...     reflection=Reflection(diagnosis="No dread."), revision="...", score_before=0.4, score_after=0.6,
    ...     accepted=True, lesson="Slow the reveal: withhold the ghost until the last paragraph."))
    >>> [e.lesson for e in memory.recall("A ghost story on a lighthouse island", ["dread"], k=2)]
    ['Slow the reveal: withhold the ghost until the last paragraph.']
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, PutOp, SearchItem, SearchOp
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.records import Experience
from writer_r1.memory.embeddings import cosine, default_embeddings

logger = logging.getLogger(__name__)

NAMESPACE = ("writer_r1", "experiences")
RECALL_FIELD = "recall_text"
_PAGE = 200


def task_key(task: str) -> str:
    """A stable key for "the same task" (whitespace-normalised)."""
    return hashlib.sha256(" ".join(task.split()).encode()).hexdigest()[:24]


def recall_text(task: str) -> str:
    """The text an experience is indexed and searched by: its task, whitespace-normalised.

    Weak criteria are matched exactly (ids of the same criteria set), not by meaning: in a short text
    their words would outweigh the task's, and a tax checklist weak on "dread" would come back for a ghost story.
    """
    return " ".join(task.split())


def lesson_of(experience: Experience) -> str:
    """A one-line lesson for a stored experience: what was tried, on which weak spots, and how it went."""
    targets = ", ".join(experience.reflection.targets or experience.weak_criteria) or "overall quality"
    plan = "; ".join(experience.reflection.plan[:3]) or experience.reflection.diagnosis
    gain = experience.gain
    outcome = "accepted" if experience.accepted else "rejected"
    change = f" ({gain:+.2f})" if gain is not None else ""
    return f"[{targets}] {plan} → {outcome}{change}"


def _overlap(left: Sequence[str], right: Sequence[str]) -> float:
    a, b = set(left), set(right)
    return len(a & b) / len(a | b) if a | b else 0.0


class ExperienceMemory:
    """Stores and recalls `Experience`s.

    Args:
        path_or_store: None or ":memory:" (in-memory SQLite), a file path (SQLite, created with its folders),
            a `postgres://` URL (shared deployments, extra `[postgres]`), or a ready LangGraph `BaseStore`.
        embeddings: for the semantic index (default `default_embeddings()`); with a given store, used only to
            score recall when that store has no semantic index (default: the store's own embeddings).
        namespace: the store namespace the experiences live in.
        min_similarity: recall ignores experiences less similar than this (cosine, 0..1).
        overlap_weight: how much sharing weak criteria adds to similarity when ranking.
    """

    def __init__(
        self,
        path_or_store: str | os.PathLike[str] | BaseStore | None = None,
        *,
        embeddings: Embeddings | None = None,
        namespace: tuple[str, ...] = NAMESPACE,
        min_similarity: float = 0.15,
        overlap_weight: float = 0.25,
    ):
        if isinstance(path_or_store, BaseStore):
            self.store = path_or_store
            self._owns_store = False
        else:
            from writer_r1.memory.store import open_store

            location = None if path_or_store is None else os.fspath(path_or_store)
            self.store = open_store(location, embeddings=embeddings, fields=(RECALL_FIELD,))
            self._owns_store = True
        self._embeddings = embeddings
        self._warned_scan = False
        self.namespace = namespace
        self.min_similarity = min_similarity
        self.overlap_weight = overlap_weight

    @property
    def embeddings(self) -> Embeddings:
        """The given embeddings, else the store's own, else `default_embeddings()`: scores what a store
        without a semantic index returns unscored."""
        if self._embeddings is None:
            self._embeddings = getattr(self.store, "embeddings", None) or default_embeddings()
        return self._embeddings

    # --- writing ---------------------------------------------------------------------------------

    def _value(self, experience: Experience) -> dict[str, Any]:
        if not experience.lesson:
            experience = experience.model_copy(update={"lesson": lesson_of(experience)})
        return {
            **experience.model_dump(mode="json"),
            RECALL_FIELD: recall_text(experience.task),
            "task_key": task_key(experience.task),
        }

    def _put(self, experience: Experience) -> PutOp:
        return PutOp(self.namespace, uuid.uuid4().hex, self._value(experience), index=[RECALL_FIELD])

    async def aremember(self, experience: Experience) -> str:
        """Store one experience (its lesson filled in when empty); returns its key. Committed on return."""
        key = uuid.uuid4().hex
        await self.store.aput(self.namespace, key, self._value(experience), index=[RECALL_FIELD])
        return key

    def remember(self, experience: Experience) -> str:
        """Synchronous `aremember`."""
        return run_sync(self.aremember(experience))

    async def aremember_many(self, experiences: Iterable[Experience]) -> list[str]:
        """Store many experiences in one store batch (one transaction on our stores); returns their keys."""
        ops = [self._put(experience) for experience in experiences]
        if ops:
            await self.store.abatch(ops)
        return [op.key for op in ops]

    def remember_many(self, experiences: Iterable[Experience]) -> list[str]:
        """Synchronous `aremember_many`."""
        return run_sync(self.aremember_many(experiences))

    # --- recalling -------------------------------------------------------------------------------

    async def arecall(self, task: str, weak_criteria: Sequence[str] = (), k: int = 4) -> list[Experience]:
        """Up to `k` experiences of similar tasks with similar weak criteria: about half successes, half failures.

        Ranked by the semantic similarity of the tasks (at least `min_similarity`; the experiences of exactly this
        task count 1.0, found by an exact lookup) plus `overlap_weight` × the Jaccard overlap of the weak
        criteria. When one kind is short, the other fills the remaining places. On a store without a semantic
        index (its results carry no score) every experience is scored here: correct, but a scan.
        """
        if k <= 0:
            return []
        limit = max(4 * k, 20)
        results = await self.store.abatch(  # one round trip for both lookups
            [
                SearchOp(self.namespace, filter={"task_key": task_key(task)}, limit=limit),
                SearchOp(self.namespace, query=recall_text(task), limit=limit),
            ]
        )
        exact, found = cast("list[list[SearchItem]]", results)  # a SearchOp's result is a list of SearchItem
        if any(item.score is None for item in found):
            scored = await self._ascan_scored(task)
        else:
            scored = [(item, float(item.score or 0.0)) for item in found]
        ranked = self._rank([(item, 1.0) for item in exact] + scored, weak_criteria)
        successes = [e for e in ranked if e.accepted]
        failures = [e for e in ranked if not e.accepted]
        want_successes = min(len(successes), max(k - len(failures), (k + 1) // 2))
        chosen = successes[:want_successes] + failures[: k - want_successes]
        order = {id(e): i for i, e in enumerate(ranked)}
        return sorted(chosen, key=lambda e: order[id(e)])

    def recall(self, task: str, weak_criteria: Sequence[str] = (), k: int = 4) -> list[Experience]:
        """Synchronous `arecall`."""
        return run_sync(self.arecall(task, weak_criteria, k))

    async def _ascan_scored(self, task: str) -> list[tuple[SearchItem, float]]:
        if not self._warned_scan:
            logger.info("the memory's store has no semantic index: recall scores every experience (a scan)")
            self._warned_scan = True
        items: list[SearchItem] = []
        offset = 0
        while True:
            page = await self.store.asearch(self.namespace, limit=_PAGE, offset=offset)
            items.extend(page)
            if len(page) < _PAGE:
                break
            offset += _PAGE
        texts = [str(item.value.get(RECALL_FIELD) or recall_text(str(item.value.get("task", "")))) for item in items]
        vectors = await self.embeddings.aembed_documents(texts) if texts else []
        query = await self.embeddings.aembed_query(recall_text(task))
        return [(item, cosine(query, vector)) for item, vector in zip(items, vectors, strict=True)]

    def _rank(self, scored: Sequence[tuple[SearchItem, float]], weak_criteria: Sequence[str]) -> list[Experience]:
        best: dict[str, tuple[bool, float, Experience]] = {}
        for item, similarity in scored:
            if item.key in best or similarity < self.min_similarity:
                continue
            experience = self._parse(item.value, item.key)
            if experience is None:
                continue
            bonus = self.overlap_weight * _overlap(experience.weak_criteria, weak_criteria)
            best[item.key] = (similarity >= 1.0, similarity + bonus, experience)
        # The experiences of exactly this task come first; the weak-criteria bonus orders within each tier.
        ranked = sorted(best.values(), key=lambda entry: entry[:2], reverse=True)
        return [experience for _, _, experience in ranked]

    @staticmethod
    def _parse(value: dict[str, Any], key: str) -> Experience | None:
        try:
            return Experience.model_validate(value)
        except ValueError as error:  # a foreign or damaged item is skipped, and said so
            logger.warning("skipping stored experience %s: %s", key, error)
            return None

    # --- replay and datasets ---------------------------------------------------------------------

    async def abest_revision(self, task: str) -> Experience | None:
        """The accepted experience with the highest `score_after` for exactly this task (None when there is none)."""
        best: Experience | None = None
        async for experience in self._aiter(filter={"task_key": task_key(task)}):
            if experience.accepted and experience.score_after is not None:
                if best is None or experience.score_after > (best.score_after or 0.0):
                    best = experience
        return best

    def best_revision(self, task: str) -> Experience | None:
        """Synchronous `abest_revision`."""
        return run_sync(self.abest_revision(task))

    def iter_experiences(self, *, accepted: bool | None = None) -> Iterator[Experience]:
        """Every stored experience (only accepted / only rejected ones when `accepted` is given)."""
        offset = 0
        while True:
            page = self.store.search(self.namespace, limit=_PAGE, offset=offset)
            for item in page:
                experience = self._parse(item.value, item.key)
                if experience is not None and (accepted is None or experience.accepted is accepted):
                    yield experience
            if len(page) < _PAGE:
                return
            offset += _PAGE

    async def _aiter(self, *, filter: dict[str, Any] | None = None):
        offset = 0
        while True:
            page = await self.store.asearch(self.namespace, filter=filter, limit=_PAGE, offset=offset)
            for item in page:
                experience = self._parse(item.value, item.key)
                if experience is not None:
                    yield experience
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def __len__(self) -> int:
        return sum(1 for _ in self.iter_experiences())

    # --- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store this memory opened (a store passed in is left to its owner)."""
        if self._owns_store and hasattr(self.store, "close"):
            self.store.close()

    def __enter__(self) -> ExperienceMemory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
