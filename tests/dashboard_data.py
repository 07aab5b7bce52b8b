"""Data for the dashboard tests, written through the one write path so the real rescore fills the rollups."""

from datetime import timedelta

from django.utils import timezone

from experiences.services import record_experiences
from tests.factories import DepartmentFactory, TouchpointFactory, UserFactory


def log(capture, *items: dict, user=None) -> None:
    """Record experiences and run the after-commit rescore, as a request would."""
    with capture(execute=True):
        result = record_experiences(items=list(items), source="form", recorded_by=user)
    assert result.rejected == 0, [r.errors for r in result.results]


def experience(customer, touchpoint, valence: str, *, days_ago: float = 1, intensity: int = 3, **extra) -> dict:
    moment = timezone.now() - timedelta(days=days_ago)
    return {
        "customer": customer.external_id,
        "touchpoint": touchpoint.code,
        "valence": valence,
        "intensity": intensity,
        "occurred_at": moment.isoformat(),
        **extra,
    }


def two_departments():
    """Logistics (with its delivery touchpoint) and Billing (with its invoice touchpoint), plus one user per role."""
    logistics = DepartmentFactory(code="logistics", name="Logistics")
    billing = DepartmentFactory(code="billing", name="Billing")
    delivery = TouchpointFactory(code="on-time-delivery", name="On-time delivery", owner=logistics)
    invoice = TouchpointFactory(code="clear-invoice", name="Clear invoice", owner=billing)
    users = {
        "staff": UserFactory(username="sam", role="staff", departments=[logistics]),
        "manager": UserFactory(username="mia", role="manager", departments=[logistics]),
        "admin": UserFactory(username="ada", role="admin"),
    }
    return logistics, billing, delivery, invoice, users
