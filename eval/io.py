"""Input files and the output folder: strict JSONL reading, append-only caches, atomic writes.

Bad input is one `EvalInputError` naming the file, the line and the key, raised before anything is
written. The output folder holds append-only JSONL logs (one line per generation or judgement, flushed
as soon as it exists), so a killed run loses nothing it finished; a torn last line is ignored on resume.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "prompts.jsonl"
    >>> _ = path.write_text('{"prompt": "Write a haiku."}\\n{"text": "no prompt"}\\n')
    >>> try:
    ...     read_prompts(path)
    ... except EvalInputError as error:
    ...     print(str(error).split(": ", 1)[1])
    line 2: missing key 'prompt'
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from writer_r1.core.errors import UserError

logger = logging.getLogger(__name__)


class EvalInputError(UserError):
    """A bad input file: the message names the file, the line and the key."""


class PromptItem(BaseModel):
    """One prompt to evaluate; `row` keeps every key of the input line (criteria, constraints, rubric ...)."""

    model_config = ConfigDict(frozen=True)

    id: str
    prompt: str
    line: int = 0
    row: dict[str, Any] = Field(default_factory=dict)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line; a blank line before the last non-blank one is an error."""
    if not path.is_file():
        raise EvalInputError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise EvalInputError(f"{path}: not UTF-8 text ({error.reason})") from error
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise EvalInputError(f"{path}: the file is empty")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise EvalInputError(f"{path}: line {number}: blank line (one JSON object per line, no gaps)")
        yield number, line


def read_jsonl(path: str | os.PathLike[str], required: Sequence[str] = ()) -> list[tuple[int, dict[str, Any]]]:
    """Every row of a JSONL file with its line number; each row must be an object holding `required` keys."""
    path = Path(path)
    rows = []
    for number, line in _lines(path):
        try:
            row = json.loads(line)
        except ValueError as error:  # JSONDecodeError, or a number too long to convert
            detail = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            raise EvalInputError(f"{path}: line {number}: not valid JSON ({detail})") from error
        if not isinstance(row, dict):
            raise EvalInputError(f"{path}: line {number}: expected a JSON object, got {type(row).__name__}")
        for key in required:
            if key not in row:
                raise EvalInputError(f"{path}: line {number}: missing key {key!r}")
        rows.append((number, row))
    return rows


def _string(path: Path, number: int, row: dict[str, Any], key: str) -> str:
    value = row[key]
    if not isinstance(value, str) or not value.strip():
        raise EvalInputError(f"{path}: line {number}: key {key!r} must be a non-empty string")
    return value


def read_prompts(path: str | os.PathLike[str], prompt_key: str = "prompt") -> list[PromptItem]:
    """Prompt rows: `prompt` (or HelloBench's `instruction`, WritingBench's `query` when no `prompt`), an
    optional `id` (or `key`, `index`); ids and prompts must be unique."""
    path = Path(path)
    items: list[PromptItem] = []
    seen: dict[str, int] = {}
    for number, row in read_jsonl(path):
        key = prompt_key if prompt_key in row else next((k for k in ("instruction", "query") if k in row), prompt_key)
        if key not in row:
            raise EvalInputError(f"{path}: line {number}: missing key {prompt_key!r}")
        prompt = _string(path, number, row, key)
        raw_id = next((row[k] for k in ("id", "key", "index") if k in row), None)
        item_id = str(raw_id) if raw_id is not None else f"line-{number}"
        for name, value in (("id", item_id), ("prompt", prompt)):
            marker = f"{name}:{value}"
            if marker in seen:
                raise EvalInputError(f"{path}: line {number}: duplicate {name} (first on line {seen[marker]})")
            seen[marker] = number
        items.append(PromptItem(id=item_id, prompt=prompt, line=number, row=row))
    return items


def read_responses(path: str | os.PathLike[str]) -> dict[str, str]:
    """A responses file: rows with `prompt` and `response` (a string), mapped prompt → response."""
    path = Path(path)
    responses: dict[str, str] = {}
    for number, row in read_jsonl(path, ("prompt", "response")):
        if not isinstance(row["response"], str):
            raise EvalInputError(f"{path}: line {number}: key 'response' must be a string")
        responses[_string(path, number, row, "prompt")] = row["response"]
    return responses


def check_covers(
    responses: dict[str, str], items: Sequence[PromptItem], responses_path: Path, prompts_path: Path
) -> None:
    """Every prompt has a response, else one error naming the first uncovered prompt."""
    missing = [item for item in items if item.prompt not in responses]
    if missing:
        first = missing[0]
        raise EvalInputError(
            f"{responses_path}: no response for the prompt on line {first.line} of {prompts_path} "
            f"(key 'prompt': {first.prompt[:60]!r}); {len(missing)} of {len(items)} prompts are not covered"
        )


# --- output folder -------------------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    write_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


class JsonlLog:
    """An append-only JSONL file: `rows()` reads what is there (a torn last line is dropped), `append`
    writes and flushes one line at once. Thread-safe; safe to reopen after a killed run."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        rows = []
        lines = self.path.read_text(encoding="utf-8").split("\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                if number >= len(lines) - 1:  # the last line of a killed run
                    logger.warning("%s: dropping a torn last line", self.path)
                    self._truncate_torn_tail(line)
                    continue
                raise EvalInputError(f"{self.path}: line {number}: not valid JSON (the cache is damaged)") from None
            if isinstance(row, dict):
                rows.append(row)
        return rows

    def _truncate_torn_tail(self, line: str) -> None:
        data = self.path.read_bytes()
        tail = line.encode("utf-8")
        if data.endswith(tail):
            with self._lock, open(self.path, "r+b") as handle:
                handle.truncate(len(data) - len(tail))

    def append(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
