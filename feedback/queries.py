"""Reads of the feedback app: survey links, case lists and figures, the ladder, share of wallet.

Dashboards and the API may call these too: `department_case_stats` (open, overdue, median time
to resolve, recovery rate per department).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models import Case as CaseWhen
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from accounts.models import User
from customers import ladder
from customers.models import Customer, RelationshipLevel
from customers.queries import segments  # noqa: F401  (the feedback pages list them)
from experiences.models import Experience, Valence
from touchpoints.models import Department

from .models import Case, CaseStatus, Invitation, LadderSuggestion, Notice, Response, SuggestionStatus, SurveyKind
from .tokens import invitation_id

# Survey links ----------------------------------------------------------------------------


@dataclass
class TokenCheck:
    status: str  # "open" | "answered" | "expired" | "invalid"
    invitation: Invitation | None = None


def check_token(token: str, *, now: datetime | None = None) -> TokenCheck:
    """What a survey link leads to. A tampered or unknown token is "invalid", never an exception."""
    pk = invitation_id(token)
    if pk is None:
        return TokenCheck("invalid")
    invitation = Invitation.objects.select_related("survey", "customer", "experience__touchpoint").filter(pk=pk).first()
    if invitation is None:
        return TokenCheck("invalid")
    if invitation.answered_at is not None:
        return TokenCheck("answered", invitation)
    if invitation.expires_at <= (now or timezone.now()):
        return TokenCheck("expired", invitation)
    return TokenCheck("open", invitation)


# Cases -----------------------------------------------------------------------------------


def _next_valence() -> Subquery:
    """The valence of the customer's first experience after the case was resolved (null: none yet)."""
    return Subquery(
        Experience.objects.filter(customer_id=OuterRef("customer_id"), occurred_at__gt=OuterRef("resolved_at"))
        .order_by("occurred_at", "pk")
        .values("valence")[:1]
    )


def cases_for(
    *,
    cases: QuerySet[Case],
    user: User,
    department: int | None = None,
    status: str = "open",
    assignee: str = "",
    now: datetime | None = None,
) -> QuerySet[Case]:
    """`cases` (from the access gate) filtered as the case list asks; each with `next_valence` for recovery."""
    now = now or timezone.now()
    cases = cases.select_related("customer", "department", "assignee", "experience__touchpoint").annotate(
        next_valence=_next_valence()
    )
    if department:
        cases = cases.filter(department_id=department)
    if status == "open":
        cases = cases.filter(status=CaseStatus.OPEN)
    elif status == "overdue":
        cases = cases.filter(status=CaseStatus.OPEN, due_at__lt=now)
    elif status == "resolved":
        cases = cases.filter(status=CaseStatus.RESOLVED).order_by("-resolved_at")
    if assignee == "me":
        cases = cases.filter(assignee=user)
    elif assignee == "nobody":
        cases = cases.filter(assignee__isnull=True)
    return cases


INBOX_LIMIT = 50


@dataclass
class Inbox:
    mine: list[CaseRow]  # open cases assigned to the user, overdue first
    departments: list[CaseRow]  # the other open cases the user may see, overdue first
    notices: list[Notice]  # the latest news about cases, newest first
    more: bool  # the departments' list was cut at `limit`
    limit: int = INBOX_LIMIT


def inbox(*, cases: QuerySet[Case], user: User, now: datetime | None = None, limit: int = INBOX_LIMIT) -> Inbox:
    """What a person must act on: `cases` (from the access gate) still open; three queries.

    Ordered by due time, so overdue cases come first; the lists are capped, so the page costs
    the same with ten cases or ten thousand.
    """
    now = now or timezone.now()
    open_cases = (
        cases.filter(status=CaseStatus.OPEN)
        .select_related("customer", "department", "assignee", "experience__touchpoint")
        .order_by("due_at", "pk")
    )
    mine = list(open_cases.filter(assignee=user)[:limit])
    others = list(open_cases.exclude(assignee=user)[: limit + 1])
    notices = list(Notice.objects.filter(user=user)[:20])
    return Inbox(
        mine=case_rows(mine, now=now),
        departments=case_rows(others[:limit], now=now),
        notices=notices,
        more=len(others) > limit,
        limit=limit,
    )


def open_cases_assigned(user: User) -> int:
    """The count beside "Inbox" in the menu; one query."""
    return Case.objects.filter(status=CaseStatus.OPEN, assignee=user).count()


