"""`writer-r1 train sft|grpo --config FILE` and `writer-r1 data prepare`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from writer_r1.core.errors import UserError

if TYPE_CHECKING:
    from writer_r1.core.criteria import CriteriaSet

train_app = typer.Typer(
    help="Train with TRL: SFT on reflections, GRPO with criteria and constraint rewards.", no_args_is_help=True
)
data_app = typer.Typer(help="Build training datasets.", no_args_is_help=True)
console = Console(stderr=True)

ConfigOption = Annotated[Path, typer.Option("--config", help="YAML: model, dataset, reward, peft + TRL config keys.")]


@train_app.command("sft")
def train_sft(config: ConfigOption) -> None:
    """Supervised fine-tuning with TRL's SFTTrainer (e.g. on `writer-r1 data sft` output)."""
    from writer_r1.rl.train import train

    trainer = train("sft", config)
    console.print(f"trained {trainer.state.global_step} steps; saved to {trainer.args.output_dir}")


@train_app.command("grpo")
def train_grpo(config: ConfigOption) -> None:
    """GRPO with TRL's GRPOTrainer and our rewards (RLMR-mixed criteria and constraints by default)."""
    from writer_r1.rl.train import train

    trainer = train("grpo", config)
    console.print(f"trained {trainer.state.global_step} steps; saved to {trainer.args.output_dir}")


def read_prompts(path: Path) -> list[str]:
    """Prompts from JSONL (`{"prompt": ...}` per line) or plain text (one prompt per non-empty line)."""
    if not path.is_file():
        raise UserError(f"no prompts file {path}")
    prompts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if path.suffix == ".jsonl":
            try:
                row = json.loads(line)
                prompt = row["prompt"] if isinstance(row, dict) else None
            except (ValueError, KeyError):
                prompt = None
            if not isinstance(prompt, str) or not prompt.strip():
                raise UserError(f"{path}:{number}: expected a JSON object with a non-empty 'prompt' string")
            prompts.append(prompt)
        else:
            prompts.append(line.strip())
    if not prompts:
        raise UserError(f"{path} holds no prompts")
    return prompts


def read_criteria(path: Path) -> CriteriaSet:
    """One criteria file, validated."""
    from writer_r1.core.criteria import CriteriaSet

    if not path.is_file():
        raise UserError(f"no criteria file {path}")
    try:
        return CriteriaSet.load(str(path))
    except ValueError as error:
        raise UserError(f"{path} is not a valid criteria set: {str(error).splitlines()[0]}") from error


@data_app.command("prepare")
def data_prepare(
    prompts: Annotated[Path, typer.Option("--prompts", help="JSONL with a 'prompt' field, or one prompt per line.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the GRPO dataset (JSONL).")],
    criteria: Annotated[
        Path | None, typer.Option("--criteria", help="One criteria JSON file for every prompt.")
    ] = None,
    build_criteria: Annotated[
        bool, typer.Option("--build-criteria", help="Criteria per prompt from the library, or built.")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Model spec: builds criteria, and extracts constraints with the LLM extractor (rules only without it).",
        ),
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server URL.")] = None,
    library: Annotated[
        Path | None, typer.Option("--library", help="Criteria library (SQLite) for --build-criteria.")
    ] = None,
    conversational: Annotated[
        bool, typer.Option("--conversational/--standard", help="Prompt as chat messages.")
    ] = True,
) -> None:
    """Build a GRPO dataset: prompt, criteria (JSON) and constraints (JSON) per row."""
    from writer_r1.core.asyncio_utils import run_sync
    from writer_r1.core.models import load_chat_model
    from writer_r1.rl.rewards import extract_constraints

    if (criteria is None) == (not build_criteria):
        raise UserError("give exactly one of --criteria FILE and --build-criteria")
    shared = read_criteria(criteria) if criteria is not None else None
    tasks = read_prompts(prompts)
    extractor = load_chat_model(model, base_url=base_url) if model is not None else None
    rows = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        progress = bar.add_task("preparing prompts", total=len(tasks))
        for task in tasks:
            if shared is not None:
                row_criteria = shared
            else:
                from writer_r1.graphs.library_reuse import DEFAULT_LIBRARY, criteria_for

                row_criteria = criteria_for(
                    task,
                    library=str(library) if library is not None else DEFAULT_LIBRARY,
                    model=model,
                    base_url=base_url,
                )
            specs = run_sync(extract_constraints(task, extractor))
            constraints = [spec.model_dump(mode="json", exclude_none=True) for spec in specs]
            rows.append(
                {
                    "prompt": [{"role": "user", "content": task}] if conversational else task,
                    "criteria": row_criteria.model_dump_json(),
                    "constraints": json.dumps(constraints, ensure_ascii=False),
                }
            )
            bar.advance(progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    console.print(f"wrote {len(rows)} rows to {out}")


@data_app.command("sft")
def data_sft(
    memory: Annotated[
        Path, typer.Option("--memory", help="Experience memory (SQLite path) filled by writer-r1 reflect.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the SFT dataset (JSONL, TRL messages format).")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind", help="best: task → best draft; reflection: draft + scorecard → reflection and revision."
        ),
    ] = "best",
) -> None:
    """Build an SFT dataset from the reflections stored in an experience memory."""
    from writer_r1.memory.experience import ExperienceMemory
    from writer_r1.rl.sft_data import rows_from_memory, write_jsonl

    if kind not in {"best", "reflection"}:
        raise UserError("--kind must be 'best' or 'reflection'")
    if not memory.is_file():
        raise UserError(f"no experience memory at {memory}")
    with ExperienceMemory(str(memory)) as store:
        rows = rows_from_memory(store, kind)
        why = "" if rows else _why_no_rows(store)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(rows, str(out))
    console.print(f"wrote {len(rows)} {kind} rows to {out}{why}", highlight=False)


def _why_no_rows(store: Any) -> str:
    total = sum(1 for _ in store.iter_experiences())
    if not total:
        return ": the memory holds no experiences yet (run writer-r1 reflect --memory FILE first)"
    accepted = sum(1 for _ in store.iter_experiences(accepted=True))
    return (
        f": the memory holds {total} experiences, {accepted} accepted; only accepted revisions (with their "
        "draft and reflection) become rows"
    )
