"""Pairwise win rate of system A over system B, judged in both orders.

Each prompt is answered by both systems and judged twice with the order swapped (`Judge.acompare`).
The two verdicts combine as `Judge` does (`combine_orders`): agreeing orders decide; a preference
against a tie still prefers; opposite winners — a verdict that flips with the order — are a tie and are
counted as `inconsistent`. The win rate of A counts a tie as half; its 95 % interval is a percentile
bootstrap over prompts. A judge failure or a failed generation is never a verdict: the prompt is listed
as unscored with its reason and left out of the win rate. Because length is the classic confound, the
summary reports both systems' response lengths and the win rate within buckets of the length ratio.

Generation and judging are pipelined (a prompt is judged as soon as both responses exist) under
`concurrency` calls per system and for the judge. Everything is cached in the output folder:
`responses_a.jsonl` / `responses_b.jsonl` (model systems), `judge_cache.sqlite` (each order's verdict),
`judgements.jsonl` (one line per prompt, with reasons); a re-run redoes only what is missing.

Example:
    >>> import tempfile, json, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "p.jsonl").write_text('{"prompt": "Write a haiku."}\\n{"prompt": "Write a limerick."}\\n')
    >>> summary = run_pairwise(folder / "p.jsonl", "fake:one", "fake:two", judge="fake",
    ...                        output_dir=folder / "out", progress=False)
    >>> summary.n + summary.unscored, 0.0 <= summary.win_rate <= 1.0
    (2, True)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from writer_r1.core.asyncio_utils import run_sync
from writer_r1.core.criteria import CriteriaSet
from writer_r1.eval.criteria import criteria_of, generic_criteria
from writer_r1.eval.generation import SystemSide
from writer_r1.eval.io import EvalInputError, JsonlLog, PromptItem, read_prompts, write_json
from writer_r1.eval.progress import EvalProgress
from writer_r1.eval.stats import LENGTH_BUCKETS, bootstrap_mean_ci, length_bucket, mean, word_count
from writer_r1.eval.systems import ResponsesSystem, resolve_system

logger = logging.getLogger(__name__)

Outcome = Literal["a", "b", "tie"]
SCORE = {"a": 1.0, "tie": 0.5, "b": 0.0}


class CriterionOutcome(BaseModel):
    """One criterion's combined verdict on one prompt (None when an order gave none for it)."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome | None
    inconsistent: bool = False
    evidence: list[str] = Field(default_factory=list)


