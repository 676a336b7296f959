"""`writer-r1 eval scores`: WritingBench and HelloBench rows bring their rubrics; unscored criteria are counted."""

from __future__ import annotations

import json
from pathlib import Path

from writer_r1.cli import main as cli_main
from writer_r1.testing import OpenAICompatServer

DATA = Path(__file__).resolve().parents[2] / "data"


def _schema(request: dict) -> dict:
    return request["response_format"]["json_schema"]["schema"]


def best_but_one(request: dict) -> str:
    """Every criterion at its best level, except those whose id starts with 'checklist-2' (never answered)."""
    properties = _schema(request)["properties"]
    verdicts = {
        cid: {"reason": "Meets it fully.", "level": spec["properties"]["level"]["maximum"]}
        for cid, spec in properties.items()
        if not cid.startswith("checklist-2")
    }
    return json.dumps(verdicts)


def _cli(args: list[str], capsys) -> tuple[int, dict]:
    try:
        cli_main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    return code, json.loads(capsys.readouterr().out)


def test_writingbench_rubrics_score_per_criterion_and_dimension(tmp_path, capsys):
    with OpenAICompatServer(responder=best_but_one) as judge:
        code, summary = _cli(
            [
                "eval",
                "scores",
                "--prompts",
                str(DATA / "writingbench" / "v1_style_sample.jsonl"),
                "--system",
                "fake",
                "--judge",
                "openai:j",
                "--judge-base-url",
                judge.base_url,
                "--output-dir",
                str(tmp_path),
                "--json",
                "--quiet",
            ],
            capsys,
        )
    assert code == 0
    assert (summary["n"], summary["prompts"], summary["unscored_criteria"]) == (4, 4, 0)
    assert summary["overall"]["mean"] == 1.0 and summary["overall"]["ci_low"] == 1.0
    assert sum(v["n"] for v in summary["per_criterion"].values()) == 20  # five criteria per query
    assert all(v["mean"] == 1.0 for v in summary["per_dimension"].values())
    assert (tmp_path / "report.html").is_file() and len((tmp_path / "scores.jsonl").read_text().splitlines()) == 4


def test_hellobench_checklists_and_an_unanswered_criterion_is_unscored_not_a_number(tmp_path, capsys):
    responses = tmp_path / "responses.jsonl"
    rows = [json.loads(line) for line in (DATA / "hellobench" / "judgements" / "qwen2_7b.jsonl").open()]
    answered = {r["instruction"] for r in rows}
    prompts = tmp_path / "prompts.jsonl"  # the shipped prompts that have published responses
    prompts.write_text(
        "".join(
            line
            for line in (DATA / "hellobench" / "heuristic_text_generation.jsonl").open()
            if json.loads(line)["instruction"] in answered
        )
    )
    responses.write_text(
        "".join(json.dumps({"prompt": r["instruction"], "response": r["response"]}) + "\n" for r in rows)
    )
    with OpenAICompatServer(responder=best_but_one) as judge:
        code, summary = _cli(
            [
                "eval",
                "scores",
                "--prompts",
                str(prompts),
                "--system",
                str(responses),
                "--judge",
                "openai:j",
                "--judge-base-url",
                judge.base_url,
                "--output-dir",
                str(tmp_path / "out"),
                "--json",
                "--quiet",
            ],
            capsys,
        )
    assert code == 1  # incomplete: one criterion per prompt unscored
    assert summary["unscored_criteria"] == 6 and summary["incomplete_prompts"] == 6 and summary["n"] == 0
    unscored = {cid: v for cid, v in summary["per_criterion"].items() if v["unscored"]}
    assert all(v["mean"] is None and v["n"] == 0 for v in unscored.values())
    assert all(v["mean"] == 1.0 for cid, v in summary["per_criterion"].items() if cid not in unscored)


def test_rows_without_criteria_need_a_criteria_file(tmp_path, capsys):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "Write a haiku."}\n')
    try:
        cli_main(
            [
                "eval",
                "scores",
                "--prompts",
                str(prompts),
                "--system",
                "fake",
                "--judge",
                "fake",
                "--output-dir",
                str(tmp_path / "never"),
            ]
        )
    except SystemExit as done:
        assert done.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "line 1: no criteria" in err and not (tmp_path / "never").exists()
