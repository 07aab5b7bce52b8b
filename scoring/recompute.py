"""Set-based recompute of the stored scores: customer scores and rollups, upserted by SQL.

The daily rollups are summed from the experiences, the weekly and monthly ones from the daily
ones, in the same transaction: a week or month is always the sum of its days.

A few statements per batch, never a Python loop over experiences. The SQL runs unchanged on
PostgreSQL and SQLite (Django registers CEILING on SQLite connections that lack it; row values
and IS DISTINCT FROM need SQLite 3.39). Rows whose figures did not change are not rewritten:
only new customers, changed sums and debts that moved with time cost a write.

Durability rests on the marks (`CustomerMark`, `DayMark`): a batch reads the marks before it
reads the experiences and deletes just those marks, in the transaction that stored the new
figures, so a write landing mid-rescore keeps its own mark and a crash loses nothing but time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from customers.models import Customer
from experiences.models import Experience
from feedback.rollups import roll_up_surveys
from integrations.services import record_customers_at_risk

from . import engine
from .models import CustomerMark, CustomerScore, DailyRollup, DayMark, MonthlyRollup, WeeklyRollup
from .queries import period_after, period_start
from .reporters import roll_up_reporters

CUSTOMER_BATCH = 2_000
DAY_BATCH = 31
FULL_BATCH = 25_000
# Sums that differ by less than this (relative) are the same sums added in another order.
SAME_SUM = 1e-12

EXPERIENCES = Experience._meta.db_table
SCORES = CustomerScore._meta.db_table
ROLLUPS = DailyRollup._meta.db_table
CUSTOMERS = Customer._meta.db_table
PERIOD_TABLES = {"week": WeeklyRollup._meta.db_table, "month": MonthlyRollup._meta.db_table}

CUSTOMER_SUMS_SQL = f"""
    SELECT customer_id,
           SUM(positive_mass_norm) AS pn,
           SUM(negative_mass_norm) AS nn,
           SUM(CASE WHEN valence = 1 THEN 1 ELSE 0 END) AS positives,
           SUM(CASE WHEN valence = 0 THEN 1 ELSE 0 END) AS neutrals,
           SUM(CASE WHEN valence = -1 THEN 1 ELSE 0 END) AS negatives,
           MAX(CASE WHEN valence = -1 THEN occurred_at END) AS last_negative_at,
           MAX(occurred_at) AS last_at
      FROM {EXPERIENCES}
     WHERE {{where}}
     GROUP BY customer_id
