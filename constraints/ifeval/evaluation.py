"""IFEval evaluation in strict and loose mode, with the official output files and accuracies.

Strict mode checks each instruction on the response; loose mode passes an instruction when any of
eight variants passes: the response, the response without its first line, without its last line,
without both (each stripped), and those four with every `*` removed. A blank response fails every
instruction. Checks read `TextStats` memoised per text, so the tokenisation of a response is shared
by its instructions, by the loose variants and by the strict and loose passes.

Example:
    >>> row = {"key": 1, "prompt": "Say hi without commas.", "instruction_id_list": ["punctuation:no_comma"],
    ...        "kwargs": [{}]}
    >>> [r.follow_all_instructions for r in evaluate([row], {"Say hi without commas.": "Hi there"})]
    [True]
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from writer_r1.constraints.base import Checker
from writer_r1.constraints.errors import ConstraintArgumentError, ConstraintError
from writer_r1.constraints.registry import get_checker
from writer_r1.constraints.text import TextStats, analyze, on_clear_cache, prefetch_languages

logger = logging.getLogger(__name__)

Mode = Literal["strict", "loose"]
OUTPUT_FIELDS = ("follow_all_instructions", "follow_instruction_list", "instruction_id_list", "prompt", "response")


class IFEvalInput(BaseModel):
    """One row of IFEval's `input_data.jsonl`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: int | str | None = None
    prompt: str
    instruction_id_list: list[str]
    kwargs: list[dict[str, Any]]


class IFEvalResult(BaseModel):
    """The verdicts on one prompt's response, in the official output's fields."""

    model_config = ConfigDict(frozen=True)

    instruction_id_list: list[str]
    prompt: str
    response: str
    follow_all_instructions: bool
    follow_instruction_list: list[bool]

    def official_json(self) -> str:
        """One line of the official `eval_results_*.jsonl` (keys in the official, sorted order)."""
        return json.dumps({name: getattr(self, name) for name in OUTPUT_FIELDS})


class IFEvalAccuracy(BaseModel):
    """The four headline figures, with the counts behind them."""

    model_config = ConfigDict(frozen=True)

    prompt_level_strict: float
    instruction_level_strict: float
    prompt_level_loose: float
    instruction_level_loose: float
    prompts: int
    instructions: int
    counts: dict[str, int] = Field(default_factory=dict)


def loose_variants(response: str) -> list[str]:
    """The eight texts loose mode tries, in the official order."""
    lines = response.split("\n")
    without_first = "\n".join(lines[1:]).strip()
    without_last = "\n".join(lines[:-1]).strip()
    without_both = "\n".join(lines[1:-1]).strip()
    return [
        response,
        response.replace("*", ""),
        without_first,
        without_last,
        without_both,
        without_first.replace("*", ""),
        without_last.replace("*", ""),
        without_both.replace("*", ""),
    ]


def build_checkers(row: IFEvalInput) -> list[Checker]:
    """The checkers of one input row (`None`-valued kwargs are treated as absent)."""
    if len(row.kwargs) != len(row.instruction_id_list):
        raise ConstraintArgumentError(
            str(row.key), f"{len(row.instruction_id_list)} instruction ids but {len(row.kwargs)} kwargs"
        )
    checkers = []
    for instruction_id, kwargs in zip(row.instruction_id_list, row.kwargs, strict=True):
        clean = {name: value for name, value in kwargs.items() if value is not None}
        # repr tells apart every JSON value (1, 1.0, True and "1" differ), so equal keys mean equal arguments
        key = (instruction_id, repr(sorted(clean.items())))
        checker = _CHECKERS.get(key)
        if checker is None:
            if len(_CHECKERS) >= _CHECKERS_LIMIT:
                _CHECKERS.clear()
            checker = _CHECKERS[key] = get_checker(instruction_id, **clean)
        checkers.append(checker)
    return checkers


