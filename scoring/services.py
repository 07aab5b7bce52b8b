"""Writes of the scoring app: the durable rescoring queue and the request to work it off."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import date

from django.db import transaction

from .models import DirtyCustomer, DirtyDay

log = logging.getLogger(__name__)


def mark_for_rescore(*, customer_ids: Iterable[int], days: Iterable[date]) -> None:
    """Record in the database which customers and days need rescoring, then ask a worker after commit.

    The marks commit with the experiences that caused them, so a lost message or a broker
    outage loses nothing: the periodic sweep finds the marks.
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
    transaction.on_commit(request_rescore)


def request_rescore() -> None:
    """Enqueue one rescore of the dirty marks, coalescing bursts; never fails the caller."""
    from .tasks import enqueue_rescore

    try:
        enqueue_rescore()
    except Exception:  # the broker is down: the sweep will pick the marks up
        log.warning("could not enqueue a rescore; the periodic sweep will catch up", exc_info=True)
