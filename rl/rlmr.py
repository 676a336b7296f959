"""RLMR's dynamic mixing of a quality reward with constraint compliance, per GRPO group.

For a group of completions of one prompt with quality `w_i` and violation flag `v_i` (any constraint
failed), the reward is `r_i = w_i − λ_g·v_i` with

    λ_g = max(0, max_{k ∈ V} (w_k − w̄)) · G / |S| + δ

(`V` the violators, `S` the compliant completions, `G = |V| + |S|`, `w̄` the group mean of `w`, δ > 0).

Why every violator ends strictly below the group mean of `r`: `r̄ = w̄ − λ_g·|V|/G`, so for a violator
`k`, `r_k − r̄ = (w_k − w̄) − λ_g·(1 − |V|/G) = (w_k − w̄) − λ_g·|S|/G`, and
`λ_g·|S|/G = max(0, max_V (w − w̄)) + δ·|S|/G > w_k − w̄`. Hence each violator gets a negative GRPO
advantage (`r − r̄`, divided or not by a positive std) whatever its quality. Compliant completions are
not shifted (`r_i = w_i`), so they keep their quality order, and λ grows with the quality spread of the
group instead of being a fixed weight that is either too small (a fluent violator still wins) or too
large (it swamps the quality signal).

Severity: before λ is computed, each violator's quality is lowered by `severity_weight` per failed
constraint, so among violators of equal quality more failures rank lower (the guarantee above is
computed on these adjusted values, so it still holds). A group with no compliant completion has
nothing to be below: it falls back to `w_i − fallback_penalty·failures_i`. A group where every
completion complies gets `r = w`.

Unknown quality (`None`, a judge failure). TRL turns a None reward into NaN, leaves it out of the
group's (nan-aware) mean and std, and gives it a zero advantage — when this is the only reward function.
So the group whose mean the guarantee is about is the set of completions with a defined reward:

- a compliant completion with unknown quality gets None: nothing is known about how good it is, and
  inventing a number would shift the baseline of the others;
- a violator with unknown quality still gets a defined reward — its violation is known and must be
  penalised — computed from the group's lowest known quality (0 when none is known), the most
  conservative stand-in; it then counts in the mean like any violator and ends below it;
- if no compliant completion has a known quality, the fallback penalty applies to the violators and the
  compliant ones stay None.

With these rules the guarantee holds over exactly the completions TRL averages (property-tested).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from writer_r1.core.errors import UserError


@dataclass(frozen=True)
class GroupMix:
    """How one group was mixed: its λ (None when the fixed-penalty fallback applied, i.e. no scored
    compliant member), whether that fallback applied, and how many members violated."""

    lam: float | None
    all_violating: bool
    violators: int


def _mix_group(
    quality: Sequence[float | None],
    passed: Sequence[bool],
    failures: Sequence[int],
    *,
    margin: float,
    severity_weight: float,
    fallback_penalty: float,
) -> tuple[list[float | None], GroupMix]:
    known = [q for q in quality if q is not None]
    floor = min(known) if known else 0.0  # stand-in quality for a violator the judge could not score
    violators = [i for i, ok in enumerate(passed) if not ok]
    severity = {i: max(1, failures[i]) for i in violators}
    if not violators:
        return list(quality), GroupMix(lam=0.0, all_violating=False, violators=0)
    compliant = [i for i, ok in enumerate(passed) if ok and quality[i] is not None]
    if not compliant:  # nothing scored complies: nothing to rank the violators against
        fallback: list[float | None] = [None] * len(passed)
        for i in violators:
            fallback[i] = (quality[i] if quality[i] is not None else floor) - fallback_penalty * severity[i]
        return fallback, GroupMix(lam=None, all_violating=True, violators=len(violators))
    # Exactly the members whose reward TRL averages: every violator, and the scored compliant ones.
    adjusted = {i: quality[i] for i in compliant}
    for i in violators:
        adjusted[i] = (quality[i] if quality[i] is not None else floor) - severity_weight * severity[i]
    mean = sum(adjusted.values()) / len(adjusted)
    excess = max(0.0, max(adjusted[k] - mean for k in violators))
    lam = excess * len(adjusted) / len(compliant) + margin
    rewards: list[float | None] = [None] * len(passed)
    for i, value in adjusted.items():
        rewards[i] = value - (lam if not passed[i] else 0.0)
    return rewards, GroupMix(lam=lam, all_violating=False, violators=len(violators))


def rlmr_rewards(
    quality: Sequence[float | None],
    passed: Sequence[bool],
    num_generations: int,
    *,
    failures: Sequence[int] | None = None,
    margin: float = 0.05,
    severity_weight: float = 0.01,
    fallback_penalty: float = 0.5,
) -> list[float | None]:
    """Mix quality and constraint compliance group by group (consecutive runs of `num_generations`).

    Args:
        quality: quality score of each completion in [0, 1], or None where judging failed.
        passed: whether each completion satisfied all its constraints.
        num_generations: the group size G; `len(quality)` must be a multiple of it.
        failures: how many constraints each completion failed (severity); defaults to 1 per violator.
        margin: δ > 0; the best violator ends at least `δ·|S|/G` below the group mean.
        severity_weight: quality lost per failed constraint before λ is computed.
        fallback_penalty: penalty per failed constraint in a group with no compliant completion.

    Example:
        >>> rewards = rlmr_rewards([0.9, 0.5, 0.4, 0.3], [False, True, True, True], num_generations=4)
        >>> mean = sum(rewards) / 4
        >>> rewards[0] < mean < rewards[1]
        True
    """
    return rlmr_mix(
        quality, passed, num_generations, failures=failures, margin=margin,
        severity_weight=severity_weight, fallback_penalty=fallback_penalty,
    )[0]


def rlmr_mix(
    quality: Sequence[float | None],
    passed: Sequence[bool],
    num_generations: int,
    *,
    failures: Sequence[int] | None = None,
    margin: float = 0.05,
    severity_weight: float = 0.01,
    fallback_penalty: float = 0.5,
) -> tuple[list[float | None], list[GroupMix]]:
    """`rlmr_rewards` plus how each group was mixed (for logging λ and all-violating groups)."""
    check_mixing(margin=margin, severity_weight=severity_weight, fallback_penalty=fallback_penalty)
    if num_generations < 1:
        raise UserError(f"num_generations must be >= 1, got {num_generations}")
    if any(q is not None and not math.isfinite(q) for q in quality):
        raise UserError("quality values must be finite numbers or None")
    if len(quality) != len(passed) or len(quality) % num_generations:
        raise UserError(
            f"{len(quality)} qualities and {len(passed)} verdicts do not form groups of {num_generations}"
        )
    failures = list(failures) if failures is not None else [0 if ok else 1 for ok in passed]
    if len(failures) != len(passed):
        raise UserError("failures must have one entry per completion")
    if any(f < 0 for f in failures):
        raise UserError("failures must be counts (>= 0)")
    rewards: list[float | None] = []
    groups: list[GroupMix] = []
    for start in range(0, len(quality), num_generations):
        end = start + num_generations
        group_rewards, mix = _mix_group(
            quality[start:end], passed[start:end], failures[start:end],
            margin=margin, severity_weight=severity_weight, fallback_penalty=fallback_penalty,
        )
        rewards.extend(group_rewards)
        groups.append(mix)
    return rewards, groups


def check_mixing(*, margin: float, severity_weight: float, fallback_penalty: float) -> None:
    """Validate RLMR's settings: δ must be positive for the guarantee to be strict."""
    if not (math.isfinite(margin) and margin > 0):
        raise UserError(f"margin (δ) must be a positive number, got {margin}: with δ = 0 the best violator can tie the mean")
    if not (math.isfinite(severity_weight) and severity_weight >= 0):
        raise UserError(f"severity_weight must be >= 0, got {severity_weight}")
    if not (math.isfinite(fallback_penalty) and fallback_penalty >= 0):
        raise UserError(f"fallback_penalty must be >= 0, got {fallback_penalty}")


def fixed_weight_rewards(
    quality: Sequence[float], passed: Sequence[bool], weight: float
) -> list[float]:
    """The baseline RLMR improves on: `w_i − c·v_i` with one fixed `c` for every group."""
    return [q - (0.0 if ok else weight) for q, ok in zip(quality, passed, strict=True)]
