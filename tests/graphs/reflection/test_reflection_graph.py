"""The MRPO reflection loop with scripted models: acceptance, stopping, constraints, memory, the trajectory."""

from __future__ import annotations

import pytest
from writer_r1.core.criteria import ConstraintSpec
from writer_r1.core.errors import UserError
from writer_r1.core.records import Experience, Reflection
from writer_r1.core.scorecard import ConstraintResult, Scorecard
from writer_r1.graphs.context import ReflectionContext
from writer_r1.graphs.reflection import acceptance, areflect, build_graph, reflect
from writer_r1.memory.embeddings import LexicalEmbeddings
from writer_r1.memory.experience import ExperienceMemory

LANTERN = [ConstraintSpec(id="writing:must_include", kwargs={"terms": ["lantern"]})]


async def run(roles, criteria, **kwargs):
    kwargs.setdefault("patience", 5)
    return await areflect(
        "Write a short story about a lighthouse keeper", model=roles.model(), criteria=criteria, **kwargs
    )


async def test_better_revision_accepted_worse_rejected_and_revisions_start_from_the_best(roles, criteria) -> None:
    script = roles(
        revisions=["«R1» A better story.", "«R2» A worse story."],
        levels={"D0": {"imagery": 2, "pace": 2}, "R1": {"imagery": 4, "pace": 2}, "R2": {"imagery": 1, "pace": 1}},
    )
    result = await run(script, criteria, max_iterations=2, target_score=0.95)
    assert [entry.accepted for entry in result.history] == [True, True, False]
    assert result.best_draft == "«R1» A better story."
    assert result.best_scorecard.overall == pytest.approx((3 * 0.75 + 0.25) / 4)
    assert result.stop_reason == "max_iterations" and result.iterations == 2
    assert [entry.base_index for entry in result.history] == [None, 0, 1]
    assert "«R1»" in script.prompts["revise"][1] and "«D0»" not in script.prompts["revise"][1]
    assert result.history[1].reflection == Reflection(
        diagnosis="Imagery is thin.", targets=["imagery"], plan=["Add a sensory detail."], keep=["the ending"]
    )
    assert result.history[0].reflection is None and "below min_gain" in result.history[2].verdict


async def test_never_returns_a_draft_worse_than_the_first_and_stops_on_patience(roles, criteria) -> None:
    script = roles(
        revisions=["«R1» worse", "«R2» worse still", "«R3» unused"],
        levels={"D0": {"imagery": 3, "pace": 3}, "R1": {"imagery": 2, "pace": 5}, "R2": {"imagery": 3, "pace": 3}},
    )
    result = await run(script, criteria, max_iterations=5, patience=2)
    assert result.stop_reason == "patience" and result.iterations == 2
    assert result.best_draft == "«D0» The first draft."
    assert [entry.accepted for entry in result.history] == [True, False, False]
    assert script.revisions == ["«R3» unused"]


async def test_stops_when_the_target_is_reached(roles, criteria) -> None:
    script = roles(revisions=["«R1» great"], levels={"D0": {"imagery": 3, "pace": 3}, "R1": {"imagery": 5, "pace": 5}})
    result = await run(script, criteria, max_iterations=5, target_score=0.9)
    assert result.stop_reason == "target_reached" and result.iterations == 1
    assert result.best_scorecard.overall == 1.0


async def test_a_first_draft_at_target_is_not_revised(roles, criteria) -> None:
    script = roles(levels={"D0": {"imagery": 5, "pace": 4}})
    result = await run(script, criteria, target_score=0.9)
    assert result.stop_reason == "target_reached" and result.iterations == 0 and len(result.history) == 1
    assert "revise" not in script.prompts and "reflector" not in script.prompts


async def test_target_needs_every_constraint_to_pass(roles, criteria) -> None:
    script = roles(
        draft="«D0» no light here",
        revisions=["«R1» the lantern"],
        levels={"D0": {"imagery": 5, "pace": 5}, "R1": {"imagery": 5, "pace": 5}},
    )
    result = await run(script, criteria, constraints=LANTERN, max_iterations=3, target_score=0.9)
    assert [entry.accepted for entry in result.history] == [True, True]
    assert "fixes constraint writing:must_include" in result.history[1].verdict
    assert result.stop_reason == "target_reached" and result.best_draft == "«R1» the lantern"


async def test_max_iterations_zero_only_evaluates(roles, criteria) -> None:
    script = roles(draft="«D0» draft", levels={"D0": {"imagery": 1, "pace": 1}})
    result = await run(script, criteria, max_iterations=0, draft="«D0» given draft")
    assert result.stop_reason == "max_iterations" and result.best_draft == "«D0» given draft"
    assert "draft" not in script.prompts  # a given draft is not redrafted


async def test_a_constraint_regression_is_rejected_even_with_a_higher_score(roles, criteria) -> None:
    script = roles(
        draft="«D0» a lantern in the window",
        revisions=["«R1» a brighter window"],
        levels={"D0": {"imagery": 2, "pace": 2}, "R1": {"imagery": 5, "pace": 5}},
    )
    result = await run(script, criteria, constraints=LANTERN, max_iterations=1)
    assert [entry.accepted for entry in result.history] == [True, False]
    assert result.history[1].verdict == "constraint regression: writing:must_include"
    assert result.best_draft == "«D0» a lantern in the window"
    assert "lantern" in script.prompts["revise"][0]  # the writer was told the requirement


async def test_constraints_are_extracted_from_the_task_when_not_given(roles, criteria) -> None:
    script = roles(draft="«D0» " + "word " * 30, levels={"D0": {"imagery": 2, "pace": 2}})
    result = await areflect(
        "Write a story in at most 10 words.",
        model=script.model(),
        criteria=criteria,
        max_iterations=0,
        extract_constraints=False,
    )
    (constraint,) = result.best_scorecard.constraints
    assert constraint.id == "writing:word_count_range" and constraint.passed is False


async def test_an_unscored_revision_is_never_accepted(roles, criteria) -> None:
    script = roles(revisions=["«R1» unjudgeable"], levels={"D0": {"imagery": 1, "pace": 1}, "R1": "garbage"})
    result = await run(script, criteria, max_iterations=1)
    assert [entry.accepted for entry in result.history] == [True, False]
    assert result.history[1].scorecard.overall is None and result.history[1].verdict.startswith("unscored")
    assert result.best_draft == "«D0» The first draft."


async def test_pairwise_check_must_prefer_the_revision_in_both_orders(roles, criteria) -> None:
    levels = {"D0": {"imagery": 2, "pace": 2}, "R1": {"imagery": 4, "pace": 4}}
    prefers_draft = roles(revisions=["«R1» better?"], levels=levels, pairwise=lambda a, b: "A" if a == "D0" else "B")
    result = await run(prefers_draft, criteria, max_iterations=1, pairwise_check=True)
    assert [entry.accepted for entry in result.history] == [True, False]
    assert "pairwise check: preferred=a" in result.history[1].verdict
    position_biased = roles(revisions=["«R1» better?"], levels=levels, pairwise=lambda a, b: "A")
    result = await run(position_biased, criteria, max_iterations=1, pairwise_check=True)
    assert result.history[1].accepted is False and "consistent=False" in result.history[1].verdict
    prefers_revision = roles(revisions=["«R1» better"], levels=levels, pairwise=lambda a, b: "A" if a == "R1" else "B")
    result = await run(prefers_revision, criteria, max_iterations=1, pairwise_check=True)
    assert result.history[1].accepted is True and "pairwise" in result.history[1].verdict
    assert len(prefers_revision.prompts["pairwise"]) == 2


async def test_a_broken_reflector_falls_back_to_a_plan_from_the_ranking(roles, criteria) -> None:
    script = roles(
        revisions=["«R1» revised"],
        levels={"D0": {"imagery": 2, "pace": 1}, "R1": {"imagery": 3, "pace": 1}},
        reflection="no json here",
    )
    result = await run(script, criteria, max_iterations=1)
    reflection = result.history[1].reflection
    assert reflection is not None and reflection.targets[:2] == ["imagery", "pace"]
    assert "imagery level 3" in script.prompts["revise"][0]  # the next level's anchor is the aim


async def test_reflector_prompt_ranks_failed_constraints_then_weight_times_gap(roles, criteria) -> None:
    script = roles(revisions=["«R1» x"], levels={"D0": {"imagery": 4, "pace": 1}, "R1": {"imagery": 4, "pace": 1}})
    await run(script, criteria, max_iterations=1, constraints=LANTERN)
    prompt = script.prompts["reflector"][0]
    # pace: 0.25 × 1.0 beats imagery: 0.75 × 0.25; the failed constraint comes first.
    assert prompt.index("[writing:must_include]") < prompt.index("[pace]") < prompt.index("[imagery]")


