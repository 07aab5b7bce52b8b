"""Rollup tables kept from aggregates: a day's rows made equal to their sums, weeks and months summed from days.

The survey, invitation and theme rollups (feedback/rollups.py) and the rollups of who reported a
department's negatives (scoring/reporters.py) are each a values() aggregate stored as rows; these
helpers store them and keep each daily table's weekly and monthly sums, so a long period is read
as whole months, whole weeks and the days left (`covering`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Model, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from .queries import Cover, narrowed, period_after, period_start

FOUND_TABLE = "cxm_found_sums"  # the temporary table of `store_sums`
ROLLUP_LOCK = 0x5E7A11  # the advisory lock of the rollup writes that go through `store_sums`


def take_turns() -> None:
    """Until the caller's transaction ends, make other rollup writers wait (a no-op on SQLite, which writes
    one at a time anyway): two workers rolling up the same day must not both insert its rows. Taken again
    in the same transaction, it is already held."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])


@dataclass(frozen=True)
class PeriodTables:
    """A daily rollup, what keys and what sums its rows, and its weekly and monthly tables."""

    daily: type[Model]
    key: tuple[str, ...]
    sums: tuple[str, ...]
    weekly: type[Model]
    monthly: type[Model]

    @property
    def longest_first(self) -> tuple[tuple[type[Model], str], ...]:
        """Each table with its period column, months first: the order `covering` reads them in."""
        return ((self.monthly, "month"), (self.weekly, "week"), (self.daily, "day"))


def covering(
    periods: PeriodTables,
    start: date,
    end: date,
    group: Sequence[str],
    sums: Sequence[str],
    *,
    where: Q | None = None,
    **narrowing,
) -> QuerySet:
    """The rollup rows of start..end summed per `group`: one UNION ALL of the monthly, weekly and daily tables
    of `periods` over the whole months, whole weeks and days left that cover the period
    (`scoring.queries.Cover`). A group comes once per table part: the caller adds them up.
    """
    cover = Cover.of(start, end)
    parts = [
        narrowed(model._default_manager.filter(**{f"{key}__gte": low, f"{key}__lte": high}), **narrowing)
        .filter(where or Q())
        .values(*group)
        .annotate(**{name: Sum(name) for name in sums})
        .order_by()
        for (model, key), ranges in zip(periods.longest_first, (cover.months, cover.weeks, cover.days), strict=True)
        for low, high in ranges
    ]
    if not parts:
        return periods.daily._default_manager.none()
    return parts[0].union(*parts[1:], all=True)


def roll_up_periods(periods: PeriodTables, days: Sequence[date] | None) -> None:
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
        store_sums(model, existing, sums)


def store_sums(model: type[Model], existing: QuerySet | None, sums: QuerySet) -> None:
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
    stored = {  # every concrete field has a column
        name: (field.column, field.null)
        for field in model._meta.concrete_fields
        if field.column is not None
        for name in (field.name, field.attname)
    }
    pairs = [(quote(name), quote(stored[name][0]), stored[name][1]) for name in query.selected]
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
