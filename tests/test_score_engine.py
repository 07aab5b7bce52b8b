"""The score engine's promises (DESIGN §3), checked over generated experiences."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import engine
from scoring.engine import ExperienceFacts

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

valences = st.sampled_from([-1, 0, 1])
intensities = st.integers(min_value=1, max_value=5)
outcomes = st.sampled_from([None, "ok", "failed"])
shares = st.floats(min_value=0.0, max_value=1.0)
ages = st.floats(min_value=0.0, max_value=3 * 365.0)
facts = st.builds(
    lambda v, i, o, age: ExperienceFacts(valence=v, intensity=i, outcome=o, occurred_at=NOW - timedelta(days=age)),
    valences,
    intensities,
    outcomes,
    ages,
)
histories = st.lists(facts, max_size=30)


def moment(age_days: float) -> datetime:
    return NOW - timedelta(days=age_days)


@given(histories)
def test_index_is_between_0_and_100_or_none(history):
    index = engine.score(history, NOW).index
    assert index is None or 0.0 <= index <= 100.0


@given(histories)
def test_index_is_none_only_when_nothing_weighs(history):
    s = engine.score(history, NOW)
    assert (s.index is None) == (s.positive_mass + s.negative_mass == 0)


@given(histories, intensities, ages)
def test_adding_a_positive_never_lowers_the_index(history, intensity, age):
    before = engine.score(history, NOW).index
    after = engine.score([*history, ExperienceFacts(1, intensity, moment(age), "ok")], NOW).index
    assert after >= (before if before is not None else 0.0) - 1e-9


@given(histories, intensities, ages)
def test_adding_a_negative_never_raises_the_index(history, intensity, age):
    before = engine.score(history, NOW).index
    after = engine.score([*history, ExperienceFacts(-1, intensity, moment(age), "failed")], NOW).index
    assert after <= (before if before is not None else 100.0) + 1e-9


@given(intensities, ages)
def test_five_positives_balance_one_negative_of_the_same_intensity(intensity, age):
    at = moment(age)
    history = [ExperienceFacts(-1, intensity, at)] + [ExperienceFacts(1, intensity, at)] * 5
    s = engine.score(history, NOW)
    assert s.index == pytest.approx(50.0)
    assert s.recovery_debt == 0


def test_one_negative_of_intensity_3_alone_owes_five_positives():
    assert engine.score([ExperienceFacts(-1, 3, NOW)], NOW).recovery_debt == 5


@given(valences, intensities, shares)
def test_a_failed_outcome_lowers_the_impact_by_the_functional_share(valence, intensity, share):
    unknown = engine.impact(valence, intensity, None, emotional_share=share)
    failed = engine.impact(valence, intensity, "failed", emotional_share=share)
    assert unknown - failed == pytest.approx((1 - share) * (valence * intensity + 5), abs=1e-12)


@given(valences, intensities)
def test_the_tangible_outcome_weighs_a_tenth_by_default(valence, intensity):
    ok = engine.impact(valence, intensity, "ok")
    failed = engine.impact(valence, intensity, "failed")
    assert ok - failed == pytest.approx(0.1 * 10)


@given(intensities, st.floats(min_value=1.0, max_value=1000.0))
def test_an_experience_one_half_life_old_counts_half(intensity, half_life):
    fresh = engine.score([ExperienceFacts(1, intensity, NOW)], NOW, half_life_days=half_life)
    old = engine.score([ExperienceFacts(1, intensity, moment(half_life))], NOW, half_life_days=half_life)
    assert old.positive_mass == pytest.approx(fresh.positive_mass / 2)


@given(valences, intensities, outcomes, ages)
def test_stored_masses_brought_to_now_equal_the_decayed_impact(valence, intensity, outcome, age):
    at = moment(age)
    i = engine.impact(valence, intensity, outcome)
    positive, negative = engine.normalised_masses(i, at, EPOCH)
    expected = engine.score([ExperienceFacts(valence, intensity, at, outcome)], NOW)
    assert positive * engine.scale_to(NOW, EPOCH) == pytest.approx(expected.positive_mass, rel=1e-12, abs=1e-12)
    assert negative * engine.scale_to(NOW, EPOCH) == pytest.approx(expected.negative_mass, rel=1e-12, abs=1e-12)


@given(histories)
def test_recovery_debt_is_what_brings_the_balance_back_to_zero(history):
    s = engine.score(history, NOW)
    owed = s.recovery_debt * engine.STANDARD_POSITIVE_IMPACT
    assert s.balance + owed >= -1e-6
    assert s.recovery_debt == 0 or s.balance + owed - engine.STANDARD_POSITIVE_IMPACT < 1e-6


def test_a_period_report_does_not_decay():
    old = ExperienceFacts(1, 3, moment(720))
    assert engine.score([old], NOW, decayed=False).positive_mass == pytest.approx(3.0)
