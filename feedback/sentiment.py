"""Sentiment of free text with VADER, a lexicon shipped inside the package (nothing downloaded).

The compound score runs from -1 (very negative) to +1 (very positive); ±0.05 are VADER's own
bounds of neutral text. VADER reads English; other languages mostly come out neutral.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NEUTRAL_BOUND = 0.05


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


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
