"""Small statistics for evaluation: bootstrap intervals over prompts, correlations, length buckets.

Pure Python and seeded, so a report is reproducible.

Example:
    >>> bootstrap_mean_ci([1.0, 1.0, 1.0])
    (1.0, 1.0)
    >>> round(pearson([1, 2, 3], [2, 4, 7]), 3), spearman([1, 2, 3], [2, 4, 7])
    (0.993, 1.0)
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def bootstrap_mean_ci(
    values: Sequence[float], *, level: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float] | tuple[None, None]:
    """A percentile bootstrap interval of the mean (resampling the values, e.g. one per prompt)."""
    n = len(values)
    if n == 0:
        return None, None
    rng = random.Random(seed)
    data = list(values)
    means = sorted(sum(rng.choices(data, k=n)) / n for _ in range(resamples))
    tail = (1.0 - level) / 2
    low = means[max(0, math.floor(tail * resamples))]
    high = means[min(resamples - 1, math.ceil((1 - tail) * resamples) - 1)]
    return low, high


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's r; None when fewer than two pairs or a constant side."""
    if len(x) != len(y):
        raise ValueError("pearson needs two sequences of the same length")
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / math.sqrt(sxx * syy)


def ranks(values: Sequence[float]) -> list[float]:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            result[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho (Pearson on average ranks)."""
    return pearson(ranks(x), ranks(y))


LENGTH_BUCKETS = ("A much shorter", "A shorter", "similar", "A longer", "A much longer")


def length_bucket(words_a: int, words_b: int) -> str:
    """Which length bucket a pair falls in, by the ratio of A's words to B's (±15 % is similar, ×1.5 much)."""
    ratio = (words_a + 1) / (words_b + 1)
    if ratio < 1 / 1.5:
        return LENGTH_BUCKETS[0]
    if ratio < 1 / 1.15:
        return LENGTH_BUCKETS[1]
    if ratio <= 1.15:
        return LENGTH_BUCKETS[2]
    if ratio <= 1.5:
        return LENGTH_BUCKETS[3]
    return LENGTH_BUCKETS[4]


def word_count(text: str) -> int:
    """Words, with each CJK character counted as one word."""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
    return len(text.split()) + cjk
