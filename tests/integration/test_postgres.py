"""PostgreSQL for real: store, criteria library, experience memory and checkpointer against a throwaway server.

The `postgres_url` fixture (tests/conftest.py) starts a cluster with initdb/pg_ctl once per session and gives
each test a fresh database. No pgvector: Debian 12 has no package for it, and our index does not need it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.records import Experience, Reflection
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.experience import ExperienceMemory, task_key
from writer_r1.memory.library import CriteriaLibrary
from writer_r1.memory.store import open_store

RAIN = "A poem about rain"
STORY = "Write a short story about a lighthouse keeper"
OTHER_TASKS = [
    "Draft a quarterly tax checklist for freelancers",
    "Write a letter of apology to a neighbour",
    "An essay on climate and cities",
    "A haiku about autumn leaves",
    "Write a short story about a lighthouse keeper's daughter",
]


def criteria_set(task: str, model: str | None = None) -> CriteriaSet:
    return CriteriaSet.model_validate(
        {
            "task": task,
            "dimensions": [
                {
                    "name": "Craft",
                    "criteria": [
                        {
                            "id": "imagery",
                            "name": "Imagery",
                            "description": "Concrete images",
                            "levels": [{"anchor": "flat"}, {"anchor": "vivid"}],
                        }
                    ],
                }
            ],
            "provenance": {"source": "manual", "model": model},
        }
    )


def experience(task: str, score_after: float, accepted: bool = True, lesson: str = "") -> Experience:
    return Experience(
        task=task,
        weak_criteria=["imagery"],
        reflection=Reflection(diagnosis="flat images", targets=["imagery"]),
        revision=f"revision scoring {score_after}",
        score_before=0.4,
        score_after=score_after,
        accepted=accepted,
        lesson=lesson or f"lesson {score_after}",
    )


def test_postgres_store_searches_by_meaning_without_pgvector(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection:
        extensions = {row[0] for row in connection.execute("SELECT extname FROM pg_extension")}
    assert "vector" not in extensions
    with open_store(postgres_url, embeddings=LexicalEmbeddings(256)) as store:
        store.put(("docs",), "keeper", {"text": "a lighthouse keeper alone with the storm"})
        store.put(("docs",), "tax", {"text": "quarterly tax filing checklist"})
        hits = store.search(("docs",), query="story of a lighthouse keeper", limit=2)
        assert [item.key for item in hits] == ["keeper", "tax"]
        assert hits[0].score > 0.5 > hits[1].score
        assert "__writer_r1_index__" not in hits[0].value
        store.delete(("docs",), "keeper")
        assert [item.key for item in store.search(("docs",), query="lighthouse keeper")] == ["tax"]


def test_postgres_index_follows_writes_of_another_connection(postgres_url: str) -> None:
    embeddings = LexicalEmbeddings(256)
    with (
        open_store(postgres_url, embeddings=embeddings) as reader,
        open_store(postgres_url, embeddings=embeddings) as writer,
    ):
        assert reader.search(("docs",), query="lighthouse") == []  # builds the (empty) index now
        writer.put(("docs",), "keeper", {"text": "a lighthouse keeper", "task_key": "k1"})
        assert [item.key for item in reader.search(("docs",), query="lighthouse keeper")] == ["keeper"]
        assert [item.key for item in reader.search(("docs",), filter={"task_key": "k1"})] == ["keeper"]
        writer.put(("docs",), "keeper", {"text": "quarterly taxes", "task_key": "k2"})  # an update moves it
        assert reader.search(("docs",), filter={"task_key": "k1"}) == []
        assert reader.search(("docs",), query="quarterly taxes\nk2", limit=1)[0].score == pytest.approx(1.0, abs=1e-5)


def test_postgres_a_late_commit_is_not_missed(postgres_url: str) -> None:
    # PostgreSQL numbers changes when a transaction writes, not when it commits: a reader that has seen 2 must
    # still pick up 1 when it commits later.
    with open_store(postgres_url, embeddings=LexicalEmbeddings(256)) as store:
        store.search(("docs",), query="x")
        late = psycopg.connect(postgres_url)
        try:
            late.execute(
                "INSERT INTO store (prefix, key, value) VALUES ('docs', 'late', %s::jsonb)",
                (json.dumps({"task_key": "late"}),),
            )  # seq n, not committed yet
            store.put(("docs",), "early", {"task_key": "early"})  # seq n + 1, committed
            assert [i.key for i in store.search(("docs",), filter={"task_key": "early"})] == ["early"]
            assert store.search(("docs",), filter={"task_key": "late"}) == []
            late.commit()
        finally:
            late.close()
        assert [i.key for i in store.search(("docs",), filter={"task_key": "late"})] == ["late"]


def test_postgres_criteria_library_finds_the_exact_task_at_one(postgres_url: str) -> None:
    library = CriteriaLibrary(postgres_url, embeddings=LexicalEmbeddings())
    try:
        for task in [*OTHER_TASKS, RAIN, STORY]:
            library.put(criteria_set(task, model="openai:qwen3"))
        [(found, similarity)] = library.search(RAIN, limit=1)
        assert found.task == RAIN and similarity == 1.0 and found.provenance.model == "openai:qwen3"
        hits = library.search("Write a short story about a lighthouse keeper's son", limit=2)
        assert {c.task for c, _ in hits} == {STORY, OTHER_TASKS[-1]} and all(0.5 < s < 1.0 for _, s in hits)
        assert library.get(found.version) == found
    finally:
        library.close()


def test_postgres_experience_memory_recall_and_best_revision(postgres_url: str) -> None:
    with ExperienceMemory(postgres_url, embeddings=LexicalEmbeddings()) as memory:
        for task in OTHER_TASKS:
            memory.remember(experience(task, 0.7))
        memory.remember(experience(STORY, 0.6, lesson="first"))
        memory.remember(experience(STORY, 0.9, lesson="best"))
        memory.remember(experience(STORY, 0.95, accepted=False, lesson="rejected"))
        recalled = memory.recall(STORY, ["imagery"], k=4)
        assert recalled[0].task == STORY and {e.lesson for e in recalled} >= {"best", "first", "rejected"}
        best = memory.best_revision(STORY)
        assert best is not None and best.lesson == "best"
        assert memory.best_revision("never seen") is None
        assert len(memory) == 8


WRITER = r"""
import sys
from writer_r1.core.records import Experience, Reflection
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.experience import ExperienceMemory

url, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with ExperienceMemory(url, embeddings=LexicalEmbeddings()) as memory:
    for i in range(count):
        memory.remember(Experience(task=f"Worker {worker} writes a story about harbour {worker}", weak_criteria=["pacing"],
            reflection=Reflection(diagnosis="slow"), revision=f"r{i}", score_before=0.1, score_after=i / count,
            accepted=True, lesson=f"w{worker}-{i}"))
print("ok")
"""


def test_postgres_concurrent_writers_from_several_processes(postgres_url: str) -> None:
    workers, count = 3, 15
    with ExperienceMemory(postgres_url, embeddings=LexicalEmbeddings()) as memory:
        memory.remember(experience(STORY, 0.5))  # the schema exists; this reader's index is built before the writers
        assert memory.recall(STORY)
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, postgres_url, str(worker), str(count)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for worker in range(workers)
        ]
        for process in processes:
            out, err = process.communicate(timeout=180)
            assert process.returncode == 0 and out.strip() == "ok", err
        assert len(memory) == 1 + workers * count
        for worker in range(workers):
            task = f"Worker {worker} writes a story about harbour {worker}"
            recalled = memory.recall(task, ["pacing"], k=3)
            assert [e.task for e in recalled] == [task] * 3  # this reader's index caught up with the others' writes
            best = memory.best_revision(task)
            assert best is not None and best.lesson == f"w{worker}-{count - 1}"
    with psycopg.connect(postgres_url) as connection:
        keys = connection.execute("SELECT value->>'task_key' FROM store WHERE prefix LIKE 'writer_r1.experiences%'")
        assert task_key(STORY) in {row[0] for row in keys}


async def test_postgres_checkpointer_keeps_a_finished_criteria_build(postgres_url: str) -> None:
    from writer_r1.graphs.criteria import abuild_criteria
    from writer_r1.testing import ScriptedChatModel

    limits = {"max_rounds": 0, "max_critique_rounds": 0, "min_samples": 1}
    first = await abuild_criteria(STORY, model="fake", checkpointer=postgres_url, thread_id="done", **limits)
    silent = ScriptedChatModel(replies=[])  # any model call would fail: the finished thread is read back
    again = await abuild_criteria(STORY, model=silent, checkpointer=postgres_url, thread_id="done", **limits)
    assert again == first and silent.calls == []
    with psycopg.connect(postgres_url) as connection:
        count = connection.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = 'done'").fetchone()[0]
    assert count >= 3


def test_postgres_index_is_cached_locally_and_reloaded(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from writer_r1.memory.store import SemanticStore

    embeddings = LexicalEmbeddings(256)
    with open_store(postgres_url, embeddings=embeddings) as store:
        store.put(("docs",), "keeper", {"text": "a lighthouse keeper"})
        assert store.sync_index() == 1
        assert store.index_path is not None and store.index_path.is_file()
    with open_store(postgres_url, embeddings=embeddings) as writer:
        writer.put(("docs",), "tax", {"text": "quarterly tax filing"})

    def no_rebuild(self):
        raise AssertionError("the cached index should have been loaded, not rebuilt")

    monkeypatch.setattr(SemanticStore, "_fresh_index", no_rebuild)
    with open_store(postgres_url, embeddings=embeddings) as store:
        assert [item.key for item in store.search(("docs",), query="quarterly tax", limit=1)] == ["tax"]
