"""The README's examples run: the Python blocks against the loopback OpenAI-compatible server (standing in for
`vllm serve`), and every `writer-r1 ... --model fake` command line as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SERVED_AT = "http://localhost:8000/v1"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _fake_commands() -> list[str]:
    lines = [line for block in _blocks("bash") for line in block.splitlines()]
    return [line.split("  #")[0].strip() for line in lines if line.startswith("writer-r1 ") and "--model fake" in line]


def test_the_readme_has_the_examples_this_file_runs() -> None:
    python = _blocks("python")
    assert any("ReflectiveChatModel" in block for block in python) and any("writer_r1.reflect(" in b for b in python)
    assert _fake_commands()


@pytest.mark.parametrize("block", _blocks("python"), ids=lambda block: block.split("\n")[0][:40])
def test_python_blocks_run_against_a_served_model(block: str, loopback, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block.replace(SERVED_AT, loopback.base_url), "README.md", "exec"), namespace)  # noqa: S102
    if SERVED_AT not in block:  # an example that only builds objects (e.g. reward functions): it ran, nothing served
        return
    if "reply" in namespace:  # the wrapper example
        reply = namespace["reply"]
        assert reply.content and {"overall", "iterations", "stop_reason"} <= set(reply.response_metadata)
    if "result" in namespace:
        assert namespace["result"].best_draft and namespace["card"].criteria_version
    assert loopback.requests, "the example reached the server"


@pytest.mark.parametrize("command", _fake_commands())
def test_fake_model_commands_run_as_written(command: str, tmp_path) -> None:
    args = shlex.split(command)[1:]
    done = subprocess.run(
        [sys.executable, "-m", "writer_r1.cli", *args], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
