"""Show the sentiment of free text beside it, and survey scores with their unit, in the valence colours."""

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from .. import sentiment
from ..survey_scores import SurveyScore

register = template.Library()


@register.filter
def compound(text: str) -> float | None:
    """`{{ note|compound }}`: the VADER compound score of a text, None when empty."""
    return sentiment.compound(text)


@register.inclusion_tag("feedback/includes/sentiment.html")
def sentiment_badge(score: float | None) -> dict:
    """`{% sentiment_badge score %}`: a small labelled badge, nothing for no text."""
    return {"score": score, "mood": sentiment.label(score)}


# Survey scores (feedback/survey_scores.py) -------------------------------------------------

EMPTY = "—"
KIND_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
# Where a score turns green or red: NPS in points, CSAT in %, CES on its 1–7 scale.
GOOD_FROM = {"nps": 30.0, "csat": 80.0, "ces": 5.5}
BAD_BELOW = {"nps": 0.0, "csat": 60.0, "ces": 4.0}


def _number(value: float, places: int) -> str:
    """Rounded (number_format alone cuts the decimals off), in the active locale."""
    return number_format(round(value, places), places)


@register.filter
def survey_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


@register.filter
def survey_value(score: SurveyScore | None) -> str:
    """NPS signed in points (+23), CSAT in % (87 %), CES as a mean (5.4 / 7); "—" without answers."""
    if not score or score.value is None:
        return EMPTY
    if score.kind == "nps":
        return f"{'+' if score.value > 0 else '−' if score.value < 0 else '±'}{_number(abs(score.value), 0)}"
    if score.kind == "csat":
        return f"{_number(score.value, 0)} %"
    return f"{_number(score.value, 1)} / 7"


@register.filter
def survey_margin(score: SurveyScore | None) -> str:
    """ "± 12" when the answers are few enough for the margin of error to matter, else empty."""
    if not score or not score.few or score.margin is None:
        return ""
    return f"± {_number(score.margin, 1 if score.kind == 'ces' else 0)}"


@register.filter
def survey_class(score: SurveyScore | None) -> str:
    if not score or score.value is None:
        return "valence-neutral"
    if score.value >= GOOD_FROM[score.kind]:
        return "valence-positive"
    if score.value < BAD_BELOW[score.kind]:
        return "valence-negative"
    return "valence-neutral"


@register.filter
def survey_help(score: SurveyScore) -> str:
    """What the number means and what it rests on, visible without a mouse."""
    counts = {
        "nps": _("%(p)s promoters (9–10), %(d)s detractors (0–6) of %(n)s answers; NPS = %% promoters − %% detractors"),
        "csat": _("%(p)s of %(n)s answers satisfied (4–5 of 5); CSAT = %% satisfied"),
        "ces": _("mean of %(n)s answers, 1 = very difficult, 7 = very easy; %(d)s found it difficult (1–3)"),
    }[score.kind]
    return counts % {"p": score.positives, "d": score.negatives, "n": score.responses}


@register.filter
def rate(value: float | None) -> str:
    return EMPTY if value is None else f"{_number(value * 100, 0)} %"


@register.filter
def scores_of(by_group: dict, key) -> dict:
    """`{{ survey_by_department|scores_of:department.pk }}`: one group's scores, empty when it has none."""
    return by_group.get(key, {})