"""

# P and N are the sums decayed to now (`scale`), or to the customer's latest experience where it is
# stamped ahead of now (clocks differ by a few minutes): an experience never weighs more than in full,
# so a score does not depend on when it was computed. The expressions mirror engine.score term by term.
UPSERT_SCORES_SQL = f"""
    INSERT INTO {SCORES} (customer_id, positive_mass_norm, negative_mass_norm, positive_mass, negative_mass,
                          "index", balance, recovery_debt, positives, neutrals, negatives, last_negative_at,
                          scored_at)
    SELECT f.customer_id, f.pn, f.nn, f.p, f.n,
           f.idx,
           f.p - %(weight)s * f.n,
           f.debt, f.positives, f.neutrals, f.negatives, f.last_negative_at, %(now)s
      FROM (SELECT d.*,
                   CASE WHEN (%(weight)s * d.n - d.p) / %(standard)s - %(tolerance)s > 0
                        THEN CAST(CEILING((%(weight)s * d.n - d.p) / %(standard)s - %(tolerance)s) AS INTEGER)
                        ELSE 0 END AS debt,
                   CASE WHEN d.p + d.n > 0 THEN 100.0 * (d.p / (d.p + %(weight)s * d.n)) END AS idx
              FROM (SELECT s.*, s.pn * s.scale AS p, s.nn * s.scale AS n
                      FROM (SELECT t.*,
                                   CASE WHEN t.last_at > %(now)s
                                        THEN POWER(2.0, (%(epoch)s - {{last_seconds}}) / 86400.0 / %(half_life)s)
                                        ELSE %(scale)s END AS scale
                              FROM ({{sums}}) t) s) d) f
      LEFT JOIN {SCORES} old ON old.customer_id = f.customer_id
     WHERE old.customer_id IS NULL
        OR old.positives <> f.positives OR old.neutrals <> f.neutrals OR old.negatives <> f.negatives
        OR old.recovery_debt <> f.debt
        OR ABS(old.positive_mass_norm - f.pn) > %(same)s * (old.positive_mass_norm + f.pn)
        OR ABS(old.negative_mass_norm - f.nn) > %(same)s * (old.negative_mass_norm + f.nn)
        OR old.last_negative_at IS DISTINCT FROM f.last_negative_at
        OR ABS(COALESCE(old."index", -1.0) - COALESCE(f.idx, -1.0)) > %(same)s * 100
     ORDER BY f.customer_id
    ON CONFLICT (customer_id) DO UPDATE SET
           positive_mass_norm = EXCLUDED.positive_mass_norm, negative_mass_norm = EXCLUDED.negative_mass_norm,
           positive_mass = EXCLUDED.positive_mass, negative_mass = EXCLUDED.negative_mass,
           "index" = EXCLUDED."index", balance = EXCLUDED.balance, recovery_debt = EXCLUDED.recovery_debt,
           positives = EXCLUDED.positives, neutrals = EXCLUDED.neutrals, negatives = EXCLUDED.negatives,
           last_negative_at = EXCLUDED.last_negative_at, scored_at = EXCLUDED.scored_at
    RETURNING customer_id, recovery_debt
"""

ROLLUP_COUNTS = (
    "experiences",
    "positives",
    "neutrals",
    "negatives",
    "missed",
    "met",
    "exceeded",
    "failed",
    "reported_by_others",
)
ROLLUP_MASSES = ("positive_mass", "negative_mass")
ROLLUP_DIMENSIONS = ("department_id", "touchpoint_id", "stage", "segment")
ROLLUP_SUMS = ROLLUP_COUNTS + ROLLUP_MASSES
ROLLUP_SUMS_TABLE = "cxm_rollup_sums"

# The daily sums of the experiences `where` selects; the segment is the customer's current one,
# read through the join at each recompute.
ROLLUP_AGGREGATES = """
           COUNT(*) AS experiences,
           SUM(CASE WHEN e.valence = 1 THEN 1 ELSE 0 END) AS positives,
           SUM(CASE WHEN e.valence = 0 THEN 1 ELSE 0 END) AS neutrals,
           SUM(CASE WHEN e.valence = -1 THEN 1 ELSE 0 END) AS negatives,
           SUM(CASE WHEN e.expectation = 'missed' THEN 1 ELSE 0 END) AS missed,
           SUM(CASE WHEN e.expectation = 'met' THEN 1 ELSE 0 END) AS met,
           SUM(CASE WHEN e.expectation = 'exceeded' THEN 1 ELSE 0 END) AS exceeded,
           SUM(CASE WHEN e.outcome = 'failed' THEN 1 ELSE 0 END) AS failed,
           SUM(CASE WHEN e.valence = -1 AND e.reported_from_department_id <> e.department_id
                    THEN 1 ELSE 0 END) AS reported_by_others,
           SUM(CASE WHEN e.impact > 0 THEN e.impact ELSE 0 END) AS positive_mass,
           SUM(CASE WHEN e.impact < 0 THEN -e.impact ELSE 0 END) AS negative_mass"""
DAILY_SUMS_SQL = f"""
    SELECT e.occurred_on AS day, e.department_id, e.touchpoint_id, e.stage, c.segment, {ROLLUP_AGGREGATES}
      FROM {EXPERIENCES} e JOIN {CUSTOMERS} c ON c.id = e.customer_id
     WHERE {{where}}
     GROUP BY e.occurred_on, e.department_id, e.touchpoint_id, e.stage, c.segment
