"""The criteria agents in isolation: quote verification, slug ids, constraint validation, coverage, prompts."""

from __future__ import annotations

import pytest
from writer_r1.agents.coder import quote_in_text
from writer_r1.agents.inducer import (
    InducedConstraint,
    Induction,
    criteria_from_induction,
    summarise_codes,
    validated_constraints,
)
from writer_r1.core.records import Code
from writer_r1.graphs.criteria import uncovered_codes

TEXT = "At night the lamp burned until dawn. \u201cKeep it lit,\u201d she said \u2014 twice.\n\nThe gulls   slept."


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("the lamp burned until dawn", True),
        ("THE LAMP   burned", True),
        ('"Keep it lit," she said - twice.', True),  # straight quotes and a hyphen for typographic ones
        ("\u201cKeep it lit\u201d", True),
        ("the gulls slept", True),  # whitespace across a paragraph break collapses
        ("At night the lamp… until dawn", True),  # ellipsis between fragments in order
        ("until dawn ... At night", False),  # fragments out of order
        ("the lamp glowed until dawn", False),  # one word changed
        ("the lamp burned until dawn and dusk", False),  # extended
        ("gull", True),
        ("at", False),  # too short to be evidence
        ("", False),
        ("...", False),
        ("Keep it lit, she said twice", False),  # punctuation removed inside is not verbatim
    ],
)
def test_quote_in_text(quote: str, expected: bool) -> None:
    assert quote_in_text(quote, TEXT) is expected


def test_quote_in_cjk_text() -> None:
    text = "夜里，灯塔的光一直亮到天明。"
    assert quote_in_text("灯塔的光一直亮", text)
    assert not quote_in_text("灯塔的光熄灭了", text)


def _induction(names: list[str], **criterion) -> Induction:
    levels = ["a", "b", "c"]
    return Induction.model_validate(
        {
            "dimensions": [
                {
                    "name": "D",
                    "criteria": [{"name": name, "description": "d", "levels": levels, **criterion} for name in names],
                }
            ]
        }
    )


def test_ids_are_unique_stable_slugs() -> None:
    criteria = criteria_from_induction(_induction(["Voice", "voice!", "Period Authenticity", "意象"]), task="t")
    ids = [c.id for c in criteria.criteria]
    assert ids[:3] == ["voice", "voice-2", "period-authenticity"]
    assert ids[3].startswith("c-") and ids[3] == criteria_from_induction(_induction(["意象"]), task="t").criteria[0].id


def test_given_ids_are_kept_as_slugs() -> None:
    criteria = criteria_from_induction(_induction(["Imagery"], id="Seed Imagery"), task="t")
    assert criteria.criteria[0].id == "seed-imagery"


@pytest.mark.parametrize("levels", [["only", "two"], [str(i) for i in range(8)]])
def test_induction_rejects_level_counts_outside_3_to_7(levels: list[str]) -> None:
    with pytest.raises(ValueError, match="levels"):
        Induction.model_validate(
            {"dimensions": [{"name": "D", "criteria": [{"name": "n", "description": "d", "levels": levels}]}]}
        )


def test_constraints_are_validated_against_the_registry() -> None:
    kept, notes = validated_constraints(
        [
            InducedConstraint(id="writing:word_count_range", kwargs={"max": 300, "min": None}),
            InducedConstraint(id="writing:word_count_range", kwargs={"max": "lots"}),
            InducedConstraint(id="no:such", kwargs={}),
        ]
    )
    assert [(spec.id, spec.kwargs) for spec in kept] == [("writing:word_count_range", {"max": 300})]
    assert len(notes) == 2 and all(note.startswith("dropped constraint") for note in notes)


def test_codes_are_summarised_by_concept_and_text_count() -> None:
    codes = [
        Code(concept="Imagery", observation="o1", quote="q", polarity="strength", source=0),
        Code(concept="imagery", observation="o2", quote="q", polarity="strength", source=1),
        Code(concept="imagery", observation="o3", quote="q", polarity="strength", source=1),
        Code(concept="pacing", observation="slow", quote="q", polarity="weakness", source=0),
    ]
    summary = summarise_codes(codes)
    assert [(s.concept, s.count) for s in summary] == [("Imagery", 2), ("pacing", 1)]


def test_coverage_by_evidence_or_shared_vocabulary() -> None:
    criteria = criteria_from_induction(
        _induction(
            ["Sensory imagery of the sea"], evidence=["salt"], description="Concrete sensory images of sea and weather"
        ),
        task="t",
    )
    codes = [
        Code(concept="salt", observation="unrelated words entirely", quote="q", polarity="strength"),
        Code(
            concept="sea imagery",
            observation="Concrete images of the sea and the weather",
            quote="q",
            polarity="strength",
        ),
        Code(concept="tax law", observation="Mentions quarterly filing deadlines", quote="q", polarity="weakness"),
    ]
    assert [code.concept for code in uncovered_codes(codes, criteria, threshold=0.2)] == ["tax law"]
    assert uncovered_codes(codes, criteria, threshold=1.0)[0].concept == "sea imagery"


@pytest.mark.parametrize("name", ["coder", "requirements", "inducer", "critic", "writer_draft"])
def test_templates_render_without_missing_variables(name: str) -> None:
    from writer_r1.agents.coder import Coder
    from writer_r1.agents.critic import Critic
    from writer_r1.agents.inducer import Inducer
    from writer_r1.agents.writer import Writer
    from writer_r1.core.fake import FakeChatModel
    from writer_r1.core.records import Critique, CritiqueIssue, RequirementCode

    model = FakeChatModel()
    criteria = criteria_from_induction(_induction(["Voice"]), task="A poem")
    prompts = {
        "coder": lambda: Coder(model).coding_prompt("A poem", "Rain on <<<TEXT>>> tin.", ["imagery"]),
        "requirements": lambda: Coder(model).requirements_prompt("A poem in 10 lines"),
        "inducer": lambda: Inducer(model).prompt(
            "A poem",
            [Code(concept="imagery", observation="o", quote="q", polarity="strength", source=0)],
            [RequirementCode(requirement="ten lines", quote="10 lines")],
            previous=criteria,
            critique=Critique(
                approved=False, issues=[CritiqueIssue(kind="vague", criterion_ids=["voice"], detail="unclear")]
            ),
        ),
        "critic": lambda: Critic(model).prompt(criteria, [("imagery", 3)]),
        "writer_draft": lambda: Writer(model).draft_prompt("A poem", approach="lyrical"),
    }
    prompt = prompts[name]()
    assert prompt and "{{" not in prompt and "{%" not in prompt
    if name == "coder":
        assert "<<<TEXT>>> tin" in prompt and "- imagery" in prompt
    if name == "inducer":
        assert "[voice] Voice" in prompt and "unclear" in prompt
        assert "writing:word_count_range" not in prompt, "the extractor maps requirements to checks, not the inducer"
