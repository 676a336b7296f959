"""RLMR's dynamic λ against fixed-weight mixing: how many constraint violators keep a non-negative advantage?

Random GRPO groups (quality uniform or skewed, a varying share of violators); advantage = (reward − group
mean) / group std, as TRL computes it by default (dividing by a positive std does not change a sign, so the
share is the same without it). A violator with a non-negative advantage is pushed *up* by the update: the
failure RLMR is designed to prevent. The other side of the trade: a penalty much larger than the quality
spread makes the std mostly "violated or not", which shrinks the advantage differences among compliant
completions — the quality signal. The third column is the mean spread (std) of the compliant members'
normalised advantages over groups with at least two compliant members: higher keeps more quality signal.

Run:
    python bench/rlmr_vs_fixed.py --groups 20000 --generations 8
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys

from writer_r1.rl.rlmr import fixed_weight_rewards, rlmr_rewards


def advantages(rewards: list[float], normalise: bool) -> list[float]:
    mean = statistics.fmean(rewards)
    spread = statistics.pstdev(rewards) if normalise else 1.0
    return [(r - mean) / (spread + 1e-4) for r in rewards]


def random_group(rng: random.Random, size: int) -> tuple[list[float], list[bool]]:
    skew = rng.choice([1.0, 0.5, 3.0])
    quality = [rng.random() ** skew for _ in range(size)]
    violation_rate = rng.choice([0.1, 0.3, 0.5])
    passed = [rng.random() >= violation_rate for _ in range(size)]
    return quality, passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=20000)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    methods = {"rlmr (dynamic λ)": None, "fixed c=0.1": 0.1, "fixed c=0.3": 0.3, "fixed c=0.5": 0.5, "fixed c=1.0": 1.0}
    bad = {name: 0 for name in methods}
    order_kept = {name: 0 for name in methods}
    signal = {name: 0.0 for name in methods}
    signal_groups = 0
    violators = 0
    mixed_groups = 0
    for _ in range(args.groups):
        quality, passed = random_group(rng, args.generations)
        if all(passed) or not any(passed):
            continue
        mixed_groups += 1
        violators += passed.count(False)
        signal_groups += passed.count(True) >= 2
        for name, weight in methods.items():
            rewards = (
                rlmr_rewards(quality, passed, args.generations)
                if weight is None
                else (fixed_weight_rewards(quality, passed, weight))
            )
            adv = advantages(rewards, normalise=True)
            bad[name] += sum(1 for a, ok in zip(adv, passed, strict=True) if not ok and a >= 0)
            compliant = [(q, r) for q, r, ok in zip(quality, rewards, passed, strict=True) if ok]
            order_kept[name] += all(
                (q1 < q2) == (r1 < r2) for (q1, r1) in compliant for (q2, r2) in compliant if q1 != q2
            )
            compliant_adv = [a for a, ok in zip(adv, passed, strict=True) if ok]
            if len(compliant_adv) >= 2:
                signal[name] += statistics.pstdev(compliant_adv)
    print(f"{mixed_groups} mixed groups of {args.generations}, {violators} violators")
    print(
        f"{'method':<20}{'violators with advantage >= 0':>32}{'compliant order kept':>24}"
        f"{'compliant advantage spread':>30}"
    )
    for name in methods:
        print(
            f"{name:<20}{bad[name] / violators:>31.2%} {order_kept[name] / mixed_groups:>23.2%} "
            f"{signal[name] / max(1, signal_groups):>29.3f}"
        )
    ok = bad["rlmr (dynamic λ)"] == 0
    print("PASS: no violator keeps a non-negative advantage under RLMR" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
