"""Grounded Theory as the method asks: open coding, axial and selective coding, discrimination, theoretical
sampling, saturation on content — each with scripted models that can make it fail."""

from __future__ import annotations

import json
import re
from typing import Any

from writer_r1.agents.coder import Coder
from writer_r1.agents.inducer import (
    Inducer,
    Induction,
    categories_of,
    code_table,
    criteria_from_induction,
    summarise_codes,
)
from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Example, Level
from writer_r1.core.records import Code
from writer_r1.graphs.criteria import (
    abuild_criteria,
    discrimination_check,
    discrimination_issues,
    novel_codes,
    theoretical_probes,
)
from writer_r1.graphs.state import Sample
from writer_r1.testing import ScriptedChatModel


def fenced_text(prompt: str) -> str:
    """The text between the first pair of <<<...>>> delimiter lines."""
    match = re.search(r"^(<<<[A-Z]+(?:-[0-9a-f]+)?>>>)\n(.*?)\n\1$", prompt, re.MULTILINE | re.DOTALL)
    assert match, "no fenced text in the prompt"
    return match.group(2)


def judged_ids(prompt: str) -> list[tuple[str, int]]:
    """(criterion id, top level) of each criterion a judge prompt asks about (from its contract lines)."""
    return [(cid, int(top)) for cid, top in re.findall(r'^- "([^"]+)": level 1 to (\d+)$', prompt, re.MULTILINE)]


TASK = "Write a product update email telling customers that the export button moved to the settings page."
TEXTS = [
    "Hi all. The export button now lives under Settings > Data. Click it there to download your files.",
    "Dear valued customer, we are thrilled beyond words to share exciting news about our journey.",
    "Quick note: export moved. Settings > Data > Export. Nothing else changed.",
]


def _code(concept: str, quote: str, polarity: str, source: int, observation: str = "") -> Code:
    return Code(concept=concept, observation=observation or f"{concept} observed", quote=quote, polarity=polarity,
                source=source)  # fmt: skip


# --- open coding -------------------------------------------------------------------------------------


def test_the_coder_prompt_is_open_describe_then_evaluate_and_carries_the_comment() -> None:
    coder = Coder(ScriptedChatModel(replies=[]))
    prompt = coder.coding_prompt(TASK, TEXTS[1], comment="Too gushing; the reader never learns where the button is.")
    for genre_seed in ("voice, structure, imagery, pacing, dialogue", "pacing", "dialogue"):
        assert genre_seed not in prompt
    assert prompt.index("Describe") < prompt.index("Evaluate")
    assert "<<<COMMENT>>>\nToo gushing; the reader never learns where the button is.\n<<<COMMENT>>>" in prompt
    assert "evidence" in prompt
    assert "Chinese" not in prompt and "language of the text" not in prompt  # English: nothing said


async def test_a_code_quoting_the_human_comment_is_kept_an_invented_one_is_dropped() -> None:
    reply = {
        "codes": [
            {"concept": "gushing tone", "observation": "Effusive.", "quote": "thrilled beyond words", "polarity": "weakness"},
            {"concept": "missing location", "observation": "Reader is not told where.", "quote": "never learns where the button is", "polarity": "weakness"},
            {"concept": "invented", "observation": "Not there.", "quote": "the button glows red", "polarity": "weakness"},
        ]
    }  # fmt: skip
    coder = Coder(ScriptedChatModel(replies=[json.dumps(reply)]))
    result = await coder.acode(
        TASK, TEXTS[1], source=1, comment="Gushing; the reader never learns where the button is."
    )
    assert [code.concept for code in result.codes] == ["gushing tone", "missing location"]
    assert result.dropped == 1


async def test_sample_comments_reach_the_coder_of_their_text_only(make_scripted) -> None:
    model, script = make_scripted()
    samples = [Sample(text=TEXTS[0], comment="Clear and short."), TEXTS[2]]
    await abuild_criteria(TASK, model=model, samples=samples, min_samples=2, max_rounds=0, max_critique_rounds=0)
    by_text = {fenced_text(prompt): prompt for prompt in script.prompts["coder"]}
    assert "Clear and short." in by_text[TEXTS[0]] and "COMMENT" not in by_text[TEXTS[2]]