async def test_memory_is_written_and_recalled_into_a_later_similar_tasks_reflection(roles, criteria) -> None:
    memory = ExperienceMemory(":memory:", embeddings=LexicalEmbeddings(512))
    first = roles(
        revisions=["«R1» better"],
        levels={"D0": {"imagery": 2, "pace": 3}, "R1": {"imagery": 4, "pace": 3}},
        reflection={"diagnosis": "d", "targets": ["imagery"], "plan": ["Name the smell of the lamp oil."], "keep": []},
    )
    await areflect(
        "Write a ghost story set in a lighthouse",
        model=first.model(),
        criteria=criteria,
        memory=memory,
        max_iterations=1,
    )
    (stored,) = list(memory.iter_experiences())
    assert stored.accepted and stored.revision == "«R1» better" and stored.weak_criteria[0] == "imagery"
    assert stored.score_before == pytest.approx(0.3125) and stored.score_after == pytest.approx(0.6875)
    assert "reflector" in first.prompts and "Lessons" not in first.prompts["reflector"][0]

    later = roles(revisions=["«R1» x"], levels={"D0": {"imagery": 2, "pace": 3}, "R1": {"imagery": 2, "pace": 3}})
    await areflect(
        "Write a ghost story about a lighthouse keeper",
        model=later.model(),
        criteria=criteria,
        memory=memory,
        max_iterations=1,
    )
    prompt = later.prompts["reflector"][0]
    assert "Worked: " in prompt and "Name the smell of the lamp oil." in prompt
    assert len(list(memory.iter_experiences(accepted=False))) == 1  # the later run's rejected revision


async def test_memory_from_the_graph_store(roles, criteria) -> None:
    from writer_r1.memory.store import open_store

    store = open_store(":memory:", embeddings=LexicalEmbeddings(128))
    script = roles(revisions=["«R1» better"], levels={"D0": {"imagery": 2, "pace": 2}, "R1": {"imagery": 4, "pace": 2}})
    graph = build_graph(store=store)
    await graph.ainvoke(
        {"task": "A story", "criteria": criteria}, context=ReflectionContext(model=script.model(), max_iterations=1)
    )
    assert [e.accepted for e in ExperienceMemory(store).iter_experiences()] == [True]


def test_sync_reflect_works_inside_a_running_loop(roles, criteria) -> None:
    import asyncio

    script = roles(levels={"D0": {"imagery": 5, "pace": 5}})

    async def caller():
        return reflect("A story", model=script.model(), criteria=criteria)

    assert asyncio.run(caller()).stop_reason == "target_reached"


async def test_resumable_with_a_sqlite_checkpointer(roles, criteria, tmp_path) -> None:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    script = roles(revisions=["«R1» better"], levels={"D0": {"imagery": 2, "pace": 2}, "R1": {"imagery": 4, "pace": 2}})
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
        graph = build_graph(checkpointer=saver)
        config = {"configurable": {"thread_id": "t1"}}
        output = await graph.ainvoke(
            {"task": "A story", "criteria": criteria, "constraints": LANTERN},
            config=config,
            context=ReflectionContext(model=script.model(), max_iterations=1),
        )
        saved = await graph.aget_state(config)
    assert saved.values["best_draft"] == output["best_draft"] == "«R1» better"
    assert saved.values["history"][1].reflection is not None


@pytest.mark.parametrize(
    ("task", "constraints", "message"),
    [
        ("   ", None, "the task is empty"),
        ("A story", [ConstraintSpec(id="writing:nonexistent", kwargs={})], "invalid constraint writing:nonexistent"),
        ("A story", [ConstraintSpec(id="writing:word_count_range", kwargs={"min": "many"})], "invalid constraint"),
    ],
)
async def test_bad_input_is_a_clear_user_error(roles, criteria, task, constraints, message) -> None:
    with pytest.raises(UserError, match=message):
        await areflect(task, model=roles().model(), criteria=criteria, constraints=constraints)


def test_bad_limits_are_user_errors() -> None:
    with pytest.raises(ValueError, match="patience"):
        ReflectionContext(patience=0)
    with pytest.raises(UserError, match="unknown reflection setting"):
        reflect("A story", model="fake", max_iteration=2)


