"""Page-specific reads of the dashboards, all from the daily rollups (DESIGN §3), each in a fixed
number of queries that its docstring states (one for most, three for `department_ranking`).

Every function takes `department_ids` (None = every department, for admins) from
`accounts.access.Reader`, so the figures can never cover a department the reader may not see.
The shared aggregates (`PeriodReport`, `period_report`, `customers_at_risk`) live in
`scoring.queries`; this module only groups them the way the pages show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, OuterRef, QuerySet, Subquery

from experiences.models import EXPERIENCE_FIELDS, Experience
from experiences.partitions import on_days
from feedback import survey_scores
from scoring.queries import SUMS, PeriodReport, rollups, summed
from scoring.reporters import reported_by
from touchpoints.models import Department, Stage, Touchpoint, TouchpointOwner

from .filters import Filters


def _summed(
    filters: Filters, department_ids: Iterable[int] | None, *, previous: bool = False, **grouping
) -> dict[tuple, PeriodReport]:
    """`scoring.queries.summed` over the filter's period (or the one before) and narrowing; one query."""
    period = filters.period.previous if previous else filters.period
    return summed(
        start=period.start,
        end=period.end,
        department_ids=department_ids,
        stages=filters.stages or None,
        segments=filters.segments or None,
        **grouping,
    )


@dataclass(frozen=True)
class DepartmentRow:
    department: Department
    report: PeriodReport
    previous: PeriodReport

    @property
    def change(self) -> float | None:
        """Index points gained (+) or lost (−) against the previous period of the same length."""
        if self.report.index is None or self.previous.index is None:
            return None
        return self.report.index - self.previous.index


def department_ranking(*, filters: Filters, department_ids: Iterable[int] | None) -> list[DepartmentRow]:
    """Active departments, best index first (departments without figures last); three queries."""
    departments = Department.objects.filter(active=True)
    if department_ids is not None:
        departments = departments.filter(pk__in=list(department_ids))

    def by_department(previous: bool) -> dict[int, PeriodReport]:
        rows = _summed(filters, department_ids, previous=previous, by=("department_id",))
        return {pk: report for (pk,), report in rows.items()}

    current, before = by_department(False), by_department(True)
    ranking = [
        DepartmentRow(department=d, report=current.get(d.pk, PeriodReport()), previous=before.get(d.pk, PeriodReport()))
        for d in departments
    ]
    ranking.sort(key=lambda row: (row.report.index is None, -(row.report.index or 0), row.department.name))
    return ranking


# On a typical (median) day with fewer experiences than this, a daily index jumps to 0 or 100 on
# one or two of them: the trend is then drawn per week instead.
SPARSE_DAY_EXPERIENCES = 5


@dataclass(frozen=True)
class TrendPoint:
    start: date
    report: PeriodReport
    weekly: bool = False


def index_trend(*, filters: Filters, department_ids: Iterable[int] | None) -> list[TrendPoint]:
    """The figures per day (per week from Monday for long periods or sparse days), gaps filled; one query.

    Weeks are read from the weekly rollups, except the partial weeks at the ends of the period.
    """
    period = filters.period
    if period.weekly:
        by_bucket = {week: report for (week,), report in _summed(filters, department_ids, per_week=True).items()}
    else:
        rows = rollups(
            start=period.start,
            end=period.end,
            department_ids=department_ids,
            stages=filters.stages or None,
            segments=filters.segments or None,
        )
        by_bucket = {r["day"]: PeriodReport.from_sums(r) for r in rows.values("day").annotate(**SUMS)}
    step = timedelta(days=7 if period.weekly else 1)
    first = period.start - timedelta(days=period.start.weekday()) if period.weekly else period.start
    points, day = [], first
    while day <= period.end:
        points.append(TrendPoint(start=day, report=by_bucket.get(day, PeriodReport()), weekly=period.weekly))
        day += step
    if not period.weekly and _sparse(points):
        return _by_week(points)
    return points


