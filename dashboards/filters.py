"""The period and segment filter shared by every dashboard page, read from the URL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from django import forms
from django.forms.renderers import Jinja2
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.queries import segments
from experiences.partitions import day_moments
from touchpoints.models import Stage

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
WEEKLY_FROM_DAYS = 31  # longer periods are charted per week, shorter ones per day


@dataclass(frozen=True)
class Period:
    """Company calendar days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        """The period of the same length just before, for "change against the previous period"."""
        end = self.start - timedelta(days=1)
        return Period(start=end - timedelta(days=self.days - 1), end=end)

    @property
    def weekly(self) -> bool:
        return self.days > WEEKLY_FROM_DAYS

    @property
    def moments(self) -> tuple[datetime, datetime]:
        """[first instant, instant after the last day) in the company's time zone, for range scans."""
        return day_moments(self.start, self.end)


@dataclass(frozen=True)
class Filters:
    period: Period
    stages: list[str] | None  # None: every stage
    segments: list[str] | None = None  # None: every customer segment

    @property
    def segment(self) -> str:
        """The one segment chosen, "" for all: for headings and file names."""
        return self.segments[0] if self.segments else ""


class FilterForm(forms.Form):
    # Rendered on every dashboard page, cached or not: Django's own widget templates, compiled by Jinja2,
    # took a cached page 0.86-0.93x its time with Django's template engine (docs/performance.md). One
    # renderer for the process, so its templates are compiled once. The admin keeps the default:
    # its widgets have no Jinja2 templates.
    default_renderer = Jinja2()

    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[
            ("7", _("Last 7 days")),
            ("30", _("Last 30 days")),
            ("90", _("Last 90 days")),
            ("365", _("Last 365 days")),
            ("custom", _("Custom")),
        ],
    )
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=[("", _("All stages")), *Stage.choices])
    segment = forms.ChoiceField(
        label=_("Segment"),
        required=False,
        error_messages={"invalid_choice": _("No customer is in the segment %(value)s; choose one from the list.")},
    )

    def __init__(self, *args, by_segment: bool = True, **kwargs) -> None:
        """`by_segment=False` leaves the segment out (a single customer's page has no use for it)."""
        super().__init__(*args, **kwargs)
        if by_segment:
            cast(forms.ChoiceField, self.fields["segment"]).choices = [
                ("", _("All segments")),
                *((s, s) for s in segments()),
            ]
        else:
            del self.fields["segment"]

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("period") == "custom" or (not data.get("period") and (data.get("start") or data.get("end"))):
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(_("A custom period needs both a From and a To date (YYYY-MM-DD)."))
            if start > end:
                raise forms.ValidationError(_("The From date must be on or before the To date."))
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(
                    _("A period can span at most %(days)s days; choose a shorter one.") % {"days": MAX_DAYS}
                )
            data["period"] = "custom"
        return data

    def filters(self, today: date | None = None) -> Filters:
        """The validated filters; call after `is_valid()`."""
        data = self.cleaned_data
        today = today or timezone.localdate()
        if data.get("period") == "custom":
            period = Period(start=data["start"], end=data["end"])
        else:
            days = int(data.get("period") or DEFAULT_DAYS)
            period = Period(start=today - timedelta(days=days - 1), end=today)
        return Filters(
            period=period,
            stages=[data["stage"]] if data.get("stage") else None,
            segments=[data["segment"]] if data.get("segment") else None,
        )


def read_filters(
    params, *, default_days: int = DEFAULT_DAYS, by_segment: bool = True
) -> tuple[FilterForm, Filters | None]:
    """Bind the query string; the filters are None when it needs fixing (the form says what)."""
    data = params.copy()
    if not data.get("period") and not (data.get("start") or data.get("end")):
        data["period"] = str(default_days)
    form = FilterForm(data, by_segment=by_segment)
    return form, form.filters() if form.is_valid() else None
