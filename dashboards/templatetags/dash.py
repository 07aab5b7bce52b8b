"""Display helpers of the dashboards: numbers with their unit, and the valence colour of an index."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

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
    """A change of index, signed, in points."""
    if change is None:
        return EMPTY
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{number_format(abs(change), 1)}"


@register.filter
def change_class(change: float | None) -> str:
    if not change:
        return "valence-neutral"
    return "valence-positive" if change > 0 else "valence-negative"


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
