"""`writer-r1 eval ifeval` end to end against a loopback server that answers with IFEval's GPT-4 responses."""

from __future__ import annotations

import json

from writer_r1.cli import main as cli_main
from writer_r1.testing import FaultPlan, OpenAICompatServer


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        cli_main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_reproduces_the_official_gpt4_accuracies(tmp_path, capsys, gpt4_responder):
    with OpenAICompatServer(responder=gpt4_responder, model="gpt-4") as server:
        code, out, _ = _run(
            [
                "eval",
                "ifeval",
                "--model",
                "openai:gpt-4",
                "--base-url",
                server.base_url,
                "--output-dir",
                str(tmp_path),
                "--concurrency",
                "32",
                "--json",
            ],
            capsys,
        )
        assert code == 0
        summary = json.loads(out)
        assert summary["counts"] == {
            "prompt_level_strict": 417,
            "instruction_level_strict": 698,
            "prompt_level_loose": 431,
            "instruction_level_loose": 714,
        }
        assert summary["prompt_level_strict"] == 417 / 541
        assert summary["instruction_level_loose"] == 714 / 834
        assert (summary["prompts"], summary["instructions"], summary["failed"]) == (541, 834, 0)
        served = len(server.requests)
        # A re-run generates nothing: every response is in responses.jsonl already.
        code, out, _ = _run(
            [
                "eval",
                "ifeval",
                "--model",
                "openai:gpt-4",
                "--base-url",
                server.base_url,
                "--output-dir",
                str(tmp_path),
                "--json",
            ],
            capsys,
        )
        assert code == 0 and json.loads(out)["counts"] == summary["counts"]
        assert len(server.requests) == served == 541
    rows = [json.loads(line) for line in (tmp_path / "responses.jsonl").read_text().splitlines()]
    assert len(rows) == 541 and set(rows[0]) == {"prompt", "response"}
    assert all(
        (tmp_path / name).is_file()
        for name in ("eval_results_strict.jsonl", "eval_results_loose.jsonl", "summary.json", "report.html")
    )


def test_failed_generations_are_listed_not_scored_and_retried(tmp_path, capsys, gpt4_responder):
    # The first prompt's three attempts fail with HTTP 500: it is recorded as failed, not as an empty response.
    faults = FaultPlan(script=["http500"] * 3)
    with OpenAICompatServer(responder=gpt4_responder, faults=faults) as server:
        code, out, err = _run(
            [
                "eval",
                "ifeval",
                "--model",
                "openai:m",
                "--base-url",
                server.base_url,
                "--limit",
                "1",
                "--output-dir",
                str(tmp_path),
                "--json",
            ],
            capsys,
        )
        assert code == 1, err
        summary = json.loads(out)
        assert summary["failed"] == 1 and summary["prompts"] == 0 and not summary["complete"]
        assert "500" in next(iter(summary["failures"].values()))
        assert not (tmp_path / "responses.jsonl").exists() or (tmp_path / "responses.jsonl").read_text() == ""
        code, out, _ = _run(
            [
                "eval",
                "ifeval",
                "--model",
                "openai:m",
                "--base-url",
                server.base_url,
                "--limit",
                "1",
                "--output-dir",
                str(tmp_path),
                "--json",
            ],
            capsys,
        )
        assert code == 0 and json.loads(out)["prompts"] == 1 and json.loads(out)["failed"] == 0
