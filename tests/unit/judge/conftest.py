"""Fixtures for the judge tests: a small criteria set with scales of different lengths."""

from __future__ import annotations

import pytest
from writer_r1.core.criteria import CriteriaSet, Criterion, Dimension, Level


def _levels(n: int) -> list[Level]:
    return [Level(anchor=f"anchor {i} of {n}") for i in range(1, n + 1)]


@pytest.fixture
def criteria() -> CriteriaSet:
    """Three criteria in two dimensions; `imagery` has 5 levels, `pacing` 3, `clarity` 4."""
    return CriteriaSet(
        task="Write a short scene set in a harbour at dawn.",
        dimensions=[
            Dimension(
                name="Craft",
                weight=2.0,
                criteria=[
                    Criterion(id="imagery", name="Imagery", description="Concrete sensory images", levels=_levels(5)),
                    Criterion(
                        id="pacing",
                        name="Pacing",
                        description="Scenes move at a fitting speed",
                        levels=_levels(3),
                        weight=0.5,
                    ),
                ],
            ),
            Dimension(
                name="Language",
                criteria=[Criterion(id="clarity", name="Clarity", description="Easy to follow", levels=_levels(4))],
            ),
        ],
    )
