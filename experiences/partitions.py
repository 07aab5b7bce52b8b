"""Monthly partitions of the experience table on PostgreSQL (docs/scaling.md, step 5).

A partition holds one calendar month of the company (midnight to midnight in TIME_ZONE), so a
period's queries read only its months, and VACUUM and index upkeep work a month at a time. A `DEFAULT`
partition takes any row whose month has no partition yet (a back-dated import).

pg_partman (Debian's `postgresql-15-partman`, version 4) keeps them: `keep_partitions` asks it to make
the months ahead and to move the default partition's rows into partitions of their own. pg_partman
reads months in the session's time zone, so every call into it runs in the company's.
SQLite (`make run`) keeps one plain table: there is nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Q
from django.utils import timezone

from scoring.queries import period_after

TABLE = "experiences_experience"
PARENT = f"public.{TABLE}"  # pg_partman names a partition set by its schema-qualified parent
DEFAULT_PARTITION = f"{TABLE}_default"
# Months made ahead of the current one, so that a write never waits for a partition. pg_partman holds it
# as the table's `premake` (set by migration 0016): changing it takes a migration that updates that too.
MONTHS_AHEAD = 3


@dataclass
class PartitionReport:
    created: list[str] = field(default_factory=list)  # partitions made, oldest first
    moved: int = 0  # rows moved out of the default partition into their month's


def partition_name(month: date) -> str:
    """pg_partman's name for a monthly partition: the parent's, then `_pYYYY_MM`."""
    return f"{TABLE}_p{month:%Y_%m}"


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


def in_company_zone(cursor: CursorWrapper) -> None:
    """Within a transaction: pg_partman's months begin at midnight in the session's time zone."""
    cursor.execute("SELECT set_config('TimeZone', %s, true)", [timezone.get_default_timezone_name()])


def keep_partitions(*, since: date | None = None) -> PartitionReport:
    """Make this month and MONTHS_AHEAD ahead (and every month from `since`, for a load of old history),
    move the default partition's rows into partitions of their months, a month per transaction, then
    refresh the whole table's statistics. Idempotent.
    """
    report = PartitionReport()
    if not is_partitioned():
        return report
    before = set(existing_partitions())
    with transaction.atomic(), connection.cursor() as cursor:
        in_company_zone(cursor)
        if since is not None:
            start, _ = month_bounds(since.replace(day=1))
            cursor.execute(
                "SELECT partman.create_partition_time(%s, ARRAY(SELECT generate_series(%s::timestamptz, now(), "
                "'1 month')), p_analyze := false)",
                [PARENT, start],
            )
        cursor.execute("SELECT partman.run_maintenance(%s, p_analyze := false, p_jobmon := false)", [PARENT])
    while moved := _move_a_month_out_of_default():
        report.moved += moved
    report.created = sorted(set(existing_partitions()) - before)
    with connection.cursor() as cursor:
        # Autovacuum analyses each partition, never the partitioned table: the statistics of all the
        # months together (the estimates of every aggregate over them) come from this run alone.
        cursor.execute(f"ANALYZE {TABLE}")
    return report


def existing_partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT partition_tablename FROM partman.show_partitions(%s)", [PARENT])
        return [name for (name,) in cursor.fetchall()]


def _move_a_month_out_of_default() -> int:
    """pg_partman moves the oldest month found in the default partition into a partition of its own,
    made if missing. Returns the rows moved: 0 once the default partition is empty."""
    with transaction.atomic(), connection.cursor() as cursor:
        in_company_zone(cursor)
        cursor.execute("SELECT partman.partition_data_time(%s, p_analyze := false)", [PARENT])
        return cursor.fetchone()[0]
