"""The relationship ladder rules (DESIGN §1.5): which customers to suggest moving up or down.

Pure Python, no Django: the feedback app gathers the facts in bulk and stores suggestions;
a manager accepts or dismisses them. The thresholds are settings (CXM_LADDER_*), explained
in docs/feedback.md. A suggestion moves one rung at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("communication", "conversation", "collaboration", "co_creation", "evangelist")
PROMOTER_REQUIRED_FROM = "co_creation"  # the top rungs are for customers who recommend us
PROMOTER_MIN = 9
DETRACTOR_MAX = 6


@dataclass(frozen=True)
class Rules:
    window_days: int = 90
    up_positives: int = 3
    down_negatives: int = 2


@dataclass(frozen=True)
class Facts:
    """What is known of one customer; counts are over the rules' window."""

    level: str
    recovery_debt: int
    positives: int
    negatives: int
    last_nps: int | None  # the customer's latest NPS answer, if any


@dataclass(frozen=True)
class Move:
    to_level: str
    reason: str  # "earned", "detractor" or "negatives"


def suggest(facts: Facts, rules: Rules) -> Move | None:
    """One rung down for a detractor or repeated negatives with debt; one up when earned; else None.

    Down wins over up: a negative moment must be answered before anyone celebrates.
    """
    rung = LEVELS.index(facts.level)
    detractor = facts.last_nps is not None and facts.last_nps <= DETRACTOR_MAX
    if rung > 0:
        if detractor:
            return Move(LEVELS[rung - 1], "detractor")
        if facts.negatives >= rules.down_negatives and facts.recovery_debt > 0:
            return Move(LEVELS[rung - 1], "negatives")
    if rung == len(LEVELS) - 1 or detractor:
        return None
    target = LEVELS[rung + 1]
    earned = facts.recovery_debt == 0 and facts.negatives == 0 and facts.positives >= rules.up_positives
    if target in LEVELS[LEVELS.index(PROMOTER_REQUIRED_FROM) :]:
        earned = earned and facts.last_nps is not None and facts.last_nps >= PROMOTER_MIN
    return Move(target, "earned") if earned else None