# Checkers are immutable once validated, so rows with the same instruction and arguments share one
# (IFEval repeats most of them), and the checkers built for each input row object (rows are frozen)
# are kept, so that a strict and a loose pass over the same rows use the same checker objects and
# share their verdicts on the responses. Emptied with the text caches
# (`writer_r1.constraints.text.clear_cache`).
_CHECKERS: dict[tuple[str, str], Checker] = {}
_CHECKERS_LIMIT = 1 << 16
_ROW_CHECKERS: dict[int, tuple[IFEvalInput, list[Checker]]] = {}
_ROW_CHECKERS_LIMIT = 1 << 16
on_clear_cache(_CHECKERS.clear)
on_clear_cache(_ROW_CHECKERS.clear)


def _row_checkers(row: IFEvalInput) -> list[Checker]:
    known = _ROW_CHECKERS.get(id(row))
    if known is not None and known[0] is row:
        return known[1]
    checkers = build_checkers(row)
    if len(_ROW_CHECKERS) >= _ROW_CHECKERS_LIMIT:
        _ROW_CHECKERS.clear()
    _ROW_CHECKERS[id(row)] = (row, checkers)  # the entry keeps the row alive, so its id is not reused
    return checkers


def _follows(checker: Checker, stats: TextStats) -> bool:
    verdicts = stats.verdicts
    known = verdicts.get(checker)
    if known is None:
        known = verdicts[checker] = bool(stats.stripped) and checker.measure(stats).passed
    return known


def _prefetch(pairs: Iterable[tuple[Checker, TextStats]]) -> None:
    prefetch_languages([stats for checker, stats in pairs if stats.stripped and checker.needs_language(stats)])


def _verdicts(jobs: list[tuple[list[Checker], str]], mode: Mode) -> list[list[bool]]:
    """Verdicts per row. Language detection is batched: first on the responses, then (loose mode)
    on the variants of the instructions that the response itself does not satisfy."""
    if mode not in ("strict", "loose"):
        raise ValueError(f"mode must be 'strict' or 'loose', got {mode!r}")
    originals = [analyze(response) for _, response in jobs]
    _prefetch((checker, stats) for (checkers, _), stats in zip(jobs, originals, strict=True) for checker in checkers)
    verdicts = [
        [_follows(checker, stats) for checker in checkers] for (checkers, _), stats in zip(jobs, originals, strict=True)
    ]
    if mode == "strict":
        return verdicts
    pending: list[tuple[int, int, list[TextStats]]] = []
    for row_index, ((_checkers, response), row_verdicts) in enumerate(zip(jobs, verdicts, strict=True)):
        failed = [i for i, ok in enumerate(row_verdicts) if not ok]
        if failed:
            variants = [analyze(text) for text in loose_variants(response)[1:]]
            pending.extend((row_index, i, variants) for i in failed)
    _prefetch((jobs[r][0][i], stats) for r, i, variants in pending for stats in variants)
    for row_index, i, variants in pending:
        checker = jobs[row_index][0][i]
        verdicts[row_index][i] = any(_follows(checker, stats) for stats in variants)
    return verdicts


def evaluate_row(row: IFEvalInput, response: str, mode: Mode = "strict") -> IFEvalResult:
    """Check one prompt's response in `mode`."""
    return _result(row, response, _verdicts([(build_checkers(row), response)], mode)[0])


def _result(row: IFEvalInput, response: str, verdicts: list[bool]) -> IFEvalResult:
    return IFEvalResult(
        instruction_id_list=list(row.instruction_id_list),
        prompt=row.prompt,
        response=response,
        follow_all_instructions=all(verdicts),
        follow_instruction_list=verdicts,
    )


def _rows(inputs: Iterable[IFEvalInput | Mapping[str, Any]]) -> list[IFEvalInput]:
    return [row if isinstance(row, IFEvalInput) else IFEvalInput.model_validate(row) for row in inputs]


