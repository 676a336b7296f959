"""Group-relative pairwise judging as the quality reward (Writing-Zero's GenRM idea, on our pairwise judge).

A pointwise score drifts with length and style; a comparison with a sibling completion of the same prompt
does not need an absolute scale. `PairwiseReward` compares each completion of a GRPO group with one
reference member of that group through `Judge.acompare` — both orders, so position bias cancels — and
rewards the **win share**: each order the completion wins counts 1, a tie ½, a loss 0, averaged over the
orders of every comparison it took part in (the reference takes part in several; its share of a comparison
is one minus its opponent's). So the rewards lie in [0, 1] and sum like a tournament.

Which reference (`reference`):

- `random` — a member drawn per group (seeded by `seed` and the group's texts, so a batch is reproducible);
  every other member is compared with it: `G − 1` comparisons per group, all at once.
- `best` — the group's best so far: members are compared in order with the current champion, and a
  challenger that wins the comparison (share > ½) becomes the champion. Still `G − 1` comparisons per
  group; a group's comparisons run one after another, different groups at once.

Cost is linear in the group size (`2·(G − 1)` judge calls per group; identical texts tie without a call)
— never the `G·(G − 1)` of a round robin. A comparison where either order gave no valid verdict is left
out; a completion with no valid comparison gets None (never 0: a judge failure is not a loss).

Criteria come from the row's `criteria` column (as for `CriteriaReward`); a row without one is judged on
one generic criterion, overall writing quality for the task.

Example:
    >>> reward = PairwiseReward(judge_model="fake")
    >>> rewards = reward.score(["Write about the sea."] * 3, ["Grey water.", "Salt wind, gulls.", "Grey water."])
    >>> all(r is None or 0.0 <= r <= 1.0 for r in rewards)
    True
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from typing import Any, Literal

from writer_r1.core.criteria import CriteriaSet
from writer_r1.core.errors import UserError
from writer_r1.rl.rewards import (
    CriteriaReward,
    LogMetric,
    _column,
    _Reward,
    consecutive_groups,
    message_text,
    task_text,
)

logger = logging.getLogger(__name__)

GENERIC_CRITERIA = CriteriaSet.model_validate(
    {
        "task": "",
        "dimensions": [
            {
                "name": "Overall",
                "criteria": [
                    {
                        "id": "overall_quality",
                        "name": "Overall quality",
                        "description": "How well the text fulfils the task: content, structure, style and correctness of language.",
                        "levels": [{"anchor": "fails the task"}, {"anchor": "adequate"}, {"anchor": "excellent"}],
                    }
                ],
            }
        ],
    }
)

_SHARE = {"a": 1.0, "tie": 0.5, "b": 0.0}


class Bout:
    """One comparison: `challenger` against `reference`; `share` is the challenger's win share (None: failed)."""

    __slots__ = ("challenger", "consistent", "reasons", "reference", "share")

    def __init__(self, challenger: int, reference: int, share: float | None, consistent: bool, reasons: list[str]):
        self.challenger = challenger
        self.reference = reference
        self.share = share
        self.consistent = consistent
        self.reasons = reasons


def win_shares(size: int, bouts: list[Bout]) -> list[float | None]:
    """Each member's mean win share over the valid comparisons it took part in (None if it had none).

    Example:
        >>> win_shares(3, [Bout(1, 0, 1.0, True, []), Bout(2, 0, 0.25, False, [])])
        [0.375, 1.0, 0.25]
    """
    totals: list[list[float]] = [[] for _ in range(size)]
    for bout in bouts:
        if bout.share is None:
            continue
        totals[bout.challenger].append(bout.share)
        totals[bout.reference].append(1.0 - bout.share)
    return [sum(values) / len(values) if values else None for values in totals]


def _verdicts(groups: list[list[int]], bouts: list[list[Bout]], size: int, limit: int = 300) -> list[str]:
    """Per completion, for TRL's completions table: its share and the judge's reasons in the comparison it
    challenged in (the reference of a `random` group: how many comparisons it defended)."""
    column = [""] * size
    for group, group_bouts in zip(groups, bouts, strict=True):
        defended: dict[int, int] = {}
        for bout in group_bouts:
            share = "failed" if bout.share is None else f"{bout.share:.2f}"
            column[group[bout.challenger]] = f"vs #{bout.reference}: {share}; " + " | ".join(bout.reasons)
            defended[bout.reference] = defended.get(bout.reference, 0) + 1
        for local, count in defended.items():
            if not column[group[local]]:
                column[group[local]] = f"reference in {count} comparisons"
    return [text[:limit] for text in column]


