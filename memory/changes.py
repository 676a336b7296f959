"""Change feeds: which items of a LangGraph store table changed since a position, for keeping an index in step.

A trigger on the store's table appends (namespace, key) to a log table in the same transaction as every insert,
update of the value, or delete, whoever writes (this process, another process, another machine). A reader
keeps its position (the last sequence number it applied) and asks for what came after; it then reads the
current rows of those keys, so replaying a change twice is harmless. A table `writer_r1_meta` holds a random
id of the database, so an index saved for one database is never used with another.

PostgreSQL assigns sequence numbers when a transaction writes, not when it commits: a reader may see 12
before 11 commits. The feed therefore keeps the numbers it skipped ("gaps") and asks for them again for a
while (`GAP_SECONDS`), so a late commit is not lost; a gap of a rolled-back transaction simply expires.
SQLite serialises writers, so its numbers commit in order.

Example:
    >>> import sqlite3
    >>> from langgraph.store.sqlite import SqliteStore
    >>> store = SqliteStore(sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None))
    >>> store.setup()
    >>> feed = SqliteFeed(store.conn, store.lock)
    >>> feed.setup()
    >>> store.put(("docs",), "a", {"text": "hello"})
    >>> feed.changes_since(0)
    [(1, 'docs', 'a')]
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

logger = logging.getLogger(__name__)

GAP_SECONDS = 120.0
"""How long a skipped sequence number is asked for again (a PostgreSQL transaction that commits late)."""


class ChangeFeed(Protocol):
    """What a `SemanticStore` needs from the database under its store."""

    def setup(self) -> None: ...
    def database_id(self) -> str: ...
    def last_position(self) -> int: ...
    def changes_since(self, position: int, also: tuple[int, ...] = ()) -> list[tuple[int, str, str]]: ...
    def all_items(self) -> Iterator[tuple[str, str]]: ...


_SQLITE_SETUP = [
    """CREATE TABLE IF NOT EXISTS writer_r1_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, prefix TEXT NOT NULL, key TEXT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS writer_r1_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TRIGGER IF NOT EXISTS writer_r1_store_insert AFTER INSERT ON store
        BEGIN INSERT INTO writer_r1_changes (prefix, key) VALUES (NEW.prefix, NEW.key); END""",
    """CREATE TRIGGER IF NOT EXISTS writer_r1_store_update AFTER UPDATE OF value ON store
        BEGIN INSERT INTO writer_r1_changes (prefix, key) VALUES (NEW.prefix, NEW.key); END""",
    """CREATE TRIGGER IF NOT EXISTS writer_r1_store_delete AFTER DELETE ON store
        BEGIN INSERT INTO writer_r1_changes (prefix, key) VALUES (OLD.prefix, OLD.key); END""",
]


class SqliteFeed:
    """The change feed of a `SqliteStore`'s table, on the store's own connection (under its lock)."""

    def __init__(self, connection: sqlite3.Connection, lock: threading.Lock | None = None) -> None:
        self.connection = connection
        self.lock: AbstractContextManager[Any] = lock if lock is not None else nullcontext()

    def setup(self, attempts: int = 30) -> None:
        for attempt in range(attempts):
            try:
                with self.lock:
                    self.connection.execute("BEGIN IMMEDIATE")
                    try:
                        for statement in _SQLITE_SETUP:
                            self.connection.execute(statement)
                        self.connection.execute(
                            "INSERT OR IGNORE INTO writer_r1_meta (name, value) VALUES ('database_id', ?)",
                            (uuid.uuid4().hex,),
                        )
                        self.connection.execute("COMMIT")
                    except BaseException:
                        self.connection.execute("ROLLBACK")
                        raise
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or attempt == attempts - 1:
                    raise
                time.sleep(min(0.02 * 2**attempt, 0.5))

    def _all(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.connection.execute(sql, parameters).fetchall()

    def database_id(self) -> str:
        return str(self._all("SELECT value FROM writer_r1_meta WHERE name = 'database_id'")[0][0])

    def last_position(self) -> int:
        return int(self._all("SELECT COALESCE(MAX(seq), 0) FROM writer_r1_changes")[0][0])

    def changes_since(self, position: int, also: tuple[int, ...] = ()) -> list[tuple[int, str, str]]:
        rows = self._all("SELECT seq, prefix, key FROM writer_r1_changes WHERE seq > ? ORDER BY seq", (position,))
        return [(int(seq), prefix, key) for seq, prefix, key in rows]

    def all_items(self) -> Iterator[tuple[str, str]]:
        yield from ((prefix, key) for prefix, key in self._all("SELECT prefix, key FROM store"))


_POSTGRES_SETUP = [
    "SELECT pg_advisory_xact_lock(7426351902)",
    """CREATE TABLE IF NOT EXISTS writer_r1_changes (
        seq BIGSERIAL PRIMARY KEY, prefix TEXT NOT NULL, key TEXT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS writer_r1_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE OR REPLACE FUNCTION writer_r1_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                INSERT INTO writer_r1_changes (prefix, key) VALUES (OLD.prefix, OLD.key);
            ELSE
                INSERT INTO writer_r1_changes (prefix, key) VALUES (NEW.prefix, NEW.key);
            END IF;
            RETURN NULL;
        END $$""",
    """CREATE OR REPLACE TRIGGER writer_r1_store_changes AFTER INSERT OR DELETE OR UPDATE OF value ON store
        FOR EACH ROW EXECUTE FUNCTION writer_r1_log_change()""",
]


class PostgresFeed:
    """The change feed of a `PostgresStore`'s table, on a connection of its own (autocommit)."""

    def __init__(self, url: str) -> None:
        from psycopg import Connection

        self.connection = Connection.connect(url, autocommit=True, prepare_threshold=None)
        self.lock = threading.Lock()

    def setup(self) -> None:
        with self.lock, self.connection.transaction():
            for statement in _POSTGRES_SETUP:
                self.connection.execute(statement)
            self.connection.execute(
                "INSERT INTO writer_r1_meta (name, value) VALUES ('database_id', %s) ON CONFLICT DO NOTHING",
                (uuid.uuid4().hex,),
            )

    def _all(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.connection.execute(sql, parameters).fetchall()

    def database_id(self) -> str:
        return str(self._all("SELECT value FROM writer_r1_meta WHERE name = 'database_id'")[0][0])

    def last_position(self) -> int:
        return int(self._all("SELECT COALESCE(MAX(seq), 0) FROM writer_r1_changes")[0][0])

    def changes_since(self, position: int, also: tuple[int, ...] = ()) -> list[tuple[int, str, str]]:
        rows = self._all(
            "SELECT seq, prefix, key FROM writer_r1_changes WHERE seq > %s OR seq = ANY(%s) ORDER BY seq",
            (position, list(also)),
        )
        return [(int(seq), prefix, key) for seq, prefix, key in rows]

    def all_items(self) -> Iterator[tuple[str, str]]:
        yield from ((prefix, key) for prefix, key in self._all("SELECT prefix, key FROM store"))

    def close(self) -> None:
        self.connection.close()
