"""The criteria library: criteria sets stored by task in a LangGraph store, found again by task.

The library stores and finds; deciding whether to reuse, adapt or build is orchestration and lives in
`writer_r1.graphs.library_reuse` (`criteria_for`).

`search(task)` is correct on any store: the sets stored for exactly this task (same text up to whitespace)
come first at similarity 1.0 through an exact lookup on `task_key`; the rest are ranked by the store's semantic
index, or, on a store without one (a plain `InMemoryStore`, a user's own store), by scoring every stored set
here (a scan, said once in the log) — never by trusting a missing score.

Each stored value records the model that built the set (`model`, from its provenance), so reuse can be
decided on provenance.

The default library lives at `$WRITER_R1_HOME/library.sqlite`, else `~/.cache/writer-r1/library.sqlite`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from langchain_core.embeddings import Embeddings
from langgraph.store.base import BaseStore, SearchItem, SearchOp
from writer_r1.core.criteria import CriteriaSet
from writer_r1.memory.embeddings import cosine, default_embeddings
from writer_r1.memory.experience import task_key
from writer_r1.memory.store import open_store

logger = logging.getLogger(__name__)

NAMESPACE = ("writer_r1", "criteria")
_PAGE = 500


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
            sets when the store has no semantic index of its own.

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
        self._embeddings = embeddings
        if isinstance(store_or_path, BaseStore):
            self.store = store_or_path
            self._owns_store = False
        else:
            location = str(store_or_path) if store_or_path is not None else str(default_library_path())
            self._embeddings = embeddings or default_embeddings()
            self.store = open_store(location, embeddings=self._embeddings, fields=["task"])
            self._owns_store = True
        self._warned_scan = False

    @property
    def embeddings(self) -> Embeddings:
        """The given embeddings, else the store's own, else `default_embeddings()` (loaded on first use)."""
        if self._embeddings is None:
            self._embeddings = getattr(self.store, "embeddings", None) or default_embeddings()
        return self._embeddings

    @staticmethod
    def _value(criteria: CriteriaSet) -> dict[str, Any]:
        return {
            "task": criteria.task,
            "task_key": task_key(criteria.task),
            "version": criteria.version,
            "model": criteria.provenance.model,
            "criteria": criteria.model_dump(mode="json"),
        }

    @staticmethod
    def _criteria(value: dict[str, Any]) -> CriteriaSet:
        return CriteriaSet.model_validate(value["criteria"])

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

    # -- search -------------------------------------------------------------------------------------------

    def _rescored(self, task: str, items: Sequence[SearchItem]) -> list[tuple[SearchItem, float]]:
        """Score every item here (a store without a semantic index): cosine of the tasks."""
        if not self._warned_scan:
            logger.info("the library's store has no semantic index: scoring every stored set (a scan)")
            self._warned_scan = True
        query = self.embeddings.embed_query(task)
        vectors = self.embeddings.embed_documents([str(item.value.get("task", "")) for item in items])
        return [(item, cosine(query, vector)) for item, vector in zip(items, vectors, strict=True)]

    def _merged(
        self, task: str, exact: Sequence[SearchItem], scored: Sequence[tuple[SearchItem, float]], limit: int
    ) -> list[tuple[CriteriaSet, float]]:
        ranked: dict[str, tuple[SearchItem, float]] = {item.key: (item, 1.0) for item in exact}
        wanted = task_key(task)
        for item, score in sorted(scored, key=lambda pair: -pair[1]):
            if item.key not in ranked:
                same = item.value.get("task_key", task_key(str(item.value.get("task", "")))) == wanted
                ranked[item.key] = (item, 1.0 if same else score)
        best = sorted(ranked.values(), key=lambda pair: -pair[1])[:limit]
        return [(self._criteria(item.value), score) for item, score in best]

    def search(self, task: str, limit: int = 5) -> list[tuple[CriteriaSet, float]]:
        """Stored sets nearest to `task`, with their similarity (cosine, 1.0 = the same task), best first."""
        results = self.store.batch(  # one round trip for both lookups
            [
                SearchOp(NAMESPACE, filter={"task_key": task_key(task)}, limit=limit),
                SearchOp(NAMESPACE, query=task, limit=2 * limit),
            ]
        )
        exact, found = cast("list[list[SearchItem]]", results)  # a SearchOp's result is a list of SearchItem
        if any(item.score is None for item in found):
            scored = self._rescored(task, list(self._all()))
        else:
            scored = [(item, float(item.score or 0.0)) for item in found]
        return self._merged(task, exact, scored, limit)

    async def asearch(self, task: str, limit: int = 5) -> list[tuple[CriteriaSet, float]]:
        results = await self.store.abatch(  # one round trip for both lookups
            [
                SearchOp(NAMESPACE, filter={"task_key": task_key(task)}, limit=limit),
                SearchOp(NAMESPACE, query=task, limit=2 * limit),
            ]
        )
        exact, found = cast("list[list[SearchItem]]", results)  # a SearchOp's result is a list of SearchItem
        if any(item.score is None for item in found):
            items = [item async for item in self._aall()]
            scored = self._rescored(task, items)
        else:
            scored = [(item, float(item.score or 0.0)) for item in found]
        return self._merged(task, exact, scored, limit)

    def _all(self) -> Iterator[SearchItem]:
        offset = 0
        while True:
            page = self.store.search(NAMESPACE, limit=_PAGE, offset=offset)
            yield from page
            if len(page) < _PAGE:
                return
            offset += _PAGE

    async def _aall(self) -> AsyncIterator[SearchItem]:
        offset = 0
        while True:
            page = await self.store.asearch(NAMESPACE, limit=_PAGE, offset=offset)
            for item in page:
                yield item
            if len(page) < _PAGE:
                return
            offset += _PAGE

    def close(self) -> None:
        """Close the store this library opened (a store passed in is left to its owner)."""
        if self._owns_store and hasattr(self.store, "close"):
            self.store.close()


def __getattr__(name: str) -> Any:
    # `criteria_for` / `acriteria_for` orchestrate (inducer, criteria graph): they live in graphs, which memory
    # never imports. Say where they went.
    if name in {"criteria_for", "acriteria_for"}:
        raise AttributeError(
            f"{name} moved to writer_r1.graphs.library_reuse (or use writer_r1.{name}); memory only stores and finds"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
