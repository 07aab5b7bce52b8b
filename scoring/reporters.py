"""Who reported a department's negatives, rolled up per day, week and month.

Kept like the experience rollups, by the same dirty-day marks and in the same transaction
(`scoring.recompute`), and rebuilt by `rescore_all`; the department page reads them instead of
the negatives themselves, so a year costs months' rows however many there were.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from django.db.models import Count, F

from cxm.aggregates import named_after
from experiences.models import REPORTED_BY_OTHERS, Experience
from experiences.partitions import on_days
from touchpoints.models import Department

from .models import DailyReporterRollup, MonthlyReporterRollup, WeeklyReporterRollup
from .periods import PeriodTables, covering, roll_up_periods, store_sums, take_turns

REPORTER_PERIODS = PeriodTables(
    DailyReporterRollup,
    ("department_id", "reported_from_department_id", "stage", "segment"),
    ("negatives",),
    WeeklyReporterRollup,
    MonthlyReporterRollup,
)


def roll_up_reporters(*, days: Sequence[date] | None) -> None:
    """Recompute the reporter rollups of `days` (None: every day), in the caller's transaction."""
    if days is not None and not days:
        return
    take_turns()
    negatives = Experience.objects.filter(REPORTED_BY_OTHERS)
    existing = None  # every row
    if days is not None:
        negatives = negatives.filter(on_days(min(days), max(days)), occurred_on__in=list(days))
        existing = DailyReporterRollup.objects.filter(day__in=list(days))
    sums = (
        negatives.values(
            "department_id",
            "reported_from_department_id",
            "stage",
            day=F("occurred_on"),
            segment=F("customer__segment"),
        )
        .annotate(negatives=Count("pk"))
        .order_by()
    )
    store_sums(DailyReporterRollup, existing, sums)
    roll_up_periods(REPORTER_PERIODS, days)


def reported_by(
    *,
    start: date,
    end: date,
    department_id: int,
    stages: Iterable[str] | None = None,
    segments: Iterable[str] | None = None,
) -> list[tuple[str, int]]:
    """(name, negatives) of each other department that logged negatives charged to `department_id` in
    start..end, most first; one query. Counted per department id, then named (`named_after`)."""
    counted = covering(
        REPORTER_PERIODS,
        start,
        end,
        ("reported_from_department_id",),
        ("negatives",),
        department_ids=[department_id],
        stages=stages,
        segments=segments,
    )
    found: dict[int, tuple[str, int]] = {}
    for pk, negatives, name in named_after(counted, "reported_from_department_id", Department, "name"):
        found[pk] = (name, found.get(pk, (name, 0))[1] + negatives)
    return sorted(found.values(), key=lambda o: (-o[1], o[0]))
