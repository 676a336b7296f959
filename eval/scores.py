"""Criteria scores of one system: per-criterion, per-dimension and overall means with 95 % intervals.

Each prompt's response is scored by the judge against the prompt's criteria: the row's own (a CriteriaSet,
a WritingBench rubric, a HelloBench checklist, through the existing adapters), else `--criteria`. A
criterion the judge could not score is counted as unscored, never as a number; a prompt whose overall is
undefined (a partial scorecard) is left out of the overall mean and counted. Intervals are percentile
bootstraps over prompts. `scores.jsonl` (one line per prompt) and `judge_cache.sqlite` make a re-run cheap.

Example:
    >>> import tempfile, json, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> row = {"prompt": "Write a story.", "checklists": ["Is it a story?", "Is it vivid?"]}
    >>> _ = (folder / "p.jsonl").write_text(json.dumps(row) + "\\n")
    >>> summary = run_scores(folder / "p.jsonl", "fake", judge="fake", output_dir=folder / "out", progress=False)
    >>> summary.n, sorted(summary.per_criterion)
    (1, ['checklist-1-a-story', 'checklist-2-vivid'])
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.criteria import CriteriaSet
from writer_r1.eval.criteria import criteria_of
from writer_r1.eval.generation import SystemSide
from writer_r1.eval.io import EvalInputError, JsonlLog, PromptItem, read_prompts, write_json
from writer_r1.eval.pairwise import _digest, check_manifest
from writer_r1.eval.progress import EvalProgress
from writer_r1.eval.stats import bootstrap_mean_ci, mean
from writer_r1.eval.systems import ResponsesSystem, resolve_system

logger = logging.getLogger(__name__)


class PromptScores(BaseModel):
    """One prompt's scorecard, flattened (a line of `scores.jsonl`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    prompt: str
    overall: float | None = None
    scores: dict[str, dict[str, Any]] = Field(default_factory=dict)
    unscored: dict[str, str] = Field(default_factory=dict)
    dimensions: dict[str, float | None] = Field(default_factory=dict)
    failed: str | None = None


class ScoresSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    system: str
    judge: str
    n: int
    prompts: int
    overall: dict[str, float | int | None]
    incomplete_prompts: int
    failed_generations: int
    per_dimension: dict[str, dict[str, Any]]
    per_criterion: dict[str, dict[str, Any]]
    unscored_criteria: int


def _stat(values: list[float], seed: int) -> dict[str, Any]:
    low, high = bootstrap_mean_ci(values, seed=seed)
    return {"n": len(values), "mean": mean(values), "ci_low": low, "ci_high": high}


def summarize_scores(
    rows: list[PromptScores], *, system: str, judge: str, names: dict[str, tuple[str, str]], seed: int = 0
) -> ScoresSummary:
    """Means with intervals over the prompts' scorecards (pure)."""
    judged = [r for r in rows if r.failed is None]
    overall = [r.overall for r in judged if r.overall is not None]
    dimensions: dict[str, list[float]] = {}
    criteria: dict[str, list[float]] = {}
    unscored: dict[str, int] = {}
    for row in judged:
        for name, value in row.dimensions.items():
            if value is not None:
                dimensions.setdefault(name, []).append(value)
        for cid, score in row.scores.items():
            criteria.setdefault(cid, []).append(float(score["score"]))
        for cid in row.unscored:
            unscored[cid] = unscored.get(cid, 0) + 1
    per_criterion = {}
    for cid in sorted(set(criteria) | set(unscored)):
        name, dimension = names.get(cid, (cid, ""))
        per_criterion[cid] = {
            "name": name,
            "dimension": dimension,
            **_stat(criteria.get(cid, []), seed),
            "unscored": unscored.get(cid, 0),
        }
    return ScoresSummary(
        system=system,
        judge=judge,
        n=len(overall),
        prompts=len(rows),
        overall=_stat(overall, seed),
        incomplete_prompts=sum(1 for r in judged if r.overall is None),
        failed_generations=len(rows) - len(judged),
        per_dimension={name: _stat(values, seed) for name, values in sorted(dimensions.items())},
        per_criterion=per_criterion,
        unscored_criteria=sum(unscored.values()),
    )


