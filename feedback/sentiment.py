"""Sentiment of free text with VADER, a lexicon shipped inside the package (nothing downloaded).

The compound score runs from -1 (very negative) to +1 (very positive); ±0.05 are VADER's own
bounds of neutral text. VADER reads English; other languages mostly come out neutral.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NEUTRAL_BOUND = 0.05

# Customer-experience words VADER's general lexicon misreads: an "agreed date" or a "promised"
# call is a reference point, not praise, and lateness or waiting is a complaint. Valences on
# VADER's own scale (-4 .. +4).
CX_LEXICON = {
    "agreed": 0.0,
    "promised": 0.0,
    "late": -1.5,
    "overdue": -1.5,
    "overcharged": -2.0,
    "unanswered": -1.5,
    "waited": -0.8,
    "waiting": -0.6,
}


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(CX_LEXICON)
    return analyzer


def compound(text: str) -> float | None:
    """The compound score of `text`, or None when there is no text to judge."""
    if not text or not text.strip():
        return None
    return round(_analyzer().polarity_scores(text)["compound"], 3)


def label(score: float | None) -> str:
    """'positive', 'neutral' or 'negative' (empty for no text), the words the colour classes use."""
    if score is None:
        return ""
    if score >= NEUTRAL_BOUND:
        return "positive"
    if score <= -NEUTRAL_BOUND:
        return "negative"
    return "neutral"


def contradicts(valence: int, score: float | None) -> bool:
    """True when the text clearly says the opposite of the rating (e.g. 10 out of 10, "awful")."""
    if score is None or valence == 0:
        return False
    return valence * score <= -settings.CXM_SENTIMENT_CONTRADICTION