def recovery_state(next_valence: int | None, status: str) -> str:
    """One of recovered, not_recovered, waiting (resolved, no experience since) or "" (still open)."""
    if status != CaseStatus.RESOLVED:
        return ""
    if next_valence is None:
        return "waiting"
    return "recovered" if next_valence == Valence.POSITIVE else "not_recovered"


@dataclass
class CaseRow:
    case: Case
    overdue: bool
    recovery: str


def case_rows(cases, *, now: datetime | None = None) -> list[CaseRow]:
    """Cases from `cases_for` ready to render: whether overdue, and their recovery."""
    now = now or timezone.now()
    return [
        CaseRow(
            case=case,
            overdue=case.is_overdue(now),
            recovery=recovery_state(getattr(case, "next_valence", None), case.status),
        )
        for case in cases
    ]


@dataclass
class DepartmentCaseStats:
    department: Department
    open: int
    overdue: int
    resolved: int
    median_hours_to_resolve: float | None
    recovered: int
    judged: int  # resolved cases whose customer has had an experience since

    @property
    def recovery_rate(self) -> float | None:
        """Share of judged cases that recovered, in %; None before any customer came back."""
        return 100.0 * self.recovered / self.judged if self.judged else None


def department_case_stats(
    *, departments: QuerySet[Department] | None = None, now: datetime | None = None
) -> list[DepartmentCaseStats]:
    """Per department: open, overdue, resolved, median time to resolve, recovery (three queries)."""
    now = now or timezone.now()
    chosen = list(departments if departments is not None else Department.objects.all())
    counts: dict[int, Any] = {
        row["department"]: row
        for row in Case.objects.filter(department__in=chosen)
        .alias(next_valence=_next_valence())
        .values("department")
        .annotate(
            open=Count("pk", filter=Q(status=CaseStatus.OPEN)),
            overdue=Count("pk", filter=Q(status=CaseStatus.OPEN, due_at__lt=now)),
            resolved=Count("pk", filter=Q(status=CaseStatus.RESOLVED)),
            recovered=Count("pk", filter=Q(status=CaseStatus.RESOLVED, next_valence=Valence.POSITIVE)),
            judged=Count("pk", filter=Q(status=CaseStatus.RESOLVED, next_valence__isnull=False)),
        )
    }
    medians = _median_hours_to_resolve(chosen)
    return [
        DepartmentCaseStats(
            department=d,
            open=counts.get(d.pk, {}).get("open", 0),
            overdue=counts.get(d.pk, {}).get("overdue", 0),
            resolved=counts.get(d.pk, {}).get("resolved", 0),
            median_hours_to_resolve=medians.get(d.pk),
            recovered=counts.get(d.pk, {}).get("recovered", 0),
            judged=counts.get(d.pk, {}).get("judged", 0),
        )
        for d in chosen
    ]


def _median_hours_to_resolve(departments: list[Department]) -> dict[int, float]:
    """Median per department in SQL: keep only the one or two middle rows of each ordered partition."""
    took = ExpressionWrapper(F("resolved_at") - F("opened_at"), output_field=DurationField())
    middle = (
        Case.objects.filter(department__in=departments, status=CaseStatus.RESOLVED)
        .annotate(
            took=took,
            position=Window(RowNumber(), partition_by=F("department_id"), order_by=took.asc()),
            count=Window(Count("pk"), partition_by=F("department_id")),
        )
        .filter(position__gte=F("count") / 2.0, position__lte=F("count") / 2.0 + 1)
        .values_list("department_id", "took")
    )
    found: dict[int, list[timedelta]] = {}
    for department_id, duration in middle:
        found.setdefault(department_id, []).append(duration)
    return {pk: statistics.mean(d.total_seconds() for d in values) / 3600 for pk, values in found.items()}


def assignable_users(case: Case) -> QuerySet[User]:
    return User.objects.filter(departments=case.department, is_active=True).order_by("username")


# Survey answers --------------------------------------------------------------------------


def responses_for(*, responses: QuerySet[Response], flagged_only: bool = False) -> QuerySet[Response]:
    """`responses` (from the access gate), newest first; flagged = needs a read."""
    responses = responses.select_related("survey", "customer", "experience")
    if flagged_only:
        responses = responses.filter(flagged=True, reviewed_at__isnull=True)
    return responses


# Relationship ladder ---------------------------------------------------------------------


