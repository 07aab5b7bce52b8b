"""Weekly and monthly rollups: always the sum of their days, after incremental rescores and a full recompute."""

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from customers.services import segments_changed
from experiences.models import Experience
from scoring.models import DailyRollup, MonthlyRollup, WeeklyRollup
from scoring.queries import SUMMED, Cover, PeriodReport, rollups, summed
from scoring.recompute import rescore_all, rescore_dirty
from scoring.services import mark_for_rescore

from .test_rescore import random_history

pytestmark = pytest.mark.django_db

DIMENSIONS = ("department_id", "touchpoint_id", "stage", "segment")


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def summed_days(period_of) -> dict[tuple, tuple]:
    """The daily rollups added up per period and key; masses rounded (sums in another order differ in the last bits)."""
    sums: dict[tuple, list] = defaultdict(lambda: [0] * len(SUMMED))
    for row in DailyRollup.objects.values("day", *DIMENSIONS, *SUMMED):
        key = (period_of(row["day"]), *(row[d] for d in DIMENSIONS))
        sums[key] = [a + row[name] for a, name in zip(sums[key], SUMMED, strict=True)]
    return {key: tuple(round(v, 6) for v in values) for key, values in sums.items()}


def stored(model, key: str) -> dict[tuple, tuple]:
    return {
        (row[key], *(row[d] for d in DIMENSIONS)): tuple(round(row[name], 6) for name in SUMMED)
        for row in model.objects.values(key, *DIMENSIONS, *SUMMED)
    }


def assert_periods_are_their_days() -> None:
    assert DailyRollup.objects.exists()
    assert stored(WeeklyRollup, "week") == summed_days(monday)
    assert stored(MonthlyRollup, "month") == summed_days(first_of_month)


@pytest.mark.parametrize("seed", [11, 12])
def test_weeks_and_months_follow_incremental_writes_moves_and_erasures(seed):
    random_history(seed, experiences=300)
    rescore_dirty()
    assert_periods_are_their_days()

    # Move the only experience of a key to another month: its week and month rows vanish or shrink.
    alone = DailyRollup.objects.filter(experiences=1).order_by("day", "touchpoint_id", "segment").first()
    assert alone is not None
    moved = Experience.objects.get(
        occurred_on=alone.day, department_id=alone.department_id, touchpoint_id=alone.touchpoint_id,
        customer__segment=alone.segment,
    )  # fmt: skip
    later = moved.occurred_at + timedelta(days=45)
    Experience.objects.filter(pk=moved.pk).update(occurred_at=later, occurred_on=timezone.localdate(later))
    mark_for_rescore(customer_ids=[moved.customer_id], days=[alone.day, timezone.localdate(later)])
    # Erase a whole day, and move a customer to another segment (their whole history changes key).
    erased = Experience.objects.order_by("occurred_on").values_list("occurred_on", flat=True).first()
    Experience.objects.filter(occurred_on=erased).delete()
    mark_for_rescore(customer_ids=[], days=[erased])
    customer = Customer.objects.filter(experiences__isnull=False).order_by("pk").first()
    Customer.objects.filter(pk=customer.pk).update(segment="public-sector")
    segments_changed(customer_ids=[customer.pk])

    rescore_dirty(day_batch_size=5)

    assert_periods_are_their_days()
    assert not DailyRollup.objects.filter(day=erased).exists()
    assert WeeklyRollup.objects.filter(segment="public-sector").exists()
    assert not DailyRollup.objects.filter(pk=alone.pk).exists()


def test_the_full_recompute_rebuilds_weeks_and_months_and_drops_vanished_ones():
    random_history(13, experiences=300)
    rescore_dirty()
    WeeklyRollup.objects.all().delete()
    MonthlyRollup.objects.filter(pk__in=MonthlyRollup.objects.order_by("pk").values("pk")[:3]).delete()
    MonthlyRollup.objects.update(experiences=999)  # stale figures are corrected
    first = Experience.objects.order_by("occurred_on").values_list("occurred_on", flat=True).first()
    assert MonthlyRollup.objects.filter(month=first_of_month(first)).exists()
    Experience.objects.filter(occurred_on__lt=first + timedelta(days=40)).delete()  # without marks

    rescore_all()

    assert_periods_are_their_days()
    assert not MonthlyRollup.objects.filter(month=first_of_month(first)).exists()
    assert not MonthlyRollup.objects.filter(experiences=999).exists()
    assert not WeeklyRollup.objects.filter(week__lt=monday(first + timedelta(days=33))).exists()
    assert Experience.objects.count() == sum(WeeklyRollup.objects.values_list("experiences", flat=True))
    assert Experience.objects.count() == sum(MonthlyRollup.objects.values_list("experiences", flat=True))


def days_of(cover: Cover) -> list[date]:
    """Every day the cover reads, once per time it reads it."""
    days = []
    for ranges, length in ((cover.days, lambda d: 1), (cover.weeks, lambda d: 7), (cover.months, month_length)):
        for first, last in ranges:
            start = first
            while start <= last:
                days += [start + timedelta(days=n) for n in range(length(start))]
                start += timedelta(days=length(start))
    return sorted(days)


def month_length(first: date) -> int:
    return ((first + timedelta(days=31)).replace(day=1) - first).days


def test_a_cover_reads_every_day_of_the_period_once():
    rng = random.Random(5)
    for _ in range(500):
        start = date(2025, 1, 1) + timedelta(days=rng.randrange(800))
        end = start + timedelta(days=rng.choice([0, 1, 6, 7, 13, 27, 30, 31, 59, 90, 364, 365, rng.randrange(1100)]))
        expected = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        for months in (True, False):
            cover = Cover.of(start, end, months=months)
            assert days_of(cover) == expected, (start, end, months)
            assert months or not cover.months
            assert all(first.weekday() == 0 and last.weekday() == 0 for first, last in cover.weeks)


def test_sums_over_the_cover_equal_the_sums_of_the_days():
    random_history(14, experiences=400)
    rescore_dirty()
    rng = random.Random(14)
    today = timezone.localdate()
    for _ in range(12):
        start = today - timedelta(days=rng.randrange(730))
        end = min(today, start + timedelta(days=rng.choice([6, 30, 90, 364, rng.randrange(700)])))
        segments = rng.choice([None, ["smb"], ["enterprise", ""]])
        got = summed(start=start, end=end, by=("department_id", "stage"), segments=segments)
        weekly = summed(start=start, end=end, per_week=True, segments=segments)
        expected: dict[tuple, PeriodReport] = defaultdict(PeriodReport)
        per_week: dict[tuple, PeriodReport] = defaultdict(PeriodReport)
        for row in rollups(start=start, end=end, segments=segments).values("day", "department_id", "stage", *SUMMED):
            expected[(row["department_id"], row["stage"])] += PeriodReport.from_sums(row)
            per_week[(monday(row["day"]),)] += PeriodReport.from_sums(row)
        assert rounded(got) == rounded(expected)
        assert rounded(weekly) == rounded(per_week)


def rounded(reports: dict[tuple, PeriodReport]) -> dict[tuple, tuple]:
    return {key: tuple(round(getattr(r, name), 6) for name in SUMMED) for key, r in reports.items()}
