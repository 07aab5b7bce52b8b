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
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Count, F, Model, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.utils import timezone

from experiences.models import Valence
from experiences.partitions import day_moments, on_days
from scoring.queries import period_after, period_start

from .models import (
    ExperienceTheme,
    Invitation,
    InvitationRollup,
    MonthlySurveyRollup,
    MonthlyThemeRollup,
    Response,
    SurveyRollup,
    ThemeRollup,
    WeeklySurveyRollup,
    WeeklyThemeRollup,
)
from .survey_scores import NEGATIVE, POSITIVE, SCORE_SUMS

ROLLUP_LOCK = 0x5E7A11  # the advisory lock of survey rollup writes
FOUND_TABLE = "cxm_survey_sums"  # the temporary table of `_store`


def sent_day(sent_at: datetime) -> date:
    """The company calendar day (TIME_ZONE) an invitation was sent on: the day of its response-rate row."""
    return timezone.localdate(sent_at)


def _sent_on(days: Sequence[date]) -> Q:
    """Sent on one of `days`, as ranges of `sent_at` (its index serves them, where `sent_at__date` would not)."""
    return reduce(or_, (Q(sent_at__gte=a, sent_at__lt=b) for a, b in map(day_moments, days, days)), Q(pk__in=[]))


def roll_up_surveys(*, days: Sequence[date] | None) -> None:
    """Recompute the survey, invitation and theme rollups of `days` (None: every day), in the caller's transaction.

    On PostgreSQL a transaction-level advisory lock makes concurrent batches take turns, so two
    workers rolling up the same day never both insert its rows (SQLite writes one at a time anyway).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
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
    _store(SurveyRollup, answer_rows, found)
    _roll_up_weeks_and_months(SURVEY_PERIODS, days)
    sent = (
        invitations.values("survey_id", "department_id", "touchpoint_id", day=TruncDate("sent_at"))
        .annotate(sent=Count("pk"), answered=Count("answered_at"))
        .order_by()
    )
    _store(InvitationRollup, invitation_rows, sent)
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
    _store(ThemeRollup, theme_rows, themes)
    _roll_up_weeks_and_months(THEME_PERIODS, days)


@dataclass(frozen=True)
class Periods:
    """A daily rollup, what keys and what sums its rows, and its weekly and monthly tables."""

    daily: type[Model]
    key: tuple[str, ...]
    sums: tuple[str, ...]
    weekly: type[Model]
    monthly: type[Model]


SURVEY_PERIODS = Periods(
    SurveyRollup,
    ("department_id", "touchpoint_id", "stage", "segment", "kind"),
    SCORE_SUMS,
    WeeklySurveyRollup,
    MonthlySurveyRollup,
)
THEME_PERIODS = Periods(
    ThemeRollup,
    ("department_id", "touchpoint_id", "segment", "theme_id"),
    ("mentions", "negatives"),
    WeeklyThemeRollup,
    MonthlyThemeRollup,
)


def _roll_up_weeks_and_months(periods: Periods, days: Sequence[date] | None) -> None:
    """Sum the daily rollups of `periods` again into the weeks and months of `days` (None: every one)."""
    for model, key, trunc in ((periods.weekly, "week", TruncWeek), (periods.monthly, "month", TruncMonth)):
        daily = periods.daily._default_manager.annotate(**{key: trunc("day")})
        existing = None  # every row
        if days is not None:
            starts = sorted({period_start(key, day) for day in days})
            # The day range lets the key's index narrow the scan; the IN keeps only the chosen periods.
            daily = daily.filter(day__gte=starts[0], day__lt=period_after(key, starts[-1]), **{f"{key}__in": starts})
            existing = model._default_manager.filter(**{f"{key}__in": starts})
        sums = daily.values(key, *periods.key).annotate(**{name: Sum(name) for name in periods.sums}).order_by()
        _store(model, existing, sums)


def _store(model, existing: QuerySet | None, sums: QuerySet) -> None:
    """Make the rows `existing` selects (None: every row) equal to `sums`, a values() query named like
    the model's fields.

    A few dirty days: their rows are deleted and the sums inserted, one `INSERT … SELECT`; cheaper
    than comparing them. Every row (`rescore_all`, nightly): only the rows that differ are written.
    The sums go into a temporary table first (PostgreSQL reads the experiences for it in parallel,
    where an `INSERT … SELECT` runs on one process), then one `DELETE` of the stored rows not among
    them and one `INSERT` of the sums not among the rows, so a night that changes nothing writes
    nothing, where replacing every row cost a second of WAL at the commit (docs/performance.md).
    Rows match on every column, nullable ones (an invitation's department) through `COALESCE`,
    which PostgreSQL can still hash; the ids are positive, so 0 stands for none.
    """
    query = sums.query
    assert query.selected is not None  # a values() query: its select list's names, in their order
    quote = connection.ops.quote_name
    # (the sums' column, the table's column, whether it may be empty)
    pairs = [
        (quote(name), quote(field.column), field.null)
        for name in query.selected
        for field in [model._meta.get_field(name)]
    ]
    columns = ", ".join(column for _, column, _ in pairs)
    table = quote(model._meta.db_table)
    select, params = query.sql_with_params()
    if existing is not None:
        existing.delete()
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({columns}) {select}", params)
        return
    found = ", ".join(name for name, _, _ in pairs)

    def same(row: str) -> str:
        """The found sums `f` equal the stored `row`: every column."""
        return " AND ".join(
            f"COALESCE(f.{name}, 0) = COALESCE({row}.{column}, 0)" if null else f"f.{name} = {row}.{column}"
            for name, column, null in pairs
        )

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FOUND_TABLE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {FOUND_TABLE} AS {select}", params)
        cursor.execute(f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM {FOUND_TABLE} f WHERE {same(table)})")
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {found} FROM {FOUND_TABLE} f "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {same('t')})"
        )
        cursor.execute(f"DROP TABLE {FOUND_TABLE}")
