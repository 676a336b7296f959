"""IFEval's input and response files: a bad row is an error that names the file, the line and the key."""

from __future__ import annotations

import json

import pytest
from writer_r1.constraints.errors import ConstraintError
from writer_r1.constraints.ifeval.evaluation import read_inputs, read_responses

GOOD = {"key": 1, "prompt": "Say hi.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def _write(path, rows) -> str:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return str(path)


def test_a_bad_input_row_names_file_line_and_key(tmp_path) -> None:
    path = _write(tmp_path / "input_data.jsonl", [GOOD, {**GOOD, "kwargs": "none"}])
    with pytest.raises(ConstraintError, match=r"input_data.jsonl:2: key 'kwargs': "):
        read_inputs(path)


def test_an_input_row_that_is_not_json_names_its_line(tmp_path) -> None:
    path = _write(tmp_path / "input_data.jsonl", [GOOD, "{not json"])
    with pytest.raises(ConstraintError, match=r"input_data.jsonl:2: "):
        read_inputs(path)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (7, "needs 'prompt' and 'response'"),
        ({"prompt": "Say hi.", "response": 3}, "key 'response' must be a string, got int"),
        ("{oops", "not a JSON object"),
    ],
)
def test_a_bad_response_row_is_a_clear_error(tmp_path, row, message) -> None:
    path = _write(tmp_path / "responses.jsonl", [{"prompt": "a", "response": "b"}, row])
    with pytest.raises(ConstraintError, match=rf"responses.jsonl:2: .*{message}"):
        read_responses(path)
