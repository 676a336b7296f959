"""SFT rows from reflections: only accepted revisions, the best per task, in TRL's messages format."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner
from writer_r1.core.records import Experience, Reflection
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.experience import ExperienceMemory
from writer_r1.rl.sft_data import best_draft_rows, reflection_rows, to_dataset


def experience(task: str, revision: str, after: float, accepted: bool = True) -> Experience:
    return Experience(
        task=task,
        reflection=Reflection(diagnosis="flat imagery", plan=["add one concrete image"]),
        draft="The sea.",
        revision=revision,
        score_before=0.2,
        score_after=after,
        accepted=accepted,
        weak_criteria=["imagery"],
    )


EXPERIENCES = [
    experience("Write about the sea", "Grey swell under gulls.", 0.6),
    experience("Write about the sea", "Salt on the rail, gulls.", 0.8),
    experience("Write about the sea", "Worse, rejected.", 0.9, accepted=False),
    experience("Write about rain", "Rain on tin roofs.", 0.7),
]


def test_best_draft_rows_keep_the_best_accepted_revision_per_task() -> None:
    rows = best_draft_rows(EXPERIENCES)
    answers = {row["messages"][0]["content"]: row["messages"][1]["content"] for row in rows}
    assert answers == {"Write about the sea": "Salt on the rail, gulls.", "Write about rain": "Rain on tin roofs."}


def test_memory_reflection_rows_are_the_writers_revision_prompt_as_the_graph_renders_it() -> None:
    from writer_r1.agents.writer import Writer

    rows = reflection_rows(EXPERIENCES)
    assert len(rows) == 3  # no scorecard in memory: the writer's row only, one per accepted revision
    prompt, answer = rows[0]["messages"][0]["content"], rows[0]["messages"][1]["content"]
    first = EXPERIENCES[0]
    assert prompt == Writer(None).revise_prompt(first.task, first.draft, first.reflection)
    assert "flat imagery" in prompt and "add one concrete image" in prompt and answer == "Grey swell under gulls."


def test_rows_become_a_dataset() -> None:
    dataset = to_dataset(best_draft_rows(EXPERIENCES))
    assert dataset.column_names == ["messages"] and len(dataset) == 2


def test_data_sft_command_reads_an_experience_memory(tmp_path: Path) -> None:
    from writer_r1.cli import _register, app

    path = tmp_path / "memory.sqlite"
    with ExperienceMemory(str(path), embeddings=LexicalEmbeddings()) as memory:
        for item in EXPERIENCES:
            memory.remember(item)
    _register()
    out = tmp_path / "sft.jsonl"
    result = CliRunner().invoke(app, ["data", "sft", "--memory", str(path), "--out", str(out), "--kind", "reflection"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 3  # one writer row per accepted revision


def test_data_sft_writing_no_rows_says_why(tmp_path: Path) -> None:
    from writer_r1.cli import _register, app

    path = tmp_path / "memory.sqlite"
    with ExperienceMemory(str(path), embeddings=LexicalEmbeddings()) as memory:
        for item in EXPERIENCES:
            if not item.accepted:
                memory.remember(item)
    _register()
    result = CliRunner().invoke(app, ["data", "sft", "--memory", str(path), "--out", str(tmp_path / "sft.jsonl")])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "wrote 0 best rows" in said and "0 accepted; only accepted revisions" in said


def test_rows_from_a_reflection_trajectory() -> None:
    from writer_r1.core.criteria import CriteriaSet
    from writer_r1.core.scorecard import CriterionScore, Scorecard
    from writer_r1.graphs.reflection import ReflectionResult
    from writer_r1.graphs.state import HistoryEntry
    from writer_r1.rl.sft_data import rows_from_results

    criteria = CriteriaSet.model_validate(
        {
            "task": "Write about the sea",
            "dimensions": [
                {
                    "name": "Craft",
                    "criteria": [
                        {
                            "id": "imagery",
                            "name": "Imagery",
                            "description": "Concrete images",
                            "levels": [{"anchor": "none"}, {"anchor": "some"}, {"anchor": "vivid"}],
                        }
                    ],
                }
            ],
        }
    )

    def card(level: int) -> Scorecard:
        return Scorecard.build(
            criteria, [CriterionScore(criterion_id="imagery", reason="r", level=level, score=(level - 1) / 2)], []
        )

    plan = Reflection(diagnosis="no images", plan=["add gulls"])
    history = [
        HistoryEntry(index=0, text="The sea.", scorecard=card(1), accepted=True),
        HistoryEntry(
            index=1, text="Gulls over grey swell.", scorecard=card(2), accepted=True, reflection=plan, base_index=0
        ),
        HistoryEntry(index=2, text="Worse.", scorecard=card(1), accepted=False, reflection=plan, base_index=1),
    ]
    result = ReflectionResult(
        best_draft="Gulls over grey swell.",
        best_scorecard=card(2),
        history=history,
        criteria=criteria,
        stop_reason="patience",
        iterations=2,
    )
    best = rows_from_results(["Write about the sea"], [result])
    assert [row["messages"][1]["content"] for row in best] == ["Gulls over grey swell."]
    reflector_turn, writer_turn = rows_from_results(["Write about the sea"], [result], kind="reflection")
    # The very prompts the graph renders (agents' prompt builders), answered as the graph's models answered.
    from writer_r1.agents.reflector import Reflector, rank_weaknesses
    from writer_r1.agents.writer import Writer
    from writer_r1.graphs.reflection import aims_of

    expected = Reflector(None).prompt(
        "Write about the sea", "The sea.", criteria, card(1), weaknesses=rank_weaknesses(criteria, card(1))
    )
    assert reflector_turn["messages"][0]["content"] == expected
    assert json.loads(reflector_turn["messages"][1]["content"]) == plan.model_dump()
    expected = Writer(None).revise_prompt(
        "Write about the sea", "The sea.", plan, aims=aims_of(criteria, card(1), plan.targets)
    )
    assert writer_turn["messages"][0]["content"] == expected and "- Imagery: level 2: some" in expected
    assert writer_turn["messages"][1]["content"] == "Gulls over grey swell."
