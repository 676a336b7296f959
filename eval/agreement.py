"""Judge agreement with HelloBench's published GPT-4o checklist judgements.

HelloBench scores each response on five checklist questions with GPT-4o, each on {0, .25, .5, .75, 1}.
Our judge scores the same responses on the same checklists (`CriteriaSet.from_hellobench`: five ordered
levels that map to exactly those values), and this module compares the two item by item: exact
agreement, agreement within one step (0.25), mean absolute difference, Pearson and Spearman, per model
and overall, and whether the two judges rank the models the same way by their mean scores. This is how
a user validates a judge model before trusting it as a reward. Items our judge leaves unscored are
counted and left out.

Input: a HelloBench folder (`heuristic_text_generation.jsonl` with the checklists, `judgements/MODEL.jsonl`
with `id`, `instruction`, `response`, `checklist_wise_evaluation`), or judgement files plus a checklists file.

Example:
    >>> summary = summarize_agreement([ItemPair("m", "p1", 0, 1.0, 1.0), ItemPair("m", "p1", 1, 0.5, 0.25)])
    >>> summary.overall["exact"], summary.overall["within_one_step"]
    (0.5, 1.0)
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.criteria import CriteriaSet
from writer_r1.eval.io import EvalInputError, JsonlLog, read_jsonl, write_json
from writer_r1.eval.pairwise import check_manifest
from writer_r1.eval.progress import EvalProgress
from writer_r1.eval.stats import mean, pearson, spearman


@dataclass(frozen=True)
class ItemPair:
    """One checklist item of one model's response: our score and HelloBench's (None: ours unscored)."""

    model: str
    prompt_id: str
    index: int
    ours: float | None
    theirs: float


class AgreementSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    judge: str
    overall: dict[str, Any]
    per_model: dict[str, dict[str, Any]]
    ranking_ours: list[str]
    ranking_theirs: list[str]
    same_ranking: bool | None
    system_spearman: float | None
    unscored_items: int


def _figures(pairs: list[ItemPair]) -> dict[str, Any]:
    scored = [p for p in pairs if p.ours is not None]
    ours = [p.ours for p in scored if p.ours is not None]
    theirs = [p.theirs for p in scored]
    diffs = [abs(a - b) for a, b in zip(ours, theirs, strict=True)]
    return {
        "items": len(scored),
        "unscored": len(pairs) - len(scored),
        "exact": mean([float(d < 1e-9) for d in diffs]),
        "within_one_step": mean([float(d <= 0.25 + 1e-9) for d in diffs]),
        "mean_abs_diff": mean(diffs),
        "pearson": pearson(ours, theirs) if len(ours) >= 2 else None,
        "spearman": spearman(ours, theirs) if len(ours) >= 2 else None,
        "mean_ours": mean(ours),
        "mean_theirs": mean(theirs),
    }


def summarize_agreement(pairs: list[ItemPair], judge: str = "") -> AgreementSummary:
    """Agreement figures over item pairs (pure)."""
    models = sorted({p.model for p in pairs})
    per_model = {m: _figures([p for p in pairs if p.model == m]) for m in models}
    ranked = [m for m in models if per_model[m]["mean_ours"] is not None]
    ours = sorted(ranked, key=lambda m: -per_model[m]["mean_ours"])
    theirs = sorted(ranked, key=lambda m: -per_model[m]["mean_theirs"])
    system = (
        spearman([per_model[m]["mean_ours"] for m in ranked], [per_model[m]["mean_theirs"] for m in ranked])
        if len(ranked) >= 2
        else None
    )
    return AgreementSummary(
        judge=judge,
        overall=_figures(pairs),
        per_model=per_model,
        ranking_ours=ours,
        ranking_theirs=theirs,
        same_ranking=_same_order(ranked, per_model) if len(ranked) >= 2 else None,
        system_spearman=system,
        unscored_items=sum(p.ours is None for p in pairs),
    )


def _same_order(models: list[str], per_model: dict[str, dict[str, Any]]) -> bool:
    """Both judges order every pair of models the same way (a tie must be a tie for both)."""

    def sign(value: float) -> int:
        return (value > 1e-12) - (value < -1e-12)

    return all(
        sign(per_model[a]["mean_ours"] - per_model[b]["mean_ours"])
        == sign(per_model[a]["mean_theirs"] - per_model[b]["mean_theirs"])
        for i, a in enumerate(models)
        for b in models[i + 1 :]
    )


def _inputs(hellobench: Path, checklists: Path | None) -> tuple[Path, list[Path]]:
    if hellobench.is_dir():
        checklist_file = checklists or hellobench / "heuristic_text_generation.jsonl"
        judgement_files = sorted((hellobench / "judgements").glob("*.jsonl"))
        if not judgement_files:
            raise EvalInputError(f"{hellobench}: no judgements/*.jsonl files")
    else:
        if checklists is None:
            raise EvalInputError(f"{hellobench} is a judgements file: give the checklists with --checklists FILE")
        checklist_file, judgement_files = checklists, [hellobench]
    return checklist_file, judgement_files


def _their_scores(path: Path, number: int, row: dict[str, Any], size: int) -> list[float]:
    evaluation = row["checklist_wise_evaluation"]
    if not isinstance(evaluation, list):
        raise EvalInputError(f"{path}: line {number}: key 'checklist_wise_evaluation' must be a list")
    scores: dict[int, float] = {}
    for entry in evaluation:
        if not isinstance(entry, dict) or not {"checklist_id", "evaluation_score"} <= entry.keys():
            raise EvalInputError(
                f"{path}: line {number}: key 'checklist_wise_evaluation': each entry needs "
                "'checklist_id' and 'evaluation_score'"
            )
        scores[int(entry["checklist_id"])] = float(entry["evaluation_score"])
    if sorted(scores) != list(range(size)):
        raise EvalInputError(
            f"{path}: line {number}: key 'checklist_wise_evaluation' covers checklist ids "
            f"{sorted(scores)}, the prompt has {size}"
        )
    return [scores[i] for i in range(size)]


async def arun_agreement(
    hellobench: str | os.PathLike[str],
    *,
    judge: str | Any,
    output_dir: str | os.PathLike[str],
    checklists: str | os.PathLike[str] | None = None,
    judge_base_url: str | None = None,
    concurrency: int = 16,
    limit: int | None = None,
    progress: bool = True,
) -> AgreementSummary:
    """`run_agreement` in a running event loop."""
    from writer_r1.agents.judge import Judge

    checklist_file, judgement_files = _inputs(Path(hellobench), Path(checklists) if checklists else None)
    prompts: dict[str, tuple[CriteriaSet, dict[str, Any]]] = {}
    for number, row in read_jsonl(checklist_file, ("id", "instruction", "checklists")):
        try:
            prompts[str(row["id"])] = (CriteriaSet.from_hellobench(row), row)
        except ValueError as error:
            raise EvalInputError(f"{checklist_file}: line {number}: key 'checklists': {error}") from error
    jobs: list[tuple[str, str, str, CriteriaSet, list[float]]] = []
    for path in judgement_files:
        model = path.stem
        rows = read_jsonl(path, ("id", "response", "checklist_wise_evaluation"))
        for number, row in rows[:limit] if limit else rows:
            key = str(row["id"])
            if key not in prompts:
                raise EvalInputError(f"{path}: line {number}: key 'id': {key!r} is not in {checklist_file}")
            if not isinstance(row["response"], str):
                raise EvalInputError(f"{path}: line {number}: key 'response' must be a string")
            criteria, prompt_row = prompts[key]
            jobs.append(
                (model, key, row["response"], criteria, _their_scores(path, number, row, len(criteria.criteria)))
            )
    judge_name = judge if isinstance(judge, str) else type(judge).__name__
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    check_manifest(
        directory,
        {
            "kind": "agreement",
            "judge": judge_name,
            "inputs": sorted(str(p.resolve()) for p in [checklist_file, *judgement_files]),
        },
    )
    the_judge = (
        judge
        if not isinstance(judge, str)
        else Judge(judge, base_url=judge_base_url, max_concurrency=concurrency, cache=directory / "judge_cache.sqlite")
    )
    log = JsonlLog(directory / "items.jsonl")
    done = {(r["model"], r["id"]): r for r in log.rows() if None not in r.get("ours", [None])}
    with EvalProgress(enabled=progress) as bars:
        stage = bars.stage("judge", total=len(jobs), completed=sum((m, k) in done for m, k, *_ in jobs))

        async def one(
            model: str, key: str, response: str, criteria: CriteriaSet, theirs: list[float]
        ) -> dict[str, Any]:
            if (model, key) in done:
                return done[(model, key)]
            card = await the_judge.ascore(response, criteria, task=prompts[key][1]["instruction"])
            by_id = {s.criterion_id: s.score for s in card.scores}
            row = {
                "model": model,
                "id": key,
                "ours": [by_id.get(c.id) for c in criteria.criteria],
                "theirs": theirs,
                "unscored": {u.criterion_id: u.reason for u in card.unscored},
            }
            log.append(row)
            bars.advance(stage)
            return row

        results = await asyncio.gather(*(one(*job) for job in jobs))
    pairs = [
        ItemPair(r["model"], r["id"], i, ours, theirs)
        for r in results
        for i, (ours, theirs) in enumerate(zip(r["ours"], r["theirs"], strict=True))
    ]
    summary = summarize_agreement(pairs, judge_name)
    write_json(directory / "summary.json", summary.model_dump(mode="json"))
    from writer_r1.eval.report import agreement_report

    agreement_report(directory, summary, pairs)
    return summary


def run_agreement(hellobench: str | os.PathLike[str], **options: Any) -> AgreementSummary:
    """Compare a judge with HelloBench's GPT-4o checklist judgements (see the module docstring).

    Options: `judge` (required), `output_dir` (required), `checklists`, `judge_base_url`, `concurrency`,
    `limit` (the first N judgements of each model), `progress`.
    """
    return run_sync(arun_agreement(hellobench, **options))
