"""A kept vector index beside a store: approximate nearest neighbours (usearch HNSW) plus exact-value lookups.

`SemanticStore` keeps every item's vectors inside the stored value (one row, one transaction); this index is a
derived copy that makes search by meaning take milliseconds at 100,000 items instead of a scan:

- one HNSW graph per namespace (usearch, int8-quantised cosine: small and fast; the store re-ranks the few
  candidates it returns with the exact float32 vectors, so the scores callers see are exact);
- a hash index from the values of a few top-level fields (`task_key`) to the items holding them, for "every
  item of exactly this task" without a scan;
- labels are a stable 63-bit hash of (namespace, key), so the index needs no id table and two processes agree.

It is kept in step by a change feed (`memory/changes.py`: a log table that triggers on the store's table fill,
in the same transaction as the write) and persisted in one file (`save` / `load`): a header with the feed
position, the database's id and the embeddings' name, then each namespace's graph. A file from another
database, other embeddings or a position the log does not reach is stale and the index is rebuilt.

usearch was chosen by `bench/memory_scale.py --candidates` (the figures are in the README): against hnswlib
(chroma's wheel), faiss-cpu (HNSW, no removal) and sqlite-vec through apsw (an exact scan, ~40 ms at 20k) it
installs as a small wheel on every platform, removes and re-adds items, and saves to bytes.

Example:
    >>> import numpy as np
    >>> index = VectorIndex(dims=4)
    >>> index.upsert("docs", "a", [[1.0, 0.0, 0.0, 0.0]], {"task_key": "t1"})
    >>> index.upsert("docs", "b", [[0.0, 1.0, 0.0, 0.0]], {"task_key": "t2"})
    >>> [key for _, key in index.nearest(["docs"], np.array([0.9, 0.1, 0.0, 0.0], dtype=np.float32), 1)]
    ['a']
    >>> index.keyed("task_key", "t2")
    [('docs', 'b')]
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import struct
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

MAGIC = b"WR1VIDX1"
FORMAT = 2
CONNECTIVITY = 16
EXPANSION_ADD = 64
EXPANSION_SEARCH = 128


def label_of(prefix: str, key: str) -> int:
    """A stable 63-bit label for an item (the same in every process)."""
    digest = hashlib.blake2b(f"{prefix}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def encode_vectors(vectors: Sequence[Sequence[float]]) -> str:
    """float32 vectors, concatenated, base64: a compact form to keep inside a JSON value."""
    return base64.b64encode(np.asarray(vectors, dtype=np.float32).tobytes()).decode("ascii")


def decode_vectors(index_entry: dict[str, Any], dims: int | None = None) -> np.ndarray:
    """The vectors of a stored index entry as an (n, dims) float32 array (reads the old JSON-list form too)."""
    if "f32" in index_entry:
        flat = np.frombuffer(base64.b64decode(index_entry["f32"]), dtype=np.float32)
        width = int(index_entry.get("dims") or dims or flat.size or 1)
        return flat.reshape(-1, width) if flat.size else np.zeros((0, width), dtype=np.float32)
    vectors = index_entry.get("vectors") or []
    if not vectors:
        return np.zeros((0, dims or 1), dtype=np.float32)
    return np.asarray(vectors, dtype=np.float32)


def normalized(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def keyed_token(value: Any) -> str | None:
    """The hash-index token of a field value (strings, numbers, booleans); None for anything else."""
    if isinstance(value, bool | int | float | str):
        return json.dumps(value)
    return None


class VectorIndex:
    """HNSW graphs per namespace plus exact-value lookups, over labels that hash (namespace, key).

    Identical vectors are stored once per namespace (many experiences share a task, so their recall texts and
    vectors are the same): the graph holds distinct vectors, each pointing at the items that have it.
    Not thread-safe by itself: `SemanticStore` holds a lock around it.
    """

    def __init__(self, dims: int, keyed_fields: Iterable[str] = ("task_key",)) -> None:
        self.dims = dims
        self.keyed_fields = tuple(keyed_fields)
        self.partitions: dict[str, Any] = {}
        self.items: dict[int, tuple[str, str]] = {}
        self.item_vectors: dict[int, list[int]] = {}
        self.holders: dict[str, dict[int, set[int]]] = {}
        self.tokens: dict[int, dict[str, str]] = {}
        self.by_value: dict[str, dict[str, set[int]]] = {field: {} for field in self.keyed_fields}
        self.position = 0
        self.meta: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.items)

    def _partition(self, prefix: str) -> Any:
        partition = self.partitions.get(prefix)
        if partition is None:
            from usearch.index import Index

            partition = Index(
                ndim=self.dims,
                metric="cos",
                dtype="i8",
                connectivity=CONNECTIVITY,
                expansion_add=EXPANSION_ADD,
                expansion_search=EXPANSION_SEARCH,
            )
            self.partitions[prefix] = partition
        return partition

    # -- changes ----------------------------------------------------------------------------------------

    def remove(self, prefix: str, key: str) -> None:
        label = label_of(prefix, key)
        if label not in self.items:
            return
        del self.items[label]
        holders = self.holders.get(prefix, {})
        for vector_key in self.item_vectors.pop(label, []):
            holding = holders.get(vector_key)
            if holding is None:
                continue
            holding.discard(label)
            if not holding:
                del holders[vector_key]
                self.partitions[prefix].remove(vector_key)
        for field, token in self.tokens.pop(label, {}).items():
            holding = self.by_value[field].get(token)
            if holding is not None:
                holding.discard(label)
                if not holding:
                    del self.by_value[field][token]

    def upsert(
        self, prefix: str, key: str, vectors: np.ndarray | Sequence[Sequence[float]], value: dict[str, Any]
    ) -> None:
        """(Re)index one item: its vectors (may be empty: not searchable by meaning) and its keyed fields."""
        self.upsert_many([(prefix, key, vectors, value)])

    def upsert_many(self, entries: Sequence[tuple[str, str, Any, dict[str, Any]]]) -> None:
        """`upsert` for many items, one graph insertion call per namespace."""
        new: dict[str, dict[int, np.ndarray]] = {}
        for prefix, key, vectors, value in entries:
            label = self._register(prefix, key, value)
            array = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dims) if len(vectors) else None
            if array is None or not array.size:
                continue
            holders = self.holders.setdefault(prefix, {})
            pending = new.setdefault(prefix, {})
            keys = []
            for row in array:
                vector_key = int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little") >> 1
                if vector_key not in holders:
                    holders[vector_key] = set()
                    pending[vector_key] = row
                holders[vector_key].add(label)
                keys.append(vector_key)
            self.item_vectors[label] = keys
        for prefix, pending in new.items():
            if pending:
                vector_keys = np.fromiter(pending, dtype=np.uint64, count=len(pending))
                self._partition(prefix).add(vector_keys, np.stack(list(pending.values())), threads=1)

    def _register(self, prefix: str, key: str, value: dict[str, Any]) -> int:
        self.remove(prefix, key)
        label = label_of(prefix, key)
        self.items[label] = (prefix, key)
        tokens = {}
        for field in self.keyed_fields:
            token = keyed_token(value.get(field))
            if token is not None:
                tokens[field] = token
                self.by_value[field].setdefault(token, set()).add(label)
        if tokens:
            self.tokens[label] = tokens
        return label

    # -- lookups ----------------------------------------------------------------------------------------

    def size(self, prefixes: Iterable[str]) -> int:
        """How many distinct vectors the given namespaces hold."""
        return sum(len(self.partitions[p]) for p in prefixes if p in self.partitions)

    def nearest(self, prefixes: Sequence[str], query: np.ndarray, count: int) -> list[tuple[str, str]]:
        """Up to `count` distinct items nearest to `query` over the given namespaces (approximate order)."""
        scored: dict[int, float] = {}
        for prefix in prefixes:
            partition = self.partitions.get(prefix)
            if partition is None or len(partition) == 0:
                continue
            holders = self.holders.get(prefix, {})
            matches = partition.search(query, min(count, len(partition)))
            for vector_key, distance in zip(matches.keys.tolist(), matches.distances.tolist(), strict=True):
                for label in holders.get(vector_key, ()):
                    if distance < scored.get(label, float("inf")):
                        scored[label] = distance
        ranked = sorted(scored, key=scored.__getitem__)[:count]
        return [self.items[label] for label in ranked if label in self.items]

    def keyed(self, field: str, value: Any) -> list[tuple[str, str]]:
        """Every item whose top-level `field` equals `value` (exact, from the hash index)."""
        token = keyed_token(value)
        holders = self.by_value.get(field, {}).get(token, set()) if token is not None else set()
        return [self.items[label] for label in holders if label in self.items]

    # -- persistence ------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to `path` atomically (a temporary file renamed over it)."""
        prefixes = list(self.partitions)
        blobs = [bytes(self.partitions[p].save()) for p in prefixes]
        header = {
            "format": FORMAT,
            "dims": self.dims,
            "position": self.position,
            "meta": self.meta,
            "keyed_fields": list(self.keyed_fields),
            "partitions": prefixes,
            "items": [
                [label, prefix, key, self.item_vectors.get(label, [])] for label, (prefix, key) in self.items.items()
            ],
            "tokens": {str(label): tokens for label, tokens in self.tokens.items()},
        }
        encoded = json.dumps(header, separators=(",", ":")).encode()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(MAGIC + struct.pack("<Q", len(encoded)) + encoded)
                for blob in blobs:
                    file.write(struct.pack("<Q", len(blob)) + blob)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> VectorIndex | None:
        """The index saved at `path`, or None when there is none or it cannot be read (then rebuild)."""
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            return None
        try:
            if not data.startswith(MAGIC):
                raise ValueError("not a writer-r1 index file")
            offset = len(MAGIC)
            (length,) = struct.unpack_from("<Q", data, offset)
            offset += 8
            header = json.loads(data[offset : offset + length])
            offset += length
            if header.get("format") != FORMAT:
                raise ValueError(f"format {header.get('format')}")
            from usearch.index import Index

            index = cls(int(header["dims"]), header["keyed_fields"])
            index.position = int(header["position"])
            index.meta = dict(header["meta"])
            for prefix in header["partitions"]:
                (size,) = struct.unpack_from("<Q", data, offset)
                offset += 8
                partition = Index.restore(bytearray(data[offset : offset + size]))
                if partition is None:
                    raise ValueError(f"partition {prefix!r} unreadable")
                # usearch's Index defines this property's setter after another property's, which mypy reads
                # as read-only; it is settable.
                partition.expansion_search = EXPANSION_SEARCH  # type: ignore[misc]
                index.partitions[prefix] = partition
                offset += size
            for label, prefix, key, vector_keys in header["items"]:
                index.items[int(label)] = (prefix, key)
                if vector_keys:
                    index.item_vectors[int(label)] = vector_keys
                    holders = index.holders.setdefault(prefix, {})
                    for vector_key in vector_keys:
                        holders.setdefault(vector_key, set()).add(int(label))
            for label_text, tokens in header["tokens"].items():
                label = int(label_text)
                index.tokens[label] = tokens
                for field, token in tokens.items():
                    index.by_value.setdefault(field, {}).setdefault(token, set()).add(label)
            return index
        except (ValueError, KeyError, TypeError, struct.error) as error:
            logger.warning("ignoring the vector index at %s (%s); it will be rebuilt", path, error)
            return None
