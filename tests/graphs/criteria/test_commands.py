"""`writer-r1 criteria build`: samples files, the stage display, the JSON written, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.errors import UserError
from writer_r1.graphs.commands import read_sample_records, read_samples
from writer_r1.graphs.state import Sample


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("s.jsonl", '{"text": "one"}\n\n{"text": "two", "comment": "ok"}\n', ["one", "two"]),
        ("s.txt", "first\nsample\n---\nsecond\n  ---  \n\n---\n", ["first\nsample", "second"]),
        ("s.txt", "only one", ["only one"]),
    ],
)
def test_read_samples(tmp_path: Path, name: str, content: str, expected: list[str]) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert read_samples(path) == expected


def test_sample_comments_are_read_from_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"text": "one", "comment": " too long "}\n{"text": "two", "comment": ""}\n', encoding="utf-8")
    assert read_sample_records(path) == [Sample(text="one", comment="too long"), Sample(text="two")]
    path.write_text('{"text": "one", "comment": 3}\n', encoding="utf-8")
    with pytest.raises(UserError, match='s.jsonl:1: "comment" must be a string'):
        read_sample_records(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("s.jsonl", '{"text": "one"}\nnot json\n', r"s.jsonl:2: not a JSON object"),
        ("s.jsonl", '{"body": "one"}\n', r's.jsonl:1: expected an object with a "text" string'),
        ("s.txt", "---\n  \n---\n", "holds no sample text"),
    ],
)
def test_bad_samples_files_are_user_errors(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        read_samples(path)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "writer_r1.cli", "criteria", "build", *args], capture_output=True, text=True, timeout=120
    )


def test_build_writes_a_valid_criteria_file_and_shows_every_stage(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl"
    samples.write_text('{"text": "The keeper climbed the iron stairs at dusk."}\n', encoding="utf-8")
    out = tmp_path / "out" / "criteria.json"
    result = _cli(
        "--task",
        "Write a short story about a lighthouse keeper",
        "--model",
        "fake",
        "--samples",
        str(samples),
        "--out",
        str(out),
        "--max-rounds",
        "1",
    )
    assert result.returncode == 0, result.stderr
    criteria = CriteriaSet.load(str(out))
    assert criteria.provenance.samples == 3 + 2 and criteria.provenance.rounds == 1  # 1 given, 2 drafted, 2 fresh
    for stage in ("sample", "code      text 0", "code      task statement", "induce", "saturate", "finalize"):
        assert stage in result.stderr
    assert f"version {criteria.version}" in result.stderr


def test_a_resumable_run_with_a_checkpoint_file(tmp_path: Path) -> None:
    database, out = tmp_path / "runs.sqlite", tmp_path / "c.json"
    args = (
        "--task",
        "A haiku about autumn",
        "--model",
        "fake",
        "--max-rounds",
        "0",
        "--checkpoint",
        str(database),
        "--thread-id",
        "t",
    )
    first = _cli(*args, "--out", str(out))
    again = _cli(*args, "--out", str(tmp_path / "again.json"))
    assert first.returncode == again.returncode == 0, (first.stderr, again.stderr)
    assert out.read_text() == (tmp_path / "again.json").read_text()
    assert "induce" not in again.stderr  # the finished thread is returned, not re-run
    assert "__metadata__" not in again.stderr


def test_a_checkpointed_run_without_a_thread_id_prints_the_one_it_made(tmp_path: Path) -> None:
    import re

    database = tmp_path / "runs.sqlite"
    args = ("--task", "A haiku about autumn", "--model", "fake", "--max-rounds", "0", "--checkpoint", str(database))
    first = _cli(*args, "--out", str(tmp_path / "c.json"))
    assert first.returncode == 0, first.stderr
    found = re.search(r"thread id: (\w+) \(resume with --checkpoint", first.stderr)
    assert found, first.stderr
    again = _cli(*args, "--thread-id", found.group(1), "--out", str(tmp_path / "again.json"))
    assert again.returncode == 0 and "induce" not in again.stderr
    assert (tmp_path / "c.json").read_text() == (tmp_path / "again.json").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--samples", "/nonexistent/samples.jsonl"), "no such samples file"),
        (("--thread-id", "t"), "--thread-id needs --checkpoint"),
        (("--max-rounds", "-1"), "max_rounds must be >= 0"),
        (("--thinking", "inducer=maybe"), "--thinking takes ROLE=on|off"),
        (("--model", "nonsense-provider:x"), ""),
    ],
)
def test_errors_are_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = _cli(
        "--task",
        "A haiku",
        "--out",
        str(tmp_path / "c.json"),
        *(("--model", "fake") if "--model" not in args else ()),
        *args,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and message in result.stderr
    assert not (tmp_path / "c.json").exists()


def test_thinking_and_the_discrimination_check_are_options(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    result = _cli("--task", "A haiku about autumn", "--model", "fake", "--max-rounds", "0", "--max-critique-rounds",
                  "1", "--no-discrimination-check", "--thinking", "critic=on", "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert CriteriaSet.model_validate_json(out.read_text()).criteria
