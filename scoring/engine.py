"""The score of DESIGN §3 as pure functions: no Django, weights passed in.

The set-based SQL of `scoring.recompute` must give the same numbers as these functions;
the tests check it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

SECONDS_PER_DAY = 86_400.0
DEBT_TOLERANCE = 1e-9
STANDARD_POSITIVE_IMPACT = 3.0

EMOTIONAL_SHARE = 0.9
HALF_LIFE_DAYS = 180.0
NEGATIVE_WEIGHT = 5.0


def emotional_part(valence: int, intensity: int) -> float:
    """`e = valence × intensity`, valence −1 / 0 / +1."""
    return float(valence * intensity)


def functional_part(e: float, outcome: str | None) -> float:
    """+5 for a tangible success, −5 for a failure, the emotional part when unknown."""
    if outcome == "ok":
        return 5.0
    if outcome == "failed":
        return -5.0
    return e


def impact(
    valence: int, intensity: int, outcome: str | None = None, *, emotional_share: float = EMOTIONAL_SHARE
) -> float:
    """`i = share·e + (1 − share)·f`: how the customer felt dominates what was delivered."""
    e = emotional_part(valence, intensity)
    return emotional_share * e + (1.0 - emotional_share) * functional_part(e, outcome)


def days_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / SECONDS_PER_DAY


def decay(age_days: float, *, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """`d = 0.5 ^ (age / H)`: memory fades; an experience one half-life old counts half."""
    return 0.5 ** (age_days / half_life_days)


def epoch_weight(occurred_at: datetime, epoch: datetime, *, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """`w = 2^((t − t₀)/H)`: makes a decayed sum time-invariant against a fixed epoch."""
    return 2.0 ** (days_between(epoch, occurred_at) / half_life_days)


def normalised_masses(
    impact_value: float, occurred_at: datetime, epoch: datetime, *, half_life_days: float = HALF_LIFE_DAYS
) -> tuple[float, float]:
    """The experience's (positive, negative) masses against the epoch, stored once when written."""
    w = epoch_weight(occurred_at, epoch, half_life_days=half_life_days)
    return max(impact_value, 0.0) * w, max(-impact_value, 0.0) * w


def scale_to(now: datetime, epoch: datetime, *, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """The factor that turns normalised masses into masses decayed to `now`."""
    return 2.0 ** (-days_between(epoch, now) / half_life_days)


def experience_index(positive: float, negative: float, *, negative_weight: float = NEGATIVE_WEIGHT) -> float | None:
    """`100·P / (P + w·N)`; None when there is nothing to judge (P + N = 0). 50 is balance."""
    if positive + negative <= 0:
        return None
    # Divide first: P / (P + w·N) never rounds above 1, whereas 100·P / P can exceed 100.
    return 100.0 * (positive / (positive + negative_weight * negative))


def balance(positive: float, negative: float, *, negative_weight: float = NEGATIVE_WEIGHT) -> float:
    return positive - negative_weight * negative


def recovery_debt(positive: float, negative: float, *, negative_weight: float = NEGATIVE_WEIGHT) -> int:
    """Standard positive experiences (intensity 3) still owed; an exact balance owes 0."""
    shortfall = max(0.0, negative_weight * negative - positive)
    return max(0, math.ceil(shortfall / STANDARD_POSITIVE_IMPACT - DEBT_TOLERANCE))


@dataclass(frozen=True)
class ExperienceFacts:
    """What the engine needs to know of one experience."""

    valence: int
    intensity: int
    occurred_at: datetime
    outcome: str | None = None


@dataclass(frozen=True)
class Score:
    positive_mass: float
    negative_mass: float
    index: float | None
    balance: float
    recovery_debt: int

    @property
    def at_risk(self) -> bool:
        return self.recovery_debt > 0


def score(
    experiences: Iterable[ExperienceFacts],
    now: datetime,
    *,
    emotional_share: float = EMOTIONAL_SHARE,
    half_life_days: float = HALF_LIFE_DAYS,
    negative_weight: float = NEGATIVE_WEIGHT,
    decayed: bool = True,
) -> Score:
    """A customer's score from their experiences, decayed to `now` (or plain, for period reports).

    An experience stamped ahead of `now` (clocks differ) moves the moment of the score to it:
    no experience weighs more than in full, whenever the score is computed.
    """
    experiences = list(experiences)
    moment = max([now, *(x.occurred_at for x in experiences)])
    positive = negative = 0.0
    for x in experiences:
        i = impact(x.valence, x.intensity, x.outcome, emotional_share=emotional_share)
        d = decay(days_between(x.occurred_at, moment), half_life_days=half_life_days) if decayed else 1.0
        positive += max(i, 0.0) * d
        negative += max(-i, 0.0) * d
    return Score(
        positive_mass=positive,
        negative_mass=negative,
        index=experience_index(positive, negative, negative_weight=negative_weight),
        balance=balance(positive, negative, negative_weight=negative_weight),
        recovery_debt=recovery_debt(positive, negative, negative_weight=negative_weight),
    )
