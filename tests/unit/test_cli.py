"""The command line: help, version, and one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest
import writer_r1


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "writer_r1.cli", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_the_command_groups() -> None:
    result = _cli("--help")
    assert result.returncode == 0, result.stderr
    for group in ("criteria", "reflect", "judge", "verify", "train"):
        assert group in result.stdout


def test_version() -> None:
    result = _cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"writer-r1 {writer_r1.__version__}"


@pytest.mark.parametrize(
    "args",
    [
        ("judge", "--criteria", "/nonexistent/criteria.json", "--text", "/nonexistent/text.txt", "--model", "fake"),
        ("reflect", "--task", "Write a haiku", "--model", "nonsense"),
    ],
)
def test_errors_are_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    result = _cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3


def test_debug_shows_the_traceback() -> None:
    result = _cli("--debug", "reflect", "--task", "Write a haiku", "--model", "nonsense")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_debug_after_the_subcommand_shows_the_traceback_too() -> None:
    result = _cli("reflect", "--task", "Write a haiku", "--model", "nonsense", "--debug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_a_long_error_is_one_line_when_stderr_is_not_a_terminal() -> None:
    result = _cli("reflect", "--task", "Write a haiku", "--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) > 80, result.stderr


def test_an_unreachable_base_url_is_named_at_once() -> None:
    import time

    started = time.monotonic()
    result = _cli(
        "judge", "--criteria", "c.json", "--text", "t.txt", "--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1"
    )
    assert result.returncode == 2 and time.monotonic() - started < 30
    assert "cannot reach the model server at http://127.0.0.1:9/v1" in result.stderr


def test_root_flags_are_hoisted_but_option_values_stay() -> None:
    from writer_r1.cli import hoist_root_flags

    assert hoist_root_flags(["judge", "--json", "--debug"], frozenset({"--json"})) == ["--debug", "judge", "--json"]
    assert hoist_root_flags(["reflect", "--task", "--debug"]) == ["reflect", "--task", "--debug"]
    assert hoist_root_flags(["reflect", "--", "--debug"]) == ["reflect", "--", "--debug"]


def test_commands_without_a_model_do_not_check_the_server(tmp_path) -> None:
    import os

    env = {**os.environ, "WRITER_R1_BASE_URL": "http://127.0.0.1:9/v1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "writer_r1.cli",
            "data",
            "sft",
            "--memory",
            str(tmp_path / "none.sqlite"),
            "--out",
            str(tmp_path / "o.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2 and "no experience memory" in result.stderr, result.stderr
