"""Open the LangGraph store our memory lives in: SQLite by default, Postgres on request, always searchable by meaning.

Python builds often lack SQLite extension loading (this one does, so does macOS's), which LangGraph's
`SqliteStore` needs for `sqlite-vec`. So SQLite stores get their semantic index from `SemanticStore`, a thin
layer over a plain `SqliteStore`: each put embeds the indexed fields and keeps the vectors inside the stored
value (one row, one transaction: a crash cannot separate an item from its vectors); a search with a query
ranks the matching items in Python by cosine similarity. That is linear in the number of items in the
namespace — fine for libraries of thousands of criteria sets and experiences. Postgres uses LangGraph's
native `PostgresStore` index (pgvector).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    Item,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from langgraph.store.base.embed import get_text_at_path, tokenize_path
from langgraph.store.sqlite import SqliteStore
from writer_r1.core.errors import UserError
from writer_r1.memory.embeddings import cosine, default_embeddings, embeddings_dims, embeddings_name

logger = logging.getLogger(__name__)

INDEX_KEY = "__writer_r1_index__"
"""Key inside a stored value that holds its vectors; never visible to callers."""

DEFAULT_FIELDS = ("$",)
_PAGE = 500


class SemanticStore(BaseStore):
    """A `SqliteStore` with semantic search done in Python (see the module docstring).

    Thread-safe (the inner store serialises statements on one connection under a lock) and usable from
    async code (embedding is awaited, SQLite work runs in a worker thread). Items whose vectors came from
    other embeddings (the user installed `[embed]` later) are re-embedded at search time.

    Example:
        >>> store = open_store(":memory:")
        >>> store.put(("docs",), "a", {"text": "a lighthouse keeper alone at sea"})
        >>> store.put(("docs",), "b", {"text": "quarterly tax filing checklist"})
        >>> store.search(("docs",), query="lighthouse keeper story", limit=1)[0].key
        'a'
    """

    supports_ttl = True

    def __init__(self, inner: SqliteStore, *, embeddings: Embeddings, fields: Iterable[str] = DEFAULT_FIELDS):
        self.inner = inner
        self.embeddings = embeddings
        self.fields = list(fields)
        self.index_config = {"dims": embeddings_dims(embeddings), "embed": embeddings, "fields": self.fields}
        self.ttl_config = inner.ttl_config
        self._name = embeddings_name(embeddings)

    # -- texts and vectors -------------------------------------------------------------------------

    def _texts(self, value: dict[str, Any], fields: list[str] | None) -> list[str]:
        texts: list[str] = []
        for field in fields or self.fields:
            if field == "$":
                texts.append(_flatten(_visible(value)))
            else:
                texts.extend(text for text in get_text_at_path(value, tokenize_path(field)) if text)
        return [text for text in texts if text.strip()]

    def _with_vectors(self, op: PutOp, vectors: list[list[float]], fields: list[str] | None) -> PutOp:
        value = {**op.value, INDEX_KEY: {"name": self._name, "fields": fields, "vectors": vectors}}
        return PutOp(op.namespace, op.key, value, index=False, ttl=op.ttl)

    def _puts_to_embed(self, ops: list[Op]) -> list[tuple[int, list[str], list[str] | None]]:
        """(position, texts, fields) for each put that wants vectors."""
        wanted = []
        for position, op in enumerate(ops):
            if isinstance(op, PutOp) and op.value is not None and op.index is not False:
                fields = list(op.index) if op.index else None
                wanted.append((position, self._texts(op.value, fields), fields))
        return wanted

    def _apply_vectors(self, ops: list[Op], wanted: list, flat_vectors: list[list[float]]) -> list[Op]:
        result = list(ops)
        cursor = 0
        for position, texts, fields in wanted:
            result[position] = self._with_vectors(ops[position], flat_vectors[cursor : cursor + len(texts)], fields)
            cursor += len(texts)
        return result

    # -- searching -----------------------------------------------------------------------------------

    def _candidates(self, op: SearchOp) -> list[SearchItem]:
        found: list[SearchItem] = []
        offset = 0
        while True:
            page = self.inner.search(
                op.namespace_prefix, filter=op.filter, limit=_PAGE, offset=offset, refresh_ttl=op.refresh_ttl
            )
            found.extend(page)
            if len(page) < _PAGE:
                return found
            offset += _PAGE

    def _stale(self, items: list[SearchItem]) -> list[tuple[SearchItem, list[str]]]:
        """Indexed items whose vectors came from other embeddings, with the texts to re-embed."""
        stale = []
        for item in items:
            index = item.value.get(INDEX_KEY)
            if index is not None and index.get("name") != self._name:
                stale.append((item, self._texts(item.value, index.get("fields"))))
        return stale

    def _rank(
        self, op: SearchOp, items: list[SearchItem], query: list[float], fresh: dict[int, list[list[float]]]
    ) -> list[SearchItem]:
        scored = []
        for item in items:
            index = item.value.get(INDEX_KEY)
            if index is None:
                continue  # stored with index=False: not searchable by meaning
            vectors = fresh.get(id(item), index.get("vectors") or [])
            score = max((cosine(query, vector) for vector in vectors), default=0.0)
            scored.append(_public_search_item(item, score))
        scored.sort(key=lambda item: item.score or 0.0, reverse=True)
        return scored[op.offset : op.offset + op.limit]

    # -- BaseStore -----------------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        wanted = self._puts_to_embed(ops)
        texts = [text for _, item_texts, _ in wanted for text in item_texts]
        vectors = self.embeddings.embed_documents(texts) if texts else []
        prepared = self._apply_vectors(ops, wanted, vectors)
        results: list[Result] = [None] * len(prepared)
        plain_positions = [i for i, op in enumerate(prepared) if not (isinstance(op, SearchOp) and op.query)]
        plain_results = self.inner.batch([prepared[i] for i in plain_positions]) if plain_positions else []
        for position, result in zip(plain_positions, plain_results, strict=True):
            results[position] = _public(result)
        for position, op in enumerate(prepared):
            if isinstance(op, SearchOp) and op.query:
                items = self._candidates(op)
                stale = self._stale(items)
                fresh = {id(item): self.embeddings.embed_documents(item_texts) for item, item_texts in stale}
                results[position] = self._rank(op, items, self.embeddings.embed_query(op.query), fresh)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        wanted = self._puts_to_embed(ops)
        texts = [text for _, item_texts, _ in wanted for text in item_texts]
        vectors = await self.embeddings.aembed_documents(texts) if texts else []
        prepared = self._apply_vectors(ops, wanted, vectors)
        results: list[Result] = [None] * len(prepared)
        plain_positions = [i for i, op in enumerate(prepared) if not (isinstance(op, SearchOp) and op.query)]
        if plain_positions:
            plain_results = await asyncio.to_thread(self.inner.batch, [prepared[i] for i in plain_positions])
            for position, result in zip(plain_positions, plain_results, strict=True):
                results[position] = _public(result)
        for position, op in enumerate(prepared):
            if isinstance(op, SearchOp) and op.query:
                items = await asyncio.to_thread(self._candidates, op)
                fresh = {id(item): await self.embeddings.aembed_documents(t) for item, t in self._stale(items)}
                query = await self.embeddings.aembed_query(op.query)
                results[position] = self._rank(op, items, query, fresh)
        return results

    def close(self) -> None:
        """Close the SQLite connection (the store is unusable afterwards)."""
        self.inner.conn.close()

    def __enter__(self) -> SemanticStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return "\n".join(_flatten(item) for item in value.values())
    if isinstance(value, list):
        return "\n".join(_flatten(item) for item in value)
    return "" if value is None else str(value)


def _visible(value: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in value.items() if key != INDEX_KEY} if INDEX_KEY in value else value


def _public_search_item(item: Item, score: float | None) -> SearchItem:
    return SearchItem(
        namespace=item.namespace,
        key=item.key,
        value=_visible(item.value),
        created_at=item.created_at,
        updated_at=item.updated_at,
        score=score,
    )


def _public(result: Result) -> Result:
    """Hide the vectors from what a plain get / search / list returns."""
    if isinstance(result, SearchItem):
        return _public_search_item(result, result.score)
    if isinstance(result, Item):
        return Item(
            value=_visible(result.value),
            key=result.key,
            namespace=result.namespace,
            created_at=result.created_at,
            updated_at=result.updated_at,
        )
    if isinstance(result, list):
        return [_public(item) if isinstance(item, Item) else item for item in result]
    return result


def _connect_sqlite(path: str) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # Autocommit with explicit BEGIN/COMMIT per batch (what SqliteStore expects); a long busy timeout so
    # several processes can share one file.
    connection = sqlite3.connect(
        str(Path(path).expanduser()) if path != ":memory:" else path,
        check_same_thread=False,
        isolation_level=None,
        timeout=30.0,
    )
    if path != ":memory:":
        _enable_wal(connection)
        connection.execute("PRAGMA synchronous=FULL")
    return connection


def _enable_wal(connection: sqlite3.Connection, attempts: int = 50) -> None:
    # Switching a fresh file to WAL takes an exclusive lock and SQLite does not call the busy handler for
    # it, so a second process opening the same new file at that moment gets "database is locked": retry.
    for attempt in range(attempts):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(min(0.01 * 2**attempt, 0.5))


def _setup_sqlite(store: SqliteStore, attempts: int = 30) -> None:
    # Two processes opening a fresh file at once race on the migrations: the loser sees "duplicate column"
    # or "locked" while the winner is mid-way. Wait for the winner to record its migrations, then re-check.
    for attempt in range(attempts):
        try:
            store.setup()
            return
        except sqlite3.DatabaseError:
            if attempt == attempts - 1:
                raise
            store.is_setup = False
            time.sleep(min(0.02 * 2**attempt, 0.5))


def _open_postgres(url: str, embeddings: Embeddings, fields: list[str]) -> BaseStore:
    try:
        from langgraph.store.postgres import PostgresStore
        from psycopg import Connection
        from psycopg.rows import dict_row
    except ImportError as error:
        raise UserError(
            f"a postgres store needs the [postgres] extra: pip install 'writer-r1[postgres]' ({error})"
        ) from error
    connection = Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    store = PostgresStore(
        connection, index={"dims": embeddings_dims(embeddings), "embed": embeddings, "fields": fields}
    )
    store.setup()
    return store


def open_store(
    path: str | None = None, *, embeddings: Embeddings | None = None, fields: Iterable[str] = DEFAULT_FIELDS
) -> BaseStore:
    """A LangGraph store with a semantic index over `fields` (JSON paths into the values; `$` = the whole value).

    `path`: `None` or `":memory:"` → in-memory SQLite; a file path → SQLite in that file (created with its
    folders); `postgres://` / `postgresql://` URL → `PostgresStore` (extra `[postgres]`, pgvector).
    `embeddings` defaults to `default_embeddings()`.

    Example:
        >>> store = open_store()
        >>> store.put(("criteria",), "story", {"task": "Write a short story about a lighthouse keeper"})
        >>> store.get(("criteria",), "story").value["task"]
        'Write a short story about a lighthouse keeper'
    """
    embeddings = embeddings or default_embeddings()
    fields = list(fields)
    location = ":memory:" if path is None else str(path)
    if location.startswith(("postgres://", "postgresql://")):
        return _open_postgres(location, embeddings, fields)
    if "://" in location:
        raise UserError(f"unsupported store location {location!r}: use a file path, ':memory:' or a postgres:// URL")
    inner = SqliteStore(_connect_sqlite(location))
    _setup_sqlite(inner)
    return SemanticStore(inner, embeddings=embeddings, fields=fields)
