"""Writes of the scoring app: the durable rescoring queue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from outbox.services import wake_after_commit

from .models import CustomerMark, DayMark


def mark_for_rescore(*, customer_ids: Iterable[int], days: Iterable[date]) -> None:
    """Record in the database which customers and days need rescoring, then ask for a dispatch after commit.

    The marks commit with the experiences that caused them (they are the outbox of scoring),
    so a lost message or a broker outage loses nothing: the dispatcher's sweep finds the marks.
    """
    customers = [CustomerMark(customer_id=pk) for pk in sorted(customer_ids)]
    day_marks = [DayMark(day=d) for d in sorted(days)]
    if not customers and not day_marks:
        return
    CustomerMark.objects.bulk_create(customers)
    DayMark.objects.bulk_create(day_marks)
    wake_after_commit()