async def arun_scores(
    prompts: str | os.PathLike[str],
    system: str,
    *,
    judge: str | Any,
    output_dir: str | os.PathLike[str],
    judge_base_url: str | None = None,
    system_base_url: str | None = None,
    reflect: bool = False,
    criteria: str | os.PathLike[str] | CriteriaSet | None = None,
    concurrency: int = 16,
    criteria_per_call: int | None = None,
    progress: bool = True,
    seed: int = 0,
) -> ScoresSummary:
    """`run_scores` in a running event loop."""
    from writer_r1.agents.commands import load_criteria_file
    from writer_r1.agents.judge import Judge

    if concurrency < 1:
        raise EvalInputError(f"--concurrency must be >= 1, got {concurrency}")
    prompts_path = Path(prompts)
    items = read_prompts(prompts_path)
    default = (
        criteria
        if isinstance(criteria, CriteriaSet)
        else (load_criteria_file(Path(criteria)) if criteria is not None else None)
    )
    sets: dict[str, CriteriaSet] = {}
    for item in items:
        chosen = criteria_of(item, default)
        if chosen is None:
            raise EvalInputError(
                f"{prompts_path}: line {item.line}: no criteria (key 'criteria', 'checklist' or "
                "'checklists' in the row, or --criteria FILE)"
            )
        sets[item.id] = chosen
    side = resolve_system(system, base_url=system_base_url, reflect=reflect, criteria=default, option="--system")
    if isinstance(side, ResponsesSystem):
        side.check_covers(items, prompts_path)
    judge_name = judge if isinstance(judge, str) else type(judge).__name__
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    check_manifest(
        directory,
        {
            "kind": "scores",
            "prompts": _digest(prompts_path),
            "system": side.name,
            "system_file": _digest(system) if isinstance(side, ResponsesSystem) else None,
            "judge": judge_name,
            "criteria": default.version if default else None,
        },
    )
    the_judge = (
        judge
        if not isinstance(judge, str)
        else Judge(
            judge,
            base_url=judge_base_url,
            max_concurrency=concurrency,
            criteria_per_call=criteria_per_call,
            cache=directory / "judge_cache.sqlite",
        )
    )
    runner = SystemSide(side, directory / "responses.jsonl", concurrency)
    log = JsonlLog(directory / "scores.jsonl")
    done = {}
    for row in log.rows():
        entry = PromptScores.model_validate(row)
        if entry.failed is None and not entry.unscored:
            done[entry.id] = entry
    todo = [item for item in items if item.id not in done]
    with EvalProgress(enabled=progress) as bars:
        stage_gen = (
            bars.stage("generate", total=len(items), completed=len(items) - len(todo)) if side.is_model else None
        )
        stage = bars.stage("judge", total=len(items), completed=len(items) - len(todo))

        async def one(item: PromptItem) -> PromptScores:
            text, why = await runner.response(item)
            if stage_gen is not None:
                bars.advance(stage_gen)
            if text is None:
                entry = PromptScores(id=item.id, prompt=item.prompt, failed=f"generation failed: {why}")
            else:
                chosen = sets[item.id]
                card = await the_judge.ascore(text, chosen, task=item.prompt)
                # A partial scorecard is not a score (DESIGN): its overall stays out of the mean.
                entry = PromptScores(
                    id=item.id,
                    prompt=item.prompt,
                    overall=card.overall if not card.unscored else None,
                    scores={
                        s.criterion_id: {"level": s.level, "score": s.score, "reason": s.reason} for s in card.scores
                    },
                    unscored={u.criterion_id: u.reason for u in card.unscored},
                    dimensions={d.name: d.score for d in card.dimensions},
                )
            log.append(entry.model_dump(mode="json"))
            bars.advance(stage)
            return entry

        fresh = await asyncio.gather(*(one(item) for item in todo))
    by_id = {**done, **{entry.id: entry for entry in fresh}}
    rows = [by_id[item.id] for item in items]
    names = {c.id: (c.name, chosen.dimension_of(c.id).name) for chosen in sets.values() for c in chosen.criteria}
    summary = summarize_scores(rows, system=side.name, judge=judge_name, names=names, seed=seed)
    write_json(directory / "summary.json", summary.model_dump(mode="json"))
    from writer_r1.eval.report import scores_report

    scores_report(directory, summary, rows)
    return summary


def run_scores(prompts: str | os.PathLike[str], system: str, **options: Any) -> ScoresSummary:
    """Score `system`'s responses to the prompts against their criteria (see the module docstring).

    Options: `judge` (required), `output_dir` (required), `judge_base_url`, `system_base_url`, `reflect`,
    `criteria`, `concurrency`, `criteria_per_call`, `progress`, `seed`.
    """
    return run_sync(arun_scores(prompts, system, **options))