def card(overall, *passed):
    constraints = [ConstraintResult(id=f"c:c{i}", passed=p) for i, p in enumerate(passed)]
    return Scorecard(criteria_version="v", overall=overall, constraints=tuple(constraints))


@pytest.mark.parametrize(
    ("best", "candidate", "accepted", "why"),
    [
        (card(0.5), card(0.6), True, "gain +0.100"),
        (card(0.5), card(0.505), False, "below min_gain"),
        (card(0.5), card(0.4), False, "below min_gain"),
        (card(0.5), card(None), False, "unscored"),
        (card(None), card(None), False, "unscored"),
        (card(None), card(0.1), True, "first scored evaluation"),
        (card(0.5, True), card(0.9, False), False, "constraint regression: c:c0"),
        (card(0.5, True), card(0.9, None), False, "constraint regression: c:c0"),
        (card(0.5, False), card(0.5, True), True, "fixes constraint c:c0"),
        (card(0.5, False), card(0.45, True), False, "below min_gain"),
        (card(0.5, False, True), card(0.7, True, False), False, "constraint regression: c:c1"),
    ],
)
def test_acceptance_rule(best, candidate, accepted, why) -> None:
    verdict = acceptance(best, candidate, min_gain=0.01)
    assert verdict[0] is accepted and why in verdict[1]


def test_constraint_fixes_can_be_required_to_gain_too() -> None:
    assert acceptance(card(0.5, False), card(0.5, True), min_gain=0.01, accept_constraint_fixes=False)[0] is False


def test_experience_records_stay_compatible() -> None:
    assert Experience(task="t", reflection=Reflection(diagnosis="d")).gain is None


async def test_a_rejected_plan_is_shown_to_the_next_reflection(roles, criteria) -> None:
    plans = iter(["Tell it as a letter.", "Cut the first paragraph."])
    script = roles(
        revisions=["«R1» worse", "«R2» worse"],
        levels={"D0": {"imagery": 3, "pace": 3}, "R1": {"imagery": 1, "pace": 1}, "R2": {"imagery": 1, "pace": 1}},
        reflection=lambda prompt: {"diagnosis": "d", "targets": ["imagery"], "plan": [next(plans)], "keep": []},
    )
    await run(script, criteria, max_iterations=2)
    first, second = script.prompts["reflector"]
    assert "Did not work" not in first
    assert "Did not work: [imagery] Tell it as a letter. → rejected (-0.50)" in second


async def test_a_gain_within_the_judge_noise_must_win_a_position_swapped_comparison(roles, criteria) -> None:
    levels = {"D0": {"imagery": 2, "pace": 2}, "R1": {"imagery": 2, "pace": 3}}  # gain 0.25 × 0.25 = 0.0625
    position_biased = roles(revisions=["«R1» a little better?"], levels=levels, pairwise=lambda a, b: "A")
    result = await run(position_biased, criteria, max_iterations=1, pairwise_margin=0.1)
    assert result.history[1].accepted is False and "pairwise check" in result.history[1].verdict
    assert len(position_biased.prompts["pairwise"]) == 2
    real_gain = roles(revisions=["«R1» better"], levels=levels, pairwise=lambda a, b: "A" if a == "R1" else "B")
    result = await run(real_gain, criteria, max_iterations=1, pairwise_margin=0.1)
    assert result.history[1].accepted is True and "preferred in both orders" in result.history[1].verdict
    above_margin = roles(revisions=["«R1» better"], levels=levels)  # no pairwise scripted: it must not be asked
    result = await run(above_margin, criteria, max_iterations=1, pairwise_margin=0.05)
    assert result.history[1].accepted is True and "pairwise" not in above_margin.prompts


async def test_the_writer_is_shown_the_anchor_of_the_level_it_aims_for(roles, criteria) -> None:
    script = roles(revisions=["«R1» x"], levels={"D0": {"imagery": 2, "pace": 4}, "R1": {"imagery": 4, "pace": 4}})
    await run(script, criteria, max_iterations=1)
    prompt = script.prompts["revise"][0]
    assert "- Imagery: level 3: imagery level 3" in prompt  # the reflection targets imagery, now at level 2
    assert "Pace:" not in prompt
    assert "keep every other sentence exactly as it is" in prompt