# --- axial and selective coding ----------------------------------------------------------------------

CODES = [
    _code("location stated", "under Settings > Data", "strength", 0),
    _code("location stated", "Settings > Data > Export", "strength", 2),
    _code("gushing tone", "thrilled beyond words", "weakness", 1),
    _code("brevity", "Nothing else changed.", "strength", 2),
]

INDUCTION = {
    "categories": [
        {"name": "Findability", "description": "Can the reader find the button", "codes": ["C1", "C3"]},
        {"name": "Register", "codes": ["C2"]},
    ],
    "core_category": "a busy customer knows what moved and where",
    "dimensions": [
        {
            "name": "Usefulness",
            "weight": 7,
            "criteria": [
                {
                    "name": "Location",
                    "description": "Says where the button is now",
                    "levels": ["not said", "vague", "named", "named with path", "path and action"],
                    "weight": 9,
                    "codes": ["C1", "C3"],
                },
            ],
        }
    ],
    "language": "en",
}


def test_codes_are_numbered_with_their_quotes_for_the_inducer() -> None:
    summaries = summarise_codes(CODES)
    assert [(s.id, s.concept, s.count) for s in summaries][0] == ("C1", "location stated", 2)
    assert summaries[0].quotes == ["under Settings > Data", "Settings > Data > Export"]
    prompt = Inducer(ScriptedChatModel(replies=[])).prompt(TASK, CODES)
    assert 'C1. [strength, 2] location stated: location stated observed — "under Settings > Data"' in prompt
    assert "core_category" in prompt and '"categories"' in prompt


def test_anchors_are_built_from_codes_with_quoted_examples_and_quotes_kept_as_evidence() -> None:
    induction = Induction.model_validate(INDUCTION)
    table = code_table(CODES)
    criteria = criteria_from_induction(induction, task=TASK, codes=table)
    location = criteria.criterion("location")
    assert location.levels[0].anchor == 'not said (e.g. "thrilled beyond words")'  # the weakness code, C3
    assert location.levels[-1].anchor == 'path and action (e.g. "under Settings > Data")'  # a strength code
    assert location.levels[1].anchor == "vague"  # the middle levels vary the property, unquoted
    assert {e.quote for e in location.examples} == {"under Settings > Data", "Settings > Data > Export",
                                                    "thrilled beyond words"}  # fmt: skip
    assert set(location.evidence) == {"location stated", "gushing tone"}
    assert criteria.provenance.core_category == "a busy customer knows what moved and where"
    categories = categories_of(induction, table)
    assert [(c.name, c.concepts) for c in categories] == [
        ("Findability", ["location stated", "gushing tone"]),
        ("Register", ["brevity"]),
    ]
    # Grounding quotes do not change how a text is judged, so the version ignores them.
    bare = criteria_from_induction(induction, task=TASK)
    stripped = criteria.model_copy(update={"dimensions": tuple(
        d.model_copy(update={"criteria": tuple(c.model_copy(update={"examples": ()}) for c in d.criteria)})
        for d in criteria.dimensions)})  # fmt: skip
    assert CriteriaSet.model_validate(stripped.model_dump()).version == criteria.version != bare.version


def test_an_anchor_the_model_already_quoted_is_left_alone() -> None:
    raw = json.loads(json.dumps(INDUCTION))
    raw["dimensions"][0]["criteria"][0]["levels"][0] = 'not said, as in "we are thrilled"'
    criteria = criteria_from_induction(Induction.model_validate(raw), task=TASK, codes=code_table(CODES))
    assert criteria.criterion("location").levels[0].anchor == 'not said, as in "we are thrilled"'


