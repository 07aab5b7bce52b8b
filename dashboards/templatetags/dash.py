"""Display helpers of the dashboards: numbers with their unit, and the valence colour of an index."""

from __future__ import annotations

from functools import cache

from babel import Locale
from babel.numbers import format_currency
from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import get_language, to_locale

from touchpoints.models import Stage

register = template.Library()

POSITIVE_FROM = 55.0
NEGATIVE_BELOW = 45.0
EMPTY = "—"


@register.filter
def index(value: float | None) -> str:
    """An experience index out of 100, or "—" when there was nothing to judge."""
    return EMPTY if value is None else number_format(value, 0)


@register.filter
def index_class(value: float | None) -> str:
    """Green above 55, red below 45, grey near balance (50) or without an index (also while it is computed)."""
    if not isinstance(value, int | float):
        return "valence-neutral"
    if value >= POSITIVE_FROM:
        return "valence-positive"
    if value < NEGATIVE_BELOW:
        return "valence-negative"
    return "valence-neutral"


@register.filter
def percent(share: float | None) -> str:
    return EMPTY if share is None else f"{number_format(share * 100, 0)} %"


@register.filter
def points(change: float | None) -> str:
    """A change of index, signed, in points with one decimal; what rounds to 0.0 is "±0.0", not "−0.0"."""
    if change is None:
        return EMPTY
    change = round(change, 1)
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{number_format(abs(change), 1)}"


@register.filter
def change_class(change: float | None) -> str:
    """Green up, red down, grey for no change at the one decimal shown."""
    if change is None or round(change, 1) == 0:
        return "valence-neutral"
    return "valence-positive" if change > 0 else "valence-negative"


@register.filter
def money(amount: float | None) -> str:
    """An amount in the company's currency (CXM_CURRENCY), whole units, written the active language's way."""
    if amount is None:
        return EMPTY
    locale, whole_units = _currency_format(get_language() or settings.LANGUAGE_CODE)
    return format_currency(
        round(amount), settings.CXM_CURRENCY, format=whole_units, locale=locale, currency_digits=False
    )


@cache
def _currency_format(language: str) -> tuple[Locale, str]:
    """The language's locale and its whole-units currency pattern: parsing a locale costs more than formatting."""
    locale = Locale.parse(to_locale(language))
    return locale, locale.currency_formats["standard"].pattern.replace(".00", "")  # "¤#,##0" or "#,##0 ¤"


@register.filter
def valence_class(valence: int) -> str:
    return {1: "valence-positive", -1: "valence-negative"}.get(valence, "valence-neutral")


@register.filter
def mass(value: float) -> str:
    return number_format(value, 1)


@register.filter
def get_item(mapping: dict, key: str):
    """`mapping[key]` in a template (the "before" value of a recorded change)."""
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.filter
def stage_names(stages: list[str]) -> str:
    """The chosen stages by name, for the summary of the active filter."""
    return ", ".join(str(Stage(stage).label) for stage in stages)


@register.inclusion_tag("includes/explain.html")
def explain(*terms: str, summary: str = "") -> dict:
    """`{% explain _("Index") _("Out of 100…") … %}`: what a table's columns mean, as visible text.

    Touch screens never show a `title`, so each name and its meaning is written out in a
    disclosure beside the table (arguments alternate a name and its meaning).
    """
    if len(terms) % 2:
        raise template.TemplateSyntaxError("explain takes pairs: a name, then what it means")
    return {"terms": list(zip(terms[::2], terms[1::2], strict=True)), "summary": summary}
