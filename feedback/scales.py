"""The standard feedback scales (DESIGN §2) as pure functions: no Django, no database.

A score maps to a valence by the standard bands and to an intensity by its distance from
the middle of the neutral band, so that a 0 out of 10 weighs more than a 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    low: int
    high: int
    negative_up_to: int  # scores at or below are negative
    positive_from: int  # scores at or above are positive

    @property
    def scores(self) -> range:
        return range(self.low, self.high + 1)


SCALES = {
    "nps": Scale(low=0, high=10, negative_up_to=6, positive_from=9),
    "csat": Scale(low=1, high=5, negative_up_to=2, positive_from=4),
    "ces": Scale(low=1, high=7, negative_up_to=3, positive_from=6),
}


def valence(kind: str, score: int) -> int:
    """-1, 0 or +1 by the standard bands: NPS 0–6 / 7–8 / 9–10, CSAT 1–2 / 3 / 4–5, CES 1–3 / 4–5 / 6–7."""
    scale = SCALES[kind]
    if score <= scale.negative_up_to:
        return -1
    if score >= scale.positive_from:
        return 1
    return 0


def intensity(kind: str, score: int) -> int:
    """1–5 by distance from the middle of the neutral band, relative to the farthest score on that side.

    The extremes of a scale are 5; a score just outside the neutral band is 1 (NPS 6), 2 or 3
    depending on how many steps the side has (NPS 9 and CSAT 4 are 3). Neutral scores are 1.
    """
    scale = SCALES[kind]
    middle = (scale.negative_up_to + scale.positive_from) / 2
    farthest = scale.high - middle if score > middle else middle - scale.low
    if valence(kind, score) == 0:
        return 1
    return max(1, min(5, math.ceil(5 * abs(score - middle) / farthest - 1e-9)))
