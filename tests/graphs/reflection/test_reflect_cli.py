"""`writer-r1 reflect`: offline with the fake model, end to end against the loopback server, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from writer_r1.cli import _register, app, main
from writer_r1.graphs.reflect_command import EXAMPLE_CRITERIA


@pytest.fixture
def criteria_file(tmp_path: Path) -> Path:
    path = tmp_path / "criteria.json"
    path.write_text(EXAMPLE_CRITERIA, encoding="utf-8")
    return path


def fake_run(criteria_file: Path) -> list[str]:
    """A short offline run: the fake model, two revisions at most."""
    return [
        "reflect",
        "--task",
        "A haiku about frost",
        "--model",
        "fake",
        "--criteria",
        str(criteria_file),
        "--max-iterations",
        "2",
        "--patience",
        "2",
    ]


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    _register()
    return CliRunner()


def test_fake_model_json_and_plain_output_agree(runner: CliRunner, criteria_file: Path) -> None:
    args = fake_run(criteria_file)
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    result = json.loads(as_json.stdout)
    assert set(result) == {"best_draft", "best_scorecard", "history", "criteria", "stop_reason", "iterations"}
    assert result["history"][0]["accepted"] is True and result["best_scorecard"]["overall"] is not None
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.strip() == result["best_draft"].strip()
    assert "draft 0" in plain.stderr and "accepted" in plain.stderr and "Craft" in plain.stderr
    assert "best" in plain.stderr and result["stop_reason"] in plain.stderr


def test_draft_and_constraints_from_files(runner: CliRunner, criteria_file: Path, tmp_path: Path) -> None:
    (tmp_path / "draft.txt").write_text("Frost on the lantern glass.", encoding="utf-8")
    (tmp_path / "constraints.json").write_text(
        json.dumps([{"id": "writing:must_include", "kwargs": {"terms": ["lantern"]}}]), encoding="utf-8"
    )
    outcome = runner.invoke(
        app,
        [
            "reflect",
            "--task",
            "A haiku",
            "--model",
            "fake",
            "--criteria",
            str(criteria_file),
            "--draft",
            str(tmp_path / "draft.txt"),
            "--constraints",
            str(tmp_path / "constraints.json"),
            "--max-iterations",
            "0",
            "--json",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    result = json.loads(outcome.stdout)
    assert result["best_draft"] == "Frost on the lantern glass."
    assert [c["passed"] for c in result["best_scorecard"]["constraints"]] == [True]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reflect", "--model", "fake"], "say what to write"),
        (["reflect", "--task", "x", "--task-file", "t.txt", "--model", "fake"], "not both"),
        (["reflect", "--task", "x", "--model", "fake", "--criteria", "/nonexistent.json"], "no such criteria file"),
        (["reflect", "--task", "x", "--model", "nonsense"], "unknown model spec"),
        (["reflect", "--task", "x", "--model", "fake", "--draft", "/nonexistent.txt"], "no such text file"),
        (["reflect", "--task", "x", "--model", "fake", "--thinking", "narrator=on"], "--thinking takes ROLE=on|off"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split()) and err.startswith("error:") and "Traceback" not in err


def test_end_to_end_against_the_loopback_server(loopback, criteria_file: Path, tmp_path: Path) -> None:
    env = {**os.environ, "WRITER_R1_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "writer_r1.cli",
            "reflect",
            "--task",
            "Write a haiku about frost in at most 40 words.",
            "--model",
            "openai:loopback-model",
            "--base-url",
            loopback.base_url,
            "--criteria",
            str(criteria_file),
            "--max-iterations",
            "2",
            "--thinking",
            "judge=off",
            "--pairwise-margin",
            "0",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["best_scorecard"]["overall"] is not None
    assert result["best_scorecard"]["constraints"][0]["id"] == "writing:word_count_range"
    assert len(result["history"]) == 1 + result["iterations"] or result["stop_reason"] == "target_reached"
    roles = {
        (
            "judge"
            if "careful writing judge" in r["messages"][0]["content"]
            else "reflector"
            if "writing coach" in r["messages"][0]["content"]
            else "revise"
            if "revising a draft" in r["messages"][0]["content"]
            else "other"
        )
        for r in loopback.requests
    }
    assert {"judge", "other"} <= roles
    judged = [r for r in loopback.requests if "careful writing judge" in r["messages"][0]["content"]]
    assert {(r.get("chat_template_kwargs") or {}).get("enable_thinking") for r in judged} == {False}
    if result["iterations"]:
        assert {"reflector", "revise"} <= roles


def test_memory_option_stores_the_experiences(
    runner: CliRunner, criteria_file: Path, tmp_path: Path, monkeypatch
) -> None:
    from writer_r1.memory import store
    from writer_r1.memory.embeddings import LexicalEmbeddings
    from writer_r1.memory.experience import ExperienceMemory

    monkeypatch.setattr(store, "default_embeddings", lambda: LexicalEmbeddings(128))  # MiniLM takes seconds to load
    path = tmp_path / "memory.sqlite"
    outcome = runner.invoke(
        app,
        [*fake_run(criteria_file), "--target-score", "1.0", "--memory", str(path), "--json"],
    )
    assert outcome.exit_code == 0, outcome.output
    iterations = json.loads(outcome.stdout)["iterations"]
    with ExperienceMemory(path, embeddings=LexicalEmbeddings(128)) as memory:
        assert len(memory) == iterations > 0


def test_an_empty_draft_is_an_error_not_replaced(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "draft.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["reflect", "--task", "x", "--model", "fake", "--draft", str(empty)])
    assert stopped.value.code == 2
    assert "is empty" in capsys.readouterr().err
