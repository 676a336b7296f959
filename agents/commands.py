"""CLI command `writer-r1 judge`: score one text against a criteria file.

The root CLI registers `judge_command`; bad input raises `UserError`, printed as one line (exit 2).
With `--json` only the scorecard's JSON goes to stdout, so it can be piped.

Example:
    >>> import json, tempfile, typer
    >>> from typer.testing import CliRunner
    >>> from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level
    >>> criteria = CriteriaSet(dimensions=[Dimension(name="Style", criteria=[Criterion(id="clarity",
    ...     name="Clarity", description="Easy to follow", levels=[Level(anchor="muddled"), Level(anchor="clear")])])])
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(f"{folder}/c.json", "w").write(criteria.model_dump_json())
    >>> app = typer.Typer(); _ = app.command("judge")(judge_command); _ = app.command("other")(lambda: None)
    >>> result = CliRunner().invoke(app, ["judge", "--criteria", f"{folder}/c.json", "--text", "-",
    ...                                   "--model", "fake", "--json"], input="A clear sentence.")
    >>> result.exit_code, json.loads(result.stdout)["scores"][0]["criterion_id"]
    (0, 'clarity')
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.errors import UserError
from writer_r1.core.scorecard import Scorecard


def load_criteria_file(path: Path) -> CriteriaSet:
    """Read a criteria JSON file; a missing or invalid one is a one-line `UserError`."""
    if not path.is_file():
        raise UserError(f"no such criteria file: {path}")
    try:
        return CriteriaSet.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise UserError(
            f"invalid criteria file {path}: {where}: {first['msg']} ({error.error_count()} error(s))"
        ) from error
    except UnicodeDecodeError as error:
        raise UserError(f"criteria file {path} is not UTF-8 text: {error.reason}") from error


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        raise UserError(f"no such text file: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"text file {path} is not UTF-8 text: {error.reason}") from error


def scorecard_table(card: Scorecard, criteria: CriteriaSet) -> Table:
    """A rich table: one row per criterion (scored or not), dimension subtotals, the overall score."""
    table = Table(title=f"Scorecard (criteria {card.criteria_version})", show_lines=False)
    for name, justify in (
        ("criterion", "left"),
        ("dimension", "left"),
        ("level", "right"),
        ("score", "right"),
        ("reason", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    unscored = {entry.criterion_id: entry.reason for entry in card.unscored}
    for dimension, subtotal in zip(criteria.dimensions, card.dimensions, strict=True):
        for criterion in dimension.criteria:
            score = card.score_of(criterion.id)
            if score is not None:
                level = f"{score.level}/{criterion.max_level}"
                table.add_row(criterion.name, dimension.name, level, f"{score.score:.2f}", score.reason)
            else:
                reason = unscored.get(criterion.id, "no verdict")
                table.add_row(criterion.name, dimension.name, "-", "unscored", f"[red]{reason}[/]")
        shown = "unscored" if subtotal.score is None else f"{subtotal.score:.2f}"
        table.add_row(f"[bold]{dimension.name} subtotal[/]", "", "", f"[bold]{shown}[/]", "", end_section=True)
    overall = "unscored" if card.overall is None else f"{card.overall:.3f}"
    table.add_row(
        "[bold]overall[/]", "", "", f"[bold]{overall}[/]", f"{len(card.scores)} scored, {len(card.unscored)} unscored"
    )
    return table


def judge_command(
    criteria: Annotated[Path, typer.Option("--criteria", help="criteria JSON file (a CriteriaSet)")],
    text: Annotated[str, typer.Option("--text", help="file with the text to judge ('-' reads stdin)")],
    task: Annotated[
        str | None, typer.Option("--task", help="the task the text answers (default: the criteria's)")
    ] = None,  # noqa: UP007
    model: Annotated[str | None, typer.Option("--model", help="model spec (default: WRITER_R1_MODEL, ...)")] = None,  # noqa: UP007
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server URL")] = None,  # noqa: UP007
    as_json: Annotated[bool, typer.Option("--json", help="print the scorecard JSON only")] = False,
    criteria_per_call: Annotated[
        int | None, typer.Option("--criteria-per-call", min=1, help="criteria per judge call (default: all)")  # noqa: UP007
    ] = None,
    timeout: Annotated[
        float | None,  # noqa: UP007
        typer.Option(
            "--timeout", min=0.001, help="seconds for the whole judgement; what is not judged by then is unscored"
        ),
    ] = None,
) -> None:
    """Score a text against a criteria file: per-criterion levels and reasons, subtotals, overall.

    Exit code: 0 when every criterion is scored, 3 when some are unscored (an incomplete card), 4 when none
    is scored (e.g. the model server is down), 2 for an error.
    """
    from writer_r1.agents.judge import Judge
    from writer_r1.core.models import default_model_spec

    criteria_set = load_criteria_file(criteria)
    body = _read_text(text)
    if not body.strip():
        raise UserError(f"the text to judge ({text}) is empty")
    judge = Judge(
        model or default_model_spec(),
        base_url=base_url,
        criteria_per_call=criteria_per_call,
        cache=None,
        timeout=timeout,
    )
    card = judge.score(body, criteria_set, task)
    if as_json:
        typer.echo(card.model_dump_json(indent=2))
    else:
        Console().print(scorecard_table(card, criteria_set))
    code = judge_exit_code(card)
    if code:
        raise typer.Exit(code)


EXIT_INCOMPLETE = 3
"""`writer-r1 judge` exit code when some criteria are unscored."""
EXIT_NOTHING_SCORED = 4
"""`writer-r1 judge` exit code when no criterion is scored."""


def judge_exit_code(card: Scorecard) -> int:
    """0 for a complete scorecard, `EXIT_INCOMPLETE` when some criteria are unscored, `EXIT_NOTHING_SCORED`
    when none is scored."""
    if not card.unscored:
        return 0
    return EXIT_NOTHING_SCORED if not card.scores else EXIT_INCOMPLETE