"""

# The week's or month's sums of the daily rollups `where` selects; {bucket} maps a day to its period.
PERIOD_SUMS_SQL = f"""
    SELECT {{bucket}} AS {{key}}, {", ".join(ROLLUP_DIMENSIONS)},
           {", ".join(f"SUM({c}) AS {c}" for c in ROLLUP_SUMS)}
      FROM {ROLLUPS}
     WHERE {{where}}
     GROUP BY {{bucket}}, {", ".join(ROLLUP_DIMENSIONS)}
"""

# The full recompute's customer sums, kept in a temporary table for the batched upserts of the scores.
FULL_SUMS = "cxm_full_sums"

# The first day of a day's week (Monday) and month: the other vendor-specific pieces of SQL.
PERIOD_START = {
    "postgresql": {"week": "CAST(date_trunc('week', day) AS date)", "month": "CAST(date_trunc('month', day) AS date)"},
    "sqlite": {"week": "date(day, 'weekday 0', '-6 days')", "month": "date(day, 'start of month')"},
}

# Rows whose sums did not change are not rewritten; vanished keys are deleted by `DELETE_VANISHED_SQL`.
UPSERT_ROLLUPS_SQL = f"""
    INSERT INTO {{table}} ({{key}}, {", ".join(ROLLUP_DIMENSIONS + ROLLUP_SUMS)})
    SELECT f.{{key}}, {", ".join("f." + c for c in ROLLUP_DIMENSIONS + ROLLUP_SUMS)}
      FROM {ROLLUP_SUMS_TABLE} f
      LEFT JOIN {{table}} old
        ON old.{{key}} = f.{{key}} AND {" AND ".join(f"old.{c} = f.{c}" for c in ROLLUP_DIMENSIONS)}
     WHERE old.id IS NULL
        OR {" OR ".join(f"old.{c} <> f.{c}" for c in ROLLUP_COUNTS)}
        OR {" OR ".join(f"ABS(old.{c} - f.{c}) > %(same)s * (old.{c} + f.{c})" for c in ROLLUP_MASSES)}
     ORDER BY f.{{key}}, {", ".join("f." + c for c in ROLLUP_DIMENSIONS)}
    ON CONFLICT ({{key}}, {", ".join(ROLLUP_DIMENSIONS)}) DO UPDATE SET
           {", ".join(f"{c} = EXCLUDED.{c}" for c in ROLLUP_SUMS)}
"""

DELETE_VANISHED_SQL = f"""
    DELETE FROM {{table}}
     WHERE {{where}}
       AND NOT EXISTS (SELECT 1 FROM {ROLLUP_SUMS_TABLE} f
                        WHERE f.{{key}} = {{table}}.{{key}}
                          AND {" AND ".join(f"f.{c} = {{table}}.{c}" for c in ROLLUP_DIMENSIONS)})
"""

# A full recompute's aggregate of every experience hashes ~1M rows into tens of thousands of
# groups; with PostgreSQL's default 4 MB it spills to disk in batches (docs/performance.md#scores).
FULL_WORK_MEM = "64MB"
FULL_PARALLEL_WORKERS = 2  # the app's connections have none (cxm/settings.py, PG_OPTIONS)


# Seconds since 1970 of a stored timestamp, as float8: the only vendor-specific piece of SQL.
EPOCH_SECONDS = {
    "postgresql": "date_part('epoch', {column})",
    "sqlite": "(julianday({column}) - 2440587.5) * 86400.0",
}

REWRITE_MASSES_SQL = f"""
    UPDATE {EXPERIENCES}
       SET impact = m.i,
           positive_mass_norm = CASE WHEN m.i > 0 THEN m.i * m.w ELSE 0 END,
           negative_mass_norm = CASE WHEN m.i < 0 THEN -m.i * m.w ELSE 0 END
      FROM (SELECT id,
                   %(share)s * (valence * intensity)
                   + %(rest)s * (CASE outcome WHEN 'ok' THEN 5.0 WHEN 'failed' THEN -5.0
                                              ELSE valence * intensity END) AS i,
                   POWER(2.0, ({{seconds}} - %(epoch)s) / 86400.0 / %(half_life)s) AS w
              FROM {EXPERIENCES}) m
     WHERE m.id = {EXPERIENCES}.id
"""


@dataclass
class RescoreResult:
    """What a run did; `became_at_risk` lists customers whose recovery debt went from 0 to more."""

    customers: int = 0
    days: int = 0
    changed: int = 0
    became_at_risk: list[int] = field(default_factory=list)


def rescore_dirty(
    *, batch_size: int = CUSTOMER_BATCH, day_batch_size: int = DAY_BATCH, now: datetime | None = None
) -> RescoreResult:
    """Work off the dirty marks until none is left, one transaction per batch.

    Safe to run twice or concurrently: the figures are recomputed from the experiences, never
    incremented, and a batch removes only the marks it read before reading the experiences.
    """
    now = now or timezone.now()
    result = RescoreResult()
    while True:
        ids, customer_marks = _marked(CustomerMark, "customer_id", batch_size)
        dirty_days, day_marks = _marked(DayMark, "day", day_batch_size)
        if not ids and not dirty_days:
            return result
        with transaction.atomic(), connection.cursor() as cursor:
            if ids:
                where, params = _in("customer_id", ids)
                _score(cursor, CUSTOMER_SUMS_SQL.format(where=where), params, where, now, result)
                cursor.execute(
                    f"DELETE FROM {SCORES} WHERE {where} AND NOT EXISTS "
                    f"(SELECT 1 FROM {EXPERIENCES} e WHERE e.customer_id = {SCORES}.customer_id)",
                    params,
                )
                result.customers += len(ids)
                CustomerMark.objects.filter(pk__in=customer_marks).delete()
            if dirty_days:
                _roll_up(cursor, dirty_days)
                roll_up_reporters(days=dirty_days)
                roll_up_surveys(days=dirty_days)
                result.days += len(dirty_days)
                DayMark.objects.filter(pk__in=day_marks).delete()


# The PostgreSQL advisory lock that one_rescore_at_a_time() holds (any constant of the project's own).
RESCORE_LOCK = 0x5C0_2E5C


@contextmanager
def one_rescore_at_a_time() -> Iterator[None]:
    """Wait until no other incremental rescore runs, then run alone (a no-op on SQLite).

    Two rescores side by side recompute the same customers and days and queue on each other's rows;
    one after the other, the second finds only what arrived meanwhile.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [RESCORE_LOCK])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RESCORE_LOCK])


def rescore_all(
    progress: Callable[[int, int], None] | None = None, *, batch_size: int = FULL_BATCH, now: datetime | None = None
) -> RescoreResult:
    """Recompute every customer score and every rollup from the experiences.

    Run nightly (the debt shrinks as memories fade) and after a change of weights. One aggregate
    fills a temporary table with the customer sums, from which the scores are upserted in batches
    of customer ids (so that `progress(done, total)` can report the steps); a second aggregate
    fills another with the daily sums, against which the rollups are upserted and vanished keys
    deleted. Each aggregate reads the experiences once, in parallel on PostgreSQL.
    """
    now = now or timezone.now()
    result = RescoreResult()
    bounds = Experience.objects.aggregate(low=Min("customer_id"), high=Max("customer_id"))
    low, high = bounds["low"] or 0, bounds["high"] or -1
    starts = list(range(low, high + 1, batch_size))
    total = len(starts) + 2
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FULL_SUMS}")
        try:
            _sum_customers(cursor)
            cursor.execute(f"SELECT COUNT(*) FROM {FULL_SUMS}")
            result.customers = cursor.fetchone()[0]
            _report(progress, 1, total)
            for step, start in enumerate(starts, start=2):
                with transaction.atomic():
                    where = "customer_id >= %(low)s AND customer_id < %(high)s"
                    bounds_params = {"low": start, "high": start + batch_size}
                    sums = f"SELECT * FROM {FULL_SUMS} WHERE {where}"
                    _score(cursor, sums, bounds_params, where, now, result)
                _report(progress, step, total)
            cursor.execute(
                f"DELETE FROM {SCORES} WHERE NOT EXISTS (SELECT 1 FROM {FULL_SUMS} s "
                f"WHERE s.customer_id = {SCORES}.customer_id)"
            )
            with transaction.atomic():
                _for_full_scans(cursor)
                daily = DAILY_SUMS_SQL.format(where="1 = 1")
                written = {ROLLUPS: _refresh(cursor, ROLLUPS, "day", daily, {}, ("1 = 1", {}))}
                written |= _roll_up_periods(cursor, None)
                # After a change of weights every row is rewritten: fresh statistics before the pages plan on
                # them. A night that changed nothing skips the ANALYZE (0.1 s at 1,000,000 experiences).
                for table in (table for table, rows in written.items() if rows):
                    cursor.execute(f"ANALYZE {table}")
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {FULL_SUMS}")
        with transaction.atomic():
            _for_full_scans(cursor)
            roll_up_reporters(days=None)
            roll_up_surveys(days=None)
        result.days = DailyRollup.objects.values("day").distinct().count()
        _report(progress, total, total)
    return result


def _sum_customers(cursor) -> None:
    """Every customer's sums into the temporary `FULL_SUMS`: one aggregate, which PostgreSQL runs in parallel.

    The daily rollups are a second aggregate of their own (in `rescore_all`): measured on a quiet
    machine, the two parallel aggregates took 1.4 + 2.4 s where one grouping-sets scan computing
    both took 5.7 s on one process (docs/performance.md, "Scores").
    """
    with transaction.atomic():
        _for_full_scans(cursor)
        cursor.execute(f"CREATE TEMPORARY TABLE {FULL_SUMS} AS {CUSTOMER_SUMS_SQL.format(where='1 = 1')}")


def _for_full_scans(cursor) -> None:
    """For this transaction only, where an aggregate reads every experience: `FULL_WORK_MEM`, so that it
    does not spill, and parallel workers, which the app's connections do not use."""
    if connection.vendor == "postgresql":
        cursor.execute(f"SET LOCAL work_mem = '{FULL_WORK_MEM}'")
        cursor.execute(f"SET LOCAL max_parallel_workers_per_gather = {FULL_PARALLEL_WORKERS}")


def rewrite_masses() -> int:
    """Recompute every experience's impact and normalised masses with the current weights.

    Needed after a change of CXM_HALF_LIFE_DAYS or CXM_EMOTIONAL_SHARE (the masses are stored
    per experience); follow it with `rescore_all`. Returns the number of experiences rewritten.
    """
    share = settings.CXM_EMOTIONAL_SHARE
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            REWRITE_MASSES_SQL.format(seconds=EPOCH_SECONDS[connection.vendor].format(column="occurred_at")),
            {
                "share": share,
                "rest": 1.0 - share,
                "epoch": settings.CXM_EPOCH.timestamp(),
                "half_life": settings.CXM_HALF_LIFE_DAYS,
            },
        )
        return cursor.rowcount


def _report(progress: Callable[[int, int], None] | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _in(column: str, values: Sequence[Any], *, name: str = "") -> tuple[str, dict[str, Any]]:
    """`column IN (...)` with named parameters (`name` or the column's, numbered), for statements that
    also take named weights."""
    names = {f"{name or column}_{n}": v for n, v in enumerate(values)}
    return f"{column} IN ({', '.join(f'%({name})s' for name in names)})", names


def _score(cursor, sums_sql: str, params: dict[str, Any], where: str, now: datetime, result: RescoreResult) -> None:
    """Upsert the scores of the customers `where` selects from their sums; tell who became at risk."""
    cursor.execute(f"SELECT customer_id FROM {SCORES} WHERE {where} AND recovery_debt > 0", params)
    already = {row[0] for row in cursor.fetchall()}
    cursor.execute(
        UPSERT_SCORES_SQL.format(
            sums=sums_sql, last_seconds=EPOCH_SECONDS[connection.vendor].format(column="t.last_at")
        ),
        {
            **params,
            "weight": settings.CXM_NEGATIVE_WEIGHT,
            "standard": engine.STANDARD_POSITIVE_IMPACT,
            "tolerance": engine.DEBT_TOLERANCE,
            "scale": engine.scale_to(now, settings.CXM_EPOCH, half_life_days=settings.CXM_HALF_LIFE_DAYS),
            "epoch": settings.CXM_EPOCH.timestamp(),
            "half_life": settings.CXM_HALF_LIFE_DAYS,
            "same": SAME_SUM,
            "now": connection.ops.adapt_datetimefield_value(now),
        },
    )
    written = cursor.fetchall()
    result.changed += len(written)
    became_at_risk = sorted(pk for pk, debt in written if debt > 0 and pk not in already)
    result.became_at_risk += became_at_risk
    # In the same transaction as the scores: the event is owed if and only if the change is stored.
    record_customers_at_risk(customer_ids=became_at_risk)


def _roll_up(cursor, days: Sequence[date]) -> None:
    """Recompute the daily rollups of `days` from the experiences, then their weeks and months."""
    chosen = [connection.ops.adapt_datefield_value(d) for d in days]
    where, params = _in("occurred_on", chosen)
    _refresh(cursor, ROLLUPS, "day", DAILY_SUMS_SQL.format(where=where), params, _in("day", chosen))
    _roll_up_periods(cursor, days)


def _roll_up_periods(cursor, days: Sequence[date] | None) -> dict[str, int]:
    """Recompute the weekly and monthly rollups of `days` (None: all) from the daily ones; the rows written
    per table."""
    adapt = connection.ops.adapt_datefield_value
    written = {}
    for key, table in PERIOD_TABLES.items():
        bucket = PERIOD_START[connection.vendor][key]
        if days is None:
            written[table] = _refresh(
                cursor, table, key, PERIOD_SUMS_SQL.format(bucket=bucket, key=key, where="1 = 1"), {}, ("1 = 1", {})
            )
            continue
        starts = sorted({period_start(key, d) for d in days})
        periods, params = _in(bucket, [adapt(d) for d in starts], name=key)
        # The range lets the (day, …) key's index narrow the scan; the IN keeps only the chosen periods.
        where = f"day >= %(first)s AND day < %(after)s AND {periods}"
        params |= {"first": adapt(starts[0]), "after": adapt(period_after(key, starts[-1]))}
        scope = _in(key, [adapt(d) for d in starts])
        written[table] = _refresh(
            cursor, table, key, PERIOD_SUMS_SQL.format(bucket=bucket, key=key, where=where), params, scope
        )
    return written


def _refresh(
    cursor, table: str, key: str, sums_sql: str, params: dict[str, Any], scope: tuple[str, dict[str, Any]]
) -> int:
    """Make the rollups of `table` that `scope` selects equal the sums: one aggregate into a temporary table,
    then an upsert of what changed and a delete of the keys no longer there, both against that table.
    Returns the number of rows written (upserted or deleted)."""
    cursor.execute(f"DROP TABLE IF EXISTS {ROLLUP_SUMS_TABLE}")
    cursor.execute(f"CREATE TEMPORARY TABLE {ROLLUP_SUMS_TABLE} AS {sums_sql}", params)
    cursor.execute(UPSERT_ROLLUPS_SQL.format(table=table, key=key), {"same": SAME_SUM})
    written = cursor.rowcount
    where, scope_params = scope
    cursor.execute(DELETE_VANISHED_SQL.format(table=table, key=key, where=where), scope_params)
    written += cursor.rowcount
    cursor.execute(f"DROP TABLE {ROLLUP_SUMS_TABLE}")
    return written


def _marked(model: type[CustomerMark] | type[DayMark], field: str, limit: int) -> tuple[list[Any], list[int]]:
    """Up to `limit` marked values (customers or days), in order, and the ids of their marks as of now.

    Read before the experiences: every mark read here belongs to a write the recompute will see.
    """
    values = list(model.objects.order_by(field).values_list(field, flat=True).distinct()[:limit])
    if not values:
        return [], []
    return values, list(model.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
