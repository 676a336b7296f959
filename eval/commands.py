"""`writer-r1 eval ...`: IFEval end to end, pairwise win rate, criteria scores, judge agreement.

Each command writes its files and `report.html` into `--output-dir` and resumes from what is there.
Bad input is one line naming the file, line and key (exit 2, nothing written); a run that leaves some
prompts failed or unscored exits 1 after writing everything it has.

Example:
    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["--help"])
    >>> result.exit_code, "pairwise" in result.stdout
    (0, True)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="Evaluate: IFEval end to end, pairwise win rate, criteria scores, judge agreement.", no_args_is_help=True
)
console = Console(stderr=True)

OutputDir = Annotated[Path, typer.Option("--output-dir", help="folder for results, caches and report.html")]
Concurrency = Annotated[int, typer.Option("--concurrency", min=1, help="model calls in flight per system / judge")]
AsJson = Annotated[bool, typer.Option("--json", help="print summary.json on stdout")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")]


def _finish(summary: dict, as_json: bool, incomplete: str | None, output_dir: Path) -> None:
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    console.print(f"wrote {output_dir / 'summary.json'} and {output_dir / 'report.html'}", highlight=False)
    if incomplete:
        console.print(f"[yellow]incomplete:[/] {incomplete}", highlight=False)
        raise SystemExit(1)  # click would turn typer.Exit into a return value under standalone_mode=False


@app.command("ifeval")
def ifeval_command(
    model: Annotated[str, typer.Option("--model", help="model spec that generates the responses")],
    output_dir: OutputDir,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server of the model")] = None,  # noqa: UP007
    input_data: Annotated[
        Path | None, typer.Option("--input-data", help="IFEval input_data.jsonl (default: shipped)")
    ] = None,  # noqa: UP007
    concurrency: Concurrency = 8,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="only the first N prompts")] = None,  # noqa: UP007
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1, help="generation length cap")] = None,  # noqa: UP007
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Generate a response per IFEval prompt with MODEL, verify them, write the official files and summary."""
    from writer_r1.eval.ifeval import run_ifeval

    kwargs = {"max_tokens": max_tokens} if max_tokens else None
    summary = run_ifeval(
        model,
        output_dir=output_dir,
        base_url=base_url,
        input_data=input_data,
        concurrency=concurrency,
        limit=limit,
        progress=not quiet,
        model_kwargs=kwargs,
    )
    if not as_json:
        for key in ("prompt_level_strict", "instruction_level_strict", "prompt_level_loose", "instruction_level_loose"):
            total = summary.prompts if key.startswith("prompt") else summary.instructions
            console.print(f"{key:<26} {getattr(summary, key):.4f}  ({summary.counts[key]}/{total})", highlight=False)
    incomplete = f"{summary.failed} generation(s) failed (failures.jsonl); re-run to retry" if summary.failed else None
    _finish(summary.model_dump(mode="json"), as_json, incomplete, output_dir)