def ladder_facts(*, since: datetime) -> dict[int, ladder.Facts]:
    """The facts the ladder rules read, for every customer with an experience since `since` (one query)."""
    recent = Q(experiences__occurred_at__gte=since)
    rows = (
        Customer.objects.filter(Exists(Experience.objects.filter(customer=OuterRef("pk"), occurred_at__gte=since)))
        .annotate(
            positives=Count("experiences", filter=recent & Q(experiences__valence=Valence.POSITIVE)),
            negatives=Count("experiences", filter=recent & Q(experiences__valence=Valence.NEGATIVE)),
            debt=Coalesce("score__recovery_debt", 0),
            last_nps=Subquery(
                Response.objects.filter(customer=OuterRef("pk"), survey__kind=SurveyKind.NPS)
                .order_by("-created_at", "-pk")
                .values("score")[:1]
            ),
        )
        .values_list("pk", "relationship_level", "debt", "positives", "negatives", "last_nps")
    )
    return {
        pk: ladder.Facts(level=level, recovery_debt=debt, positives=pos, negatives=neg, last_nps=last)
        for pk, level, debt, pos, neg, last in rows
    }


@dataclass
class FunnelStep:
    level: str
    label: str
    customers: int
    at_or_above: int
    share: float  # % of all customers in the selection at this rung or higher


def ladder_funnel(
    *, customers: QuerySet[Customer], department: Department | None = None, segment: str = ""
) -> list[FunnelStep]:
    """Customers per rung among `customers` (from the access gate), for one segment and/or one department."""
    if segment:
        customers = customers.filter(segment=segment)
    if department is not None:
        customers = customers.filter(Exists(Experience.objects.filter(customer=OuterRef("pk"), department=department)))
    counts = dict(customers.values("relationship_level").annotate(n=Count("pk")).values_list("relationship_level", "n"))
    total = sum(counts.values())
    steps, above = [], total
    for level, label in RelationshipLevel.choices:
        steps.append(
            FunnelStep(
                level=level,
                label=str(label),
                customers=counts.get(level, 0),
                at_or_above=above,
                share=100.0 * above / total if total else 0.0,
            )
        )
        above -= counts.get(level, 0)
    return steps


def pending_suggestions(*, suggestions: QuerySet[LadderSuggestion], limit: int = 200) -> QuerySet[LadderSuggestion]:
    """The pending ones among `suggestions` (from the access gate)."""
    return suggestions.filter(status=SuggestionStatus.PENDING).select_related("customer")[:limit]


# Share of wallet -------------------------------------------------------------------------


WALLET_SORTS = {
    "name": ("name",),
    "share": (F("share_of_wallet").asc(nulls_last=True), "name"),
    "-share": (F("share_of_wallet").desc(nulls_last=True), "name"),
    "index": (F("score__index").asc(nulls_last=True), "name"),
    "-index": (F("score__index").desc(nulls_last=True), "name"),
}


def wallet_rows(
    *, customers: QuerySet[Customer], segment: str = "", sort: str = "-share", limit: int = 500
) -> QuerySet[Customer]:
    """`customers` (from the access gate) with their share of wallet (`share_of_wallet`, %) and index."""
    customers = customers.select_related("score")
    if segment:
        customers = customers.filter(segment=segment)
    return customers.order_by(*WALLET_SORTS.get(sort, WALLET_SORTS["-share"]))[:limit]


WALLET_BANDS = ((0, 25), (25, 50), (50, 75), (75, 100))


@dataclass
class WalletBand:
    low: int
    high: int
    customers: int
    mean_index: float | None


def wallet_bands(*, customers: QuerySet[Customer], segment: str = "") -> list[WalletBand]:
    """Mean experience index per quarter of share of wallet: do the customers who feel better buy more from us?"""
    customers = customers.filter(share_of_wallet__isnull=False)
    if segment:
        customers = customers.filter(segment=segment)
    band = CaseWhen(
        *[When(share_of_wallet__lt=high, then=Value(low)) for low, high in WALLET_BANDS[:-1]],
        default=Value(WALLET_BANDS[-1][0]),
    )
    rows: dict[int, Any] = {
        r["band"]: r
        for r in customers.annotate(band=band).values("band").annotate(n=Count("pk"), mean_index=Avg("score__index"))
    }
    return [
        WalletBand(
            low=low,
            high=high,
            customers=rows.get(low, {}).get("n", 0),
            mean_index=rows.get(low, {}).get("mean_index"),
        )
        for low, high in WALLET_BANDS
    ]
