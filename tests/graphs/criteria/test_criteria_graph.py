"""The criteria graph end to end with scripted models (exact scenarios) and the fake model (smoke)."""

from __future__ import annotations

import json

import pytest
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.errors import UserError
from writer_r1.graphs.criteria import CriteriaBuildError, abuild_criteria, build_criteria

TASK = "Write a short story about a lighthouse keeper"
SAMPLES = [
    "The keeper climbed the iron stairs at dusk. Salt crusted the window of the lamp room.",
    "He talked to the gulls as if they were old friends. The supply boat was three weeks late.",
    "At midnight the fog swallowed the beam. The keeper wound the clockwork by hand.",
    "Morning came grey. He wrote the log in a careful hand and slept until noon.",
]
QUICK = {"max_rounds": 0, "max_critique_rounds": 0}


def test_fake_model_builds_a_valid_set_offline() -> None:
    criteria = build_criteria(TASK, model="fake")
    assert CriteriaSet.model_validate_json(criteria.model_dump_json()) == criteria
    assert criteria.task == TASK and len(criteria.criteria) >= 1
    assert abs(sum(d.weight for d in criteria.dimensions) - 1) < 1e-9
    assert all(abs(sum(c.weight for c in d.criteria) - 1) < 1e-9 for d in criteria.dimensions)
    provenance = criteria.provenance
    assert provenance.source == "grounded-theory" and provenance.model == "fake"
    assert provenance.samples >= 3 and 1 <= provenance.rounds <= 2
    assert any("codes kept from" in note for note in provenance.notes)


async def test_one_coder_call_per_text_and_one_for_the_task(make_scripted) -> None:
    model, script = make_scripted()
    criteria = await abuild_criteria(TASK, model=model, samples=SAMPLES, min_samples=4, **QUICK)
    assert script.counts == {"coder": 4, "requirements": 1, "extractor": 1, "inducer": 1}
    coded = sorted(
        next(i for i, sample in enumerate(SAMPLES) if sample in prompt) for prompt in script.prompts["coder"]
    )
    assert coded == [0, 1, 2, 3]
    for prompt in script.prompts["coder"]:
        assert sum(sample in prompt for sample in SAMPLES) == 1
    assert criteria.provenance.codes == 4 and criteria.provenance.samples == 4


async def test_writer_drafts_the_missing_samples_with_varied_temperatures(make_scripted) -> None:
    model, script = make_scripted()
    criteria = await abuild_criteria(TASK, model=model, samples=SAMPLES[:1], min_samples=4, **QUICK)
    assert script.counts["writer"] == 3 and script.counts["coder"] == 4
    temperatures = {
        call.kwargs.get("temperature") for call in model.calls if "You are a skilled writer." in call.prompt
    }
    approaches = {prompt.split("Approach: ")[1].splitlines()[0] for prompt in script.prompts["writer"]}
    assert len(temperatures) == 3 and len(approaches) == 3
    assert criteria.provenance.samples == 4


async def test_saturation_loop_stops_at_max_rounds(make_scripted) -> None:
    def novel_concepts(prompt: str, kwargs: dict, number: int) -> str:
        quote = prompt.split("Draft ")[1].split(".")[0]
        return json.dumps(
            {
                "codes": [
                    {
                        "concept": f"quasar xylophone {number}",
                        "observation": "Zygote jukebox quibble.",
                        "quote": f"Draft {quote}",
                        "polarity": "weakness",
                    }
                ]
            }
        )

    model, script = make_scripted(coder=novel_concepts)
    criteria = await abuild_criteria(
        TASK, model=model, min_samples=2, samples_per_round=2, max_rounds=2, max_critique_rounds=0
    )
    assert criteria.provenance.rounds == 2
    assert criteria.provenance.saturation_gap == 1.0
    assert script.counts["writer"] == 2 + 2 * 2
    assert script.counts["coder"] == 6
    assert script.counts["inducer"] == 1 + 2  # the first induction, then one per unsaturated round
    assert criteria.provenance.samples == 6 and criteria.provenance.codes == 6


