"""Open the LangGraph store our memory lives in: SQLite by default, PostgreSQL on request, always searchable by meaning.

Python builds often lack SQLite extension loading (this one does, so does macOS's), and Debian has no pgvector
package, so neither LangGraph's `sqlite-vec` index nor its pgvector index can be relied on. Our stores get
their semantic index from `SemanticStore`, a layer over a plain `SqliteStore` or `PostgresStore`:

- each put embeds the indexed fields and keeps the vectors inside the stored value (compact float32, base64;
  one row, one transaction: a crash cannot separate an item from its vectors);
- a kept vector index (`memory/vectors.py`: usearch HNSW per namespace, plus exact lookups on `task_key`)
  answers a search with a query in milliseconds at 100,000 items; the few candidates it returns are re-ranked
  with the exact stored vectors, so scores are exact cosines;
- the index follows the table through a change feed (`memory/changes.py`: a log that a trigger fills in the
  writer's transaction), so writes by other processes are seen at the next search; writes themselves never
  touch the index (a write costs one SQLite transaction, the index catches up when someone searches);
- for an SQLite file the index is saved beside it (`FILE.index`), for PostgreSQL in the local cache
  (`$WRITER_R1_HOME/index/postgres-DATABASE_ID.index`, else under `~/.cache/writer-r1`); either is rebuilt from
  the table when missing or stale, and caught up from the change log when merely behind.

A search without a query goes to the inner store, except an equality filter on a keyed field (`task_key`),
which the index answers exactly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
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
from writer_r1.memory.changes import GAP_SECONDS, ChangeFeed, PostgresFeed, SqliteFeed
from writer_r1.memory.embeddings import default_embeddings, embeddings_dims, embeddings_name
from writer_r1.memory.vectors import VectorIndex, decode_vectors, encode_vectors, keyed_token, normalized

logger = logging.getLogger(__name__)

INDEX_KEY = "__writer_r1_index__"
"""Key inside a stored value that holds its vectors; never visible to callers."""

DEFAULT_FIELDS = ("$",)
KEYED_FIELDS = ("task_key",)
"""Top-level fields the index can look up by exact value (`search(filter={"task_key": ...})` without a scan)."""

_FETCH = 500
_SAVE_AFTER = 1000


class SemanticStore(BaseStore):
    """A LangGraph store with a kept vector index over another store (see the module docstring).

    Args:
        inner: the store that holds the items (`SqliteStore` or `PostgresStore`, without an index of its own).
        embeddings: what puts and queries are embedded with.
        fields: JSON paths of the texts to index (`$`: the whole value); a put's `index=[...]` overrides them.
        feed: the change feed of `inner`'s table (`SqliteFeed`, `PostgresFeed`).
        index_path: where the index is saved between runs (None: kept in memory only).
        keyed_fields: top-level fields looked up by exact value.

    Thread-safe and usable from async code (work runs in a worker thread). Items whose vectors came from other
    embeddings (the user installed `[embed]` later) are re-embedded when the index reads them.

    Example:
        >>> store = open_store(":memory:")
        >>> store.put(("docs",), "a", {"text": "a lighthouse keeper alone at sea"})
        >>> store.put(("docs",), "b", {"text": "quarterly tax filing checklist"})
        >>> store.search(("docs",), query="lighthouse keeper story", limit=1)[0].key
        'a'
    """

    supports_ttl = True

    def __init__(
        self,
        inner: BaseStore,
        *,
        embeddings: Embeddings,
        feed: ChangeFeed,
        fields: Iterable[str] = DEFAULT_FIELDS,
        index_path: str | Path | None = None,
        keyed_fields: Iterable[str] = KEYED_FIELDS,
    ):
        self.inner = inner
        self.embeddings = embeddings
        self.fields = list(fields)
        self.feed = feed
        self.index_path = Path(index_path) if index_path is not None else None
        self.keyed_fields = tuple(keyed_fields)
        self.dims = embeddings_dims(embeddings)
        self.index_config = {"dims": self.dims, "embed": embeddings, "fields": self.fields}
        self.ttl_config = getattr(inner, "ttl_config", None)
        self._name = embeddings_name(embeddings)
        self._index: VectorIndex | None = None
        self._gaps: dict[int, float] = {}
        self._unsaved = 0
        self._lock = threading.RLock()
        feed.setup()

    # -- texts and vectors -------------------------------------------------------------------------

    def _texts(self, value: Mapping[str, Any], fields: list[str] | None) -> list[str]:
        texts: list[str] = []
        for field in fields or self.fields:
            if field == "$":
                texts.append(_flatten(_visible(value)))
            else:
                texts.extend(text for text in get_text_at_path(value, tokenize_path(field)) if text)
        return [text for text in texts if text.strip()]

    def _with_vectors(self, op: PutOp, vectors: list[list[float]], fields: list[str] | None) -> PutOp:
        entry = {"name": self._name, "fields": fields, "dims": self.dims, "f32": encode_vectors(vectors)}
        assert op.value is not None  # only puts that carry a value get vectors (`_puts_to_embed`)
        return PutOp(op.namespace, op.key, {**op.value, INDEX_KEY: entry}, index=False, ttl=op.ttl)

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

    def _vectors(self, value: dict[str, Any]) -> np.ndarray | None:
        """The item's vectors in our embeddings' space (re-embedded when stored by others); None: not indexed."""
        entry = value.get(INDEX_KEY)
        if entry is None:
            return None
        if entry.get("name") == self._name:
            vectors = decode_vectors(entry, self.dims)
            if vectors.shape[-1] == self.dims:
                return vectors
        texts = self._texts(value, entry.get("fields"))
        return np.asarray(self.embeddings.embed_documents(texts), dtype=np.float32).reshape(-1, self.dims)

    # -- the kept index ------------------------------------------------------------------------------

    def _fetch(self, keys: Sequence[tuple[str, str]], *, refresh_ttl: bool = False) -> list[Item | None]:
        found: list[Item | None] = []
        for start in range(0, len(keys), _FETCH):
            ops = [GetOp(tuple(p.split(".")), k, refresh_ttl=refresh_ttl) for p, k in keys[start : start + _FETCH]]
            found.extend(cast("list[Item | None]", self.inner.batch(ops)))  # a GetOp's result is Item | None
        return found

    def _apply(self, index: VectorIndex, keys: Sequence[tuple[str, str]]) -> None:
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _FETCH):
            chunk = unique[start : start + _FETCH]
            present: list[tuple[str, str, Any, dict[str, Any]]] = []
            for (prefix, key), item in zip(chunk, self._fetch(chunk), strict=True):
                if item is None:
                    index.remove(prefix, key)
                else:
                    vectors = self._vectors(item.value)
                    present.append((prefix, key, vectors if vectors is not None else [], item.value))
            index.upsert_many(present)

    def _fresh_index(self) -> VectorIndex:
        started = time.perf_counter()
        index = VectorIndex(self.dims, self.keyed_fields)
        index.meta = self._identity()
        index.position = self.feed.last_position()
        self._apply(index, list(self.feed.all_items()))
        logger.info("built the vector index of %d items in %.1f s", len(index), time.perf_counter() - started)
        self._unsaved = max(len(index), 1)
        return index

    def _identity(self) -> dict[str, Any]:
        return {"database_id": self.feed.database_id(), "embeddings": self._name}

    def _load(self) -> VectorIndex:
        index = VectorIndex.load(self.index_path) if self.index_path is not None else None
        if index is not None:
            identity = self._identity()
            stale = [
                name
                for name, bad in (
                    ("another database", index.meta.get("database_id") != identity["database_id"]),
                    ("other embeddings", index.meta.get("embeddings") != identity["embeddings"]),
                    ("other dimensions", index.dims != self.dims),
                    ("other keyed fields", index.keyed_fields != self.keyed_fields),
                    ("a position past the log", index.position > self.feed.last_position()),
                )
                if bad
            ]
            if not stale:
                now = time.monotonic()
                self._gaps = {int(seq): now for seq in index.meta.get("gaps", [])}
                return index
            logger.info("the vector index at %s is stale (%s): rebuilding", self.index_path, ", ".join(stale))
        return self._fresh_index()

    def _ready(self) -> VectorIndex:
        """The index, caught up with every committed change (call under `self._lock`)."""
        if self._index is None:
            self._index = self._load()
        index = self._index
        changes = self.feed.changes_since(index.position, tuple(self._gaps))
        if not changes:
            return index
        now = time.monotonic()
        seen = {seq for seq, _, _ in changes}
        top = max(max(seen), index.position)
        for seq in seen:
            self._gaps.pop(seq, None)
        for seq in range(index.position + 1, top):
            if seq not in seen:
                self._gaps.setdefault(seq, now)
        self._gaps = {seq: since for seq, since in self._gaps.items() if now - since < GAP_SECONDS}
        self._apply(index, [(prefix, key) for _, prefix, key in changes])
        index.position = top
        self._unsaved += len(changes)
        if self._unsaved >= max(_SAVE_AFTER, len(index) // 10):  # saving costs about as much as loading
            self._save()
        return index

    def _save(self) -> None:
        if self.index_path is None or self._index is None or not self._unsaved:
            return
        self._index.meta = {**self._identity(), "gaps": sorted(self._gaps)}
        try:
            self._index.save(self.index_path)
            self._unsaved = 0
        except OSError as error:  # a read-only folder: the index still works, it is rebuilt next time
            logger.warning("could not save the vector index to %s: %s", self.index_path, error)

    def sync_index(self) -> int:
        """Bring the index up to date now (and save it when a path is set); returns the number of items."""
        with self._lock:
            index = self._ready()
            self._save()
            return len(index)

    # -- searching -----------------------------------------------------------------------------------

    def _keyed_filter(self, op: SearchOp) -> tuple[str, Any] | None:
        if op.query or not op.filter:
            return None
        for field, wanted in op.filter.items():
            if field in self.keyed_fields:
                if isinstance(wanted, dict) and set(wanted) == {"$eq"}:
                    wanted = wanted["$eq"]
                if keyed_token(wanted) is not None:
                    return field, wanted
        return None

    def _search_keyed(self, op: SearchOp, field: str, wanted: Any) -> list[SearchItem]:
        with self._lock:
            keys = [(p, k) for p, k in self._ready().keyed(field, wanted) if _under(p, op.namespace_prefix)]
        items = [item for item in self._fetch(keys, refresh_ttl=op.refresh_ttl) if item is not None]
        items = [item for item in items if _matches(item.value, op.filter)]
        items.sort(key=lambda item: item.updated_at, reverse=True)
        return [_public_search_item(item, None) for item in items[op.offset : op.offset + op.limit]]

    def _search_meaning(self, op: SearchOp, query: list[float]) -> list[SearchItem]:
        wanted = op.offset + op.limit
        vector = normalized(np.asarray(query, dtype=np.float32))
        with self._lock:
            index = self._ready()
            prefixes = [prefix for prefix in index.partitions if _under(prefix, op.namespace_prefix)]
            total = index.size(prefixes)
            # A few more candidates than wanted: the graph is int8-quantised, the exact re-rank below fixes
            # the order among them. More are fetched only when a filter rejects candidates.
            count = wanted + max(8, wanted // 2)
            while True:
                keys = index.nearest(prefixes, vector, count)
                items = [item for item in self._fetch(keys, refresh_ttl=op.refresh_ttl) if item is not None]
                kept = [item for item in items if INDEX_KEY in item.value and _matches(item.value, op.filter)]
                if len(kept) >= wanted or len(keys) < count or count >= total:
                    break
                count *= 4
        blocks = [self._vectors(item.value) for item in kept]
        sizes = [0 if block is None else len(block) for block in blocks]
        scores = np.zeros(len(kept), dtype=np.float32)
        if sum(sizes):
            stacked = normalized(np.concatenate([block for block in blocks if block is not None and len(block)]))
            similarities = stacked @ vector
            starts = np.cumsum([0, *sizes[:-1]])
            for position, (start, size) in enumerate(zip(starts.tolist(), sizes, strict=True)):
                if size:
                    scores[position] = similarities[start : start + size].max()
        scored = [_public_search_item(item, float(score)) for item, score in zip(kept, scores.tolist(), strict=True)]
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
        special = {
            i for i, op in enumerate(prepared) if isinstance(op, SearchOp) and (op.query or self._keyed_filter(op))
        }
        plain_positions = [i for i in range(len(prepared)) if i not in special]
        plain_results = self.inner.batch([prepared[i] for i in plain_positions]) if plain_positions else []
        for position, result in zip(plain_positions, plain_results, strict=True):
            results[position] = _public(result)
        for position in sorted(special):
            op = prepared[position]
            assert isinstance(op, SearchOp)
            keyed = self._keyed_filter(op)
            if keyed is not None:
                results[position] = self._search_keyed(op, *keyed)
            else:
                assert op.query is not None
                results[position] = self._search_meaning(op, self.embeddings.embed_query(op.query))
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    def close(self) -> None:
        """Save the index (when it has a path) and close the connections (the store is unusable afterwards)."""
        with self._lock:
            self._save()
        conn = getattr(self.inner, "conn", None)
        if conn is not None and hasattr(conn, "close"):
            conn.close()
        if hasattr(self.feed, "close"):
            self.feed.close()

    def __enter__(self) -> SemanticStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _under(prefix: str, namespace_prefix: tuple[str, ...]) -> bool:
    wanted = ".".join(namespace_prefix)
    return not wanted or prefix == wanted or prefix.startswith(wanted + ".")


def _matches(value: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    """LangGraph's filter semantics (as `InMemoryStore` applies them)."""
    return not filter or all(_compare(value.get(key), wanted) for key, wanted in filter.items())


