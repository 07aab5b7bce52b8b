"""Reads about one customer: their timeline (the continuum); who may see them is `accounts.access`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet

from experiences.models import EXPERIENCE_FIELDS, Emotion, Expectation, Experience
from touchpoints.models import Stage

from .models import Customer

PAGE_SIZE = 50
TIMELINE_FIELDS = (
    "id",
    "occurred_at",
    *EXPERIENCE_FIELDS,
    "source",
    "note",
    "impact",
    "touchpoint__name",
    "department__name",
    "recorded_by__username",
    "api_key__name",
    # what happened → how it is remembered: the survey this moment triggered, and its answer
    "survey_trigger__invitation__sent_at",
    "survey_trigger__invitation__survey__kind",
    "survey_trigger__invitation__response__score",
    "survey_trigger__invitation__response__comment",
    # ...and, on an answer, the moment it recalls
    "survey_response__score",
    "survey_response__survey__kind",
    "survey_response__invitation__experience__touchpoint__name",
    "survey_response__invitation__experience__occurred_at",
)
# A page of the timeline reads the experiences with their own names first, then what the surveys
# add to them: in one query, fourteen relations and two partitioned tables took PostgreSQL 15 ms
# to plan for 2 ms of work; these two plan in about 8 ms together (docs/performance.md).
OWN_FIELDS = tuple(field for field in TIMELINE_FIELDS if not field.startswith("survey_"))
SURVEY_FIELDS = tuple(field for field in TIMELINE_FIELDS if field.startswith("survey_"))


# Skips from one distinct segment to the next through the segment index: a handful of index
# probes instead of reading every customer (23 ms against 0.3 ms for 100,000 customers).
SEGMENTS_SQL = f"""
    WITH RECURSIVE s(segment) AS (
        SELECT MIN(segment) FROM {Customer._meta.db_table} WHERE segment > ''
        UNION ALL
        SELECT (SELECT MIN(c.segment) FROM {Customer._meta.db_table} c WHERE c.segment > s.segment)
          FROM s WHERE s.segment IS NOT NULL
    )
    SELECT segment FROM s WHERE segment IS NOT NULL
"""


def segments() -> list[str]:
    """The customer segments in use, in order, without "" (no segment); one query."""
    with connection.cursor() as cursor:
        cursor.execute(SEGMENTS_SQL)
        return [segment for (segment,) in cursor.fetchall()]


@dataclass(frozen=True)
class TimelinePage:
    entries: list[dict]
    next_cursor: str | None  # pass as `before` for the older experiences


def _experiences(customer: Customer, *, start: datetime, end: datetime, stages: list[str] | None) -> QuerySet:
    rows = Experience.objects.filter(customer=customer, occurred_at__gte=start, occurred_at__lt=end)
    return rows.filter(stage__in=stages) if stages else rows


def timeline(
    customer: Customer,
    *,
    start: datetime,
    end: datetime,
    stages: list[str] | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = PAGE_SIZE,
) -> TimelinePage:
    """One page of the customer's experiences, newest first, across every stage; two queries.

    Keyset pagination on (occurred_at, id) walks the (customer, occurred_at) index, so a page
    costs the same for a customer with ten experiences or ten thousand.
    """
    rows = _experiences(customer, start=start, end=end, stages=stages)
    if before is not None:
        moment, pk = before
        rows = rows.filter(Q(occurred_at__lt=moment) | Q(occurred_at=moment, id__lt=pk))
    entries = list(rows.order_by("-occurred_at", "-id").values(*OWN_FIELDS)[: limit + 1])
    next_cursor = None
    if len(entries) > limit:
        entries = entries[:limit]
        last = entries[-1]
        next_cursor = f"{last['occurred_at'].isoformat()}~{last['id']}"
    _add_surveys(entries)
    for entry in entries:
        entry["stage_label"] = Stage(entry["stage"]).label
        entry["emotion_label"] = Emotion(entry["emotion"]).label if entry["emotion"] else ""
        entry["expectation_label"] = Expectation(entry["expectation"]).label if entry["expectation"] else ""
    return TimelinePage(entries=entries, next_cursor=next_cursor)


def _add_surveys(entries: list[dict]) -> None:
    """Put SURVEY_FIELDS in each entry of a page (newest first), read in one query bounded by the page's
    times, so that PostgreSQL reads the page's own rows only in the monthly partitions the page spans."""
    if not entries:
        return
    rows = Experience.objects.filter(
        id__in=[entry["id"] for entry in entries],
        occurred_at__range=(entries[-1]["occurred_at"], entries[0]["occurred_at"]),
    )
    surveys = {row.pop("id"): row for row in rows.order_by().values("id", *SURVEY_FIELDS)}
    for entry in entries:
        entry.update(surveys[entry["id"]])


def parse_cursor(value: str) -> tuple[datetime, int] | None:
    """The `before` cursor of `timeline`, or None when it is not one."""
    moment, _, pk = value.rpartition("~")
    try:
        parsed = datetime.fromisoformat(moment)
        return (parsed, int(pk)) if parsed.tzinfo else None
    except ValueError:
        return None


def experiences_for_export(
    customer: Customer, *, start: datetime, end: datetime, stages: list[str] | None = None
) -> Iterator[tuple]:
    """Every experience of the customer in the period, oldest first, streamed in chunks."""
    rows = _experiences(customer, start=start, end=end, stages=stages)
    return rows.order_by("occurred_at", "id").values_list(*TIMELINE_FIELDS).iterator(chunk_size=2000)