def evaluate(
    inputs: Iterable[IFEvalInput | Mapping[str, Any]], responses: Mapping[str, str], mode: Mode = "strict"
) -> list[IFEvalResult]:
    """One result per input row; `responses` maps each prompt to its response.

    A prompt without a response is an error (as in the official code), reported with its key.
    """
    rows = _rows(inputs)
    for row in rows:
        if row.prompt not in responses:
            raise ConstraintError(f"no response for prompt {row.key!r}: {row.prompt[:60]!r}")
    jobs = [(_row_checkers(row), responses[row.prompt]) for row in rows]
    verdicts = _verdicts(jobs, mode)
    return [_result(row, response, v) for row, (_, response), v in zip(rows, jobs, verdicts, strict=True)]


def accuracy(results: Sequence[IFEvalResult]) -> tuple[float, float, int, int, int, int]:
    """(prompt-level, instruction-level, prompts passed, prompts, instructions passed, instructions)."""
    prompts = len(results)
    prompts_ok = sum(r.follow_all_instructions for r in results)
    instructions = sum(len(r.follow_instruction_list) for r in results)
    instructions_ok = sum(sum(r.follow_instruction_list) for r in results)
    return (
        prompts_ok / prompts if prompts else 0.0,
        instructions_ok / instructions if instructions else 0.0,
        prompts_ok,
        prompts,
        instructions_ok,
        instructions,
    )


def accuracies(strict: Sequence[IFEvalResult], loose: Sequence[IFEvalResult]) -> IFEvalAccuracy:
    """Prompt-level and instruction-level accuracy in strict and loose mode."""
    ps, is_, ps_ok, prompts, is_ok, instructions = accuracy(strict)
    pl, il, pl_ok, _, il_ok, _ = accuracy(loose)
    return IFEvalAccuracy(
        prompt_level_strict=ps,
        instruction_level_strict=is_,
        prompt_level_loose=pl,
        instruction_level_loose=il,
        prompts=prompts,
        instructions=instructions,
        counts={
            "prompt_level_strict": ps_ok,
            "instruction_level_strict": is_ok,
            "prompt_level_loose": pl_ok,
            "instruction_level_loose": il_ok,
        },
    )


def _first_error(error: ValidationError) -> str:
    detail = error.errors()[0]
    where = ".".join(str(part) for part in detail.get("loc", ()))
    return f"key {where!r}: {detail['msg']}" if where else detail["msg"]


def read_inputs(path: str | Path) -> list[IFEvalInput]:
    """Read IFEval's `input_data.jsonl`; a bad row is an error naming the file, the line and the key."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(IFEvalInput.model_validate_json(line))
            except ValidationError as error:
                raise ConstraintError(f"{path}:{number}: {_first_error(error)}") from error
    return rows


def read_responses(path: str | Path) -> dict[str, str]:
    """Read a responses file (`prompt`, `response` per line) into a prompt → response map."""
    responses: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                raise ConstraintError(f"{path}:{number}: not a JSON object ({error})") from error
            if not isinstance(row, dict) or "prompt" not in row or "response" not in row:
                raise ConstraintError(f"{path}:{number}: a response row needs 'prompt' and 'response'")
            for key in ("prompt", "response"):
                if not isinstance(row[key], str):
                    raise ConstraintError(
                        f"{path}:{number}: key {key!r} must be a string, got {type(row[key]).__name__}"
                    )
            responses[row["prompt"]] = row["response"]
    return responses


def write_official_results(
    inputs: Iterable[IFEvalInput | Mapping[str, Any]],
    responses: Mapping[str, str],
    output_dir: str | Path,
) -> IFEvalAccuracy:
    """Write `eval_results_strict.jsonl` and `eval_results_loose.jsonl` as the official tool does.

    Returns the four accuracies.
    """
    rows = _rows(inputs)
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    by_mode = {}
    for mode in ("strict", "loose"):
        results = evaluate(rows, responses, mode)  # type: ignore[arg-type]
        with open(directory / f"eval_results_{mode}.jsonl", "w", encoding="utf-8") as handle:
            for result in results:
                handle.write(result.official_json() + "\n")
        by_mode[mode] = results
    return accuracies(by_mode["strict"], by_mode["loose"])