def _compare(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        if any(key.startswith("$") for key in wanted):
            return all(_operator(actual, key, operand) for key, operand in wanted.items())
        return isinstance(actual, dict) and all(_compare(actual.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(wanted)
            and all(_compare(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    return actual == wanted


def _operator(actual: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return actual == operand
    if operator == "$ne":
        return actual != operand
    try:
        left, right = float(actual), float(operand)
    except (TypeError, ValueError):
        return False
    comparisons = {"$gt": left > right, "$gte": left >= right, "$lt": left < right, "$lte": left <= right}
    if operator not in comparisons:
        raise ValueError(f"unsupported filter operator {operator}")
    return comparisons[operator]


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return "\n".join(_flatten(item) for item in value.values())
    if isinstance(value, list):
        return "\n".join(_flatten(item) for item in value)
    return "" if value is None else str(value)


_ValueT = TypeVar("_ValueT", bound=Mapping[str, Any])


def _visible(value: _ValueT) -> _ValueT | dict[str, Any]:
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
        # Items stay Items (SearchItems stay SearchItems), namespaces stay namespaces: the list keeps its kind.
        return cast("Result", [_public(item) if isinstance(item, Item) else item for item in result])
    return result


def _connect_sqlite(path: str, synchronous: str = "NORMAL") -> sqlite3.Connection:
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
        connection.execute(f"PRAGMA synchronous={synchronous}")
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


def _open_postgres(url: str, embeddings: Embeddings, fields: list[str], keyed_fields: Iterable[str]) -> SemanticStore:
    try:
        from langgraph.store.postgres import PostgresStore
        from psycopg import Connection
        from psycopg.rows import dict_row
    except ImportError as error:
        raise UserError(
            f"a postgres store needs the [postgres] extra: pip install 'writer-r1[postgres]' ({error})"
        ) from error
    connection = Connection.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    try:
        inner = PostgresStore(connection)  # no pgvector index: ours works without the extension
        inner.setup()
        feed = PostgresFeed(url)
        feed.setup()
        index_path = _cache_home() / "index" / f"postgres-{feed.database_id()}.index"
    except BaseException:
        connection.close()
        raise
    return SemanticStore(
        inner, embeddings=embeddings, feed=feed, fields=fields, keyed_fields=keyed_fields, index_path=index_path
    )


def _cache_home() -> Path:
    home = os.environ.get("WRITER_R1_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "writer-r1"


def index_path_for(path: str) -> Path:
    """Where the vector index of an SQLite store file is kept: beside it, `FILE.index`."""
    location = Path(path).expanduser()
    return location.with_name(location.name + ".index")


def open_store(
    path: str | None = None,
    *,
    embeddings: Embeddings | None = None,
    fields: Iterable[str] = DEFAULT_FIELDS,
    keyed_fields: Iterable[str] = KEYED_FIELDS,
    durable: bool = False,
) -> SemanticStore:
    """A LangGraph store with a kept semantic index over `fields` (JSON paths into the values; `$` = the whole value).

    `path`: `None` or `":memory:"` → in-memory SQLite; a file path → SQLite in that file (created with its
    folders; the index is kept in `FILE.index`); `postgres://` / `postgresql://` URL → PostgreSQL (extra
    `[postgres]`; pgvector not needed). `embeddings` defaults to `default_embeddings()`.

    SQLite files run in WAL mode with `synchronous=NORMAL`: a write is committed when it returns and survives
    the writing process being killed; a power cut or an OS crash may lose the last few writes (never corrupts
    the file). `durable=True` adds an fsync per write (`synchronous=FULL`, several ms on common disks) for
    power-cut durability.

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
        return _open_postgres(location, embeddings, fields, keyed_fields)
    if "://" in location:
        raise UserError(f"unsupported store location {location!r}: use a file path, ':memory:' or a postgres:// URL")
    inner = SqliteStore(_connect_sqlite(location, "FULL" if durable else "NORMAL"))
    _setup_sqlite(inner)
    return SemanticStore(
        inner,
        embeddings=embeddings,
        feed=SqliteFeed(inner.conn, inner.lock),
        fields=fields,
        index_path=None if location == ":memory:" else index_path_for(location),
        keyed_fields=keyed_fields,
    )
