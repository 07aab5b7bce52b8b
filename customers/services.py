"""Writes of the customers app."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from experiences.models import Experience
from scoring.services import mark_for_rescore

from .models import Customer


def upsert_customer(*, external_id: str, values: dict[str, Any]) -> tuple[Customer, bool]:
    """Create the customer with this CRM id or update the given fields; True when it was created.

    Two integrations upserting the same id at once end with one customer: the unique
    external_id decides, and `update_or_create` retries the loser as an update.
    """
    with transaction.atomic():
        before = Customer.objects.select_for_update().filter(external_id=external_id).values_list("segment").first()
        customer, created = Customer.objects.update_or_create(external_id=external_id, defaults=values)
        if not created:  # an UPDATE returns no generated column: read the database's new share of wallet
            customer.refresh_from_db(fields=["share_of_wallet"])
        if before is not None and before[0] != customer.segment:
            segments_changed(customer_ids=[customer.pk])
        return customer, created


def save_customer(*, customer: Customer) -> None:
    """Save a customer edited by hand (the admin); a new segment re-rolls the days of their experiences."""
    with transaction.atomic():
        before = Customer.objects.select_for_update().filter(pk=customer.pk).values_list("segment").first()
        customer.save()
        if before is not None and before[0] != customer.segment:
            segments_changed(customer_ids=[customer.pk])


def segments_changed(*, customer_ids: Iterable[int]) -> None:
    """Mark dirty the days on which these customers had experiences, after their segment changed.

    The daily rollups count every experience under its customer's current segment, so moving a
    customer moves their whole history; one query finds the days, the rescore does the rest.
    Call it inside the transaction that changed the segment.
    """
    ids = list(customer_ids)
    days = Experience.objects.filter(customer_id__in=ids).order_by().values_list("occurred_on", flat=True)
    mark_for_rescore(customer_ids=[], days=set(days.distinct()))