async def test_saturation_stops_early_when_fresh_codes_are_covered(make_scripted) -> None:
    model, script = make_scripted()
    criteria = await abuild_criteria(
        TASK, model=model, min_samples=2, samples_per_round=2, max_rounds=3, max_critique_rounds=0
    )
    assert criteria.provenance.rounds == 1
    assert criteria.provenance.saturation_gap == 0.0
    assert script.counts["inducer"] == 1 and script.counts["writer"] == 4


async def test_critique_loop_stops_at_max_critique_rounds(make_scripted) -> None:
    def never_satisfied(prompt: str, kwargs: dict, number: int) -> str:
        issue = {"kind": "vague", "criterion_ids": ["voice"], "detail": f"voice is not observable ({number})"}
        return json.dumps({"approved": False, "issues": [issue], "summary": "needs work"})

    model, script = make_scripted(critic=never_satisfied)
    criteria = await abuild_criteria(
        TASK, model=model, samples=SAMPLES[:2], min_samples=2, max_rounds=0, max_critique_rounds=3
    )
    assert criteria.provenance.critique_rounds == 3
    assert script.counts["critic"] == 3 and script.counts["inducer"] == 3
    assert "voice is not observable (0)" in script.prompts["inducer"][1]
    assert "voice is not observable (1)" in script.prompts["inducer"][2]
    assert any("did not approve" in note for note in criteria.provenance.notes)


async def test_an_approving_critic_ends_the_loop(make_scripted) -> None:
    model, script = make_scripted()
    criteria = await abuild_criteria(
        TASK, model=model, samples=SAMPLES[:2], min_samples=2, max_rounds=0, max_critique_rounds=3
    )
    assert criteria.provenance.critique_rounds == 1
    assert script.counts["critic"] == 1 and script.counts["inducer"] == 1


async def test_an_invented_quote_is_dropped(make_scripted) -> None:
    def one_real_one_invented(prompt: str, kwargs: dict, number: int) -> str:
        real = {
            "concept": "sensory detail",
            "observation": "Salt on glass.",
            "quote": "salt crusted the WINDOW",
            "polarity": "strength",
        }
        invented = {
            "concept": "dialogue",
            "observation": "Sharp dialogue.",
            "quote": "Get off my island, he said.",
            "polarity": "strength",
        }
        return json.dumps({"codes": [real, invented]})

    model, script = make_scripted(coder=one_real_one_invented)
    criteria = await abuild_criteria(TASK, model=model, samples=SAMPLES[:1], min_samples=1, **QUICK)
    assert criteria.provenance.codes == 1
    assert any("1 codes kept from 1 texts; 1 dropped" in note for note in criteria.provenance.notes)
    assert "Sharp dialogue" not in script.prompts["inducer"][0]
    assert "Salt on glass" in script.prompts["inducer"][0]


async def test_no_surviving_codes_still_completes_from_the_requirements(make_scripted) -> None:
    def only_invented(prompt: str, kwargs: dict, number: int) -> str:
        return json.dumps(
            {
                "codes": [
                    {
                        "concept": "dragons",
                        "observation": "A dragon.",
                        "quote": "the dragon sang",
                        "polarity": "strength",
                    }
                ]
            }
        )

    model, script = make_scripted(coder=only_invented)
    criteria = await abuild_criteria(TASK, model=model, min_samples=2, max_rounds=2, max_critique_rounds=0)
    assert criteria.provenance.codes == 0
    assert any("no code survived quote verification" in note for note in criteria.provenance.notes)
    assert "No grounded codes are available" in script.prompts["inducer"][0]
    assert "a short story" in script.prompts["inducer"][0]  # the requirement code reached the inducer
    assert criteria.provenance.rounds == 1  # a fresh batch with no surviving code stops sampling


