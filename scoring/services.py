"""Writes of the scoring app: the durable rescoring queue."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date

from outbox.services import wake_after_commit

from .models import DirtyCustomer, DirtyDay


def mark_for_rescore(*, customer_ids: Iterable[int], days: Iterable[date]) -> None:
    """Record in the database which customers and days need rescoring, then ask for a dispatch after commit.

    The marks commit with the experiences that caused them (they are the outbox of scoring),
    so a lost message or a broker outage loses nothing: the dispatcher's sweep finds the marks.
    """
    generation = secrets.randbits(62)
    customers = [DirtyCustomer(customer_id=pk, generation=generation) for pk in sorted(customer_ids)]
    day_marks = [DirtyDay(day=d, generation=generation) for d in sorted(days)]
    if not customers and not day_marks:
        return
    DirtyCustomer.objects.bulk_create(
        customers, update_conflicts=True, unique_fields=["customer"], update_fields=["generation"]
    )
    DirtyDay.objects.bulk_create(day_marks, update_conflicts=True, unique_fields=["day"], update_fields=["generation"])
    wake_after_commit()
