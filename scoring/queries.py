"""Reads of the scores for dashboards and the API: stored customer scores and daily rollups.

Every function answers from `CustomerScore` and `DailyRollup` with a fixed number of queries;
none of them reads the experience table except `customers_at_risk` filtered by department.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from customers.models import Customer
from experiences.models import Experience, Valence
from journeys.models import Journey, JourneyStep
from touchpoints.models import Department, Touchpoint

from . import engine
from .models import CustomerScore, DailyRollup

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
    if department_ids is not None:
        rows = rows.filter(department_id__in=list(department_ids))
    if touchpoint_ids is not None:
        rows = rows.filter(touchpoint_id__in=list(touchpoint_ids))
    if stages is not None:
        rows = rows.filter(stage__in=list(stages))
    if segments is not None:
        rows = rows.filter(segment__in=list(segments))
    return rows


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
    narrowed = rollups(
        start=start,
        end=end,
        department_ids=department_ids,
        touchpoint_ids=touchpoint_ids,
        stages=stages,
        segments=segments,
    )
    return PeriodReport.from_sums(narrowed.aggregate(**SUMS))


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
    rows = (
        rollups(start=start, end=end, segments=segments)
        .filter(touchpoint_id__in={s.touchpoint_id for s in steps})
        .values("touchpoint_id", "stage")
        .annotate(**SUMS)
    )
    by_key = {(r["touchpoint_id"], r["stage"]): PeriodReport.from_sums(r) for r in rows}
    return [(step, by_key.get((step.touchpoint_id, step.stage), PeriodReport())) for step in steps]


def company_overview(*, start: date, end: date, segments: Iterable[str] | None = None) -> CompanyOverview:
    """Every active department's figures (inactive ones still count in the total); two queries."""
    by_department = {
        r["department_id"]: PeriodReport.from_sums(r)
        for r in rollups(start=start, end=end, segments=segments).values("department_id").annotate(**SUMS)
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
