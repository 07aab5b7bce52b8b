"""Monthly partitions of the experience table on PostgreSQL (docs/scaling.md, step 5).

A partition holds one calendar month of the company (midnight to midnight in TIME_ZONE), so a
period's queries read only its months, and VACUUM and index upkeep work a month at a time. A `DEFAULT`
partition takes any row whose month has no partition yet (a back-dated import); `keep_partitions`
moves such rows into a partition of their own and makes the months ahead before they are needed.
SQLite (`make run`) keeps one plain table: there is nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from scoring.queries import period_after

TABLE = "experiences_experience"
DEFAULT_PARTITION = f"{TABLE}_default"
MONTHS_AHEAD = 3  # months made ahead of the current one, so that a write never waits for a partition


@dataclass
class PartitionReport:
    created: list[str] = field(default_factory=list)  # partitions made, oldest first
    moved: int = 0  # rows moved out of the default partition into their month's


def partition_name(month: date) -> str:
    return f"{TABLE}_{month:%Y_%m}"


def day_moments(first: date, last: date) -> tuple[datetime, datetime]:
    """[first instant of `first`, first instant after `last`) in the company's time zone (TIME_ZONE)."""
    zone = timezone.get_default_timezone()
    return (
        timezone.make_aware(datetime.combine(first, time.min), zone),
        timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), zone),
    )


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The first instant of the company's month and of the next one."""
    return day_moments(month, period_after("month", month) - timedelta(days=1))


def on_days(first: date, last: date, *, via: str = "") -> Q:
    """Experiences of the company's days `first` to `last`, bounded by `occurred_at` as well: PostgreSQL
    reads only the partitions of those months when a query names the partition key, not `occurred_on`.
    `via` is the path to the experience from another model (`"experience__"`)."""
    start, end = day_moments(first, last)
    return Q(
        **{
            f"{via}occurred_on__gte": first,
            f"{via}occurred_on__lte": last,
            f"{via}occurred_at__gte": start,
            f"{via}occurred_at__lt": end,
        }
    )


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT FROM pg_partitioned_table WHERE partrelid = %s::regclass)", [TABLE])
        return cursor.fetchone()[0]


def keep_partitions(*, since: date | None = None, now: datetime | None = None) -> PartitionReport:
    """Make every month from `since` (default: this month) to MONTHS_AHEAD ahead, and give each month
    found in the default partition a partition of its own, then refresh the whole table's statistics.
    Idempotent; each month in its own transaction.
    """
    report = PartitionReport()
    if not is_partitioned():
        return report
    today = timezone.localdate(now or timezone.now())
    month = (since or today).replace(day=1)
    last = today.replace(day=1)
    for _ in range(MONTHS_AHEAD):
        last = period_after("month", last)
    wanted = set()
    while month <= last:
        wanted.add(month)
        month = period_after("month", month)
    wanted |= set(_months_in_default())
    existing = set(_existing_partitions())
    for month in sorted(wanted):
        if partition_name(month) not in existing:
            report.moved += _create(month)
            report.created.append(partition_name(month))
    with connection.cursor() as cursor:
        # Autovacuum analyses each partition, never the partitioned table: the statistics of all the
        # months together (the estimates of every aggregate over them) come from this run alone.
        cursor.execute(f"ANALYZE {TABLE}")
    return report


def _existing_partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass", [TABLE])
        return [name for (name,) in cursor.fetchall()]


def _months_in_default() -> list[date]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE %s)::date FROM {DEFAULT_PARTITION}",
            [timezone.get_default_timezone_name()],
        )
        return [month for (month,) in cursor.fetchall()]


def _create(month: date) -> int:
    """Make the month's partition; rows of that month already in the default partition move into it first
    (PostgreSQL refuses a partition whose rows the default holds). Writes to the default partition wait
    for the move, which is short: it holds only back-dated rows since the last run. Returns the rows moved."""
    start, end = month_bounds(month)
    name = partition_name(month)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {DEFAULT_PARTITION} IN EXCLUSIVE MODE")
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE occurred_at >= %s AND occurred_at < %s "
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
            [start, end],
        )
        moved = cursor.rowcount
        cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end])
    return moved
