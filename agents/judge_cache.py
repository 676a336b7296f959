"""Judge caches: complete verdicts by key, in memory or in SQLite.

A key names everything that decides a verdict (model, template version, criteria version, the
criteria asked in one call, task, text), so a hit returns exactly what a fresh call accepted before.
Only complete verdicts are stored; failures are never cached.

Example:
    >>> cache = MemoryJudgeCache()
    >>> key = cache_key(model="m", template="t1", criteria_version="c1", chunk=["clarity"], task="", text="Hi.")
    >>> cache.get(key) is None
    True
    >>> cache.put(key, '[{"criterion_id": "clarity"}]'); cache.get(key)
    '[{"criterion_id": "clarity"}]'
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class JudgeCache(Protocol):
    """Anything with `get(key) -> str | None` and `put(key, value)`; values are JSON strings."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


def cache_key(**parts: Any) -> str:
    """A stable hash of the named parts (JSON with sorted keys, so argument order does not matter)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class MemoryJudgeCache:
    """An in-process LRU cache (thread-safe); `max_entries=None` keeps everything."""

    def __init__(self, max_entries: int | None = 100_000):
        self.max_entries = max_entries
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            if self.max_entries is not None:
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def __getstate__(self) -> dict[str, Any]:
        return {"max_entries": self.max_entries, "entries": list(self._entries.items())}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["max_entries"])  # type: ignore[misc]
        self._entries.update(state["entries"])


class SqliteJudgeCache:
    """A persistent cache in one SQLite file (WAL), shared safely by threads and processes.

    One connection per process, opened lazily and guarded by a lock; a pickled cache reopens the
    same file in the process that unpickles it (TRL reward functions are pickled to workers).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0):
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = -1

    def _connect(self) -> sqlite3.Connection:
        # Caller holds the lock. A forked child must not reuse its parent's connection.
        if self._connection is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self.timeout_s, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS judge_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
            )
            connection.commit()
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._connect().execute("SELECT value FROM judge_cache WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        with self._lock:
            connection = self._connect()
            connection.execute(
                "INSERT OR REPLACE INTO judge_cache (key, value, created) VALUES (?, ?, ?)", (key, value, time.time())
            )
            connection.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._connect().execute("SELECT COUNT(*) FROM judge_cache").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": str(self.path), "timeout_s": self.timeout_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], timeout_s=state["timeout_s"])  # type: ignore[misc]


def resolve_cache(cache: JudgeCache | str | os.PathLike[str] | None) -> JudgeCache | None:
    """`"memory"` → an in-memory cache, a path → SQLite, a cache object → itself, None → no cache."""
    if cache is None:
        return None
    if isinstance(cache, str) and cache == "memory":
        return MemoryJudgeCache()
    if isinstance(cache, (str, os.PathLike)):
        return SqliteJudgeCache(cache)
    if isinstance(cache, JudgeCache):
        return cache
    raise TypeError(f"cache must be 'memory', a path, a JudgeCache or None, got {type(cache).__name__}")