@app.command("pairwise")
def pairwise_command(
    prompts: Annotated[Path, typer.Option("--prompts", help="JSONL with 'prompt' per row (criteria etc. kept)")],
    a: Annotated[str, typer.Option("--a", help="system A: a responses JSONL file or a model spec")],
    b: Annotated[str, typer.Option("--b", help="system B: a responses JSONL file or a model spec")],
    judge: Annotated[str, typer.Option("--judge", help="judge model spec")],
    output_dir: OutputDir,
    judge_base_url: Annotated[str | None, typer.Option("--judge-base-url", help="judge's server")] = None,  # noqa: UP007
    a_base_url: Annotated[str | None, typer.Option("--a-base-url", help="A's server")] = None,  # noqa: UP007
    b_base_url: Annotated[str | None, typer.Option("--b-base-url", help="B's server")] = None,  # noqa: UP007
    a_reflect: Annotated[bool, typer.Option("--a-reflect", help="wrap A in the reflection loop")] = False,
    b_reflect: Annotated[bool, typer.Option("--b-reflect", help="wrap B in the reflection loop")] = False,
    criteria: Annotated[
        Path | None, typer.Option("--criteria", help="criteria JSON for rows without their own")
    ] = None,  # noqa: UP007
    build_criteria: Annotated[
        bool, typer.Option("--build-criteria", help="build criteria per prompt (Grounded Theory)")
    ] = False,
    per_criterion: Annotated[bool, typer.Option("--per-criterion", help="an A/B/tie verdict per criterion")] = False,
    concurrency: Concurrency = 16,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Win rate of A over B, each prompt judged in both orders (an order flip is a tie)."""
    from writer_r1.eval.pairwise import run_pairwise

    summary = run_pairwise(
        prompts,
        a,
        b,
        judge=judge,
        output_dir=output_dir,
        judge_base_url=judge_base_url,
        a_base_url=a_base_url,
        b_base_url=b_base_url,
        a_reflect=a_reflect,
        b_reflect=b_reflect,
        criteria=criteria,
        build_criteria=build_criteria,
        per_criterion=per_criterion,
        concurrency=concurrency,
        progress=not quiet,
    )
    if not as_json:
        rate = "–" if summary.win_rate is None else f"{summary.win_rate:.3f}"
        interval = "" if summary.ci_low is None else f" (95% CI {summary.ci_low:.3f}–{summary.ci_high:.3f})"
        console.print(
            f"win rate of A: {rate}{interval}; {summary.wins} wins, {summary.ties} ties "
            f"({summary.inconsistent} inconsistent), {summary.losses} losses over {summary.n} prompts",
            highlight=False,
        )
        if summary.a_wins_on:
            console.print(f"A wins on: {', '.join(summary.a_wins_on)}", highlight=False)
    incomplete = f"{summary.unscored} prompt(s) unscored (see summary.json)" if summary.unscored else None
    _finish(summary.model_dump(mode="json"), as_json, incomplete, output_dir)


@app.command("scores")
def scores_command(
    prompts: Annotated[Path, typer.Option("--prompts", help="JSONL with 'prompt' (and criteria/rubric) per row")],
    system: Annotated[str, typer.Option("--system", help="a responses JSONL file or a model spec")],
    judge: Annotated[str, typer.Option("--judge", help="judge model spec")],
    output_dir: OutputDir,
    judge_base_url: Annotated[str | None, typer.Option("--judge-base-url", help="judge's server")] = None,  # noqa: UP007
    base_url: Annotated[str | None, typer.Option("--base-url", help="the system's server")] = None,  # noqa: UP007
    reflect: Annotated[bool, typer.Option("--reflect", help="wrap the system in the reflection loop")] = False,
    criteria: Annotated[Path | None, typer.Option("--criteria", help="criteria JSON for rows without a rubric")] = None,  # noqa: UP007
    criteria_per_call: Annotated[
        int | None, typer.Option("--criteria-per-call", min=1, help="criteria per judge call")
    ] = None,  # noqa: UP007
    concurrency: Concurrency = 16,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Per-criterion, per-dimension and overall mean scores with 95% intervals and unscored counts."""
    from writer_r1.eval.scores import run_scores

    summary = run_scores(
        prompts,
        system,
        judge=judge,
        output_dir=output_dir,
        judge_base_url=judge_base_url,
        system_base_url=base_url,
        reflect=reflect,
        criteria=criteria,
        concurrency=concurrency,
        criteria_per_call=criteria_per_call,
        progress=not quiet,
    )
    if not as_json:
        o = summary.overall
        shown = "–" if o["mean"] is None else f"{o['mean']:.3f} (95% CI {o['ci_low']:.3f}–{o['ci_high']:.3f})"
        console.print(f"overall: {shown} over {summary.n} of {summary.prompts} prompts", highlight=False)
        for name, value in summary.per_dimension.items():
            console.print(f"  {name}: {value['mean']:.3f} (n={value['n']})", highlight=False)
    problems = []
    if summary.failed_generations:
        problems.append(f"{summary.failed_generations} generation(s) failed")
    if summary.unscored_criteria:
        problems.append(f"{summary.unscored_criteria} criterion verdict(s) unscored")
    _finish(summary.model_dump(mode="json"), as_json, "; ".join(problems) or None, output_dir)


@app.command("agreement")
def agreement_command(
    hellobench: Annotated[
        Path, typer.Option("--hellobench", help="HelloBench folder (checklists + judgements/), or a judgements file")
    ],
    judge: Annotated[str, typer.Option("--judge", help="judge model spec to validate")],
    output_dir: OutputDir,
    checklists: Annotated[
        Path | None, typer.Option("--checklists", help="checklists JSONL (with a judgements file)")
    ] = None,  # noqa: UP007
    judge_base_url: Annotated[str | None, typer.Option("--judge-base-url", help="judge's server")] = None,  # noqa: UP007
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="first N judgements per model")] = None,  # noqa: UP007
    concurrency: Concurrency = 16,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Our judge against HelloBench's GPT-4o checklist judgements: agreement, correlations, model ranking."""
    from writer_r1.eval.agreement import run_agreement

    summary = run_agreement(
        hellobench,
        judge=judge,
        output_dir=output_dir,
        checklists=checklists,
        judge_base_url=judge_base_url,
        concurrency=concurrency,
        limit=limit,
        progress=not quiet,
    )
    if not as_json:
        o = summary.overall

        def show(value: float | None) -> str:
            return "–" if value is None else f"{value:.3f}"

        console.print(
            f"items {o['items']}: exact {show(o['exact'])}, within one step {show(o['within_one_step'])}, "
            f"Pearson {show(o['pearson'])}, Spearman {show(o['spearman'])}",
            highlight=False,
        )
        console.print(
            f"ranking (ours): {' > '.join(summary.ranking_ours)}; (HelloBench): "
            f"{' > '.join(summary.ranking_theirs)}; same: {summary.same_ranking}",
            highlight=False,
        )
    incomplete = f"{summary.unscored_items} item(s) unscored" if summary.unscored_items else None
    _finish(summary.model_dump(mode="json"), as_json, incomplete, output_dir)
