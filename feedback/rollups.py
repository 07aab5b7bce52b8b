"""Daily survey and theme rollups, the rows the dashboards read instead of the answers, invitations and mentions.

Maintained like scoring's DailyRollup, by the same dirty-day marks: the rescoring batch that
recomputes a day's experience rollups recomputes its survey rollups in the same transaction
(`scoring.recompute`), so an answer's NPS/CSAT/CES shows exactly when its experience's index
does, and `rescore_all` rebuilds them all. An answer marks its experience's day (the one write
path does) and the day its invitation was sent; sending marks the day it was sent; matching
notes to themes marks the days of the experiences it found a theme in (feedback/themes.py).

Recomputed from the rows, never incremented: safe to run twice or concurrently. A stored row that
differs from the recomputed sums is deleted and the sums inserted, rather than upserted: an
invitation's department or touchpoint may be empty, and SQLite has no unique key that treats
empty values as equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import reduce
from operator import or_

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from experiences.models import Valence
from experiences.partitions import day_moments, on_days
from scoring.periods import roll_up_periods, store_sums, take_turns

from .models import (
    ExperienceTheme,
    Invitation,
    InvitationRollup,
    Response,
    SurveyRollup,
    ThemeRollup,
)
from .survey_scores import NEGATIVE, POSITIVE, SURVEY_PERIODS, THEME_PERIODS


def sent_day(sent_at: datetime) -> date:
    """The company calendar day (TIME_ZONE) an invitation was sent on: the day of its response-rate row."""
    return timezone.localdate(sent_at)


def _sent_on(days: Sequence[date]) -> Q:
    """Sent on one of `days`, as ranges of `sent_at` (its index serves them, where `sent_at__date` would not)."""
    return reduce(or_, (Q(sent_at__gte=a, sent_at__lt=b) for a, b in map(day_moments, days, days)), Q(pk__in=[]))


def roll_up_surveys(*, days: Sequence[date] | None) -> None:
    """Recompute the survey, invitation and theme rollups of `days` (None: every day), in the caller's transaction.

    Concurrent batches take turns (`take_turns`), so two workers rolling up the same day never both
    insert its rows.
    """
    take_turns()
    answers = Response.objects.filter(experience__isnull=False)
    invitations = Invitation.objects.filter(sent_at__isnull=False)
    mentions = ExperienceTheme.objects.all()
    answer_rows = invitation_rows = theme_rows = None  # every row
    if days is not None:
        days = list(days)
        months = on_days(min(days), max(days), via="experience__") if days else Q(pk__in=[])
        answers = answers.filter(months, experience__occurred_on__in=days)
        invitations = invitations.filter(_sent_on(days))
        mentions = mentions.filter(months, experience__occurred_on__in=days)
        answer_rows = SurveyRollup.objects.filter(day__in=days)
        invitation_rows = InvitationRollup.objects.filter(day__in=days)
        theme_rows = ThemeRollup.objects.filter(day__in=days)
    found = (
        answers.values(
            "department_id",  # the answer's copy of its experience's department (feedback.models.Response)
            day=F("experience__occurred_on"),
            touchpoint_id=F("experience__touchpoint_id"),
            stage=F("experience__stage"),
            segment=F("experience__customer__segment"),
            kind=F("survey__kind"),
        )
        .annotate(
            responses=Count("pk"),
            positives=Count("pk", filter=POSITIVE),
            negatives=Count("pk", filter=NEGATIVE),
            total=Sum("score"),
            squares=Sum(F("score") * F("score")),
        )
        .order_by()
    )
    store_sums(SurveyRollup, answer_rows, found)
    roll_up_periods(SURVEY_PERIODS, days)
    sent = (
        invitations.values("survey_id", "department_id", "touchpoint_id", day=TruncDate("sent_at"))
        .annotate(sent=Count("pk"), answered=Count("answered_at"))
        .order_by()
    )
    store_sums(InvitationRollup, invitation_rows, sent)
    themes = (
        mentions.values(
            "theme_id",
            day=F("experience__occurred_on"),
            department_id=F("experience__department_id"),
            touchpoint_id=F("experience__touchpoint_id"),
            segment=F("experience__customer__segment"),
        )
        .annotate(mentions=Count("pk"), negatives=Count("pk", filter=Q(experience__valence=Valence.NEGATIVE)))
        .order_by()
    )
    store_sums(ThemeRollup, theme_rows, themes)
    roll_up_periods(THEME_PERIODS, days)
