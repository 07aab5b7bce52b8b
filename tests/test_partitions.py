"""The experience table is partitioned by the company's month and pg_partman keeps the partitions
(docs/scaling.md, step 5): rows land in their month, a period's query reads only its months, back-dated
rows find a partition of their own the next day, and an idempotency key stays a replay whatever month
its first experience fell in. pg_partman reads the database's clock, so the months here are the
database's, not the test process's."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from experiences import partitions, tasks
from experiences.models import Experience
from experiences.services import record_experiences
from scoring.queries import period_after
from scoring.recompute import DAILY_SUMS_SQL

pytestmark = pytest.mark.django_db


def database_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def this_month() -> date:
    return timezone.localdate(database_now()).replace(day=1)


def months_from(month: date, count: int) -> list[date]:
    months = [month]
    for _ in range(count):
        months.append(period_after("month", months[-1]))
    return months


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
    result = record_experiences(items=[{**item, **extra}], source="api", now=database_now())
    return result.results[0]


def test_the_current_month_and_the_months_ahead_have_their_partitions():
    partitions.keep_partitions()
    names = set(partitions.existing_partitions())
    for month in months_from(this_month(), partitions.MONTHS_AHEAD):
        assert partitions.partition_name(month) in names
    assert partitions.keep_partitions().created == []  # a second run has nothing to do


def test_an_experience_lands_in_the_partition_of_its_month_in_the_company_zone(customer, touchpoint):
    partitions.keep_partitions()
    month = this_month()
    start, _ = partitions.month_bounds(month)
    # A quarter of an hour into the company's month, and still the last day of the month before in UTC.
    moment = (start + timedelta(minutes=15)).astimezone(UTC)
    assert moment.date() < month
    early = record(customer, touchpoint, moment)
    assert early.status == "accepted"
    assert partition_of(early.id) == partitions.partition_name(month)
    assert Experience.objects.get(pk=early.id).occurred_on == month


def test_a_back_dated_experience_waits_in_the_default_partition_then_moves_to_its_month(customer, touchpoint):
    partitions.keep_partitions()
    long_ago = database_now() - timedelta(days=400)
    old = record(customer, touchpoint, long_ago, note="from the old system")
    assert partition_of(old.id) == partitions.DEFAULT_PARTITION

    report = partitions.keep_partitions()

    its_month = partitions.partition_name(timezone.localdate(long_ago).replace(day=1))
    assert report.created == [its_month] and report.moved == 1
    assert partition_of(old.id) == its_month
    assert index_count(its_month) == index_count("experiences_experience")
    moved = Experience.objects.get(pk=old.id)
    assert (moved.note, moved.customer_id) == ("from the old system", customer.pk)


def test_a_period_query_reads_only_the_partitions_of_its_months(customer, touchpoint):
    before_last, last, current, ahead = months_from((this_month() - timedelta(days=40)).replace(day=1), 3)
    partitions.keep_partitions(since=before_last)
    start, _ = partitions.month_bounds(last)
    _, end = partitions.month_bounds(current)
    plan = Experience.objects.filter(occurred_at__gte=start, occurred_at__lt=end).explain()
    assert partitions.partition_name(last) in plan and partitions.partition_name(current) in plan
    assert partitions.partition_name(before_last) not in plan and partitions.partition_name(ahead) not in plan
    assert partitions.DEFAULT_PARTITION not in plan


def test_an_id_sent_again_in_another_month_is_still_a_replay(customer, touchpoint):
    now = database_now()
    two_months_ago = timezone.localdate(now - timedelta(days=60)).replace(day=1)
    partitions.keep_partitions(since=two_months_ago)
    first = record(customer, touchpoint, now - timedelta(days=60), id="evt-42")
    same = record(customer, touchpoint, now - timedelta(days=60), id="evt-42")
    moved = record(customer, touchpoint, now - timedelta(days=1), id="evt-42")

    assert first.status == "accepted" and partition_of(first.id) == partitions.partition_name(two_months_ago)
    assert (same.status, same.id) == ("duplicate", first.id)
    assert (moved.status, moved.id) == ("conflict", first.id)
    assert "occurred_at" in moved.errors
    assert Experience.objects.filter(external_id="evt-42").count() == 1


def test_the_daily_task_makes_the_months_ahead_before_they_are_needed():
    entry = settings.CELERY_BEAT_SCHEDULE["experience-partitions"]
    assert entry["task"] == tasks.keep_partitions.name
    partitions.keep_partitions()
    current = partitions.partition_name(this_month())
    with connection.cursor() as cursor:
        for name in partitions.existing_partitions():  # as when the months go by: none made ahead yet
            if name > current:
                cursor.execute(f"DROP TABLE {name}")
    ahead = [partitions.partition_name(month) for month in months_from(this_month(), partitions.MONTHS_AHEAD)[1:]]

    done = tasks.keep_partitions.delay().get()

    assert done["created"] >= partitions.MONTHS_AHEAD
    assert set(ahead) <= set(partitions.existing_partitions())


def test_the_daily_run_gives_the_planner_the_count_of_rollup_keys(customer, touchpoint):
    """Autovacuum never analyses the partitioned table itself: the daily run does, with the statistics
    of the rollup key's columns together, so the planner sizes the rollups' aggregate of every month
    (and runs it in parallel where it is large, docs/performance.md)."""
    partitions.keep_partitions()
    stages = ("perception", "interaction", "remembrance")
    now = database_now()
    for day in range(12):  # one stage a day: 12 keys, where the columns one by one suggest 12 × 3
        record(customer, touchpoint, now - timedelta(days=day), stage=stages[day % 3])
        record(customer, touchpoint, now - timedelta(days=day, hours=1), stage=stages[day % 3])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")  # a plain table: autovacuum's work

        partitions.keep_partitions()

        cursor.execute("EXPLAIN (FORMAT JSON) " + DAILY_SUMS_SQL.format(where="1 = 1"))
        estimate = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
    assert estimate == 12