def test_the_inducer_sees_the_previous_criteria_in_full_and_no_constraint_catalog() -> None:
    previous = criteria_from_induction(Induction.model_validate(INDUCTION), task=TASK, codes=code_table(CODES))
    prompt = Inducer(ScriptedChatModel(replies=[])).prompt(TASK, CODES, previous=previous.normalized())
    assert "- [location] Location (weight 10.0, quality): Says where the button is now" in prompt
    assert "## Usefulness (weight 10.0)" in prompt
    assert "    1. not said" in prompt and "    5. path and action" in prompt
    assert "grounded in: location stated, gushing tone" in prompt
    assert "writing:" not in prompt and "kwargs" not in prompt


async def test_the_graph_keeps_categories_quotes_and_the_core_category(make_scripted) -> None:
    def coder(prompt: str, kwargs: dict, number: int) -> str:
        text = fenced_text(prompt)
        codes = [c for c in CODES if c.quote in text]
        return json.dumps({"codes": [c.model_dump(exclude={"source"}) for c in codes]})

    model, script = make_scripted(coder=coder, inducer=lambda prompt, kwargs, number: json.dumps(INDUCTION))
    criteria = await abuild_criteria(TASK, model=model, samples=TEXTS, min_samples=3, max_rounds=0,
                                     max_critique_rounds=0)  # fmt: skip
    location = criteria.criterion("location")
    assert criteria.provenance.core_category == "a busy customer knows what moved and where"
    assert {e.source for e in location.examples} == {0, 1, 2}
    assert "thrilled beyond words" in location.levels[0].anchor


# --- the discrimination check ------------------------------------------------------------------------


def _criteria_with_examples() -> CriteriaSet:
    levels = tuple(Level(anchor=f"level {i}") for i in range(1, 6))
    examples = (Example(concept="location stated", quote="q", polarity="strength", source=0),
                Example(concept="gushing tone", quote="q", polarity="weakness", source=1))  # fmt: skip
    return CriteriaSet(task=TASK, dimensions=[Dimension(name="Use", criteria=[
        Criterion(id="location", name="Location", description="Where", levels=levels, examples=examples,
                  evidence=("location stated", "gushing tone")),
        Criterion(id="tone", name="Tone", description="Plain", levels=levels, examples=examples,
                  evidence=("location stated", "gushing tone")),
        Criterion(id="untested", name="Untested", description="No weak example", levels=levels),
    ])])  # fmt: skip


def _judge_by_text(levels: dict[int, dict[str, int]]) -> Any:
    """A Judge over a scripted model that gives text i the levels in `levels[i]`."""
    from writer_r1.agents.judge import Judge

    def reply(messages: list, kwargs: dict) -> str:
        prompt = messages[0].content
        body = prompt.split("The text to judge")[1]
        index = next(i for i, text in enumerate(TEXTS) if text in body)
        return json.dumps({cid: {"reason": "r", "level": levels[index][cid]} for cid, _ in judged_ids(prompt)})

    return Judge(ScriptedChatModel(default=reply), cache=None)


async def test_a_criterion_that_scores_strong_and_weak_texts_alike_is_flagged() -> None:
    criteria = _criteria_with_examples()
    judge = _judge_by_text({0: {"location": 5, "tone": 3}, 1: {"location": 1, "tone": 3}})
    results = await discrimination_check(criteria, TEXTS, [], judge, TASK)
    assert {(r.criterion_id, r.strong_level, r.weak_level) for r in results} == {("location", 5, 1), ("tone", 3, 3)}
    issues = discrimination_issues(results)
    assert [(i.kind, i.criterion_ids) for i in issues] == [("discrimination", ["tone"])]


