"""RLMR mixing: every violator below its group mean, compliant order kept, λ adapts, severity, fallback."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from writer_r1.core.errors import UserError
from writer_r1.rl.rlmr import compliance_flags, fixed_weight_rewards, rlmr_mix, rlmr_rewards

quality_value = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
# Unbounded real-valued scales: a reward model's raw logits, a win share, a score out of 100, huge magnitudes.
real_value = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=-1e150, max_value=1e150, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**9), max_value=10**9).map(lambda k: 1e12 + k * 1e-3),  # tiny spread, large offset
)


@st.composite
def groups(draw, allow_none: bool = False, values_from=quality_value):
    size = draw(st.integers(min_value=2, max_value=12))
    values = st.one_of(values_from, st.none()) if allow_none else values_from
    quality = draw(st.lists(values, min_size=size, max_size=size))
    passed = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    failures = [0 if ok else draw(st.integers(min_value=1, max_value=5)) for ok in passed]
    return quality, passed, failures


def _mean(values):
    known = [v for v in values if v is not None]
    return sum(known) / len(known)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(groups(allow_none=True), groups(allow_none=True, values_from=real_value)),
    st.sampled_from(["below_mean", "below_compliant"]),
)
def test_every_violator_ends_below_the_group_mean(group, mode) -> None:
    quality, passed, failures = group
    rewards, [mix] = rlmr_mix(quality, passed, len(quality), failures=failures, mode=mode)
    compliant_known = [i for i, ok in enumerate(passed) if ok and quality[i] is not None]
    if all(passed) or not compliant_known:
        return  # nothing to be below (checked by the fallback tests)
    mean = _mean(rewards)  # what TRL's nan-aware baseline sees
    for i, ok in enumerate(passed):
        if not ok:
            assert rewards[i] is not None
            assert rewards[i] < mean


@settings(max_examples=400, deadline=None)
@given(st.one_of(groups(allow_none=True), groups(allow_none=True, values_from=real_value)))
def test_below_compliant_ranks_every_violator_below_every_compliant_completion(group) -> None:
    quality, passed, failures = group
    rewards = rlmr_rewards(quality, passed, len(quality), failures=failures, mode="below_compliant")
    compliant = [rewards[i] for i, ok in enumerate(passed) if ok and rewards[i] is not None]
    violators = [rewards[i] for i, ok in enumerate(passed) if not ok]
    if not compliant or not violators:
        return
    assert max(violators) < min(compliant)
    assert compliant == [quality[i] for i, ok in enumerate(passed) if ok and quality[i] is not None]


def test_below_compliant_fixes_the_measured_case_below_mean_leaves() -> None:
    # A fluent violator (0.90) above compliant drafts (0.50) that it only needs to trail on average.
    quality, passed = [0.90, 0.95, 0.92, 0.50, 0.50], [False, True, True, True, True]
    loose = rlmr_rewards(quality, passed, 5)
    strict = rlmr_rewards(quality, passed, 5, mode="below_compliant")
    assert loose[0] < _mean(loose) and loose[0] > 0.50  # below the mean, above two compliant drafts
    assert strict[0] < 0.50 and strict[1:] == quality[1:]


def _advantages(rewards):
    known = [r for r in rewards if r is not None]
    mean = sum(known) / len(known)
    std = (sum((r - mean) ** 2 for r in known) / len(known)) ** 0.5
    flat = std <= 1e-9 * max(1.0, *(abs(r) for r in known))  # equal rewards, up to rounding: no advantage
    return [None if r is None else 0.0 if flat else (r - mean) / std for r in rewards]


@settings(max_examples=300, deadline=None)
@given(
    groups(allow_none=True),
    st.floats(min_value=-1e4, max_value=1e4),
    st.floats(min_value=1e-3, max_value=1e4),
    st.sampled_from(["below_mean", "below_compliant"]),
)
def test_advantages_do_not_depend_on_the_quality_scale(group, shift, scale, mode) -> None:
    quality, passed, failures = group
    known = [q for q in quality if q is not None]
    assume(len(known) >= 2 and (max(known) == min(known) or max(known) - min(known) >= 1e-3))
    moved = [None if q is None else shift + scale * q for q in quality]
    before = _advantages(rlmr_rewards(quality, passed, len(quality), failures=failures, mode=mode))
    after = _advantages(rlmr_rewards(moved, passed, len(quality), failures=failures, mode=mode))
    for a, b in zip(before, after, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert b == pytest.approx(a, abs=1e-6)


def test_huge_qualities_with_a_tiny_spread_still_put_the_violator_below() -> None:
    quality = [1e149, 1e149 * (1 + 1e-15), 1e149]
    rewards = rlmr_rewards(quality, [False, True, True], 3, mode="below_compliant")
    assert rewards[0] < _mean(rewards) and rewards[0] < min(rewards[1:])


@pytest.mark.parametrize("passed", [[0.5, 1.0], [1, 0], ["yes", True]])
def test_passed_must_be_booleans_not_shares(passed) -> None:
    with pytest.raises(UserError, match="booleans"):
        rlmr_rewards([0.5, 0.4], passed, 2)


def test_shares_convert_explicitly_to_compliance() -> None:
    shares = [0.5, 1.0, None, 0.0]
    assert compliance_flags(shares) == [False, True, True, False]
    rewards = rlmr_rewards([0.9, 0.4, 0.3, 0.2], compliance_flags(shares), 4)
    assert rewards[0] < _mean(rewards)


def test_numpy_booleans_are_booleans() -> None:
    numpy = pytest.importorskip("numpy")
    assert rlmr_rewards([0.5, 0.4], list(numpy.array([True, True])), 2) == [0.5, 0.4]


def test_out_of_range_qualities_and_modes_are_refused() -> None:
    with pytest.raises(UserError, match="within"):
        rlmr_rewards([1e200, 0.4], [False, True], 2)
    with pytest.raises(UserError, match="mode"):
        rlmr_rewards([0.5, 0.4], [False, True], 2, mode="strict")


@settings(max_examples=300, deadline=None)
@given(groups())
def test_compliant_completions_keep_their_quality_and_order(group) -> None:
    quality, passed, failures = group
    rewards = rlmr_rewards(quality, passed, len(quality), failures=failures)
    for i, ok in enumerate(passed):
        if ok and not all(not p for p in passed):
            assert rewards[i] == pytest.approx(quality[i])


@settings(max_examples=300, deadline=None)
@given(groups())
def test_severity_orders_violators_of_equal_quality(group) -> None:
    quality, passed, failures = group
    if all(passed):
        return
    same = [0.5] * len(quality)
    rewards = rlmr_rewards(same, passed, len(quality), failures=failures)
    violators = [i for i, ok in enumerate(passed) if not ok]
    for a in violators:
        for b in violators:
            if failures[a] > failures[b]:
                assert rewards[a] < rewards[b]


@settings(max_examples=300, deadline=None)
@given(groups(allow_none=True), st.floats(min_value=1e-3, max_value=0.5))
def test_lambda_is_the_smallest_that_puts_the_best_violator_margin_below_the_mean(group, margin) -> None:
    quality, passed, failures = group
    rewards, [mix] = rlmr_mix(quality, passed, len(quality), failures=failures, margin=margin)
    scored = [i for i, r in enumerate(rewards) if r is not None]
    compliant = [i for i in scored if passed[i]]
    if mix.lam is None or mix.violators == 0:
        return
    mean = _mean(rewards)
    best_gap = max(rewards[i] - mean for i in scored if not passed[i])
    bound = -margin * mix.unit * len(compliant) / len(scored)
    assert best_gap <= bound + 1e-9
    if mix.lam > margin * mix.unit + 1e-9:  # λ had to grow beyond δ: then it is tight, no larger than needed
        assert best_gap == pytest.approx(bound, abs=1e-9)


def test_lambda_adapts_to_the_quality_spread() -> None:
    passed = [False, True, True, True]
    _, [narrow] = rlmr_mix([0.52, 0.5, 0.5, 0.5], passed, 4)
    _, [wide] = rlmr_mix([0.95, 0.5, 0.3, 0.1], passed, 4)
    _, [weak_violator] = rlmr_mix([0.1, 0.5, 0.6, 0.7], passed, 4)
    assert weak_violator.lam == pytest.approx(0.05 * 0.6)  # already below the mean: only the margin (× spread 0.6)
    assert narrow.lam > 0.05 * narrow.unit and wide.lam > 0.05 * wide.unit
    assert narrow.lam < wide.lam


def test_no_violators_means_reward_is_quality() -> None:
    assert rlmr_rewards([0.1, 0.9, None], [True, True, True], 3) == [0.1, 0.9, None]


def test_all_violating_group_falls_back_to_a_per_failure_penalty() -> None:
    rewards, [mix] = rlmr_mix([0.9, 0.2], [False, False], 2, failures=[3, 1], fallback_penalty=0.5)
    assert mix.all_violating and mix.lam is None
    assert mix.unit == pytest.approx(0.7)  # the group's spread: the penalty is in units of it
    assert rewards == pytest.approx([0.9 - 3 * 0.5 * 0.7, 0.2 - 0.5 * 0.7])


def test_fallback_uses_the_lowest_known_quality_for_an_unscored_violator() -> None:
    rewards = rlmr_rewards([None, 0.4, 0.8], [False, False, False], 3, failures=[1, 1, 2], fallback_penalty=0.5)
    assert rewards == pytest.approx([0.4 - 0.2, 0.4 - 0.2, 0.8 - 0.4])  # unit: the spread 0.4


def test_no_scored_compliant_member_falls_back_and_keeps_the_compliant_none() -> None:
    rewards, [mix] = rlmr_mix([None, 0.9, 0.3], [True, False, False], 3, fallback_penalty=0.5)
    assert mix.all_violating
    assert rewards[0] is None and rewards[1:] == pytest.approx([0.9 - 0.3, 0.3 - 0.3])  # unit 0.6


@pytest.mark.parametrize(
    "settings_",
    [
        {"margin": 0.0},
        {"margin": -0.1},
        {"margin": float("nan")},
        {"severity_weight": -1.0},
        {"fallback_penalty": -0.5},
    ],
)
def test_settings_that_break_the_guarantee_are_refused(settings_) -> None:
    with pytest.raises(UserError):
        rlmr_rewards([0.5, 0.4], [False, True], 2, **settings_)


def test_non_finite_quality_is_refused() -> None:
    with pytest.raises(UserError, match="finite"):
        rlmr_rewards([float("nan"), 0.4], [False, True], 2)


def test_groups_are_mixed_independently() -> None:
    rewards = rlmr_rewards([0.9, 0.1, 0.9, 0.1], [False, True, True, True], 2)
    assert rewards[2:] == [0.9, 0.1]
    assert rewards[0] < (rewards[0] + rewards[1]) / 2


def test_a_compliant_judge_failure_stays_none_and_a_violator_is_still_penalised() -> None:
    rewards = rlmr_rewards([None, None, 0.6, 0.4], [True, False, True, True], 4)
    assert rewards[0] is None
    assert rewards[1] is not None and rewards[1] < _mean(rewards)


@pytest.mark.parametrize(
    ("quality", "passed", "g"), [([0.1], [True], 0), ([0.1, 0.2, 0.3], [True] * 3, 2), ([0.1], [True, False], 1)]
)
def test_bad_shapes_are_clear_errors(quality, passed, g) -> None:
    with pytest.raises(UserError):
        rlmr_rewards(quality, passed, g)


def test_fixed_weight_leaves_fluent_violators_ahead_where_rlmr_does_not() -> None:
    quality, passed = [0.95, 0.4, 0.35, 0.3], [False, True, True, True]
    fixed = fixed_weight_rewards(quality, passed, 0.2)
    assert fixed[0] > sum(fixed) / 4
    mixed = rlmr_rewards(quality, passed, 4)
    assert mixed[0] < sum(mixed) / 4


@pytest.mark.parametrize("mode", ["below_mean", "below_compliant"])
def test_a_subnormal_spread_does_not_lose_the_shift_to_rounding(mode) -> None:
    # Found by hypothesis: qualities 0 and 5e-324 (a subnormal spread) left a violator equal to the mean.
    quality, passed = [0.0, 5e-324, None, 0.0], [False, False, False, True]
    rewards = rlmr_rewards(quality, passed, num_generations=4, failures=[1, 1, 1, 0], mode=mode)
    known = [r for r in rewards if r is not None]
    mean = sum(known) / len(known)
    assert all(r < mean for r, p in zip(rewards, passed, strict=True) if r is not None and not p)