class Judgement(BaseModel):
    """One prompt's pairwise result (a line of `judgements.jsonl`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    prompt: str
    outcome: Outcome | None
    consistent: bool = False
    inconsistent: bool = False
    verdicts: list[dict[str, Any]] = Field(default_factory=list)
    criteria: dict[str, CriterionOutcome] | None = None
    words_a: int | None = None
    words_b: int | None = None
    unscored_reason: str | None = None


class PairwiseSummary(BaseModel):
    """What `summary.json` holds (and `--json` prints)."""

    model_config = ConfigDict(frozen=True)

    n: int
    wins: int
    losses: int
    ties: int
    inconsistent: int
    win_rate: float | None
    ci_low: float | None
    ci_high: float | None
    unscored: int
    unscored_items: list[dict[str, str]]
    a: str
    b: str
    judge: str
    lengths: dict[str, dict[str, float | None]]
    length_buckets: dict[str, dict[str, float | int | None]]
    per_criterion: dict[str, dict[str, Any]] = Field(default_factory=dict)
    a_wins_on: list[str] = Field(default_factory=list)
    b_wins_on: list[str] = Field(default_factory=list)


def summarize(
    judgements: list[Judgement],
    *,
    a: str,
    b: str,
    judge: str,
    criteria_names: dict[str, str] | None = None,
    seed: int = 0,
) -> PairwiseSummary:
    """The summary of per-prompt judgements (pure; the statistics of `summary.json`)."""
    scored = [j for j in judgements if j.outcome is not None]
    counts = Counter(j.outcome for j in scored)
    scores = [SCORE[j.outcome] for j in scored if j.outcome is not None]
    low, high = bootstrap_mean_ci(scores, seed=seed)
    lengths = {}
    for side, key in (("a", "words_a"), ("b", "words_b")):
        values = sorted(getattr(j, key) for j in judgements if getattr(j, key) is not None)
        lengths[side] = {"mean_words": mean(values), "median_words": values[len(values) // 2] if values else None}
    buckets: dict[str, dict[str, float | int | None]] = {}
    for bucket in LENGTH_BUCKETS:
        inside = [
            SCORE[j.outcome]
            for j in scored
            if j.outcome is not None
            and j.words_a is not None
            and j.words_b is not None
            and length_bucket(j.words_a, j.words_b) == bucket
        ]
        buckets[bucket] = {"n": len(inside), "win_rate": mean(inside)}
    per_criterion: dict[str, dict[str, Any]] = {}
    for judgement in scored:
        for cid, result in (judgement.criteria or {}).items():
            entry = per_criterion.setdefault(
                cid,
                {
                    "name": (criteria_names or {}).get(cid, cid),
                    "wins": 0,
                    "losses": 0,
                    "ties": 0,
                    "inconsistent": 0,
                    "unscored": 0,
                },
            )
            if result.outcome is None:
                entry["unscored"] += 1
            else:
                entry[{"a": "wins", "b": "losses", "tie": "ties"}[result.outcome]] += 1
                entry["inconsistent"] += int(result.inconsistent)
    for entry in per_criterion.values():
        judged = [1.0] * entry["wins"] + [0.5] * entry["ties"] + [0.0] * entry["losses"]
        entry["n"] = len(judged)
        entry["win_rate"] = mean(judged)
        entry["ci_low"], entry["ci_high"] = bootstrap_mean_ci(judged, seed=seed)
    unscored = [{"id": j.id, "reason": j.unscored_reason or "no verdict"} for j in judgements if j.outcome is None]
    return PairwiseSummary(
        n=len(scored),
        wins=counts["a"],
        losses=counts["b"],
        ties=counts["tie"],
        inconsistent=sum(j.inconsistent for j in scored),
        win_rate=mean(scores),
        ci_low=low,
        ci_high=high,
        unscored=len(unscored),
        unscored_items=unscored,
        a=a,
        b=b,
        judge=judge,
        lengths=lengths,
        length_buckets=buckets,
        per_criterion=per_criterion,
        a_wins_on=[c for c, e in per_criterion.items() if e["win_rate"] is not None and e["win_rate"] > 0.5],
        b_wins_on=[c for c, e in per_criterion.items() if e["win_rate"] is not None and e["win_rate"] < 0.5],
    )


def judgement_of(item: PromptItem, comparison: Any, text_a: str, text_b: str) -> Judgement:
    """A `Judgement` from `Judge.acompare`'s `Comparison` (unscored when it has no verdict)."""
    verdicts = [v.model_dump(mode="json") for v in comparison.verdicts]
    winners = [v.winner for v in comparison.verdicts]
    flipped = set(winners) == {"a", "b"}
    criteria = None
    per = getattr(comparison, "criteria", None)
    if per:
        criteria = {
            cid: CriterionOutcome(outcome=c.preferred, inconsistent=c.inconsistent, evidence=list(c.evidence))
            for cid, c in per.items()
        }
    reason = None
    if comparison.preferred is None:
        reason = "; ".join(f"{v.order}: {v.reason}" for v in comparison.verdicts if v.winner is None)
    return Judgement(
        id=item.id,
        prompt=item.prompt,
        outcome=comparison.preferred,
        consistent=comparison.consistent,
        inconsistent=flipped,
        verdicts=verdicts,
        criteria=criteria,
        words_a=word_count(text_a),
        words_b=word_count(text_b),
        unscored_reason=reason,
    )


