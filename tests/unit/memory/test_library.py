"""The criteria library: store and find criteria by task; criteria_for reuses, adapts or builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.errors import UserError
from writer_r1.graphs.library_reuse import acriteria_for, criteria_for
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.library import CriteriaLibrary, default_library_path
from writer_r1.memory.store import open_store
from writer_r1.testing import ScriptedChatModel

STORY = "Write a short story about a lighthouse keeper"
LEVELS = ["absent", "thin", "present", "strong", "vivid"]
QUICK = {"max_rounds": 0, "max_critique_rounds": 0, "min_samples": 1}


def criteria_set(task: str, name: str = "Imagery") -> CriteriaSet:
    return CriteriaSet.model_validate(
        {
            "task": task,
            "dimensions": [
                {
                    "name": "Craft",
                    "criteria": [
                        {
                            "id": name.lower(),
                            "name": name,
                            "description": "Concrete images",
                            "levels": [{"anchor": a} for a in LEVELS],
                        }
                    ],
                }
            ],
        }
    )


@pytest.fixture
def library() -> CriteriaLibrary:
    return CriteriaLibrary(":memory:", embeddings=LexicalEmbeddings())


def test_put_get_and_search(library: CriteriaLibrary) -> None:
    story, tax = criteria_set(STORY), criteria_set("Draft a quarterly tax checklist for freelancers", "Completeness")
    assert library.put(story) == story.version == library.put(story)  # idempotent
    library.put(tax)
    assert library.get(story.version) == story and library.get("missing") is None
    hits = library.search("Write a short story about a lighthouse keeper", limit=2)
    assert [c.task for c, _ in hits] == [STORY, tax.task]
    assert hits[0][1] == pytest.approx(1.0) and hits[1][1] < 0.3


async def test_async_api(library: CriteriaLibrary) -> None:
    story = criteria_set(STORY)
    key = await library.aput(story)
    assert await library.aget(key) == story
    assert (await library.asearch(STORY))[0][0] == story


def test_a_store_without_semantic_index_is_scored_by_the_library() -> None:
    from langgraph.store.memory import InMemoryStore

    library = CriteriaLibrary(InMemoryStore(), embeddings=LexicalEmbeddings())
    library.put(criteria_set("Draft a quarterly tax checklist for freelancers"))
    library.put(criteria_set(STORY))
    hits = library.search(STORY, limit=5)
    assert hits[0][0].task == STORY and hits[0][1] == pytest.approx(1.0)


def test_the_same_task_is_reused_without_a_model_call(library: CriteriaLibrary) -> None:
    stored = criteria_set(STORY)
    library.put(stored)
    model = ScriptedChatModel(replies=[])
    assert criteria_for(STORY, library=library, model=model) == stored
    assert model.calls == []


async def test_a_similar_task_is_adapted_with_one_inducer_call(library: CriteriaLibrary) -> None:
    library.put(criteria_set(STORY))
    adapted_reply = {
        "dimensions": [
            {
                "name": "Craft",
                "criteria": [
                    {"id": "imagery", "name": "Imagery", "description": "Images of the sea", "levels": LEVELS}
                ],
            }
        ],
        "constraints": [],
    }
    model = ScriptedChatModel(replies=[json.dumps(adapted_reply)])
    task = "Write a short story about a lighthouse keeper's daughter in the first person"
    adapted = await acriteria_for(task, library=library, model=model, similarity_threshold=0.5, **QUICK)
    assert len(model.calls) == 1 and "Criteria built for a similar task" in model.calls[0].prompt
    assert adapted.task == task and adapted.provenance.source == "adapted"
    assert adapted.provenance.notes[0].startswith("adapted from stored set")
    assert [spec.id for spec in adapted.constraints] == ["writing:point_of_view"]
    assert (await library.asearch(task))[0][0] == adapted  # stored for next time


async def test_a_new_task_is_built_and_stored(library: CriteriaLibrary) -> None:
    library.put(criteria_set("Draft a quarterly tax checklist for freelancers"))
    built = await acriteria_for(STORY, library=library, model="fake", **QUICK)
    assert built.provenance.source == "grounded-theory"
    assert (await library.asearch(STORY))[0][0] == built


async def test_a_failed_adaptation_falls_back_to_building(library: CriteriaLibrary) -> None:
    library.put(criteria_set(STORY))
    model = ScriptedChatModel(default="no json here")
    task = "Write a short story about a lighthouse keeper's daughter"
    with pytest.raises(Exception, match="inducer produced no valid criteria"):
        await acriteria_for(task, library=library, model=model, similarity_threshold=0.5, **QUICK)
    prompts = [call.prompt for call in model.calls]
    assert any("Criteria built for a similar task" in prompt for prompt in prompts)
    assert any("axial and selective coding" in prompt and "similar task" not in prompt for prompt in prompts)


def test_thresholds_and_tasks_are_checked(library: CriteriaLibrary) -> None:
    with pytest.raises(UserError, match="empty"):
        criteria_for(" ", library=library, model="fake")
    with pytest.raises(UserError, match="threshold"):
        criteria_for(STORY, library=library, model="fake", similarity_threshold=0.99, same_task_threshold=0.9)


def test_default_library_path_follows_writer_r1_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITER_R1_HOME", str(tmp_path / "home"))
    assert default_library_path() == tmp_path / "home" / "library.sqlite"
    library = CriteriaLibrary(embeddings=LexicalEmbeddings())
    library.put(criteria_set(STORY))
    assert (tmp_path / "home" / "library.sqlite").is_file()
    monkeypatch.delenv("WRITER_R1_HOME")
    assert default_library_path() == Path.home() / ".cache" / "writer-r1" / "library.sqlite"


async def test_the_graph_stores_its_result_in_the_runs_store() -> None:
    from writer_r1.graphs.criteria import abuild_criteria

    store = open_store(embeddings=LexicalEmbeddings())
    built = await abuild_criteria(STORY, model="fake", store=store, **QUICK)
    assert CriteriaLibrary(store, embeddings=LexicalEmbeddings()).get(built.version) == built
