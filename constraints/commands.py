"""CLI commands: `ifeval` (drop-in for the official evaluation) and `text` (check one text).

The root CLI mounts `app`; errors are `typer.BadParameter` or `UserError`s, printed as one line.

Example:
    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["text", "--task", "Write at most 5 words.", "--text", "-"],
    ...                             input="Short and sweet.")
    >>> result.exit_code
    0
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Verify constraints", no_args_is_help=True)


def _console() -> Console:
    return Console()


@app.command("ifeval")
def ifeval_command(
    input_data: Annotated[Path, typer.Option("--input-data", help="IFEval input_data.jsonl")],
    responses: Annotated[Path, typer.Option("--responses", help="JSONL with prompt and response per line")],
    output_dir: Annotated[Path, typer.Option("--output-dir", help="where eval_results_{strict,loose}.jsonl go")],
) -> None:
    """Evaluate responses like IFEval's official command: two result files and the four accuracies."""
    from writer_r1.constraints.ifeval import read_inputs, read_responses, write_official_results

    for option, path in (("--input-data", input_data), ("--responses", responses)):
        if not path.is_file():
            raise typer.BadParameter(f"no such file: {path}", param_hint=option)
    accuracy = write_official_results(read_inputs(input_data), read_responses(responses), output_dir)
    table = Table(title=f"IFEval: {accuracy.prompts} prompts, {accuracy.instructions} instructions")
    table.add_column("metric")
    table.add_column("accuracy", justify="right")
    table.add_column("count", justify="right")
    for key, total in (
        ("prompt_level_strict", accuracy.prompts),
        ("instruction_level_strict", accuracy.instructions),
        ("prompt_level_loose", accuracy.prompts),
        ("instruction_level_loose", accuracy.instructions),
    ):
        table.add_row(key.replace("_", " "), f"{getattr(accuracy, key):.4f}", f"{accuracy.counts[key]}/{total}")
    console = _console()
    console.print(table)
    console.print(f"wrote {output_dir / 'eval_results_strict.jsonl'} and {output_dir / 'eval_results_loose.jsonl'}")


@app.command("text")
def text_command(
    task: Annotated[str, typer.Option("--task", help="the writing task the text answers")],
    text: Annotated[str, typer.Option("--text", help="file with the text to check ('-' reads stdin)")],
    model: Annotated[str | None, typer.Option("--model", help="model spec for extraction and LLM checks")] = None,  # noqa: UP007
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server URL")] = None,  # noqa: UP007
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Extract the task's constraints and check a text against them."""
    from writer_r1.agents.extractor import ConstraintExtractor
    from writer_r1.constraints.verify import verify

    if text == "-":
        body = sys.stdin.read()
    else:
        path = Path(text)
        if not path.is_file():
            raise typer.BadParameter(f"no such file: {path}", param_hint="--text")
        body = path.read_text(encoding="utf-8")
    chat_model = None
    if model is not None:
        from writer_r1.core.models import load_chat_model

        chat_model = load_chat_model(model, base_url=base_url)
    specs = ConstraintExtractor(chat_model).extract(task)
    report = verify(body, specs, llm_verifier=chat_model)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in report.results], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(report.results)} constraints")
    table.add_column("constraint")
    table.add_column("kwargs")
    table.add_column("result")
    table.add_column("how")
    table.add_column("detail")
    for result in report.results:
        verdict = {True: "[green]pass[/]", False: "[red]fail[/]", None: "[yellow]unverified[/]"}[result.passed]
        kwargs = json.dumps(result.kwargs, ensure_ascii=False)
        table.add_row(result.id, kwargs, verdict, result.method, result.detail)
    console = _console()
    console.print(table)
    if not report.results:
        console.print("no checkable constraint found in the task")