async def test_the_graph_sends_a_non_discriminating_criterion_back_to_the_inducer(make_scripted) -> None:
    def coder(prompt: str, kwargs: dict, number: int) -> str:
        text = fenced_text(prompt)
        codes = [c for c in CODES if c.quote in text]
        return json.dumps({"codes": [c.model_dump(exclude={"source"}) for c in codes]})

    def flat_judge(prompt: str, kwargs: dict, number: int) -> str:
        return json.dumps({cid: {"reason": "same", "level": 3} for cid, _ in judged_ids(prompt)})

    model, script = make_scripted(coder=coder, judge=flat_judge,
                                  inducer=lambda prompt, kwargs, number: json.dumps(INDUCTION))  # fmt: skip
    criteria = await abuild_criteria(TASK, model=model, samples=TEXTS, min_samples=3, max_rounds=0,
                                     max_critique_rounds=2)  # fmt: skip
    assert script.counts["judge"] == 3 * 2  # each sample text once per review
    assert "[location] strong 3.0, weak 3.0 — does not discriminate" in script.prompts["critic"][0]
    assert "discrimination [location]" in script.prompts["inducer"][1]  # approved by the critic, still sent back
    assert any("discrimination check: location" in note for note in criteria.provenance.notes)


async def test_the_check_can_be_turned_off(make_scripted) -> None:
    model, script = make_scripted()
    await abuild_criteria(TASK, model=model, samples=TEXTS, min_samples=3, max_rounds=0, max_critique_rounds=1,
                          discrimination_check=False)  # fmt: skip
    assert script.counts["judge"] == 0


# --- theoretical sampling and saturation -------------------------------------------------------------


def test_probes_aim_at_uncovered_codes_then_criteria_without_a_weak_example() -> None:
    criteria = _criteria_with_examples()
    codes = [_code("legal disclaimer", "terms apply", "weakness", 3, "A disclaimer buries the news")]
    probes = theoretical_probes(codes, criteria, threshold=0.2, wanted=2, limit=2)
    assert len(probes) == 2
    assert probes[0].startswith("legal disclaimer (A disclaimer buries the news)")
    assert "Untested done badly: level 1" in probes[0]
    assert theoretical_probes([], criteria.subset(["location"]), threshold=0.2, wanted=2) == []


async def test_a_saturation_round_asks_the_writer_to_probe_the_gaps(make_scripted) -> None:
    def coder(prompt: str, kwargs: dict, number: int) -> str:
        sentence = re.findall(r"[^.]+\.", fenced_text(prompt))[-1].strip()
        return json.dumps({"codes": [{"concept": f"novel concept {number}", "observation": f"zebra{number} quokka",
                                      "quote": sentence, "polarity": "strength"}]})  # fmt: skip

    model, script = make_scripted(coder=coder)
    await abuild_criteria(TASK, model=model, samples=TEXTS[:2], min_samples=2, max_rounds=1, samples_per_round=2,
                          max_critique_rounds=0)  # fmt: skip
    probing = [prompt for prompt in script.prompts["writer"] if "Make it show clearly:" in prompt]
    assert len(probing) == 2 and "novel concept" in probing[0]


def test_saturation_counts_codes_new_in_content_not_in_label() -> None:
    levels = tuple(Level(anchor=a) for a in ("no path given", "some path", "full menu path given"))
    criteria = CriteriaSet(task=TASK, dimensions=[Dimension(name="Use", criteria=[
        Criterion(id="location", name="Location", description="Where the button is", levels=levels,
                  evidence=("location stated",))])])  # fmt: skip
    earlier = [_code("location stated", "under Settings > Data", "strength", 0, "Names the settings menu path")]
    same_label_new_content = _code("location stated", "x", "weakness", 5, "Quarterly pricing surcharge table")
    new_label_same_content = _code("where it lives", "x", "strength", 6, "Names the settings menu path")
    novel = novel_codes([same_label_new_content, new_label_same_content], earlier, criteria, threshold=0.3)
    assert novel == [same_label_new_content]


# --- language ----------------------------------------------------------------------------------------


async def test_a_chinese_task_is_coded_induced_and_drafted_in_chinese(make_scripted) -> None:
    task = "为一款新的智能手表写一则广告文案，突出续航时间，不超过200字。"
    model, script = make_scripted()
    criteria = await abuild_criteria(task, model=model, min_samples=1, max_rounds=0, max_critique_rounds=1)
    assert criteria.language == "zh"
    for role in ("writer", "coder", "requirements", "inducer", "critic", "extractor"):
        assert script.prompts[role] and all("Chinese (zh)" in p for p in script.prompts[role]), role
