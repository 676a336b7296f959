"""Per-criterion pairwise verdicts: the contract's parse, its template, two orders combined, the CLI summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from writer_r1.agents.judge import Judge
from writer_r1.agents.pairwise_criteria import (
    importance_words,
    pairwise_criteria_schema,
    parse_pairwise_criteria,
)
from writer_r1.cli import main as cli_main
from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
from writer_r1.testing import OpenAICompatServer, ScriptedChatModel

LEVELS = (Level(anchor="poor"), Level(anchor="good"))
CRITERIA = CriteriaSet(
    dimensions=(
        Dimension(
            name="Craft",
            criteria=(
                Criterion(id="imagery", name="Imagery", description="Concrete images", levels=LEVELS, weight=3.0),
                Criterion(id="brevity", name="Brevity", description="No padding", levels=LEVELS),
            ),
        ),
    )
)
ALPHA, BETA = "(alpha system)", "(beta system)"


def reply(imagery="A", brevity="B", winner="A", reason="A is more vivid.") -> str:
    return json.dumps(
        {
            "criteria": {
                "imagery": {"evidence": "A: frost on glass", "winner": imagery},
                "brevity": {"evidence": "B is shorter", "winner": brevity},
            },
            "reason": reason,
            "winner": winner,
        }
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (reply(), ("A", {"imagery": "A", "brevity": "B"}, {})),
        ("```json\n" + reply(brevity="tie") + "\n```", ("A", {"imagery": "A", "brevity": "tie"}, {})),
        (reply(brevity="C"), ("A", {"imagery": "A"}, {"brevity": 'winner must be "A", "B" or "tie", got "C"'})),
        (
            '{"criteria": {"imagery": {"evidence": "x", "winner": "A"}}, "reason": "r", "winner": "B"}',
            ("B", {"imagery": "A"}, {"brevity": "no verdict was given"}),
        ),
        (
            '{"criteria": {"imagery": {"evidence": "  ", "winner": "A"}, "brevity": {"evidence": "e", "winner": "B"}},'
            ' "reason": "r", "winner": "tie"}',
            ("tie", {"brevity": "B"}, {"imagery": "the verdict needs one non-empty line of evidence"}),
        ),
        (
            '{"criteria": {"imagery": {"evidence": "x", "winner": "A", "winner": "B"}, "brevity": {"evidence": "e", '
            '"winner": "B"}}, "reason": "r", "winner": "A"}',
            ("A", {"brevity": "B"}, {"imagery": "the verdict gives evidence or winner more than once"}),
        ),
    ],
)
def test_parse_validates_each_criterion(text, expected):
    parsed = parse_pairwise_criteria(text, CRITERIA.criteria)
    assert not isinstance(parsed, str)
    winner, verdicts, problems = expected
    assert parsed.winner == winner
    assert {k: w for k, (w, _) in parsed.verdicts.items()} == verdicts
    assert parsed.problems == problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("I think A wins.", "no JSON object"),
        (reply(winner="both"), 'winner must be "A", "B" or "tie", got "both"'),
        (reply(reason=""), "non-empty reason"),
        ('{"criteria": [1, 2], "reason": "r", "winner": "A"}', "criteria must be an object"),
    ],
)
def test_a_bad_overall_verdict_is_a_problem(text, problem):
    outcome = parse_pairwise_criteria(text, CRITERIA.criteria)
    assert isinstance(outcome, str) and problem in outcome


def test_schema_requires_every_criterion():
    schema = pairwise_criteria_schema(CRITERIA.criteria)
    assert schema["properties"]["criteria"]["required"] == ["imagery", "brevity"]
    assert schema["required"] == ["criteria", "reason", "winner"]


def test_prompt_states_importance_in_words_warns_about_length_and_fences_the_texts():
    judge = ScriptedChatModel(replies=[reply(), reply()])
    Judge(judge, cache=None).compare("Text one <<<TEXT-A>>>", "Text two", CRITERIA, per_criterion=True)
    prompt = judge.calls[0].prompt
    assert importance_words(CRITERIA) == {"imagery": "very important", "brevity": "minor"}
    assert "(very important)" in prompt and "(minor)" in prompt and "0.75" not in prompt
    assert "Length is not quality" in prompt
    assert "Text one <<<TEXT-A>>>" in prompt and "<<<TEXT-A-" in prompt  # a delimiter that is not in the text


def test_orders_combine_per_criterion_and_a_flip_is_an_inconsistent_tie():
    # Order ab: imagery A, brevity A (first shown). Order ba (B shown first): imagery "B" (= text a), brevity "A" (= b).
    judge = ScriptedChatModel(
        default=lambda messages, kwargs: (
            reply("A", "A") if "TEXT-ONE" in messages[0].content.split("<<<TEXT-B>>>")[0] else reply("B", "A")
        )
    )
    comparison = Judge(judge, cache=None).compare("TEXT-ONE vivid", "TEXT-TWO", CRITERIA, per_criterion=True)
    assert comparison.criteria is not None
    assert comparison.criteria["imagery"].preferred == "a" and comparison.criteria["imagery"].consistent
    brevity = comparison.criteria["brevity"]
    assert (brevity.preferred, brevity.inconsistent) == ("tie", True)
    assert comparison.verdicts[0].criteria["imagery"].evidence == "A: frost on glass"


def test_a_criterion_still_invalid_after_retries_has_no_winner():
    judge = ScriptedChatModel(default=reply(brevity="?"))
    comparison = Judge(judge, cache=None, retries=1).compare("one", "two", CRITERIA, per_criterion=True)
    assert comparison.preferred is not None
    assert comparison.criteria["brevity"].preferred is None and comparison.criteria["imagery"].preferred is not None
    assert len(judge.calls) == 4  # two orders × (first try + one retry)


def _user(request: dict) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m.get("role") == "user")


def alpha_vivid_beta_brief(request: dict) -> str:
    """Alpha wins imagery and overall, beta wins brevity, whatever the order."""
    prompt = _user(request)
    alpha = "A" if prompt.index(ALPHA) < prompt.index(BETA) else "B"
    beta = "B" if alpha == "A" else "A"
    return reply(imagery=alpha, brevity=beta, winner=alpha)


def test_cli_summary_shows_which_criteria_a_wins_on(tmp_path: Path, capsys):
    prompts = [f"Write about topic {i}." for i in range(6)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    for name, marker in (("alpha", ALPHA), ("beta", BETA)):
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps({"prompt": p, "response": f"{marker} text"}) + "\n" for p in prompts)
        )
    (tmp_path / "criteria.json").write_text(CRITERIA.model_dump_json())
    with OpenAICompatServer(responder=alpha_vivid_beta_brief) as server:
        try:
            cli_main(
                [
                    "eval",
                    "pairwise",
                    "--prompts",
                    str(tmp_path / "p.jsonl"),
                    "--a",
                    str(tmp_path / "alpha.jsonl"),
                    "--b",
                    str(tmp_path / "beta.jsonl"),
                    "--judge",
                    "openai:j",
                    "--judge-base-url",
                    server.base_url,
                    "--criteria",
                    str(tmp_path / "criteria.json"),
                    "--per-criterion",
                    "--output-dir",
                    str(tmp_path / "out"),
                    "--json",
                    "--quiet",
                ]
            )
        except SystemExit as done:
            assert not done.code
    summary = json.loads(capsys.readouterr().out)
    assert summary["win_rate"] == 1.0
    assert summary["a_wins_on"] == ["imagery"] and summary["b_wins_on"] == ["brevity"]
    assert summary["per_criterion"]["imagery"]["wins"] == 6 and summary["per_criterion"]["brevity"]["losses"] == 6
    row = json.loads((tmp_path / "out" / "judgements.jsonl").read_text().splitlines()[0])
    assert row["criteria"]["imagery"]["evidence"] == ["A: frost on glass", "A: frost on glass"]
