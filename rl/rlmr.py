"""RLMR's dynamic mixing of a quality reward with constraint compliance, per GRPO group.

For a group of completions of one prompt with quality `w_i` and violation flag `v_i` (any constraint
failed), the reward is `r_i = w_i − λ_g·v_i` with

    λ_g = max(0, max_{k ∈ V} (w_k − w̄)) · G / |S| + δ

(`V` the violators, `S` the compliant completions, `G = |V| + |S|`, `w̄` the group mean of `w`). Then
for every violator `k`: `r_k − r̄ = (w_k − w̄) − λ_g·|S|/G < 0`, so each violator gets a negative GRPO
advantage whatever its quality; compliant completions are not shifted, so they keep their quality
order; and λ grows with the quality spread of the group instead of being a fixed weight that is
either too small (a fluent violator still wins) or too large (it swamps the quality signal).

Severity: before λ is computed, each violator's quality is lowered by `severity_weight` per failed
constraint, so among violators more failures rank lower. A group with no compliant completion has
nothing to be below: it falls back to `w_i − fallback_penalty·failures_i`.

Unknown quality (`None`, a judge failure): a compliant completion's reward is `None` (TRL leaves it out
of the group baseline and gives it no advantage). A violator's is still defined — its violation is
known — using the group's lowest known quality (0 when none is known), so it stays below the mean of
the rewards TRL averages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from writer_r1.core.errors import UserError


@dataclass(frozen=True)
class GroupMix:
    """How one group was mixed: its λ (None for the fallback), and whether every member violated."""

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
    floor = min(known) if known else 0.0
    violators = [i for i, ok in enumerate(passed) if not ok]
    if not violators:
        return list(quality), GroupMix(lam=0.0, all_violating=False, violators=0)
    if len(violators) == len(passed):
        rewards = [(q if q is not None else floor) - fallback_penalty * max(1, f) for q, f in zip(quality, failures, strict=True)]
        return list(rewards), GroupMix(lam=None, all_violating=True, violators=len(violators))
    # Members that TRL will average: compliant ones with a known quality, and every violator.
    members = [i for i, ok in enumerate(passed) if (not ok) or quality[i] is not None]
    adjusted: dict[int, float] = {}
    for i in members:
        value = quality[i] if quality[i] is not None else floor
        if not passed[i]:
            value -= severity_weight * max(1, failures[i])
        adjusted[i] = value
    compliant = [i for i in members if passed[i]]
    if not compliant:  # every compliant member is unscored: nothing to rank violators against
        rewards_fallback: list[float | None] = [None] * len(passed)
        for i in violators:
            rewards_fallback[i] = adjusted[i] - fallback_penalty * max(1, failures[i])
        return rewards_fallback, GroupMix(lam=None, all_violating=True, violators=len(violators))
    mean = sum(adjusted.values()) / len(members)
    excess = max(0.0, max(adjusted[k] - mean for k in violators))
    lam = excess * len(members) / len(compliant) + margin
    rewards: list[float | None] = [None] * len(passed)
    for i in members:
        rewards[i] = adjusted[i] - (lam if not passed[i] else 0.0)
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
        margin: δ, how far below the group mean a violator at least ends.
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
    if num_generations < 1:
        raise UserError(f"num_generations must be >= 1, got {num_generations}")
    if len(quality) != len(passed) or len(quality) % num_generations:
        raise UserError(
            f"{len(quality)} qualities and {len(passed)} verdicts do not form groups of {num_generations}"
        )
    failures = list(failures) if failures is not None else [0 if ok else 1 for ok in passed]
    if len(failures) != len(passed):
        raise UserError("failures must have one entry per completion")
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


def fixed_weight_rewards(
    quality: Sequence[float], passed: Sequence[bool], weight: float
) -> list[float]:
    """The baseline RLMR improves on: `w_i − c·v_i` with one fixed `c` for every group."""
    return [q - (0.0 if ok else weight) for q, ok in zip(quality, passed, strict=True)]