async def test_seed_criteria_are_refined_with_their_ids_kept(make_scripted, induction) -> None:
    seed = build_seed()
    model, script = make_scripted(inducer=lambda prompt, kwargs, number: json.dumps(induction(keep_id="seed-imagery")))
    criteria = await abuild_criteria(TASK, model=model, samples=SAMPLES[:2], min_samples=2, seed_criteria=seed, **QUICK)
    assert "[seed-imagery] Imagery" in script.prompts["inducer"][0]
    assert "seed-imagery" in {criterion.id for criterion in criteria.criteria}
    assert criteria.provenance.source == "grounded-theory+seed"
    assert any(spec.id == "writing:title" for spec in criteria.constraints)  # the seed's constraint is kept


async def test_a_failing_inducer_falls_back_to_the_seed_only(make_scripted) -> None:
    broken = {"inducer": lambda prompt, kwargs, number: "I cannot do that."}
    model, _ = make_scripted(**broken)
    criteria = await abuild_criteria(
        TASK, model=model, samples=SAMPLES[:1], min_samples=1, seed_criteria=build_seed(), **QUICK
    )
    assert [c.id for c in criteria.criteria] == ["seed-imagery"]
    assert any("seed criteria are used as given" in note for note in criteria.provenance.notes)

    model, script = make_scripted(**broken)
    with pytest.raises(CriteriaBuildError, match="inducer produced no valid criteria"):
        await abuild_criteria(TASK, model=model, samples=SAMPLES[:1], min_samples=1, **QUICK)
    assert script.counts["inducer"] == 3  # the first try and two retries with the error fed back


async def test_an_invalid_induction_is_retried_with_the_error(make_scripted, induction) -> None:
    def two_levels_first(prompt: str, kwargs: dict, number: int) -> str:
        reply = induction()
        if number == 0:
            reply["dimensions"][0]["criteria"][0]["levels"] = ["bad", "good"]
        return json.dumps(reply)

    model, script = make_scripted(inducer=two_levels_first)
    criteria = await abuild_criteria(TASK, model=model, samples=SAMPLES[:1], min_samples=1, **QUICK)
    assert script.counts["inducer"] == 2
    assert criteria.criterion("sensory-detail").max_level == 5
    assert "levels" in model.calls[-1].prompt and "not valid" in model.calls[-1].prompt


async def test_requirements_become_registry_constraints(make_scripted, induction) -> None:
    task = "Write a short story about a lighthouse keeper in about 300 words, in the first person."
    proposed = [
        {"requirement": "no commas", "id": "punctuation:no_comma", "kwargs": {}},
        {"requirement": "bogus", "id": "writing:word_count_range", "kwargs": {"min": "many"}},
        {"requirement": "made up", "id": "writing:telepathy", "kwargs": {}},
    ]
    model, _ = make_scripted(inducer=lambda prompt, kwargs, number: json.dumps(induction(constraints=proposed)))
    criteria = await abuild_criteria(task, model=model, samples=SAMPLES[:1], min_samples=1, **QUICK)
    ids = [spec.id for spec in criteria.constraints]
    assert ids.count("writing:word_count_range") == 1
    assert criteria.constraints[ids.index("writing:word_count_range")].kwargs == {"target": 300}  # the rule wins
    assert "writing:point_of_view" in ids and "punctuation:no_comma" in ids and "writing:telepathy" not in ids
    assert any("dropped constraint writing:telepathy" in note for note in criteria.provenance.notes)


def test_bad_settings_are_user_errors() -> None:
    with pytest.raises(UserError, match="unknown criteria settings"):
        build_criteria(TASK, model="fake", max_round=3)
    with pytest.raises(UserError, match="max_rounds"):
        build_criteria(TASK, model="fake", max_rounds=-1)
    with pytest.raises(UserError, match="empty"):
        build_criteria("   ", model="fake")


def build_seed() -> CriteriaSet:
    return CriteriaSet.model_validate(
        {
            "task": "a story",
            "dimensions": [
                {
                    "name": "Style",
                    "criteria": [
                        {
                            "id": "seed-imagery",
                            "name": "Imagery",
                            "description": "Concrete images",
                            "levels": [{"anchor": "none"}, {"anchor": "some"}, {"anchor": "vivid"}],
                        }
                    ],
                }
            ],
            "constraints": [{"id": "writing:title", "kwargs": {}}],
        }
    )
