"""Our verdicts against the official checker itself on rewritten responses no other test has seen.

The official code runs from the copy in `lm-eval` (see `writer_r1.testing.official_ifeval`); these tests skip when
it is not installed (`pip install -e ".[test]"` brings it; CI installs it).
Instructions whose official verdict depends on a random draw (`*_unstable_idx` in the labels, e.g. a
letter that is not a letter) are left out, as in the test on the official labels.
"""

from __future__ import annotations

import os

import ifeval_rewrites as rewrites
import pytest
from writer_r1.constraints.ifeval import evaluate
from writer_r1.constraints.ifeval.evaluation import evaluate_row
from writer_r1.testing import official_ifeval

# Seeds per input row: 3 here keeps the run to seconds; WRITER_R1_ORACLE_REWRITES=150 is the long run.
REWRITES_PER_ROW = int(os.environ.get("WRITER_R1_ORACLE_REWRITES", "3"))


@pytest.fixture(scope="module")
def official(tmp_path_factory):  # type: ignore[no-untyped-def]
    checker = official_ifeval.load(tmp_path_factory.mktemp("nltk_data"))
    if checker is None:
        pytest.skip('official IFEval checker not installed: pip install -e ".[test]" (lm-eval==0.4.13)')
    return checker


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_oracle_reproduces_the_official_labels(official, ifeval_data, mode):
    """The oracle is the official checker: it gives the published verdicts on the shared responses."""
    inputs, responses, labels = ifeval_data
    mismatches = [
        (row.key, index)
        for row in inputs
        for index, verdict in enumerate(official.check(row, responses[row.prompt], mode))
        if index not in labels[row.key][f"{mode}_unstable_idx"] and verdict != labels[row.key][f"{mode}_seed0"][index]
    ]
    assert mismatches == []


def test_rewrites_are_new_texts_that_move_verdicts(official, ifeval_data):
    """The rewrites are not the shared responses, and they flip official verdicts both ways."""
    inputs, responses, _ = ifeval_data
    pool = [responses[row.prompt] for row in inputs]
    flips = {True: 0, False: 0}
    unchanged = 0
    for row in inputs:
        original = official.check(row, responses[row.prompt], "strict")
        text = rewrites.rewrite(row.key, responses[row.prompt], row, pool)
        unchanged += text == responses[row.prompt]  # e.g. lower-casing a lower-case response
        for before, after in zip(original, official.check(row, text, "strict"), strict=True):
            if before != after:
                flips[after] += 1
    assert unchanged <= 15
    assert flips[True] >= 5 and flips[False] >= 100, flips


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_verdicts_identical_to_the_official_checker_on_rewritten_responses(official, ifeval_data, mode):
    """Both entry points: `evaluate` over the whole set (checkers shared, languages batched) and `evaluate_row`."""
    inputs, responses, labels = ifeval_data
    pool = [responses[row.prompt] for row in inputs]
    mismatches = []
    checked = 0
    for round_ in range(REWRITES_PER_ROW):
        texts = {
            row.prompt: rewrites.rewrite(round_ * 100_000 + int(row.key or 0), responses[row.prompt], row, pool)
            for row in inputs
        }
        batch = evaluate(inputs, texts, mode)
        for row, result in zip(inputs, batch, strict=True):
            text = texts[row.prompt]
            expected = official.check(row, text, mode)
            one = evaluate_row(row, text, mode).follow_instruction_list
            unstable = set(labels[row.key][f"{mode}_unstable_idx"])
            for index, want in enumerate(expected):
                if index in unstable:
                    continue
                checked += 1
                got = (result.follow_instruction_list[index], one[index])
                if got != (want, want):
                    mismatches.append((round_, row.key, row.instruction_id_list[index], want, got))
    assert checked >= 830 * REWRITES_PER_ROW
    assert mismatches == [], f"{len(mismatches)} of {checked}; first: {mismatches[:5]}"
