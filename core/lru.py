"""A small least-recently-used mapping, for the process-wide caches of models, judges and memories.

Every process-wide cache in the package is bounded: a long-lived service that builds many models (one per
spec, base URL or judge setting) keeps at most `maxsize` of them alive, dropping the least recently used.

Example:
    >>> cache = LRU(maxsize=2)
    >>> cache["a"], cache["b"] = 1, 2
    >>> _ = cache["a"]           # a is now the most recently used
    >>> cache["c"] = 3           # b goes
    >>> sorted(cache)
    ['a', 'c']
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRU(MutableMapping[K, V], Generic[K, V]):
    """A mapping holding at most `maxsize` entries; reading or writing an entry makes it the most recent.
    Not thread-safe on its own: callers hold their lock, as they do for a dict they check and then fill."""

    def __init__(self, maxsize: int = 16) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def __getitem__(self, key: K) -> V:
        value = self._data[key]
        self._data.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def __delitem__(self, key: K) -> None:
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)
