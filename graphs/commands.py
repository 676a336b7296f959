"""CLI: `writer-r1 criteria build` — build a criteria set with the Grounded-Theory graph, showing each stage.

Example:
    >>> from typer.testing import CliRunner
    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "criteria.json")
    >>> result = CliRunner().invoke(app, ["build", "--task", "A haiku about autumn", "--model", "fake",
    ...                                   "--max-rounds", "0", "--max-critique-rounds", "0", "--out", out])
    >>> result.exit_code, os.path.isfile(out)
    (0, True)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.errors import UserError

if TYPE_CHECKING:
    from writer_r1.graphs.state import Sample

app = typer.Typer(help="Build criteria with the Grounded-Theory graph.", no_args_is_help=True)

SAMPLE_SEPARATOR = "---"


@app.callback()
def _group() -> None:
    """Build criteria with the Grounded-Theory graph."""  # a callback keeps `build` a subcommand


def read_samples(path: Path) -> list[str]:
    """Sample texts from a JSONL file of {"text": ...} objects, or a text file with samples separated by `---` lines."""
    return [sample.text for sample in read_sample_records(path)]


def read_sample_records(path: Path) -> list[Sample]:
    """Samples with their optional human comment: JSONL rows {"text": ..., "comment": ...} (the comment goes to the
    coder of that text as evidence), or a text file with samples separated by `---` lines (no comments)."""
    from writer_r1.graphs.state import Sample

    if not path.is_file():
        raise UserError(f"no such samples file: {path}")
    content = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".jsonl", ".json"}:
        samples: list[Sample] = []
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise UserError(f"{path}:{number}: not a JSON object: {error.msg}") from error
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise UserError(f'{path}:{number}: expected an object with a "text" string')
            comment = record.get("comment")
            if comment is not None and not isinstance(comment, str):
                raise UserError(f'{path}:{number}: "comment" must be a string')
            samples.append(Sample(text=record["text"], comment=comment))
    else:
        texts: list[str] = []
        current: list[str] = []
        for line in content.splitlines():
            if line.strip() == SAMPLE_SEPARATOR:
                texts.append("\n".join(current))
                current = []
            else:
                current.append(line)
        texts.append("\n".join(current))
        samples = [Sample(text=text) for text in texts]
    samples = [
        Sample(text=sample.text.strip(), comment=(sample.comment or "").strip() or None)
        for sample in samples
        if sample.text.strip()
    ]
    if not samples:
        raise UserError(f"{path} holds no sample text")
    return samples


def _thinking(values: list[str] | None) -> dict[str, bool] | None:
    from writer_r1.graphs.context import parse_thinking

    try:
        return parse_thinking(values)
    except ValueError as error:
        raise UserError(str(error)) from error


def describe_update(node: str, update: dict[str, Any]) -> str:
    """One line for a finished node, for the progress display."""
    if node == "sample":
        return f"sample    {len(update.get('texts', []))} texts in hand ({update.get('coded_upto', 0) - update.get('batch_start', 0)} to code)"
    if node == "code":
        tally = (update.get("tallies") or [None])[0]
        if tally is None:
            return "code      (no result)"
        what = "task statement" if tally.source == -1 else f"text {tally.source}"
        if tally.error:
            return f"code      {what}: failed ({tally.error})"
        return f"code      {what}: {tally.kept} kept, {tally.dropped_quotes} dropped (quote not in the text)"
    if node == "induce":
        draft: CriteriaSet | None = update.get("draft")
        if draft is None:
            return "induce    kept the previous criteria"
        return f"induce    {len(draft.dimensions)} dimensions, {len(draft.criteria)} criteria, {len(draft.constraints)} constraints"
    if node == "saturate":
        gap = update.get("saturation_gap")
        return f"saturate  round {update.get('rounds')}: gap {'n/a' if gap is None else f'{gap:.2f}'}"
    if node == "critique":
        verdict = update.get("critique")
        if verdict is None:
            return "critique  skipped (the critic failed)"
        return f"critique  {'approved' if verdict.approved else f'{len(verdict.issues)} issue(s)'}" + (
            f": {verdict.summary}" if verdict.summary else ""
        )
    if node == "finalize":
        criteria: CriteriaSet = update["criteria"]
        return f"finalize  version {criteria.version}"
    return node


@app.command("build")
def build_command(
    task: Annotated[str, typer.Option("--task", help="The writing task (a prompt or a genre).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the CriteriaSet JSON.")],
    samples: Annotated[
        Path | None,
        typer.Option(
            "--samples",
            help='JSONL of {"text": ..., "comment": ...} (comment optional), or a text file with samples separated '
            'by "---" lines.',
        ),
    ] = None,
    seed: Annotated[Path | None, typer.Option("--seed", help="A criteria JSON file to refine.")] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model spec: fake | openai:MODEL | hf:MODEL ...; default: WRITER_R1_MODEL."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible server for openai: specs.")
    ] = None,
    min_samples: Annotated[int, typer.Option("--min-samples", help="Texts to ground the criteria in.")] = 3,
    samples_per_round: Annotated[
        int, typer.Option("--samples-per-round", help="Fresh texts per saturation round.")
    ] = 2,
    max_rounds: Annotated[int, typer.Option("--max-rounds", help="Most saturation rounds.")] = 2,
    saturation_threshold: Annotated[
        float, typer.Option("--saturation-threshold", help="Stop sampling at this gap.")
    ] = 0.2,
    max_critique_rounds: Annotated[int, typer.Option("--max-critique-rounds", help="Most critic reviews.")] = 2,
    max_concurrency: Annotated[int, typer.Option("--max-concurrency", help="Most model calls at once.")] = 8,
    discrimination_check: Annotated[
        bool,
        typer.Option(
            "--discrimination-check/--no-discrimination-check",
            help="Judge each criterion on the texts its strength and weakness codes came from before each review.",
        ),
    ] = True,
    thinking: Annotated[
        list[str] | None,
        typer.Option("--thinking", help="ROLE=on|off: a reasoning model's thinking for one role (repeatable)."),
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="SQLite file for a resumable run (with --thread-id).")
    ] = None,
    thread_id: Annotated[str | None, typer.Option("--thread-id", help="Run id to resume from --checkpoint.")] = None,
) -> None:
    """Build criteria for a task and write them as JSON; each stage is shown as it finishes."""
    from writer_r1.core.asyncio_utils import run_sync
    from writer_r1.graphs.criteria import abuild_criteria

    if thread_id and checkpoint is None:
        raise UserError("--thread-id needs --checkpoint")
    seed_criteria = None
    if seed is not None:
        if not seed.is_file():
            raise UserError(f"no such criteria file: {seed}")
        try:
            seed_criteria = CriteriaSet.load(str(seed))
        except ValueError as error:
            raise UserError(f"{seed}: not a valid criteria file: {str(error).splitlines()[0]}") from error
    texts = read_sample_records(samples) if samples is not None else None
    console = Console(stderr=True)
    if checkpoint is not None and not thread_id:
        import uuid

        thread_id = uuid.uuid4().hex
        console.print(
            f"thread id: {thread_id} (resume with --checkpoint {checkpoint} --thread-id {thread_id})",
            highlight=False,
            markup=False,
        )

    with console.status("building criteria ...") as status:

        def show(node: str, update: dict[str, Any]) -> None:
            if node.startswith("__"):  # LangGraph's own entries (e.g. __metadata__ of a resumed run)
                return
            console.print(f"[green]✓[/] {describe_update(node, update)}", highlight=False)
            status.update(f"building criteria ... (last: {node})")

        criteria = run_sync(
            abuild_criteria(
                task,
                model=model,
                base_url=base_url,
                samples=texts,
                seed_criteria=seed_criteria,
                checkpointer=str(checkpoint) if checkpoint else None,
                thread_id=thread_id,
                on_update=show,
                min_samples=min_samples,
                samples_per_round=samples_per_round,
                max_rounds=max_rounds,
                saturation_threshold=saturation_threshold,
                max_critique_rounds=max_critique_rounds,
                max_concurrency=max_concurrency,
                discrimination_check=discrimination_check,
                thinking=_thinking(thinking),
            )
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(criteria.model_dump_json(indent=2) + "\n", encoding="utf-8")
    console.print(
        f"wrote {out}: {len(criteria.dimensions)} dimensions, {len(criteria.criteria)} criteria, "
        f"{len(criteria.constraints)} constraints (version {criteria.version})",
        highlight=False,
    )
    for note in criteria.provenance.notes:
        console.print(f"  note: {note}", highlight=False, markup=False)