def check_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """An output folder holds one run: settings that decide the results must match the cached ones."""
    path = directory / "run.json"
    if path.is_file():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            previous = None
        if previous != manifest:
            changed = sorted(k for k in manifest if not isinstance(previous, dict) or previous.get(k) != manifest[k])
            raise EvalInputError(
                f"{directory}: holds a run with other settings ({', '.join(changed) or 'unreadable run.json'}); "
                "use a fresh --output-dir"
            )
    else:
        write_json(path, manifest)


def _digest(path: str | os.PathLike[str] | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


async def arun_pairwise(
    prompts: str | os.PathLike[str],
    a: str,
    b: str,
    *,
    judge: str | Any,
    output_dir: str | os.PathLike[str],
    judge_base_url: str | None = None,
    a_base_url: str | None = None,
    b_base_url: str | None = None,
    a_reflect: bool = False,
    b_reflect: bool = False,
    criteria: str | os.PathLike[str] | CriteriaSet | None = None,
    build_criteria: bool = False,
    per_criterion: bool = False,
    concurrency: int = 16,
    judge_retries: int = 2,
    progress: bool = True,
    seed: int = 0,
    report: bool = True,
) -> PairwiseSummary:
    """`run_pairwise` in a running event loop."""
    from writer_r1.agents.commands import load_criteria_file
    from writer_r1.agents.judge import Judge

    if concurrency < 1:
        raise EvalInputError(f"--concurrency must be >= 1, got {concurrency}")
    if build_criteria and criteria is not None:
        raise EvalInputError("--criteria and --build-criteria exclude each other")
    prompts_path = Path(prompts)
    items = read_prompts(prompts_path)
    default = (
        criteria
        if isinstance(criteria, CriteriaSet)
        else (load_criteria_file(Path(criteria)) if criteria is not None else None)
    )
    for item in items:  # validate every row's criteria before anything is written
        criteria_of(item, default)
    side_a = resolve_system(a, base_url=a_base_url, reflect=a_reflect, criteria=default, option="--a")
    side_b = resolve_system(b, base_url=b_base_url, reflect=b_reflect, criteria=default, option="--b")
    for system in (side_a, side_b):
        if isinstance(system, ResponsesSystem):
            system.check_covers(items, prompts_path)
    judge_name = judge if isinstance(judge, str) else type(judge).__name__
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    check_manifest(
        directory,
        {
            "kind": "pairwise",
            "prompts": _digest(prompts_path),
            "a": side_a.name,
            "b": side_b.name,
            "a_file": _digest(a) if isinstance(side_a, ResponsesSystem) else None,
            "b_file": _digest(b) if isinstance(side_b, ResponsesSystem) else None,
            "judge": judge_name,
            "criteria": default.version if default else None,
            "build_criteria": build_criteria,
            "per_criterion": per_criterion,
        },
    )
    the_judge = (
        judge
        if not isinstance(judge, str)
        else Judge(
            judge,
            base_url=judge_base_url,
            max_concurrency=concurrency,
            retries=judge_retries,
            cache=directory / "judge_cache.sqlite",
        )
    )
    sides = {
        "a": SystemSide(side_a, directory / "responses_a.jsonl", concurrency),
        "b": SystemSide(side_b, directory / "responses_b.jsonl", concurrency),
    }
    log = JsonlLog(directory / "judgements.jsonl")
    done: dict[str, Judgement] = {}
    for row in log.rows():
        judgement = Judgement.model_validate(row)
        if judgement.outcome is not None:
            done[judgement.id] = judgement
    built = JsonlLog(directory / "criteria_built.jsonl")
    built_sets = {row["id"]: CriteriaSet.model_validate(row["criteria"]) for row in built.rows()}
    criteria_names: dict[str, str] = {}

    async def criteria_for(item: PromptItem) -> CriteriaSet:
        chosen = criteria_of(item, default)
        if chosen is None and build_criteria:
            if item.id not in built_sets:
                from writer_r1.graphs.criteria import abuild_criteria

                model = judge if isinstance(judge, str) else the_judge.model
                built_sets[item.id] = await abuild_criteria(item.prompt, model=model, base_url=judge_base_url)
                built.append({"id": item.id, "criteria": built_sets[item.id].model_dump(mode="json")})
            chosen = built_sets[item.id]
        return chosen or generic_criteria()

    todo = [item for item in items if item.id not in done]
    # Plotting's imports take seconds of CPU; a worker thread does them while the judge calls wait on the server.
    warm_report = asyncio.get_running_loop().run_in_executor(None, prewarm_report) if report else None
    with EvalProgress(enabled=progress) as bars:
        gen = {
            key: bars.stage(f"generate {key.upper()}", total=len(items), completed=len(items) - len(todo))
            for key, side in sides.items()
            if side.system.is_model
        }
        judged = bars.stage("judge", total=len(items), completed=len(items) - len(todo))
        unscored = 0

        async def answer(key: str, item: PromptItem) -> tuple[str | None, str | None]:
            result = await sides[key].response(item)
            if key in gen:
                bars.advance(gen[key])
            return result

        async def one(item: PromptItem) -> Judgement:
            nonlocal unscored
            (text_a, why_a), (text_b, why_b) = await asyncio.gather(answer("a", item), answer("b", item))
            if text_a is None or text_b is None:
                reason = "; ".join(f"generation failed ({k}): {w}" for k, w in (("A", why_a), ("B", why_b)) if w)
                judgement = Judgement(id=item.id, prompt=item.prompt, outcome=None, unscored_reason=reason)
            else:
                try:
                    chosen = await criteria_for(item)
                    kwargs = {"per_criterion": True} if per_criterion else {}
                    comparison = await the_judge.acompare(text_a, text_b, chosen, task=item.prompt, **kwargs)
                    judgement = judgement_of(item, comparison, text_a, text_b)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - a failed judgement is unscored, never a verdict
                    judgement = Judgement(
                        id=item.id,
                        prompt=item.prompt,
                        outcome=None,
                        words_a=word_count(text_a),
                        words_b=word_count(text_b),
                        unscored_reason=f"{type(error).__name__}: {error}"[:500],
                    )
            log.append(judgement.model_dump(mode="json"))
            unscored += judgement.outcome is None
            bars.advance(judged, note=f"{unscored} unscored" if unscored else "")
            return judgement

        fresh = await asyncio.gather(*(one(item) for item in todo))
    for item in items:  # names of every criterion judged, this run or an earlier one
        chosen = criteria_of(item, default) or built_sets.get(item.id) or generic_criteria()
        for c in chosen.criteria:
            criteria_names.setdefault(c.id, c.name)
    by_id = {**done, **{j.id: j for j in fresh}}
    judgements = [by_id[item.id] for item in items]
    summary = summarize(
        judgements, a=side_a.name, b=side_b.name, judge=judge_name, criteria_names=criteria_names, seed=seed
    )
    write_json(directory / "summary.json", summary.model_dump(mode="json"))
    if warm_report is not None:
        await warm_report
        from writer_r1.eval.report import pairwise_report

        texts = {item.id: (sides["a"].known(item), sides["b"].known(item)) for item in items}
        pairwise_report(directory, summary, judgements, texts)
    return summary


def prewarm_report() -> None:
    """Import the report's plotting stack (matplotlib) ahead of time; safe to call from a worker thread."""
    from writer_r1.eval.report import _pyplot

    _pyplot()


def run_pairwise(prompts: str | os.PathLike[str], a: str, b: str, **options: Any) -> PairwiseSummary:
    """Win rate of system `a` over system `b` on the prompts file (see the module docstring).

    `a` and `b` are responses files or model specs. Options: `judge` (a spec or a `Judge`; required),
    `output_dir` (required), `judge_base_url`, `a_base_url`, `b_base_url`, `a_reflect`, `b_reflect`,
    `criteria` (a file or a CriteriaSet, for rows without their own), `build_criteria`, `per_criterion`,
    `concurrency`, `judge_retries`, `progress`, `seed`, `report` (False skips `report.html`).
    """
    return run_sync(arun_pairwise(prompts, a, b, **options))
