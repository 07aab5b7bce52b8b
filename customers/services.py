"""Writes of the customers app."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .models import Customer


def upsert_customer(*, external_id: str, values: dict[str, Any]) -> tuple[Customer, bool]:
    """Create the customer with this CRM id or update the given fields; True when it was created.

    Two integrations upserting the same id at once end with one customer: the unique
    external_id decides, and `update_or_create` retries the loser as an update.
    """
    with transaction.atomic():
        return Customer.objects.update_or_create(external_id=external_id, defaults=values)
