"""IFEval end to end: generate one response per prompt with a model, then verify with the official rules.

Writes, in the output folder: `responses.jsonl` (IFEval's `input_response_data` format, appended as
responses arrive, so a re-run generates only what is missing), `eval_results_strict.jsonl`,
`eval_results_loose.jsonl`, `summary.json` (the four official accuracies as fractions, with counts and
per-instruction accuracy), `failures.jsonl` (prompts whose generation failed after retries: they are
left out of the accuracies and listed, never scored as empty responses) and `report.html`.

IFEval's `input_data.jsonl` ships with the package (Apache-2.0, notice in `eval/data/NOTICE`).

Example:
    >>> import tempfile
    >>> summary = run_ifeval("fake", output_dir=tempfile.mkdtemp(), limit=3, progress=False)
    >>> summary.prompts, 0.0 <= summary.prompt_level_strict <= 1.0
    (3, True)
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, ValidationError
from writer_r1.constraints.ifeval.evaluation import IFEvalInput, IFEvalResult, accuracies, evaluate
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.eval.generation import ResponseCache, generate_all
from writer_r1.eval.io import EvalInputError, PromptItem, read_jsonl, write_atomic, write_json, write_jsonl
from writer_r1.eval.progress import EvalProgress
from writer_r1.eval.systems import ModelSystem

logger = logging.getLogger(__name__)

IFEVAL_INPUT_DATA = Path(__file__).resolve().parent / "data" / "ifeval_input_data.jsonl"
"""IFEval's `input_data.jsonl` (541 prompts), shipped with the package."""


class IFEvalSummary(BaseModel):
    """What `summary.json` holds: the four official accuracies (fractions of the prompts that have a
    response), their counts, per-instruction accuracy, and the prompts whose generation failed."""

    model_config = ConfigDict(frozen=True)

    prompt_level_strict: float
    instruction_level_strict: float
    prompt_level_loose: float
    instruction_level_loose: float
    prompts: int
    instructions: int
    counts: dict[str, int]
    failed: int
    failures: dict[str, str]
    complete: bool
    model: str
    per_instruction: dict[str, dict[str, float | int]]


def read_ifeval_inputs(path: str | os.PathLike[str]) -> list[IFEvalInput]:
    """IFEval input rows, each checked; a bad row is one error naming the file, line and key."""
    rows = []
    for number, row in read_jsonl(path, ("key", "prompt", "instruction_id_list", "kwargs")):
        try:
            rows.append(IFEvalInput.model_validate(row))
        except ValidationError as error:
            first = error.errors()[0]
            key = ".".join(str(part) for part in first["loc"])
            raise EvalInputError(f"{path}: line {number}: key {key!r}: {first['msg']}") from error
    return rows


def per_instruction_accuracy(
    strict: list[IFEvalResult], loose: list[IFEvalResult]
) -> dict[str, dict[str, float | int]]:
    """Accuracy per instruction id: `{id: {"n", "strict", "loose"}}`."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for strict_row, loose_row in zip(strict, loose, strict=True):
        for instruction, s_ok, l_ok in zip(
            strict_row.instruction_id_list,
            strict_row.follow_instruction_list,
            loose_row.follow_instruction_list,
            strict=True,
        ):
            entry = tally[instruction]
            entry[0] += 1
            entry[1] += int(s_ok)
            entry[2] += int(l_ok)
    return {key: {"n": n, "strict": s / n, "loose": lo / n} for key, (n, s, lo) in sorted(tally.items())}


async def arun_ifeval(
    model: str | BaseChatModel,
    *,
    output_dir: str | os.PathLike[str],
    base_url: str | None = None,
    input_data: str | os.PathLike[str] | None = None,
    concurrency: int = 8,
    limit: int | None = None,
    progress: bool = True,
    model_kwargs: dict[str, Any] | None = None,
) -> IFEvalSummary:
    """`run_ifeval` in a running event loop."""
    if concurrency < 1:
        raise EvalInputError(f"--concurrency must be >= 1, got {concurrency}")
    inputs = read_ifeval_inputs(input_data or IFEVAL_INPUT_DATA)
    if limit is not None:
        inputs = inputs[:limit]
    system = ModelSystem(model, base_url=base_url, model_kwargs=model_kwargs)
    system.check()
    items = [PromptItem(id=str(row.key), prompt=row.prompt) for row in inputs]
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    cache = ResponseCache(directory / "responses.jsonl", official=True)
    with EvalProgress(enabled=progress) as bars:
        done = sum(cache.response(item) is not None for item in items)
        stage = bars.stage("generate", total=len(items), completed=done)
        failed = 0

        def on_done(item: PromptItem, text: str | None) -> None:
            nonlocal failed
            failed += text is None
            bars.advance(stage, note=f"{failed} failed" if failed else "")

        todo = [item for item in items if cache.response(item) is None]
        await generate_all(system, todo, cache, concurrency=concurrency, on_done=on_done)
    responses = {item.prompt: text for item in items if (text := cache.response(item)) is not None}
    answered = [row for row in inputs if row.prompt in responses]
    strict = evaluate(answered, responses, "strict")
    loose = evaluate(answered, responses, "loose")
    figures = accuracies(strict, loose)
    failures = {
        item.id: reason
        for item, reason in ((i, cache.failures().get(i.id)) for i in items)
        if item.prompt not in responses and reason is not None
    }
    for item in items:  # answered in no run and never attempted here: cannot happen, but never silently
        if item.prompt not in responses and item.id not in failures:
            failures[item.id] = "no response was generated"
    summary = IFEvalSummary(
        **figures.model_dump(
            include={
                "prompt_level_strict",
                "instruction_level_strict",
                "prompt_level_loose",
                "instruction_level_loose",
                "prompts",
                "instructions",
                "counts",
            }
        ),
        failed=len(failures),
        failures=failures,
        complete=not failures,
        model=system.name,
        per_instruction=per_instruction_accuracy(strict, loose),
    )
    for mode, results in (("strict", strict), ("loose", loose)):
        write_atomic(directory / f"eval_results_{mode}.jsonl", "".join(r.official_json() + "\n" for r in results))
    write_jsonl(directory / "failures.jsonl", [{"key": key, "reason": reason} for key, reason in failures.items()])
    write_json(directory / "summary.json", summary.model_dump(mode="json"))
    from writer_r1.eval.report import ifeval_report

    ifeval_report(directory, summary, strict)
    if failures:
        logger.warning(
            "%d of %d generations failed; they are listed in failures.jsonl and left out of the "
            "accuracies (re-run with the same --output-dir to retry them)",
            len(failures),
            len(items),
        )
    return summary


def run_ifeval(model: str | BaseChatModel, *, output_dir: str | os.PathLike[str], **options: Any) -> IFEvalSummary:
    """Generate IFEval responses with `model` (resuming what `output_dir` already holds) and verify them.

    Options: `base_url`, `input_data` (default: the shipped IFEval prompts), `concurrency`, `limit`
    (the first N prompts), `progress`, `model_kwargs`.
    """
    return run_sync(arun_ifeval(model, output_dir=output_dir, **options))
