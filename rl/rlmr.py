"""RLMR's dynamic mixing of a quality reward with constraint compliance, per GRPO group.

For a group of completions of one prompt with quality `w_i` (any real scale: a judge's score in
[0, 1], a reward model's raw logit, a win share) and violation flag `v_i` (any constraint failed),
the reward is `r_i = w_i − λ_g·v_i`. Everything the user sets is measured in the group's **quality
unit** `u_g` — the spread (max − min) of its known qualities — so the rule reads the same on every
scale: multiplying or shifting every quality changes no advantage.

Mode `below_mean` (the default; RLMR's rule):

    λ_g = max(0, max_{k ∈ V} (w_k − w̄)) · G / |S| + δ·u_g

(`V` the violators, `S` the compliant completions, `G = |V| + |S|`, `w̄` the group mean of `w`, δ > 0).

Why every violator ends strictly below the group mean of `r`: `r̄ = w̄ − λ_g·|V|/G`, so for a violator
`k`, `r_k − r̄ = (w_k − w̄) − λ_g·(1 − |V|/G) = (w_k − w̄) − λ_g·|S|/G`, and
`λ_g·|S|/G = max(0, max_V (w − w̄)) + δ·u_g·|S|/G > w_k − w̄`. Hence each violator gets a negative GRPO
advantage (`r − r̄`, divided or not by a positive std) whatever its quality. Compliant completions are
not shifted (`r_i = w_i`), so they keep their quality order, and λ grows with the quality spread of the
group instead of being a fixed weight that is either too small (a fluent violator still wins) or too
large (it swamps the quality signal).

Mode `below_compliant` (strict): additionally every violator ends below every compliant completion,

    λ_g = max(λ_g^mean, max_{k ∈ V} w_k − min_{i ∈ S} w_i + δ·u_g)

Both requirements only ask λ to be large enough, so the larger of the two λ satisfies both: a violator
of quality 0.9 now ranks below a compliant draft of 0.5 (below the mean is not enough for that when the
compliant drafts are spread wide). Violators keep their order among themselves in both modes.

Severity: before λ is computed, each violator's quality is lowered by `severity_weight·u_g` per failed
constraint, so among violators of equal quality more failures rank lower (the guarantees above are
computed on these adjusted values, so they still hold). A group with no compliant completion has
nothing to be below: it falls back to `w_i − fallback_penalty·u_g·failures_i`. A group where every
completion complies gets `r = w`. When a group's spread is 0 (all known qualities equal) its unit is
the spread of the whole batch, else 1; it never falls below `1e-9·max|w|` nor below 1e-150, so a shift that is
tiny next to the qualities' magnitude (or subnormal) is never lost to rounding. Qualities beyond ±1e150 are refused.

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

With these rules the guarantees hold over exactly the completions TRL averages (property-tested, on
bounded and unbounded scales).

`passed` holds booleans. A share of constraints passed (what `ConstraintReward` returns) is not a
verdict — 0.5 would be truthy — so a number is refused; convert it explicitly with `compliance_flags`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from writer_r1.core.errors import UserError

MixMode = Literal["below_mean", "below_compliant"]
MIX_MODES: tuple[MixMode, ...] = ("below_mean", "below_compliant")
MAX_QUALITY = 1e150
_ROUNDING_GUARD = 1e-9
MIN_UNIT = 1e-150


@dataclass(frozen=True)
class GroupMix:
    """How one group was mixed: its λ (None when the fixed-penalty fallback applied, i.e. no scored
    compliant member), whether that fallback applied, how many members violated, and the group's
    quality unit (the spread its margin, severity and fallback penalty are measured in)."""

    lam: float | None
    all_violating: bool
    violators: int
    unit: float = 1.0


def _spread(values: Sequence[float]) -> float:
    return max(values) - min(values) if values else 0.0


def _unit(known: Sequence[float], batch_spread: float) -> float:
    """The group's quality unit: its spread, else the batch's, else 1; never below the rounding guard."""
    # A spread below MIN_UNIT counts as none: a subnormal unit (5e-324) loses the shift to rounding.
    guard = max(_ROUNDING_GUARD * max((abs(q) for q in known), default=0.0), MIN_UNIT)
    spread = _spread(known)
    if spread > guard:
        return spread
    if batch_spread > guard:
        return batch_spread
    return max(1.0, guard)


def _mix_group(
    quality: Sequence[float | None],
    passed: Sequence[bool],
    failures: Sequence[int],
    *,
    margin: float,
    severity_weight: float,
    fallback_penalty: float,
    mode: MixMode,
    batch_spread: float,
) -> tuple[list[float | None], GroupMix]:
    known = [q for q in quality if q is not None]
    unit = _unit(known, batch_spread)
    floor = min(known) if known else 0.0  # stand-in quality for a violator the judge could not score
    violators = [i for i, ok in enumerate(passed) if not ok]
    severity = {i: max(1, failures[i]) for i in violators}
    if not violators:
        return list(quality), GroupMix(lam=0.0, all_violating=False, violators=0, unit=unit)
    compliant = [i for i, ok in enumerate(passed) if ok and quality[i] is not None]
    if not compliant:  # nothing scored complies: nothing to rank the violators against
        fallback: list[float | None] = [None] * len(passed)
        for i in violators:
            score = quality[i]
            base = score if score is not None else floor
            fallback[i] = base - fallback_penalty * unit * severity[i]
        return fallback, GroupMix(lam=None, all_violating=True, violators=len(violators), unit=unit)
    # Exactly the members whose reward TRL averages: every violator, and the scored compliant ones.
    adjusted = {i: score for i in compliant if (score := quality[i]) is not None}  # every compliant one is scored
    for i in violators:
        score = quality[i]
        base = score if score is not None else floor
        adjusted[i] = base - severity_weight * unit * severity[i]
    mean = sum(adjusted.values()) / len(adjusted)
    best_violator = max(adjusted[k] for k in violators)
    lam = max(0.0, best_violator - mean) * len(adjusted) / len(compliant) + margin * unit
    if mode == "below_compliant":
        lam = max(lam, best_violator - min(adjusted[i] for i in compliant) + margin * unit)
    rewards: list[float | None] = [None] * len(passed)
    for i, value in adjusted.items():
        rewards[i] = value - (lam if not passed[i] else 0.0)
    return rewards, GroupMix(lam=lam, all_violating=False, violators=len(violators), unit=unit)


def compliance_flags(shares: Sequence[float | None]) -> list[bool]:
    """Booleans for `passed` from shares of constraints satisfied: compliant only when every checked
    constraint passed (`share == 1`); None (nothing verifiable) counts as compliant, since nothing is
    known to have failed.

    Example:
        >>> compliance_flags([1.0, 0.5, 0.0, None])
        [True, False, False, True]
    """
    return [share is None or share >= 1.0 for share in shares]


def _check_passed(passed: Sequence[Any]) -> None:
    for index, value in enumerate(passed):
        if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", None) == "b":
            continue
        raise UserError(
            f"passed[{index}] is {value!r} ({type(value).__name__}); passed must hold booleans. A share of "
            "constraints satisfied is not a verdict (0.5 would count as compliant): convert it explicitly, "
            "e.g. passed = compliance_flags(shares), which is share == 1"
        )


def rlmr_rewards(
    quality: Sequence[float | None],
    passed: Sequence[bool],
    num_generations: int,
    *,
    failures: Sequence[int] | None = None,
    margin: float = 0.05,
    severity_weight: float = 0.01,
    fallback_penalty: float = 0.5,
    mode: MixMode = "below_mean",
) -> list[float | None]:
    """Mix quality and constraint compliance group by group (consecutive runs of `num_generations`).

    Args:
        quality: quality score of each completion on any real scale (finite, |q| ≤ 1e150), or None where
            judging failed.
        passed: whether each completion satisfied all its constraints (booleans; see `compliance_flags`).
        num_generations: the group size G; `len(quality)` must be a multiple of it.
        failures: how many constraints each completion failed (severity); defaults to 1 per violator.
        margin: δ > 0, in units of the group's quality spread; the best violator ends at least
            `δ·u·|S|/G` below the group mean (and, in `below_compliant` mode, `δ·u` below the worst
            compliant completion).
        severity_weight: quality lost per failed constraint before λ is computed, in spread units.
        fallback_penalty: penalty per failed constraint in a group with no compliant completion, in
            spread units.
        mode: `below_mean` (every violator below its group's mean) or `below_compliant` (also below
            every compliant completion).

    Example:
        >>> rewards = rlmr_rewards([0.9, 0.5, 0.4, 0.3], [False, True, True, True], num_generations=4)
        >>> mean = sum(rewards) / 4
        >>> rewards[0] < mean < rewards[1]
        True
        >>> strict = rlmr_rewards([9.0, 5.0, 1.0, 3.0], [False, True, True, True], 4, mode="below_compliant")
        >>> strict[0] < min(strict[1:])
        True
    """
    return rlmr_mix(
        quality,
        passed,
        num_generations,
        failures=failures,
        margin=margin,
        severity_weight=severity_weight,
        fallback_penalty=fallback_penalty,
        mode=mode,
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
    mode: MixMode = "below_mean",
    batch_spread: float | None = None,
) -> tuple[list[float | None], list[GroupMix]]:
    """`rlmr_rewards` plus how each group was mixed (for logging λ and all-violating groups).

    `batch_spread` is the unit a group with no spread of its own falls back to; by default the spread
    of the known qualities passed in (a caller mixing one group at a time passes the whole batch's)."""
    check_mixing(margin=margin, severity_weight=severity_weight, fallback_penalty=fallback_penalty, mode=mode)
    if num_generations < 1:
        raise UserError(f"num_generations must be >= 1, got {num_generations}")
    if any(q is not None and not (math.isfinite(q) and abs(q) <= MAX_QUALITY) for q in quality):
        raise UserError(f"quality values must be finite numbers within ±{MAX_QUALITY:g}, or None")
    if len(quality) != len(passed) or len(quality) % num_generations:
        raise UserError(f"{len(quality)} qualities and {len(passed)} verdicts do not form groups of {num_generations}")
    _check_passed(passed)
    failures = list(failures) if failures is not None else [0 if ok else 1 for ok in passed]
    if len(failures) != len(passed):
        raise UserError("failures must have one entry per completion")
    if any(f < 0 for f in failures):
        raise UserError("failures must be counts (>= 0)")
    if batch_spread is None:
        batch_spread = _spread([q for q in quality if q is not None])
    rewards: list[float | None] = []
    groups: list[GroupMix] = []
    for start in range(0, len(quality), num_generations):
        end = start + num_generations
        group_rewards, mix = _mix_group(
            quality[start:end],
            [bool(p) for p in passed[start:end]],
            failures[start:end],
            margin=margin,
            severity_weight=severity_weight,
            fallback_penalty=fallback_penalty,
            mode=mode,
            batch_spread=batch_spread,
        )
        rewards.extend(group_rewards)
        groups.append(mix)
    return rewards, groups


def check_mixing(*, margin: float, severity_weight: float, fallback_penalty: float, mode: str = "below_mean") -> None:
    """Validate RLMR's settings: δ must be positive for the guarantee to be strict."""
    if not (math.isfinite(margin) and margin > 0):
        raise UserError(
            f"margin (δ) must be a positive number, got {margin}: with δ = 0 the best violator can tie the mean"
        )
    if not (math.isfinite(severity_weight) and severity_weight >= 0):
        raise UserError(f"severity_weight must be >= 0, got {severity_weight}")
    if not (math.isfinite(fallback_penalty) and fallback_penalty >= 0):
        raise UserError(f"fallback_penalty must be >= 0, got {fallback_penalty}")
    if mode not in MIX_MODES:
        raise UserError(f"mode must be one of {', '.join(MIX_MODES)}, got {mode!r}")


def fixed_weight_rewards(quality: Sequence[float], passed: Sequence[bool], weight: float) -> list[float]:
    """The baseline RLMR improves on: `w_i − c·v_i` with one fixed `c` for every group."""
    _check_passed(passed)
    return [q - (0.0 if ok else weight) for q, ok in zip(quality, passed, strict=True)]