class PairwiseReward(_Reward):
    """Each completion's win share against a reference member of its own group, judged in both orders.

    Args:
        judge_model: the judge (a spec string such as `openai:MODEL`, or a chat model); None: the default model.
        reference: `random` (a seeded draw per group) or `best` (the group's best so far).
        num_generations: TRL's group size, to cut a run of one prompt drawn twice in a row into groups.
        seed: seeds the random reference.
        base_url, max_concurrency, retries, cache, library: the judge's settings (see `CriteriaReward`).

    Example:
        >>> PairwiseReward(judge_model="fake", reference="best").__name__
        'pairwise'
    """

    __name__ = "pairwise"

    def __init__(
        self,
        judge_model: Any = None,
        *,
        reference: Literal["random", "best"] = "random",
        num_generations: int | None = None,
        seed: int = 0,
        base_url: str | None = None,
        max_concurrency: int = 64,
        retries: int = 2,
        cache: str | None = "memory",
        library: str | None = None,
    ):
        if reference not in ("random", "best"):
            raise UserError(f"reference must be 'random' or 'best', got {reference!r}")
        self.reference = reference
        self.num_generations = num_generations
        self.seed = seed
        # The criteria judge's plumbing: one Judge built lazily from its spec, criteria parsed once per value.
        self.judging = CriteriaReward(
            judge_model,
            base_url=base_url,
            max_concurrency=max_concurrency,
            retries=retries,
            cache=cache,
            library=library,
        )

    @property
    def judge(self) -> Any:
        return self.judging.judge

    def _criteria(self, value: Any) -> CriteriaSet:
        return GENERIC_CRITERIA if value is None else self.judging.criteria_of(value)

    def _reference_of(self, texts: list[str]) -> int:
        digest = hashlib.sha256(json.dumps([self.seed, texts], ensure_ascii=False).encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big")).randrange(len(texts))

    async def _bout(self, challenger: int, reference: int, texts: list[str], criteria: CriteriaSet, task: str) -> Bout:
        if texts[challenger] == texts[reference]:
            return Bout(challenger, reference, 0.5, True, ["identical texts"])
        comparison = await self.judge.acompare(texts[challenger], texts[reference], criteria, task)
        winners = [verdict.winner for verdict in comparison.verdicts]
        reasons = [verdict.reason for verdict in comparison.verdicts]
        if any(winner is None for winner in winners):
            return Bout(challenger, reference, None, False, reasons)
        share = sum(_SHARE[winner] for winner in winners) / len(winners)
        return Bout(challenger, reference, share, comparison.consistent, reasons)

    async def _group(self, texts: list[str], criteria: CriteriaSet, task: str) -> list[Bout]:
        if len(texts) < 2:
            return []
        if self.reference == "random":
            reference = self._reference_of(texts)
            return list(
                await asyncio.gather(
                    *(self._bout(i, reference, texts, criteria, task) for i in range(len(texts)) if i != reference)
                )
            )
        bouts: list[Bout] = []
        champion = 0
        for challenger in range(1, len(texts)):
            bout = await self._bout(challenger, champion, texts, criteria, task)
            bouts.append(bout)
            if bout.share is not None and bout.share > 0.5:
                champion = challenger
        return bouts

    async def bouts(
        self, prompts: list[Any], completions: list[Any], kwargs: dict[str, Any]
    ) -> tuple[list[list[int]], list[list[Bout]]]:
        """The groups (indices into the batch) and the comparisons of each, in group-local indices."""
        column = _column(kwargs, "criteria", len(completions))
        groups = consecutive_groups(prompts, self.num_generations)
        texts = [message_text(c) for c in completions]
        results = await asyncio.gather(
            *(
                self._group([texts[i] for i in group], self._criteria(column[group[0]]), task_text(prompts[group[0]]))
                for group in groups
            )
        )
        return groups, list(results)

    async def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        groups, bouts = await self.bouts(prompts, completions, kwargs)
        rewards: list[float | None] = [None] * len(completions)
        for group, group_bouts in zip(groups, bouts, strict=True):
            for index, share in zip(group, win_shares(len(group), group_bouts), strict=True):
                rewards[index] = share
        every = [bout for group_bouts in bouts for bout in group_bouts]
        log_extra = kwargs.get("log_extra")
        if log_extra is not None:
            log_extra(f"{self.__name__}/verdict", _verdicts(groups, bouts, len(completions)))
        log_metric: LogMetric | None = kwargs.get("log_metric")
        if log_metric is not None and completions:
            valid = [bout for bout in every if bout.share is not None]
            log_metric("pairwise/comparisons_per_completion", len(every) / len(completions))
            log_metric("pairwise/failed_comparisons", (len(every) - len(valid)) / len(every) if every else 0.0)
            log_metric("pairwise/unscored_fraction", sum(r is None for r in rewards) / len(rewards))
            if valid:
                log_metric("pairwise/consistent_fraction", sum(b.consistent for b in valid) / len(valid))
        if any(bout.share is None for bout in every):
            logger.warning(
                "%d of %d pairwise comparisons gave no valid verdict in both orders",
                sum(b.share is None for b in every),
                len(every),
            )
        return rewards
