"""Input files and the output folder's append-only logs."""

from __future__ import annotations

import re

import pytest
from writer_r1.eval.io import EvalInputError, JsonlLog, read_prompts, read_responses


def test_a_torn_last_line_from_a_killed_run_is_dropped_and_appending_continues(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"id": "1", "response": "done"}\n{"id": "2", "resp')
    log = JsonlLog(path)
    assert log.rows() == [{"id": "1", "response": "done"}]
    log.append({"id": "2", "response": "again"})
    assert [row["id"] for row in JsonlLog(path).rows()] == ["1", "2"]


def test_damage_before_the_last_line_is_an_error(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"id": "1"}\nnot json\n{"id": "3"}\n')
    with pytest.raises(EvalInputError, match="line 2: not valid JSON"):
        JsonlLog(path).rows()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ('{"prompt": "a"}\n{"prompt": "a"}\n', "line 2: duplicate prompt (first on line 1)"),
        ('{"id": 1, "prompt": "a"}\n{"id": 1, "prompt": "b"}\n', "line 2: duplicate id"),
        ('{"prompt": ""}\n', "line 1: key 'prompt' must be a non-empty string"),
        ("[1, 2]\n", "line 1: expected a JSON object"),
    ],
)
def test_prompt_files(tmp_path, content, message):
    path = tmp_path / "p.jsonl"
    path.write_text(content)
    with pytest.raises(EvalInputError, match=re.escape(message)):
        read_prompts(path)


def test_trailing_blank_lines_are_fine_and_benchmark_keys_are_read(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"index": 7, "query": "Write a slogan."}\n{"id": "h1", "instruction": "Write a story."}\n\n\n')
    items = read_prompts(path)
    assert [(i.id, i.prompt, i.line) for i in items] == [("7", "Write a slogan.", 1), ("h1", "Write a story.", 2)]


def test_responses_need_a_string_response(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"prompt": "a", "response": null}\n')
    with pytest.raises(EvalInputError, match="line 1: key 'response' must be a string"):
        read_responses(path)
