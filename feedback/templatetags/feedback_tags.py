"""Show the sentiment of free text beside it, in the valence colours."""

from django import template

from .. import sentiment

register = template.Library()


@register.filter
def compound(text: str) -> float | None:
    """`{{ note|compound }}`: the VADER compound score of a text, None when empty."""
    return sentiment.compound(text)


@register.inclusion_tag("feedback/includes/sentiment.html")
def sentiment_badge(score: float | None) -> dict:
    """`{% sentiment_badge score %}`: a small labelled badge, nothing for no text."""
    return {"score": score, "mood": sentiment.label(score)}
