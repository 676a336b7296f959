"""CLI command `writer-r1 reflect`: improve a draft for a task with the MRPO reflection loop.

Progress goes to stderr as the graph runs (each evaluated draft with its overall and dimension scores, and
whether it was accepted); the best draft goes to stdout, or with `--json` the `ReflectionResult` JSON only.
`--model fake` runs the whole pipeline offline.

Example:
    >>> import json, tempfile, typer
    >>> from typer.testing import CliRunner
    >>> path = f"{tempfile.mkdtemp()}/criteria.json"
    >>> _ = open(path, "w").write(EXAMPLE_CRITERIA)
    >>> app = typer.Typer(); _ = app.command("reflect")(reflect_command); _ = app.command("other")(lambda: None)
    >>> result = CliRunner().invoke(app, ["reflect", "--task", "A haiku about frost", "--model", "fake",
    ...     "--criteria", path, "--max-iterations", "1", "--json"])
    >>> result.exit_code, json.loads(result.stdout)["iterations"] <= 1
    (0, True)
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from writer_r1.agents.commands import _read_text, load_criteria_file
from writer_r1.core.criteria import ConstraintSpec, CriteriaSet
from writer_r1.core.errors import UserError

EXAMPLE_CRITERIA = json.dumps(
    {
        "task": "a haiku",
        "dimensions": [
            {
                "name": "Craft",
                "criteria": [
                    {
                        "id": "imagery",
                        "name": "Imagery",
                        "description": "Concrete sensory images",
                        "levels": [{"anchor": "abstract"}, {"anchor": "some images"}, {"anchor": "vivid"}],
                    }
                ],
            }
        ],
    }
)


def _constraints(source: str) -> list[ConstraintSpec]:
    text = _read_text(source)
    try:
        raw = json.loads(text)
        items = raw.get("constraints", raw) if isinstance(raw, dict) else raw
        return [ConstraintSpec.model_validate(item) for item in items]
    except (ValueError, TypeError, AttributeError) as error:
        raise UserError(f"invalid constraints {source}: expected a JSON list of {{id, kwargs}} ({error})") from error


def _task(task: str | None, task_file: Path | None) -> str:
    if task is not None and task_file is not None:
        raise UserError("give the task with --task or --task-file, not both")
    if task_file is not None:
        task = _read_text(str(task_file))
    if task is None or not task.strip():
        raise UserError("say what to write: --task 'TEXT' or --task-file FILE")
    return task


class ProgressView:
    """Renders graph updates to a console: criteria and constraints, each evaluated draft, each plan."""

    def __init__(self, console: Console):
        self.console = console
        self.criteria: CriteriaSet | None = None

    def custom(self, event: Any) -> None:
        if isinstance(event, dict) and event.get("criteria_choice"):
            self.console.print(f"[bold]criteria library[/]: {escape(event['criteria_choice'])}", highlight=False)

    def update(self, node: str, update: dict[str, Any]) -> None:
        if not update:
            return
        if node == "prepare":
            self.criteria = update["criteria"]
            constraints = update.get("constraints") or []
            self.console.print(
                f"[bold]criteria[/] {self.criteria.version}: {len(self.criteria.criteria)} criteria in "
                f"{len(self.criteria.dimensions)} dimensions; {len(constraints)} constraint(s)"
            )
        elif node == "draft":
            self.console.print(f"[bold]draft[/] written ({len(update['draft'].split())} words)")
        elif node == "accept":
            self._entry(update["history"][-1], best=update.get("best_index"))
        elif node == "reflect":
            reflection = update["reflection"]
            targets = ", ".join(reflection.targets) or "-"
            self.console.print(f"[bold]reflect[/] targets: {targets}", highlight=False)
            for step in reflection.plan[:5]:
                self.console.print(f"  • {step}", highlight=False, markup=False)
        elif node == "check" and update.get("stop_reason"):
            self.console.print(f"[bold]stop[/]: {update['stop_reason']}")

    def _entry(self, entry: Any, best: int | None) -> None:
        card = entry.scorecard
        table = Table(title=f"draft {entry.index}" + (" (first)" if entry.index == 0 else ""), title_justify="left")
        table.add_column("overall", justify="right")
        for dimension in card.dimensions:
            table.add_column(dimension.name, justify="right", overflow="fold")
        table.add_column("constraints", justify="right")
        table.add_column("result", overflow="fold")
        passed = sum(1 for r in card.constraints if r.passed is True)
        verdict = "[green]accepted[/]" if entry.accepted else "[red]rejected[/]"
        table.add_row(
            _score(card.overall),
            *(_score(d.score) for d in card.dimensions),
            f"{passed}/{len(card.constraints)}",
            f"{verdict} — {entry.verdict}",
        )
        self.console.print(table)


def _thinking(values: list[str] | None) -> dict[str, bool] | None:
    from writer_r1.graphs.context import parse_thinking

    try:
        return parse_thinking(values)
    except ValueError as error:
        raise UserError(str(error)) from error


def _score(value: float | None) -> str:
    return "unscored" if value is None else f"{value:.3f}"


def _check_models(context: Any) -> None:
    """Resolve the model specs the user gave now, so a bad spec fails in a second, not after the criteria."""
    from writer_r1.graphs.context import model_for

    if context.model is not None or context.judge_model is not None:
        model_for(context, "judge")
    if context.model is not None or context.reflector_model is not None:
        model_for(context, "reflector")


async def _run(task: str, inputs: dict[str, Any], context: Any, view: ProgressView) -> dict[str, Any]:
    from writer_r1.graphs.reflection import graph

    final: dict[str, Any] = {}
    async for mode, chunk in graph.astream(inputs, context=context, stream_mode=["updates", "values", "custom"]):
        if mode == "custom":
            view.custom(chunk)
        elif mode == "updates":
            for node, update in chunk.items():
                view.update(node, update or {})
        else:
            final = chunk
    return final


def _nonempty_draft(text: str, source: str) -> str:
    if not text.strip():
        raise UserError(
            f"the draft ({source}) is empty: give a draft with text, or leave out --draft to have one written"
        )
    return text


def reflect_command(
    task: Annotated[str | None, typer.Option("--task", help="what to write")] = None,  # noqa: UP007
    task_file: Annotated[Path | None, typer.Option("--task-file", help="file holding the task")] = None,  # noqa: UP007
    draft: Annotated[str | None, typer.Option("--draft", help="file with a draft to improve ('-': stdin)")] = None,  # noqa: UP007
    criteria: Annotated[
        Path | None, typer.Option("--criteria", help="criteria JSON file; default: from the library, else built")  # noqa: UP007
    ] = None,
    constraints: Annotated[
        str | None, typer.Option("--constraints", help="JSON list of constraints; default: extracted from the task")  # noqa: UP007
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="model spec: fake | openai:MODEL | hf:MODEL ...")] = None,  # noqa: UP007
    judge_model: Annotated[str | None, typer.Option("--judge-model", help="model spec of the judge")] = None,  # noqa: UP007
    reflector_model: Annotated[
        str | None, typer.Option("--reflector-model", help="model spec of the reflector")
    ] = None,  # noqa: UP007
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server URL")] = None,  # noqa: UP007
    memory: Annotated[
        str | None, typer.Option("--memory", help="experience memory: SQLite path or postgres:// URL")  # noqa: UP007
    ] = None,
    max_iterations: Annotated[int, typer.Option("--max-iterations", min=0, help="most revisions")] = 3,
    target_score: Annotated[
        float, typer.Option("--target-score", min=0.0, max=1.0, help="stop once the best scores this")
    ] = 0.85,
    patience: Annotated[int, typer.Option("--patience", min=1, help="stop after N revisions without gain")] = 2,
    min_gain: Annotated[float, typer.Option("--min-gain", min=0.0, max=1.0, help="least gain to accept")] = 0.01,
    pairwise_margin: Annotated[
        float,
        typer.Option("--pairwise-margin", min=0.0, max=1.0, help="below this gain, require a position-swapped win"),
    ] = 0.05,
    thinking: Annotated[
        list[str] | None,
        typer.Option("--thinking", help="ROLE=on|off: a reasoning model's thinking for one role (repeatable)"),
    ] = None,
    pairwise: Annotated[bool, typer.Option("--pairwise", help="also require a position-swapped pairwise win")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the ReflectionResult JSON only")] = False,
    no_library: Annotated[
        bool, typer.Option("--no-library", help="do not reuse or store criteria in the criteria library")
    ] = False,
) -> None:
    """Improve a draft for a task: judge it against criteria, reflect, revise, and keep the best."""
    from writer_r1.graphs.reflection import ReflectionResult, make_context, make_input

    if draft == "-" and constraints == "-":
        raise UserError("only one of --draft and --constraints can read stdin ('-')")
    text = _task(task, task_file)
    inputs = make_input(
        text,
        draft=_nonempty_draft(_read_text(draft), draft) if draft is not None else None,
        criteria=load_criteria_file(criteria) if criteria is not None else None,
        constraints=_constraints(constraints) if constraints is not None else None,
    )
    context = make_context(
        model=model,
        base_url=base_url,
        judge_model=judge_model,
        memory=memory,
        reflector_model=reflector_model,
        thinking=_thinking(thinking),
        pairwise_margin=pairwise_margin,
        max_iterations=max_iterations,
        target_score=target_score,
        patience=patience,
        min_gain=min_gain,
        pairwise_check=pairwise,
        use_library=not no_library,
    )
    _check_models(context)
    view = ProgressView(Console(stderr=True))
    final = asyncio.run(_run(text, inputs, context, view))
    result = ReflectionResult.from_output(final)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    card = result.best_scorecard
    view.console.print(
        f"[bold]best[/]: draft {max(e.index for e in result.history if e.accepted)}, "
        f"overall {_score(card.overall)}, {result.iterations} revision(s), stop: {result.stop_reason}"
    )
    typer.echo(result.best_draft)
