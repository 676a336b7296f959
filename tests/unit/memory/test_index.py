"""The kept vector index: exact-task recall at scale without a scan, saved beside the file, rebuilt when stale."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest
from langgraph.store.memory import InMemoryStore
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.records import Experience, Reflection
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.experience import ExperienceMemory
from writer_r1.memory.library import CriteriaLibrary
from writer_r1.memory.store import SemanticStore, index_path_for, open_store

WORDS = (
    "lighthouse keeper storm sea ghost poem autumn rain tax letter essay winter city train garden moon river".split()
)
KINDS = ("short story", "poem", "essay", "letter", "haiku")


def tasks(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"Write a {rng.choice(KINDS)} about the {' and the '.join(rng.sample(WORDS, 3))}, case {i}"
        for i in range(count)
    ]


def experience(task: str, score: float, accepted: bool = True) -> Experience:
    return Experience(
        task=task,
        weak_criteria=["imagery"],
        reflection=Reflection(diagnosis="flat"),
        revision=f"revision {score:.3f}",
        score_before=0.3,
        score_after=score,
        accepted=accepted,
        lesson=f"lesson {score:.3f}",
    )


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
            "provenance": {"model": model},
        }
    )


class CachedEmbeddings(LexicalEmbeddings):
    """Lexical embeddings that embed each distinct text once (the scale tests repeat every task five times)."""

    def __init__(self, dims: int) -> None:
        super().__init__(dims)
        self.cache: dict[str, list[float]] = {}

    def _embed(self, text: str) -> list[float]:
        if text not in self.cache:
            self.cache[text] = super()._embed(text)
        return self.cache[text]


class CountingFetches:
    """Counts the items a `SemanticStore` reads per call: an indexed lookup reads a few, a scan reads all."""

    def __init__(self, store: SemanticStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: list[int] = []
        original = store._fetch

        def fetch(keys, **kwargs):
            self.counts.append(len(keys))
            return original(keys, **kwargs)

        monkeypatch.setattr(store, "_fetch", fetch)


def test_exact_task_recall_at_scale_reads_only_a_few_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    per_task, unique = 5, tasks(4_000)  # 20,000 experiences
    rng = random.Random(1)
    with ExperienceMemory(tmp_path / "memory.sqlite", embeddings=CachedEmbeddings(64)) as memory:
        for start in range(0, len(unique), 500):
            memory.remember_many(
                experience(task, rng.random(), accepted=n % 2 == 0)
                for task in unique[start : start + 500]
                for n in range(per_task)
            )
        store = memory.store
        assert isinstance(store, SemanticStore) and store.sync_index() == 20_000
        counter = CountingFetches(store, monkeypatch)
        for task in rng.sample(unique, 40):
            recalled = memory.recall(task, ["imagery"], k=4)
            assert recalled and recalled[0].task == task
            best = memory.best_revision(task)
            stored = [e for e in memory.store.search(memory.namespace, filter={"task_key": _key(task)}, limit=10)]
            expected = max((e.value["score_after"] for e in stored if e.value["accepted"]), default=None)
            assert (best.score_after if best else None) == expected
        assert max(counter.counts) <= 40  # never a scan of 20,000


def _key(task: str) -> str:
    from writer_r1.memory.experience import task_key

    return task_key(task)


def test_library_search_at_scale_finds_the_exact_task_at_one(tmp_path: Path) -> None:
    unique = tasks(3_000, seed=2)
    store = open_store(tmp_path / "library.sqlite", embeddings=LexicalEmbeddings(64), fields=["task"])
    library = CriteriaLibrary(store)
    for start in range(0, len(unique), 500):
        from langgraph.store.base import PutOp

        store.batch(
            [
                PutOp(("writer_r1", "criteria"), c.version, library._value(c), index=["task"])
                for c in map(criteria_set, unique[start : start + 500])
            ]
        )
    for task in random.Random(3).sample(unique, 30):
        [(found, similarity)] = library.search(task, limit=1)
        assert found.task == task and similarity == 1.0
    store.close()


def test_the_index_is_saved_beside_the_file_and_reloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "memory.sqlite"
    embeddings = LexicalEmbeddings(64)
    with ExperienceMemory(path, embeddings=embeddings) as memory:
        memory.remember_many(experience(task, 0.5) for task in tasks(50))
        assert memory.recall(tasks(50)[7])[0].task == tasks(50)[7]
    assert index_path_for(str(path)).is_file()

    with ExperienceMemory(path, embeddings=embeddings) as writer:  # a write the saved index has not seen
        writer.remember(experience("A ghost story set in a lighthouse", 0.9))

    def no_rebuild(self):
        raise AssertionError("the saved index should have been loaded, not rebuilt")

    monkeypatch.setattr(SemanticStore, "_fresh_index", no_rebuild)
    with ExperienceMemory(path, embeddings=embeddings) as memory:
        assert memory.recall("A ghost story set in a lighthouse")[0].lesson == "lesson 0.900"  # caught up from the log
        assert memory.recall(tasks(50)[3])[0].task == tasks(50)[3]


@pytest.mark.parametrize("damage", ["missing", "corrupt", "other database", "other embeddings"])
def test_a_missing_or_stale_index_is_rebuilt(tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "memory.sqlite"
    index_file = index_path_for(str(path))
    with ExperienceMemory(path, embeddings=LexicalEmbeddings(64)) as memory:
        memory.remember_many(experience(task, 0.5) for task in tasks(20))
        memory.recall(tasks(20)[0])
    embeddings = LexicalEmbeddings(64)
    if damage == "missing":
        index_file.unlink()
    elif damage == "corrupt":
        index_file.write_bytes(b"not an index")
    elif damage == "other database":
        saved = index_file.read_bytes()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        with ExperienceMemory(path, embeddings=embeddings) as other:
            other.remember(experience("A poem about rain", 0.8))
        index_file.write_bytes(saved)  # an index of the old file beside a new one
    else:
        embeddings = LexicalEmbeddings(128)
    caplog.set_level(logging.INFO, logger="writer_r1.memory.store")
    with ExperienceMemory(path, embeddings=embeddings) as memory:
        expected = "A poem about rain" if damage == "other database" else tasks(20)[5]
        assert memory.recall(expected)[0].task == expected
        if damage == "other database":
            assert {e.task for e in memory.recall(tasks(20)[5])} <= {"A poem about rain"}  # nothing of the old file
    assert any("built the vector index" in record.getMessage() for record in caplog.records)


def test_library_search_is_exact_on_a_plain_in_memory_store() -> None:
    library = CriteriaLibrary(InMemoryStore(), embeddings=LexicalEmbeddings())
    library.put(criteria_set("A poem about rain"))
    for task in tasks(60, seed=5):  # a store without an index returns its own order: rain would not come back
        library.put(criteria_set(task))
    [(found, similarity)] = library.search("A poem about rain", limit=1)
    assert found.task == "A poem about rain" and similarity == 1.0
    [(found, similarity)] = library.search("A poem about the rain", limit=1)
    assert found.task == "A poem about rain" and 0.5 < similarity < 1.0


async def test_recall_on_a_store_without_index_scores_instead_of_dropping() -> None:
    memory = ExperienceMemory(InMemoryStore(), embeddings=LexicalEmbeddings())
    for task in tasks(30, seed=6):
        await memory.aremember(experience(task, 0.6))
    await memory.aremember(experience("A ghost story set in a lighthouse", 0.7))
    recalled = await memory.arecall("A ghost story on a lighthouse island", ["imagery"], k=2)
    assert recalled and recalled[0].task == "A ghost story set in a lighthouse"
    assert (await memory.abest_revision("A ghost story set in a lighthouse")).lesson == "lesson 0.700"
