"""Constraint extraction: deterministic rules and the LLM path through a scripted model."""

from __future__ import annotations

import json

import pytest
from writer_r1.agents.extractor import ConstraintExtractor, extract_rules
from writer_r1.testing import ScriptedChatModel

RULE_CASES = [
    ("Write around 2000 words about the sea.", [("writing:word_count_range", {"target": 2000})]),
    ("Please write an essay of around 2,000 words.", [("writing:word_count_range", {"target": 2000})]),
    ("A 3000-word biography of Lu Xun.", [("writing:word_count_range", {"target": 3000})]),
    ("Keep it within 500 characters.", [("writing:character_count_range", {"max": 500})]),
    ("At least 300 words, please.", [("writing:word_count_range", {"min": 300})]),
    ("Between 800 and 1,000 words.", [("writing:word_count_range", {"min": 800, "max": 1000})]),
    ("写一篇不少于800字的散文。", [("writing:word_count_range", {"min": 800})]),
    ("字数控制在500字以内。", [("writing:word_count_range", {"max": 500})]),
    ("全文1000字左右。", [("writing:word_count_range", {"target": 1000})]),
    ("3000～4000字。", [("writing:word_count_range", {"min": 3000, "max": 4000})]),
    ("Tell it in the first person.", [("writing:point_of_view", {"person": "first"})]),
    ("以第三人称叙述。", [("writing:point_of_view", {"person": "third"})]),
    ("Do not use bullet points.", [("writing:no_bullet_lists", {})]),
    ('End with "See you tomorrow."', [("writing:ends_with", {"phrase": "See you tomorrow."})]),
    ("以“明天见”结尾。", [("writing:ends_with", {"phrase": "明天见"})]),
    ('Start with "Once upon a time".', [("writing:starts_with", {"phrase": "Once upon a time"})]),
    ('Include the keywords "harbour" and "lantern".', [("writing:must_include", {"terms": ["harbour", "lantern"]})]),
    ('Do not use the word "suddenly".', [("writing:must_avoid", {"terms": ["suddenly"]})]),
    ("须分为场景介绍、细节分析、历史对照、设计评价四个部分。", [("writing:sections", {"min": 4, "max": 4})]),
    ("Write a poem with a title.", [("writing:title", {})]),
    ("Write a story that includes dialogue.", [("writing:dialogue", {})]),
    ("Do not use any commas.", [("punctuation:no_comma", {})]),
    (
        "Write it without commas, all in lowercase.",
        [("punctuation:no_comma", {}), ("change_case:english_lowercase", {})],
    ),
    ("全文不要使用逗号。", [("punctuation:no_comma", {})]),
    ("Reply entirely in capital letters.", [("change_case:english_capital", {})]),
    ("Use ALL CAPS for the whole answer.", [("change_case:english_capital", {})]),
    ("Commas are fine; write about lower-case typography.", []),
    ("Write a poem about autumn.", []),
]


@pytest.mark.parametrize(("task", "expected"), RULE_CASES)
def test_extract_rules(task, expected):
    assert [(s.id, s.kwargs) for s in extract_rules(task)] == expected


def test_rule_specs_are_valid_registry_constraints():
    from writer_r1.constraints import describe

    for task, _ in RULE_CASES:
        for spec in extract_rules(task):
            assert describe(spec)


def _reply(constraints, unverifiable=()):
    return json.dumps({"constraints": constraints, "unverifiable": list(unverifiable)})


def test_llm_round_trip_lists_registry_and_converts_unverifiable():
    model = ScriptedChatModel(
        replies=[
            _reply(
                [{"id": "writing:word_count_range", "kwargs": {"target": 1500}}],
                ["a nostalgic tone"],
            )
        ]
    )
    specs = ConstraintExtractor(model).extract("A story of about 1,500 words, in the first person, nostalgic.")
    assert [(s.id, s.kwargs) for s in specs] == [
        ("writing:word_count_range", {"target": 1500}),
        ("llm:requirement", {"requirement": "a nostalgic tone"}),
        ("writing:point_of_view", {"person": "first"}),  # the rules cross-check what the model missed
    ]
    prompt = model.calls[0].prompt
    assert "writing:word_count_range" in prompt and "keywords:existence" in prompt
    assert "A story of about 1,500 words" in prompt


def test_invalid_specs_are_fed_back_once_then_dropped():
    bad = [{"id": "writing:word_count_range", "kwargs": {"words": 10}}, {"id": "writing:nonsense", "kwargs": {}}]
    fixed = [{"id": "writing:word_count_range", "kwargs": {"max": 10}}, {"id": "writing:nonsense", "kwargs": {}}]
    model = ScriptedChatModel(replies=[_reply(bad), _reply(fixed)])
    specs = ConstraintExtractor(model, cross_check=False).extract("Ten words at most.")
    assert [(s.id, s.kwargs) for s in specs] == [("writing:word_count_range", {"max": 10})]
    assert len(model.calls) == 2
    assert "unexpected argument" in model.calls[1].prompt and "writing:nonsense" in model.calls[1].prompt


def test_no_model_uses_rules():
    assert [s.id for s in ConstraintExtractor(None).extract("No bullet points.")] == ["writing:no_bullet_lists"]


@pytest.mark.asyncio
async def test_aextract():
    model = ScriptedChatModel(replies=[_reply([{"id": "punctuation:no_comma", "kwargs": {}}])])
    specs = await ConstraintExtractor(model, cross_check=False).aextract("Avoid commas.")
    assert [s.id for s in specs] == ["punctuation:no_comma"]


def test_cli_text_command(tmp_path):
    from typer.testing import CliRunner
    from writer_r1.constraints.commands import app

    draft = tmp_path / "draft.txt"
    draft.write_text("I walked home. The sea was calm.", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["text", "--task", "Write at most 5 words in the first person.", "--text", str(draft), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["id"], r["passed"]) for r in rows] == [
        ("writing:word_count_range", False),
        ("writing:point_of_view", True),
    ]
    missing = CliRunner().invoke(app, ["text", "--task", "x", "--text", str(tmp_path / "none.txt")])
    assert missing.exit_code != 0 and "no such file" in missing.output


def test_the_fake_model_extracts_valid_constraints_without_warnings(caplog, tmp_path) -> None:
    import logging
    import subprocess
    import sys

    from writer_r1.agents.extractor import ConstraintExtractor, extract_rules
    from writer_r1.core.fake import FakeChatModel

    task = "About 20 words, first person, no commas."
    with caplog.at_level(logging.WARNING):
        specs = ConstraintExtractor(FakeChatModel()).extract(task)
    assert {s.id for s in specs} == {s.id for s in extract_rules(task)} and specs
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    text = tmp_path / "text.txt"
    text.write_text("I walked to the harbour and I watched the boats come in.", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "writer_r1.cli",
            "verify",
            "text",
            "--task",
            task,
            "--text",
            str(text),
            "--model",
            "fake",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr
