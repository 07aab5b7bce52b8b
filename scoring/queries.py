"""Reads of the scores for dashboards and the API: stored customer scores and daily rollups.

Every function answers from `CustomerScore` and `DailyRollup` with a fixed number of queries;
none of them reads the experience table except `customers_at_risk` filtered by department.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from customers.models import Customer
from experiences.models import Experience, Valence
from journeys.models import Journey, JourneyStep
from touchpoints.models import Department, Touchpoint

from . import engine
from .models import CustomerScore, DailyRollup, MonthlyRollup, WeeklyRollup

SUMMED = (
    "experiences",
    "positives",
    "neutrals",
    "negatives",
    "positive_mass",
    "negative_mass",
    "missed",
    "met",
    "exceeded",
    "failed",
    "reported_by_others",
)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class PeriodReport:
    """Undecayed figures of a period: what happened, not how it is remembered."""

    experiences: int = 0
    positives: int = 0
    neutrals: int = 0
    negatives: int = 0
    positive_mass: float = 0.0
    negative_mass: float = 0.0
    missed: int = 0
    met: int = 0
    exceeded: int = 0
    failed: int = 0
    reported_by_others: int = 0

    @property
    def index(self) -> float | None:
        """100·P / (P + 5·N); None ("—") when nothing positive or negative happened."""
        return engine.experience_index(
            self.positive_mass, self.negative_mass, negative_weight=settings.CXM_NEGATIVE_WEIGHT
        )

    @property
    def balance(self) -> float:
        return engine.balance(self.positive_mass, self.negative_mass, negative_weight=settings.CXM_NEGATIVE_WEIGHT)

    @property
    def recovery_debt(self) -> int:
        """Standard positive experiences (intensity 3) still owed for the period's negatives."""
        return engine.recovery_debt(
            self.positive_mass, self.negative_mass, negative_weight=settings.CXM_NEGATIVE_WEIGHT
        )

    @property
    def forgotten_share(self) -> float | None:
        """Share of neutral experiences: moments that fell into oblivion."""
        return _share(self.neutrals, self.experiences)

    @property
    def positive_share(self) -> float | None:
        return _share(self.positives, self.experiences)

    @property
    def negative_share(self) -> float | None:
        return _share(self.negatives, self.experiences)

    @property
    def with_expectation(self) -> int:
        """Experiences for which the expectation was recorded: the base of the calibration shares."""
        return self.missed + self.met + self.exceeded

    @property
    def missed_share(self) -> float | None:
        """High means over-promising."""
        return _share(self.missed, self.with_expectation)

    @property
    def met_share(self) -> float | None:
        """High together with many neutrals means expectations set too low to be noticed."""
        return _share(self.met, self.with_expectation)

    @property
    def exceeded_share(self) -> float | None:
        return _share(self.exceeded, self.with_expectation)

    @property
    def failed_share(self) -> float | None:
        """Share of all experiences whose tangible outcome failed."""
        return _share(self.failed, self.experiences)

    @property
    def reported_by_others_share(self) -> float | None:
        """Share of the negatives that people of other departments reported."""
        return _share(self.reported_by_others, self.negatives)

    @classmethod
    def from_sums(cls, sums: Mapping[str, Any]) -> PeriodReport:
        """Build from an aggregate row; missing or NULL sums (no rollups) count as zero."""
        values = {name: sums.get(name) or 0 for name in SUMMED}
        return cls(**values | {m: float(values[m]) for m in ("positive_mass", "negative_mass")})

    def __add__(self, other: PeriodReport) -> PeriodReport:
        return PeriodReport(**{name: getattr(self, name) + getattr(other, name) for name in SUMMED})


SUMS = {name: Sum(name) for name in SUMMED}
"""The one aggregate of the daily rollups: each summed column under its own name, for `PeriodReport.from_sums`."""


@dataclass(frozen=True)
class CompanyOverview:
    departments: list[tuple[Department, PeriodReport]]
    total: PeriodReport


def rollups(
    *,
    start: date,
    end: date,
    department_ids: Iterable[int] | None = None,
    touchpoint_ids: Iterable[int] | None = None,
    stages: Iterable[str] | None = None,
    segments: Iterable[str] | None = None,
) -> QuerySet[DailyRollup]:
    """The rollups of the days start..end (both included), narrowed by each filter that is not None.

    Every report and page sums these rows; `segments` are customer segments ("" = none).
    """
    rows = DailyRollup.objects.filter(day__gte=start, day__lte=end)
    return narrowed(
        rows, department_ids=department_ids, touchpoint_ids=touchpoint_ids, segments=segments, stages=stages
    )


def narrowed(
    rows: QuerySet,
    *,
    department_ids: Iterable[int] | None,
    touchpoint_ids: Iterable[int] | None = None,
    segments: Iterable[str] | None = None,
    stages: Iterable[str] | None = None,
) -> QuerySet:
    """The `rows` of the departments, touchpoints, customer segments and stages given (None: all of them)."""
    if department_ids is not None:
        rows = rows.filter(department_id__in=list(department_ids))
    if touchpoint_ids is not None:
        rows = rows.filter(touchpoint_id__in=list(touchpoint_ids))
    if segments is not None:
        rows = rows.filter(segment__in=list(segments))
    if stages is not None:
        rows = rows.filter(stage__in=list(stages))
    return rows


@dataclass(frozen=True)
class Cover:
    """A period cut into what the rollups store: whole months, whole weeks, and the days left over.

    Each list holds (first, last) pairs of period starts, both included; reading a year this way
    takes about 12 monthly, a few weekly and a few daily rows per key instead of 365 daily ones.
    """

    days: list[tuple[date, date]]
    weeks: list[tuple[date, date]]
    months: list[tuple[date, date]]

    @classmethod
    def of(cls, start: date, end: date, *, months: bool = True) -> Cover:
        """`months=False` leaves months out, for reads grouped by week (a month is no whole number of weeks)."""
        first_month = start if start.day == 1 else _next_month(start)
        after_months = end + timedelta(days=1)
        after_months = after_months if after_months.day == 1 else after_months.replace(day=1)
        if months and first_month < after_months:
            month_range = [(first_month, _previous_month(after_months))]
            rests = [(start, first_month - timedelta(days=1)), (after_months, end)]
        else:
            month_range, rests = [], [(start, end)]
        days, weeks = [], []
        for low, high in rests:
            if low > high:
                continue
            first_week = low + timedelta(days=-low.weekday() % 7)
            after_weeks = high + timedelta(days=1) - timedelta(days=(high + timedelta(days=1)).weekday())
            if first_week < after_weeks:
                weeks.append((first_week, after_weeks - timedelta(days=7)))
                days += [(low, first_week - timedelta(days=1)), (after_weeks, high)]
            else:
                days.append((low, high))
        return cls(days=[(a, b) for a, b in days if a <= b], weeks=weeks, months=month_range)


def period_start(key: str, day: date) -> date:
    """The first day of the "week" (Monday) or "month" that `day` is in."""
    return day - timedelta(days=day.weekday()) if key == "week" else day.replace(day=1)


def period_after(key: str, start: date) -> date:
    """The first day of the next week or month."""
    return start + timedelta(days=7) if key == "week" else _next_month(start)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=31)).replace(day=1)


def _previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


# What `summed` may group by: a rollup column, or a column of the rollup's touchpoint.
BY_COLUMNS = {
    "department_id": "r.department_id",
    "touchpoint_id": "r.touchpoint_id",
    "stage": "r.stage",
    "segment": "r.segment",
    "touchpoint__name": "t.name",
    "touchpoint__code": "t.code",
}
# Each rollup table with its period column, longest periods first.
_PERIOD_TABLES = ((MonthlyRollup, "month"), (WeeklyRollup, "week"), (DailyRollup, "day"))


def summed(
    *,
    start: date,
    end: date,
    by: Sequence[str] = (),
    per_week: bool = False,
    department_ids: Iterable[int] | None = None,
    touchpoint_ids: Iterable[int] | None = None,
    stages: Iterable[str] | None = None,
    segments: Iterable[str] | None = None,
) -> dict[tuple, PeriodReport]:
    """The figures of start..end per value of the `by` fields (led by the week's Monday with `per_week`); one query.

    `by` names keys of BY_COLUMNS. Reads the monthly, weekly and daily rollups that cover the
    period (`Cover`) in one UNION ALL and adds them up per key in the same statement, so a year
    costs tens of rows per key, not hundreds. The statement is written here rather than built by
    the ORM: the dashboards call this several times a page, and compiling three aggregates of
    eleven sums each cost more than running them.
    """
    unknown = [name for name in by if name not in BY_COLUMNS]
    if unknown:
        raise ValueError(f"summed() groups by {', '.join(BY_COLUMNS)}; not by {', '.join(unknown)}")
    narrowing = {
        column: list(values)
        for column, values in (
            ("department_id", department_ids),
            ("touchpoint_id", touchpoint_ids),
            ("stage", stages),
            ("segment", segments),
        )
        if values is not None
    }
    if not all(narrowing.values()) or start > end:
        return {}  # narrowed to nothing
    keys = (["r.period"] if per_week else []) + [BY_COLUMNS[name] for name in by]
    sql, params = _summed_sql(Cover.of(start, end, months=not per_week), keys, narrowing)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result: dict[tuple, PeriodReport] = {}
    width = len(keys)
    for row in rows:
        key = row[:width]
        if per_week:  # the partial weeks at the ends of the period come as days: each counts for its Monday
            day = row[0] if isinstance(row[0], date) else date.fromisoformat(row[0])  # SQLite gives text
            key = (day - timedelta(days=day.weekday()), *key[1:])
        report = PeriodReport.from_sums(dict(zip(SUMMED, row[width:], strict=True)))
        result[key] = result.get(key, PeriodReport()) + report
    return result


def _summed_sql(cover: Cover, keys: list[str], narrowing: dict[str, list]) -> tuple[str, list]:
    """The UNION ALL of the rollup rows of `cover` that `narrowing` keeps, summed per `keys`."""
    sums = ", ".join(f"r.{name}" for name in SUMMED)
    parts, params = [], []
    for (model, period), ranges in zip(_PERIOD_TABLES, (cover.months, cover.weeks, cover.days), strict=True):
        if not ranges:
            continue
        where = [" OR ".join([f"{period} BETWEEN %s AND %s"] * len(ranges))]
        params += [bound for pair in ranges for bound in pair]
        for column, values in narrowing.items():
            where.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
            params += values
        parts.append(
            f"SELECT {period} AS period, r.department_id, r.touchpoint_id, r.stage, r.segment, {sums} "
            f"FROM {model._meta.db_table} AS r WHERE {' AND '.join(f'({w})' for w in where)}"
        )
    join = ""
    if any(key.startswith("t.") for key in keys):
        join = f" JOIN {Touchpoint._meta.db_table} AS t ON t.id = r.touchpoint_id"
    grouping = f" GROUP BY {', '.join(keys)}" if keys else ""
    selected = ", ".join([*keys, *(f"SUM(r.{name})" for name in SUMMED)])
    return f"SELECT {selected} FROM ({' UNION ALL '.join(parts)}) AS r{join}{grouping}", params


def customer_score(customer: Customer | int) -> CustomerScore | None:
    """The stored score, its masses and balance brought forward to now; None before the first experience.

    The index and the debt are as of the last rescore (the nightly task refreshes the debt);
    the masses are decayed to this moment from the time-invariant sums, which costs nothing.
    """
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    score = CustomerScore.objects.filter(customer_id=customer_id).first()
    if score is not None:
        scale = engine.scale_to(timezone.now(), settings.CXM_EPOCH, half_life_days=settings.CXM_HALF_LIFE_DAYS)
        score.positive_mass = score.positive_mass_norm * scale
        score.negative_mass = score.negative_mass_norm * scale
        score.balance = engine.balance(
            score.positive_mass, score.negative_mass, negative_weight=settings.CXM_NEGATIVE_WEIGHT
        )
    return score


def period_report(
    *,
    start: date,
    end: date,
    department_ids: Iterable[int] | None = None,
    touchpoint_ids: Iterable[int] | None = None,
    stages: Iterable[str] | None = None,
    segments: Iterable[str] | None = None,
) -> PeriodReport:
    """Figures of the company calendar days start..end (both included), optionally narrowed; one query."""
    sums = summed(
        start=start,
        end=end,
        department_ids=department_ids,
        touchpoint_ids=touchpoint_ids,
        stages=stages,
        segments=segments,
    )
    return sums.get((), PeriodReport())


def department_report(
    department: Department, *, start: date, end: date, segments: Iterable[str] | None = None
) -> PeriodReport:
    return period_report(start=start, end=end, department_ids=[department.pk], segments=segments)


def touchpoint_report(
    touchpoint: Touchpoint, *, start: date, end: date, segments: Iterable[str] | None = None
) -> PeriodReport:
    return period_report(start=start, end=end, touchpoint_ids=[touchpoint.pk], segments=segments)


def stage_report(stage: str, *, start: date, end: date, segments: Iterable[str] | None = None) -> PeriodReport:
    return period_report(start=start, end=end, stages=[stage], segments=segments)


def journey_report(
    journey: Journey, *, start: date, end: date, segments: Iterable[str] | None = None
) -> list[tuple[JourneyStep, PeriodReport]]:
    """Each step in order with the figures of its touchpoint at its stage; two queries."""
    steps = list(journey.steps.select_related("touchpoint").order_by("position"))
    touchpoints = {s.touchpoint_id for s in steps}
    by_key = summed(start=start, end=end, by=("touchpoint_id", "stage"), touchpoint_ids=touchpoints, segments=segments)
    return [(step, by_key.get((step.touchpoint_id, step.stage), PeriodReport())) for step in steps]


def company_overview(*, start: date, end: date, segments: Iterable[str] | None = None) -> CompanyOverview:
    """Every active department's figures (inactive ones still count in the total); two queries."""
    by_department = {
        pk: report for (pk,), report in summed(start=start, end=end, by=("department_id",), segments=segments).items()
    }
    total = sum(by_department.values(), PeriodReport())
    departments = [(d, by_department.get(d.pk, PeriodReport())) for d in Department.objects.filter(active=True)]
    return CompanyOverview(departments=departments, total=total)


def customers_at_risk(
    *, limit: int = 50, department_ids: Iterable[int] | None = None, segments: Iterable[str] | None = None
) -> list[CustomerScore]:
    """Customers still owed positive experiences (debt > 0), worst first, with their customer; one query.

    With `department_ids`, only customers who had a negative experience with one of those
    departments: the ones that department can act on. With `segments`, only customers now
    in one of those segments.
    """
    scores = CustomerScore.objects.filter(recovery_debt__gt=0).select_related("customer")
    if segments is not None:
        scores = scores.filter(customer__segment__in=list(segments))
    if department_ids is not None:
        hurt_here = Experience.objects.filter(
            Q(customer_id=OuterRef("customer_id")),
            department_id__in=list(department_ids),
            valence=Valence.NEGATIVE,
        )
        scores = scores.filter(Exists(hurt_here))
    return list(scores.order_by("-recovery_debt", "balance", "customer_id")[:limit])
