"""`writer-r1 judge`: a table or clean JSON on stdout, unscored criteria shown with reasons, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner
from writer_r1.agents.commands import judge_command
from writer_r1.core.errors import UserError
from writer_r1.core.scorecard import Scorecard
from writer_r1.testing import FaultPlan

TEXT = "Gulls wheel over the harbour while the first ferry coughs into life."


@pytest.fixture
def files(tmp_path: Path, criteria) -> dict[str, Path]:
    (tmp_path / "criteria.json").write_text(criteria.model_dump_json(indent=2), encoding="utf-8")
    (tmp_path / "text.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "invalid.json").write_text('{"dimensions": []}', encoding="utf-8")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    return {p.stem: p for p in tmp_path.iterdir()}


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("judge")(judge_command)
    app.command("noop")(lambda: None)  # two commands, so "judge" stays a subcommand as in the real CLI
    return app


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "writer_r1.cli", *args], capture_output=True, text=True, timeout=120)


def test_json_output_is_a_scorecard_and_nothing_else(files, loopback) -> None:
    result = _cli(
        "judge",
        "--criteria",
        str(files["criteria"]),
        "--text",
        str(files["text"]),
        "--model",
        "openai:loopback-model",
        "--base-url",
        loopback.base_url,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    card = Scorecard.model_validate_json(result.stdout)
    assert card.complete and card.overall is not None
    assert "response_format" in loopback.requests[0]


def test_the_table_shows_levels_subtotals_and_overall(files, loopback) -> None:
    args = [
        "judge",
        "--criteria",
        str(files["criteria"]),
        "--text",
        str(files["text"]),
        "--model",
        "openai:loopback-model",
        "--base-url",
        loopback.base_url,
        "--criteria-per-call",
        "1",
    ]
    result = CliRunner().invoke(_app(), args, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for expected in ("Imagery", "Pacing", "Clarity", "Craft subtotal", "Language subtotal", "overall", "3 scored"):
        assert expected in result.stdout
    assert any(f"/{n}" in result.stdout for n in (5, 3, 4))
    assert len(loopback.requests) == 3


def test_unscored_criteria_are_listed_with_their_reason(files, make_loopback) -> None:
    server = make_loopback(faults=FaultPlan(rates={"garbage": 1.0}))
    base = [
        "judge",
        "--criteria",
        str(files["criteria"]),
        "--text",
        str(files["text"]),
        "--model",
        "openai:loopback-model",
        "--base-url",
        server.base_url,
    ]
    table = CliRunner().invoke(_app(), base, env={"COLUMNS": "200"})
    assert table.exit_code == 4, table.output  # nothing scored
    assert table.stdout.count("unscored") >= 3 and "no JSON object" in table.stdout
    as_json = CliRunner().invoke(_app(), [*base, "--json"])
    card = json.loads(as_json.stdout)
    assert card["overall"] is None and len(card["unscored"]) == 3


def test_text_from_stdin_with_a_task(files) -> None:
    args = [
        "judge",
        "--criteria",
        str(files["criteria"]),
        "--text",
        "-",
        "--model",
        "fake",
        "--json",
        "--task",
        "Describe a harbour at dawn.",
    ]
    result = CliRunner().invoke(_app(), args, input=TEXT)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["scores"]) == 3


@pytest.mark.parametrize(
    ("criteria_name", "text_name", "message"),
    [
        ("missing", "text", "no such criteria file"),
        ("invalid", "text", "invalid criteria file"),
        ("broken", "text", "invalid criteria file"),
        ("criteria", "missing", "no such text file"),
    ],
)
def test_bad_files_are_user_errors(files, tmp_path, criteria_name, text_name, message) -> None:
    criteria_path = files.get(criteria_name, tmp_path / "missing.json")
    text_path = files.get(text_name, tmp_path / "missing.txt")
    args = ["judge", "--criteria", str(criteria_path), "--text", str(text_path), "--model", "fake"]
    result = CliRunner().invoke(_app(), args)
    assert isinstance(result.exception, UserError)
    assert message in str(result.exception) and "\n" not in str(result.exception)


def test_the_real_cli_prints_a_user_error_as_one_line_with_exit_2(files) -> None:
    result = _cli("judge", "--criteria", str(files["invalid"]), "--text", str(files["text"]), "--model", "fake")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "invalid criteria file" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_timeout_bounds_the_whole_judgement(files, make_loopback) -> None:
    import time

    server = make_loopback(faults=FaultPlan(rates={"hang": 1.0}), hang_s=30)
    start = time.monotonic()
    result = CliRunner().invoke(
        _app(),
        [
            "judge",
            "--criteria",
            str(files["criteria"]),
            "--text",
            str(files["text"]),
            "--model",
            "openai:loopback-model",
            "--base-url",
            server.base_url,
            "--timeout",
            "0.5",
            "--json",
        ],
    )
    assert result.exit_code == 4, result.output  # nothing scored
    card = Scorecard.model_validate_json(result.stdout)
    assert card.overall is None and all("deadline of 0.5 s" in u.reason for u in card.unscored)
    assert time.monotonic() - start < 10


def test_exit_codes_tell_a_complete_card_from_an_incomplete_one(files, make_loopback) -> None:
    from writer_r1.testing import fake_responder

    def no_imagery(request: dict) -> str:
        return "no verdict" if "imagery" in json.dumps(request.get("response_format", {})) else fake_responder(request)

    server = make_loopback(responder=no_imagery)
    args = [
        "judge",
        "--criteria",
        str(files["criteria"]),
        "--text",
        str(files["text"]),
        "--json",
        "--model",
        "openai:loopback-model",
        "--base-url",
        server.base_url,
        "--criteria-per-call",
        "1",
    ]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 3, result.output
    card = json.loads(result.stdout)
    assert [u["criterion_id"] for u in card["unscored"]] == ["imagery"] and len(card["scores"]) == 2


def test_an_empty_text_is_an_error_not_a_score(files, tmp_path) -> None:
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    args = ["judge", "--criteria", str(files["criteria"]), "--text", str(tmp_path / "empty.txt"), "--model", "fake"]
    result = CliRunner().invoke(_app(), args)
    assert isinstance(result.exception, UserError) and "is empty" in str(result.exception)


def test_the_installed_cli_exits_with_the_judge_code_when_nothing_is_scored(files, make_loopback) -> None:
    # The real entry point, not CliRunner: `writer-r1` must pass a command's exit code on (here 4, server failing).
    server = make_loopback(faults=FaultPlan(rates={"http500": 1.0}))
    args = [
        "judge",
        "--criteria",
        str(files["criteria"]),
        "--text",
        str(files["text"]),
        "--json",
        "--model",
        "openai:loopback-model",
        "--base-url",
        server.base_url,
    ]
    done = subprocess.run([sys.executable, "-m", "writer_r1.cli", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stderr
    assert Scorecard.model_validate_json(done.stdout).overall is None
