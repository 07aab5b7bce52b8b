"""Recovered = the customer's next experience after the resolution is positive; per-department figures."""

from datetime import timedelta

import pytest
from django.utils import timezone

from experiences.services import record_experiences
from feedback import queries, services
from feedback.models import Case
from touchpoints.models import Department

from .factories import CustomerFactory, UserFactory

T0 = timezone.now().replace(microsecond=0) - timedelta(days=3)


def experience(customer, touchpoint, valence, at, intensity=5):
    result = record_experiences(
        items=[
            {
                "customer": customer.external_id,
                "touchpoint": touchpoint.code,
                "valence": valence,
                "intensity": intensity,
                "occurred_at": at,
            }
        ],
        source="form",
    )
    return result.results[0].id


def resolved_case(customer, touchpoint, *, hours_to_resolve=2):
    """A case opened at T0 and resolved `hours_to_resolve` later."""
    (pk,) = services.open_cases(experience_ids=[experience(customer, touchpoint, "negative", T0)], now=T0)
    case = Case.objects.get(pk=pk)
    services.resolve_case(
        case=case, by=UserFactory(), resolution="Called back", now=T0 + timedelta(hours=hours_to_resolve)
    )
    return case


@pytest.fixture
def stats(department):
    def read():
        (row,) = queries.department_case_stats(departments=Department.objects.filter(pk=department.pk))
        return row

    return read


def test_positive_next_experience_counts_as_recovered(customer, touchpoint, stats):
    resolved_case(customer, touchpoint)
    experience(customer, touchpoint, "positive", T0 + timedelta(hours=5))
    assert (stats().recovered, stats().judged, stats().recovery_rate) == (1, 1, 100.0)


def test_negative_next_experience_is_not_recovered(customer, touchpoint, stats):
    resolved_case(customer, touchpoint)
    experience(customer, touchpoint, "negative", T0 + timedelta(hours=5), intensity=2)
    assert (stats().recovered, stats().judged, stats().recovery_rate) == (0, 1, 0.0)


def test_only_the_first_experience_after_resolution_counts(customer, touchpoint, stats):
    resolved_case(customer, touchpoint)
    experience(customer, touchpoint, "neutral", T0 + timedelta(hours=5))
    experience(customer, touchpoint, "positive", T0 + timedelta(hours=6))
    assert (stats().recovered, stats().judged) == (0, 1)


def test_positive_experience_before_the_resolution_does_not_count(customer, touchpoint, stats):
    resolved_case(customer, touchpoint, hours_to_resolve=10)
    experience(customer, touchpoint, "positive", T0 + timedelta(hours=5))
    assert (stats().recovered, stats().judged, stats().recovery_rate) == (0, 0, None)


def test_case_page_says_recovered(client, customer, touchpoint, department):
    case = resolved_case(customer, touchpoint)
    experience(customer, touchpoint, "positive", T0 + timedelta(hours=5))
    client.force_login(UserFactory(role="manager", departments=[department]))
    assert ">recovered<" in client.get(f"/cases/{case.pk}/").content.decode()


def test_case_page_waits_for_the_next_experience(client, customer, touchpoint, department):
    case = resolved_case(customer, touchpoint)
    client.force_login(UserFactory(role="manager", departments=[department]))
    assert "awaiting next experience" in client.get(f"/cases/{case.pk}/").content.decode()


def test_median_time_to_resolve_odd_count(touchpoint, stats):
    for hours in (2, 4, 10):
        resolved_case(CustomerFactory(), touchpoint, hours_to_resolve=hours)
    assert stats().median_hours_to_resolve == pytest.approx(4.0)


def test_median_time_to_resolve_even_count(touchpoint, stats):
    for hours in (2, 4, 6, 10):
        resolved_case(CustomerFactory(), touchpoint, hours_to_resolve=hours)
    assert stats().median_hours_to_resolve == pytest.approx(5.0)


def test_open_and_overdue_counts(touchpoint, stats, department):
    department.case_sla_hours = 1
    department.save()
    now = timezone.now()
    services.open_cases(
        experience_ids=[experience(CustomerFactory(), touchpoint, "negative", now - timedelta(hours=3))],
        now=now - timedelta(hours=2),
    )
    services.open_cases(experience_ids=[experience(CustomerFactory(), touchpoint, "negative", now)], now=now)
    resolved_case(CustomerFactory(), touchpoint)
    row = stats()
    assert (row.open, row.overdue, row.resolved) == (2, 1, 1)
