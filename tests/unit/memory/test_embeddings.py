"""Embeddings: the lexical fallback (deterministic, normalised, CJK-aware) and the optional MiniLM model."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from writer_r1.memory.embeddings import (
    LexicalEmbeddings,
    MiniLMEmbeddings,
    cosine,
    default_embeddings,
    embed_extra_installed,
    embeddings_name,
)


def test_lexical_vectors_are_unit_length_and_fixed_width() -> None:
    embeddings = LexicalEmbeddings(dims=128)
    for vector in embeddings.embed_documents(["A lighthouse keeper.", "灯塔看守人的故事", "x"]):
        assert len(vector) == 128
        assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-9)


def test_lexical_empty_text_is_the_zero_vector() -> None:
    vector = LexicalEmbeddings(dims=64).embed_query("  ...  ")
    assert vector == [0.0] * 64
    assert cosine(vector, vector) == 0.0


def test_lexical_vectors_are_stable_across_processes() -> None:
    code = "from writer_r1.memory.embeddings import LexicalEmbeddings; print(LexicalEmbeddings(64).embed_query('storm at sea')[:8])"
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(runs) == 1
    assert runs.pop().strip() == str(LexicalEmbeddings(64).embed_query("storm at sea")[:8])


@pytest.mark.parametrize(
    ("query", "near", "far"),
    [
        (
            "Write a short story about a lighthouse keeper",
            "Write a short story about the lighthouse keepers",
            "Draft a tax filing checklist for freelancers",
        ),
        ("写一篇关于灯塔看守人的短篇小说", "写一个灯塔看守人的故事", "列出自由职业者的报税清单"),
        ("Une histoire de phare", "Une histoire de phares", "Un rapport financier"),
    ],
)
def test_lexical_similarity_orders_near_above_far(query: str, near: str, far: str) -> None:
    embeddings = LexicalEmbeddings()
    q, n, f = embeddings.embed_documents([query, near, far])
    assert cosine(q, n) > cosine(q, f) + 0.2


def test_lexical_async_matches_sync() -> None:
    import asyncio

    embeddings = LexicalEmbeddings(dims=32)
    assert asyncio.run(embeddings.aembed_documents(["a b"])) == embeddings.embed_documents(["a b"])
    assert asyncio.run(embeddings.aembed_query("a b")) == embeddings.embed_query("a b")


def test_lexical_rejects_tiny_dims() -> None:
    with pytest.raises(ValueError, match="dims"):
        LexicalEmbeddings(dims=2)


def test_default_embeddings_follow_the_embed_extra() -> None:
    expected = MiniLMEmbeddings if embed_extra_installed() else LexicalEmbeddings
    assert isinstance(default_embeddings(), expected)


def test_embeddings_name_distinguishes_widths() -> None:
    assert embeddings_name(LexicalEmbeddings(64)) != embeddings_name(LexicalEmbeddings(128))


@pytest.mark.slow  # loads torch and the bundled model (seconds)
@pytest.mark.skipif(not embed_extra_installed(), reason="the [embed] extra is not installed")
def test_minilm_knows_synonyms_offline() -> None:
    embeddings = MiniLMEmbeddings()
    query, synonym, unrelated = embeddings.embed_documents(
        ["a tale about a lighthouse warden", "a story of a keeper of a beacon tower", "quarterly tax forms"]
    )
    assert len(query) == 384
    assert cosine(query, synonym) > cosine(query, unrelated) + 0.1
