"""The experience table is partitioned by the company's month (docs/scaling.md, step 5): rows land in
their month, a period's query reads only its months, back-dated rows find a partition of their own the
next day, and an idempotency key stays a replay whatever month its first experience fell in."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from experiences import partitions, tasks
from experiences.models import Experience
from experiences.services import record_experiences
from scoring.queries import period_after
from scoring.recompute import DAILY_SUMS_SQL

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime(2026, 12, 2, 12, 0))


def partition_of(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM experiences_experience WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def index_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", [table])
        return cursor.fetchone()[0]


def record(customer, touchpoint, at: datetime, **extra) -> int:
    item = {"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": "positive"}
    item["occurred_at"] = at.isoformat()
    result = record_experiences(items=[{**item, **extra}], source="api", now=NOW)
    return result.results[0]


def test_the_current_month_and_the_months_ahead_have_their_partitions():
    partitions.keep_partitions(now=NOW)
    names = set(partitions._existing_partitions())
    for month in (date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)):
        assert partitions.partition_name(month) in names
    assert partitions.keep_partitions(now=NOW).created == []  # a second run has nothing to do


def test_an_experience_lands_in_the_partition_of_its_month_in_the_company_zone(customer, touchpoint):
    partitions.keep_partitions(now=NOW)
    # 23:30 UTC on 30 November is already 1 December in Madrid: December's partition.
    late = record(customer, touchpoint, datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    assert late.status == "accepted"
    assert partition_of(late.id) == "experiences_experience_2026_12"
    assert Experience.objects.get(pk=late.id).occurred_on == date(2026, 12, 1)


def test_a_back_dated_experience_waits_in_the_default_partition_then_moves_to_its_month(customer, touchpoint):
    partitions.keep_partitions(now=NOW)
    old = record(customer, touchpoint, NOW - timedelta(days=400), note="from the old system")
    assert partition_of(old.id) == partitions.DEFAULT_PARTITION

    report = partitions.keep_partitions(now=NOW)

    assert report.created == ["experiences_experience_2025_10"] and report.moved == 1
    assert partition_of(old.id) == "experiences_experience_2025_10"
    assert index_count("experiences_experience_2025_10") == index_count("experiences_experience")
    moved = Experience.objects.get(pk=old.id)
    assert (moved.note, moved.customer_id) == ("from the old system", customer.pk)


def test_a_period_query_reads_only_the_partitions_of_its_months(customer, touchpoint):
    partitions.keep_partitions(since=date(2026, 9, 1), now=NOW)
    start, _ = partitions.month_bounds(date(2026, 10, 1))
    _, end = partitions.month_bounds(date(2026, 11, 1))
    plan = Experience.objects.filter(occurred_at__gte=start, occurred_at__lt=end).explain()
    assert "experiences_experience_2026_10" in plan and "experiences_experience_2026_11" in plan
    assert "experiences_experience_2026_09" not in plan and "experiences_experience_2026_12" not in plan
    assert partitions.DEFAULT_PARTITION not in plan


def test_an_id_sent_again_in_another_month_is_still_a_replay(customer, touchpoint):
    partitions.keep_partitions(since=date(2026, 9, 1), now=NOW)
    first = record(customer, touchpoint, NOW - timedelta(days=60), id="evt-42")
    same = record(customer, touchpoint, NOW - timedelta(days=60), id="evt-42")
    moved = record(customer, touchpoint, NOW - timedelta(days=1), id="evt-42")

    assert first.status == "accepted" and partition_of(first.id) == "experiences_experience_2026_10"
    assert (same.status, same.id) == ("duplicate", first.id)
    assert (moved.status, moved.id) == ("conflict", first.id)
    assert "occurred_at" in moved.errors
    assert Experience.objects.filter(external_id="evt-42").count() == 1


def test_the_daily_task_makes_the_months_ahead_before_they_are_needed():
    entry = settings.CELERY_BEAT_SCHEDULE["experience-partitions"]
    assert entry["task"] == tasks.keep_partitions.name
    # A year from now, whenever the suite runs: this month and the three after it are all new then.
    later = timezone.now() + timedelta(days=365)
    with time_machine.travel(later, tick=False):
        done = tasks.keep_partitions.delay().get()
    assert done["created"] >= 4
    month = timezone.localdate(later).replace(day=1)
    for _ in range(partitions.MONTHS_AHEAD):
        month = period_after("month", month)
    assert partitions.partition_name(month) in partitions._existing_partitions()


def test_the_daily_run_gives_the_planner_the_count_of_rollup_keys(customer, touchpoint):
    """Autovacuum never analyses the partitioned table itself: the daily run does, with the statistics
    of the rollup key's columns together, so the planner sizes the rollups' aggregate of every month
    (and runs it in parallel where it is large, docs/performance.md)."""
    partitions.keep_partitions(now=NOW)
    stages = ("perception", "interaction", "remembrance")
    for day in range(12):  # one stage a day: 12 keys, where the columns one by one suggest 12 × 3
        record(customer, touchpoint, NOW - timedelta(days=day), stage=stages[day % 3])
        record(customer, touchpoint, NOW - timedelta(days=day, hours=1), stage=stages[day % 3])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")  # a plain table: autovacuum's work

        partitions.keep_partitions(now=NOW)

        cursor.execute("EXPLAIN (FORMAT JSON) " + DAILY_SUMS_SQL.format(where="1 = 1"))
        estimate = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
    assert estimate == 12