def _sparse(points: list[TrendPoint]) -> bool:
    volumes = sorted(p.report.experiences for p in points)
    return bool(volumes) and volumes[len(volumes) // 2] < SPARSE_DAY_EXPERIENCES


def _by_week(points: list[TrendPoint]) -> list[TrendPoint]:
    weeks: dict[date, list[PeriodReport]] = {}
    for point in points:
        weeks.setdefault(point.start - timedelta(days=point.start.weekday()), []).append(point.report)
    return [
        TrendPoint(start=monday, report=sum(reports, PeriodReport()), weekly=True) for monday, reports in weeks.items()
    ]


@dataclass(frozen=True)
class TouchpointRow:
    touchpoint_id: int
    name: str
    code: str
    report: PeriodReport
    by_stage: dict[str, PeriodReport]


def touchpoint_rows(*, filters: Filters, department_ids: Iterable[int] | None) -> list[TouchpointRow]:
    """Each touchpoint with experiences in the period, its totals and its figures per stage; one query.

    One row per touchpoint × stage comes back (at most three per touchpoint), so the per-touchpoint
    totals are the sum of at most three reports.
    """
    rows = _summed(filters, department_ids, by=("touchpoint__name", "touchpoint_id", "touchpoint__code", "stage"))
    result: dict[int, TouchpointRow] = {}
    for (name, pk, code, stage), report in sorted(rows.items(), key=lambda item: item[0][:2]):
        row = result.setdefault(pk, TouchpointRow(pk, name, code, PeriodReport(), {}))
        row.by_stage[stage] = report
    return [
        TouchpointRow(row.touchpoint_id, row.name, row.code, sum(row.by_stage.values(), PeriodReport()), row.by_stage)
        for row in result.values()
    ]


@dataclass(frozen=True)
class OwnedTouchpoint:
    """A moment of truth the department owns: its share of it, and the whole touchpoint when co-owned."""

    touchpoint: Touchpoint
    owners: int
    share: PeriodReport | None  # None: not measured in the period (no experience charged to the department)
    whole: PeriodReport | None  # every owner together; None when the department is the only owner

    @property
    def measured(self) -> bool:
        return self.share is not None or (self.whole is not None and self.whole.experiences > 0)


def owned_touchpoints(*, filters: Filters, department: Department, rows: list[TouchpointRow]) -> list[OwnedTouchpoint]:
    """Every active touchpoint the department owns, measured or not, with the whole of co-owned ones; two queries.

    `rows` are the department's own `touchpoint_rows`: its share. The moments nobody measures
    are a finding, so a touchpoint without experiences is listed as "not measured", not left out.
    """
    owner_count = (
        TouchpointOwner.objects.filter(touchpoint=OuterRef("pk"))
        .values("touchpoint")
        .annotate(n=Count("pk"))
        .values("n")
    )
    owned = list(
        Touchpoint.objects.filter(owners__department=department, active=True)
        .annotate(owner_count=Subquery(owner_count))
        .order_by("name", "pk")
    )
    co_owned = [tp.pk for tp in owned if tp.owner_count > 1]
    whole: dict[int, PeriodReport] = {}
    if co_owned:
        period = filters.period
        sums = summed(
            start=period.start,
            end=period.end,
            by=("touchpoint_id",),
            touchpoint_ids=co_owned,
            stages=filters.stages or None,
            segments=filters.segments or None,
        )
        whole = {pk: report for (pk,), report in sums.items()}
    share = {row.touchpoint_id: row.report for row in rows}
    return [
        OwnedTouchpoint(
            touchpoint=tp,
            owners=tp.owner_count,
            share=share.get(tp.pk),
            whole=whole.get(tp.pk, PeriodReport()) if tp.owner_count > 1 else None,
        )
        for tp in owned
    ]


@dataclass(frozen=True)
class ReportedByOthers:
    """Of a department's negatives in the period, those that people of other departments reported."""

    negatives: int
    by_department: list[tuple[str, int]]  # the reporting departments, most reports first

    @property
    def count(self) -> int:
        return sum(n for _, n in self.by_department)

    @property
    def share(self) -> float | None:
        """A fraction of the negatives, 0–1, like every share the pages format as %."""
        return self.count / self.negatives if self.negatives else None


def reported_by_others(*, filters: Filters, department: Department, negatives: int) -> ReportedByOthers:
    """Which other departments noticed the department's `negatives` of the period; one query.

    Read from the reporter rollups (`scoring.reporters`), as months, weeks and days: a year costs
    months' rows, however many negatives others logged.
    """
    period = filters.period
    by_department = reported_by(
        start=period.start,
        end=period.end,
        department_id=department.pk,
        stages=filters.stages or None,
        segments=filters.segments or None,
    )
    return ReportedByOthers(negatives=negatives, by_department=by_department)


def worst_moments(rows: list[TouchpointRow], *, limit: int = 10) -> list[TouchpointRow]:
    """Moments of truth ranked by negative mass: where the most harm was done."""
    hurt = [row for row in rows if row.report.negative_mass > 0]
    return sorted(hurt, key=lambda row: (-row.report.negative_mass, row.name))[:limit]


def failed_outcomes(rows: list[TouchpointRow]) -> list[TouchpointRow]:
    """Touchpoints whose tangible outcome failed at least once, most failures first."""
    return sorted((row for row in rows if row.report.failed), key=lambda row: (-row.report.failed, row.name))


STAGE_ORDER = list(Stage.values)


@dataclass(frozen=True)
class StaffEntry:
    occurred_at: datetime
    who: str
    touchpoint: str
    stage: str
    valence: int
    intensity: int


def staff_activity(*, filters: Filters, department_ids: Iterable[int] | None, limit: int = 20) -> list[StaffEntry]:
    """Who logged what: the latest experiences logged by people in the period, newest first; one bounded query.

    It walks the (day, department) index backwards and stops after `limit` rows, so its cost
    does not grow with the data; the full list is the experiences CSV export.
    """
    rows = _experiences(filters, department_ids).filter(recorded_by__isnull=False)
    rows = rows.order_by("-occurred_on", "-occurred_at").values_list(
        "occurred_at", "recorded_by__username", "touchpoint__name", "stage", "valence", "intensity"
    )[:limit]
    return [StaffEntry(*row) for row in rows]


def _experiences(filters: Filters, department_ids: Iterable[int] | None) -> QuerySet:
    period = filters.period
    rows = Experience.objects.filter(on_days(period.start, period.end))
    if department_ids is not None:
        rows = rows.filter(department_id__in=list(department_ids))
    if filters.stages:
        rows = rows.filter(stage__in=filters.stages)
    if filters.segments:
        rows = rows.filter(customer__segment__in=filters.segments)
    return rows


EXPORT_FIELDS = (
    "occurred_at",
    "customer__external_id",
    "customer__name",
    "department__code",
    "touchpoint__code",
    *EXPERIENCE_FIELDS,
    "source",
    "recorded_by__username",
    "impact",
    "note",
)


def experiences_for_export(
    *, filters: Filters, department_ids: Iterable[int] | None, touchpoint_ids: Iterable[int] | None = None
) -> Iterator[tuple]:
    """The experiences behind a filter, oldest first, fetched in chunks so memory stays flat."""
    rows = _experiences(filters, department_ids)
    if touchpoint_ids is not None:
        rows = rows.filter(touchpoint_id__in=list(touchpoint_ids))
    return rows.order_by("occurred_on", "occurred_at", "id").values_list(*EXPORT_FIELDS).iterator(chunk_size=2000)


# Survey answers (feedback/survey_scores.py) -----------------------------------------------------


def _survey_narrowing(filters: Filters, department_ids: Iterable[int] | None, *, previous: bool = False) -> dict:
    period = filters.period.previous if previous else filters.period
    return {
        "start": period.start,
        "end": period.end,
        "department_ids": department_ids,
        "segments": filters.segments or None,
        "stages": filters.stages or None,
    }


@dataclass(frozen=True)
class CompanySurveys:
    by_department: dict[int, survey_scores.Scores]
    figures: list[survey_scores.ScoreFigure]


def survey_scores_by_department(*, filters: Filters, department_ids: Iterable[int] | None) -> CompanySurveys:
    """NPS, CSAT and CES per department and in total, with the trend; two queries."""
    current = survey_scores.survey_scores(by="department", **_survey_narrowing(filters, department_ids))
    before = survey_scores.survey_scores(by="department", **_survey_narrowing(filters, department_ids, previous=True))
    figures = survey_scores.figures(survey_scores.summed(current.values()), survey_scores.summed(before.values()))
    by_department = {pk: scores for pk, scores in current.items() if isinstance(pk, int)}
    return CompanySurveys(by_department=by_department, figures=figures)


@dataclass(frozen=True)
class RemembranceRow:
    """How a touchpoint's interactions are remembered: the remembrance-stage index and the survey scores."""

    touchpoint: TouchpointRow
    remembrance: PeriodReport | None
    scores: survey_scores.Scores
    response_rate: survey_scores.ResponseRate | None
    themes: list[survey_scores.ThemeRow]


@dataclass(frozen=True)
class DepartmentSurveys:
    figures: list[survey_scores.ScoreFigure]
    rows: list[RemembranceRow]
    themes: list[survey_scores.ThemeRow]


def remembrance_by_touchpoint(
    *, filters: Filters, department_ids: Iterable[int] | None, rows: list[TouchpointRow]
) -> DepartmentSurveys:
    """Survey scores per touchpoint with the trend, response rates and the top themes; five queries."""
    current = survey_scores.survey_scores(by="touchpoint", **_survey_narrowing(filters, department_ids))
    before = survey_scores.survey_scores(by="touchpoint", **_survey_narrowing(filters, department_ids, previous=True))
    period, previous = filters.period, filters.period.previous
    rates = survey_scores.response_rates(
        by="touchpoint", start=period.start, end=period.end, department_ids=department_ids
    )
    themes = survey_scores.themes(
        start=period.start,
        end=period.end,
        previous_start=previous.start,
        previous_end=previous.end,
        department_ids=department_ids,
        segments=filters.segments or None,
    )
    return DepartmentSurveys(
        figures=survey_scores.figures(survey_scores.summed(current.values()), survey_scores.summed(before.values())),
        rows=[
            RemembranceRow(
                row,
                row.by_stage.get(Stage.REMEMBRANCE),
                current.get(row.touchpoint_id, {}),
                rates.get(row.touchpoint_id),
                themes.by_touchpoint.get(row.touchpoint_id, []),
            )
            for row in rows
            if row.touchpoint_id in current or row.touchpoint_id in rates or Stage.REMEMBRANCE in row.by_stage
        ],
        themes=themes.top,
    )
