"""open_store: SQLite with a semantic index done in our layer; durable, concurrency-safe, vectors hidden."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from writer_r1.core.errors import UserError
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.store import INDEX_KEY, SemanticStore, open_store

DOCS = {
    "keeper": {"title": "The keeper", "text": "a lighthouse keeper alone with the storm and the lamp"},
    "tax": {"title": "Taxes", "text": "quarterly tax filing checklist for freelancers"},
    "sea": {"title": "Sea poem", "text": "a poem about waves, salt and the open sea"},
}


@pytest.fixture
def store():
    with open_store(":memory:", embeddings=LexicalEmbeddings(256)) as opened:
        for key, value in DOCS.items():
            opened.put(("docs",), key, value)
        yield opened


def test_get_returns_the_value_without_vectors(store: SemanticStore) -> None:
    item = store.get(("docs",), "keeper")
    assert item is not None and item.value == DOCS["keeper"]
    assert INDEX_KEY not in item.value
    assert store.get(("docs",), "missing") is None


def test_semantic_search_ranks_by_meaning(store: SemanticStore) -> None:
    results = store.search(("docs",), query="story of a lighthouse keeper in a storm", limit=3)
    assert [item.key for item in results][0] == "keeper"
    assert results[0].score > results[1].score >= results[2].score
    assert all(INDEX_KEY not in item.value for item in results)
    assert len(store.search(("docs",), query="lighthouse", limit=1)) == 1
    assert [item.key for item in store.search(("docs",), query="lighthouse", limit=2, offset=1)] != ["keeper"]


def test_search_combines_filter_and_query(store: SemanticStore) -> None:
    results = store.search(("docs",), query="lighthouse keeper", filter={"title": "Taxes"})
    assert [item.key for item in results] == ["tax"]


def test_search_without_query_is_a_plain_listing(store: SemanticStore) -> None:
    results = store.search(("docs",), limit=10)
    assert sorted(item.key for item in results) == sorted(DOCS)
    assert all(item.score is None and INDEX_KEY not in item.value for item in results)


def test_index_fields_and_index_false() -> None:
    with open_store(embeddings=LexicalEmbeddings(256), fields=["title"]) as store:
        store.put(("d",), "a", {"title": "lighthouse", "text": "tax"})
        store.put(("d",), "b", {"title": "tax", "text": "lighthouse"})
        store.put(("d",), "hidden", {"title": "lighthouse"}, index=False)
        store.put(("d",), "per-item", {"title": "tax", "text": "lighthouse lamp"}, index=["text"])
        keys = [item.key for item in store.search(("d",), query="lighthouse lamp")]
        assert keys[:2] == ["per-item", "a"]
        assert "hidden" not in keys
        assert store.get(("d",), "hidden").value == {"title": "lighthouse"}


def test_delete_removes_the_item(store: SemanticStore) -> None:
    store.delete(("docs",), "keeper")
    assert store.get(("docs",), "keeper") is None
    assert "keeper" not in [item.key for item in store.search(("docs",), query="lighthouse keeper")]


def test_list_namespaces(store: SemanticStore) -> None:
    store.put(("other", "x"), "k", {"text": "hi"})
    assert set(store.list_namespaces()) == {("docs",), ("other", "x")}


async def test_async_api_matches_sync(store: SemanticStore) -> None:
    await store.aput(("docs",), "lamp", {"text": "the lamp of the lighthouse"})
    assert (await store.aget(("docs",), "lamp")).value == {"text": "the lamp of the lighthouse"}
    sync_keys = [item.key for item in store.search(("docs",), query="lighthouse lamp")]
    async_keys = [item.key for item in await store.asearch(("docs",), query="lighthouse lamp")]
    assert async_keys == sync_keys and async_keys[0] == "lamp"


def test_vectors_from_other_embeddings_are_recomputed(tmp_path: Path) -> None:
    path = str(tmp_path / "store.sqlite")
    with open_store(path, embeddings=LexicalEmbeddings(64)) as store:
        for key, value in DOCS.items():
            store.put(("docs",), key, value)
    with open_store(path, embeddings=LexicalEmbeddings(128)) as store:
        results = store.search(("docs",), query="lighthouse keeper storm")
        assert results[0].key == "keeper" and results[0].score > 0.3


def test_file_store_survives_reopen_and_concurrent_writers(tmp_path: Path) -> None:
    path = str(tmp_path / "nested" / "store.sqlite")
    with open_store(path, embeddings=LexicalEmbeddings(64)) as store:

        def write(thread: int) -> None:
            for index in range(20):
                store.put(("t", str(thread)), str(index), {"text": f"thread {thread} item {index}"})

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        async def awrite() -> None:
            await asyncio.gather(*(store.aput(("a",), str(i), {"text": f"async {i}"}) for i in range(30)))

        asyncio.run(awrite())
    with open_store(path, embeddings=LexicalEmbeddings(64)) as store:
        assert sum(len(store.search(("t", str(n)), limit=100)) for n in range(4)) == 80
        assert len(store.search(("a",), limit=100)) == 30


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    code = (
        "import sys; from writer_r1.memory.store import open_store; from writer_r1.memory.embeddings import LexicalEmbeddings\n"
        "store = open_store(sys.argv[1], embeddings=LexicalEmbeddings(64))\n"
        "[store.put(('p', sys.argv[2]), str(i), {'text': str(i)}) for i in range(25)]\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", code, path, name]) for name in ("x", "y")]
    assert [process.wait(timeout=60) for process in processes] == [0, 0]
    with open_store(path, embeddings=LexicalEmbeddings(64)) as store:
        assert len(store.search(("p", "x"), limit=100)) == len(store.search(("p", "y"), limit=100)) == 25


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_writer_loses_nothing_committed(tmp_path: Path) -> None:
    path = str(tmp_path / "crash.sqlite")
    marker = tmp_path / "written"
    code = (
        "import sys, time, pathlib; from writer_r1.memory.store import open_store; from writer_r1.memory.embeddings import LexicalEmbeddings\n"
        "store = open_store(sys.argv[1], embeddings=LexicalEmbeddings(64))\n"
        "[store.put(('c',), str(i), {'text': f'item {i}'}) for i in range(10)]\n"
        "pathlib.Path(sys.argv[2]).write_text('done')\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, path, str(marker)])
    try:
        for _ in range(600):
            if marker.exists():
                break
            assert process.poll() is None, "writer died early"
            threading.Event().wait(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    with open_store(path, embeddings=LexicalEmbeddings(64)) as store:
        assert sorted(int(item.key) for item in store.search(("c",), limit=100)) == list(range(10))
        assert store.search(("c",), query="item 7", limit=1)[0].score > 0


@pytest.mark.parametrize("location", ["http://example.com/db", "redis://localhost"])
def test_unsupported_locations_are_user_errors(location: str) -> None:
    with pytest.raises(UserError, match="unsupported store location"):
        open_store(location, embeddings=LexicalEmbeddings(64))


@pytest.mark.parametrize("missing", ["psycopg", "langgraph.store.postgres"])
def test_postgres_without_the_extra_is_a_clear_error(missing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate the extra being absent (a module set to None in sys.modules raises ImportError on import).
    monkeypatch.setitem(sys.modules, missing, None)
    with pytest.raises(UserError, match=r"\[postgres\] extra"):
        open_store("postgres://user@localhost/db", embeddings=LexicalEmbeddings(64))


async def test_postgres_checkpointer_without_the_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from writer_r1.graphs.criteria import abuild_criteria

    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres.aio", None)
    with pytest.raises(UserError, match=r"\[postgres\] extra"):
        await abuild_criteria("A haiku", model="fake", checkpointer="postgresql://user@localhost/db", thread_id="t")
