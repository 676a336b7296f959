"""ExperienceMemory: recall by task and weak criteria, success and failure patterns, durability under concurrency."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from writer_r1.core.records import Experience, Reflection
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.experience import ExperienceMemory, lesson_of, task_key


def experience(task: str, *, weak: list[str], accepted: bool, lesson: str = "", before=0.4, after=0.5, revision="r"):
    return Experience(
        task=task,
        weak_criteria=weak,
        reflection=Reflection(diagnosis="d", targets=weak, plan=[f"fix {', '.join(weak)}"]),
        draft="draft",
        revision=revision,
        score_before=before,
        score_after=after,
        accepted=accepted,
        lesson=lesson,
    )


@pytest.fixture
def memory():
    with ExperienceMemory(":memory:", embeddings=LexicalEmbeddings(512)) as opened:
        yield opened


async def test_recall_ranks_similar_tasks_and_shared_weak_criteria_first(memory: ExperienceMemory) -> None:
    await memory.aremember(
        experience("A ghost story in a lighthouse", weak=["dread"], accepted=True, lesson="ghost-dread")
    )
    await memory.aremember(
        experience("A ghost story in a lighthouse", weak=["dialogue"], accepted=True, lesson="ghost-dialogue")
    )
    await memory.aremember(experience("Quarterly tax filing checklist", weak=["dread"], accepted=True, lesson="tax"))
    recalled = await memory.arecall("A ghost story set in an old lighthouse", ["dread"], k=3)
    lessons = [e.lesson for e in recalled]
    assert lessons[:2] == ["ghost-dread", "ghost-dialogue"]
    assert "tax" not in lessons  # below the similarity floor


async def test_recall_returns_success_and_failure_patterns(memory: ExperienceMemory) -> None:
    for index in range(4):
        await memory.aremember(experience("A poem about the sea", weak=["imagery"], accepted=True, lesson=f"ok{index}"))
    await memory.aremember(experience("A poem about the sea", weak=["imagery"], accepted=False, lesson="bad"))
    recalled = await memory.arecall("A poem about the sea", ["imagery"], k=2)
    assert sorted(e.accepted for e in recalled) == [False, True]
    only_successes = await memory.arecall("A poem about the sea", ["imagery"], k=5)
    assert len(only_successes) == 5 and sum(not e.accepted for e in only_successes) == 1
    assert await memory.arecall("A poem about the sea", ["imagery"], k=0) == []


def test_lesson_is_filled_in_when_empty(memory: ExperienceMemory) -> None:
    memory.remember(experience("A letter to a friend", weak=["warmth"], accepted=False, before=0.5, after=0.4))
    (stored,) = memory.iter_experiences()
    assert stored.lesson == lesson_of(stored)
    assert "rejected" in stored.lesson and "-0.10" in stored.lesson and "warmth" in stored.lesson


async def test_best_revision_is_the_best_accepted_for_exactly_that_task(memory: ExperienceMemory) -> None:
    task = "A short story about a lighthouse keeper"
    await memory.aremember(experience(task, weak=["a"], accepted=True, after=0.6, revision="good"))
    await memory.aremember(experience(task, weak=["a"], accepted=True, after=0.8, revision="best"))
    await memory.aremember(experience(task, weak=["a"], accepted=False, after=0.9, revision="rejected"))
    await memory.aremember(experience(task + " at sea", weak=["a"], accepted=True, after=0.95, revision="other task"))
    best = await memory.abest_revision("A short story about a  lighthouse keeper")  # whitespace-insensitive
    assert best is not None and best.revision == "best"
    assert memory.best_revision("never seen") is None
    assert task_key(task) == task_key(f"  {task} ")


def test_iter_experiences_filters_by_outcome(memory: ExperienceMemory) -> None:
    for accepted in (True, False, True):
        memory.remember(experience("t", weak=["x"], accepted=accepted))
    assert len(memory) == 3
    assert [e.accepted for e in memory.iter_experiences(accepted=True)] == [True, True]
    assert [e.accepted for e in memory.iter_experiences(accepted=False)] == [False]


def test_concurrent_writers_then_reopen_keep_everything(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "experience.sqlite"
    memory = ExperienceMemory(path, embeddings=LexicalEmbeddings(128))
    errors: list[BaseException] = []

    def thread_writer(worker: int) -> None:
        try:
            for index in range(10):
                memory.remember(experience(f"thread {worker} task {index}", weak=["w"], accepted=True))
        except BaseException as error:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(error)

    async def task_writers() -> None:
        await asyncio.gather(
            *(memory.aremember(experience(f"async task {i}", weak=["w"], accepted=False)) for i in range(20))
        )

    threads = [threading.Thread(target=thread_writer, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    asyncio.run(task_writers())
    for thread in threads:
        thread.join()
    assert errors == []
    memory.close()

    with ExperienceMemory(path, embeddings=LexicalEmbeddings(128)) as reopened:
        tasks = sorted(e.task for e in reopened.iter_experiences())
    assert len(tasks) == 60 and len(set(tasks)) == 60


def test_a_killed_writer_loses_nothing_it_committed(tmp_path: Path) -> None:
    path = tmp_path / "experience.sqlite"
    script = f"""
import os, signal
from writer_r1.core.records import Experience, Reflection
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.experience import ExperienceMemory
memory = ExperienceMemory({str(path)!r}, embeddings=LexicalEmbeddings(64))
for i in range(5):
    memory.remember(Experience(task=f"task {{i}}", reflection=Reflection(diagnosis="d"), accepted=True))
print("committed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "committed" in finished.stdout, finished.stderr
    with ExperienceMemory(path, embeddings=LexicalEmbeddings(64)) as reopened:
        assert sorted(e.task for e in reopened.iter_experiences()) == [f"task {i}" for i in range(5)]


def test_a_damaged_item_is_skipped_not_fatal(memory: ExperienceMemory) -> None:
    memory.store.put(memory.namespace, "junk", {"recall_text": "A poem about the sea", "task": 3})
    memory.remember(experience("A poem about the sea", weak=["imagery"], accepted=True, lesson="fine"))
    assert [e.lesson for e in memory.recall("A poem about the sea", ["imagery"])] == ["fine"]
