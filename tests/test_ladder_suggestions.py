"""Ladder suggestions are refreshed from the facts; a manager accepts or dismisses in one click; the funnel."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from experiences.services import record_experiences
from feedback import queries, services
from feedback.models import LadderSuggestion
from scoring.models import CustomerScore

from .factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory


def everyone():
    """Every customer: these tests read the queries below the access gate."""
    return Customer.objects.all()


def positives(customer, touchpoint, n):
    record_experiences(
        items=[{"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": "positive"}] * n,
        source="form",
    )


@pytest.fixture
def climber(touchpoint):
    customer = CustomerFactory(external_id="UP-1", relationship_level="conversation")
    positives(customer, touchpoint, 3)
    return customer


@pytest.fixture
def manager(department):
    return UserFactory(username="mara", role="manager", departments=[department])


def test_customer_who_earned_it_gets_a_level_up_suggestion(climber):
    services.suggest_ladder_moves()
    suggestion = LadderSuggestion.objects.get()
    assert (suggestion.customer, suggestion.from_level, suggestion.to_level, suggestion.reason) == (
        climber,
        "conversation",
        "collaboration",
        "earned",
    )


def test_refreshing_twice_keeps_one_pending_suggestion(climber):
    services.suggest_ladder_moves()
    services.suggest_ladder_moves()
    assert LadderSuggestion.objects.count() == 1


def test_suggestion_is_withdrawn_when_the_facts_change(climber):
    services.suggest_ladder_moves()
    CustomerScore.objects.create(customer=climber, recovery_debt=2, scored_at=timezone.now())
    services.suggest_ladder_moves()
    assert not LadderSuggestion.objects.exists()


def test_experiences_outside_the_window_do_not_count(touchpoint, settings):
    customer = CustomerFactory(relationship_level="conversation")
    old = timezone.now() - timedelta(days=settings.CXM_LADDER_WINDOW_DAYS + 1)
    record_experiences(
        items=[
            {"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": "positive", "occurred_at": old}
        ]
        * 3,
        source="import",
    )
    services.suggest_ladder_moves()
    assert not LadderSuggestion.objects.exists()


def test_manager_accepts_in_one_click(client, manager, climber):
    services.suggest_ladder_moves()
    suggestion = LadderSuggestion.objects.get()
    client.force_login(manager)
    response = client.post(f"/ladder/{suggestion.pk}/decide/", {"decision": "accept"})
    assert response.status_code == 302
    climber.refresh_from_db()
    suggestion.refresh_from_db()
    assert climber.relationship_level == "collaboration"
    assert (suggestion.status, suggestion.decided_by) == ("accepted", manager)


def test_manager_dismisses_in_one_click_and_it_is_not_suggested_again(client, manager, climber):
    services.suggest_ladder_moves()
    suggestion = LadderSuggestion.objects.get()
    client.force_login(manager)
    client.post(f"/ladder/{suggestion.pk}/decide/", {"decision": "dismiss"})
    services.suggest_ladder_moves()
    climber.refresh_from_db()
    assert climber.relationship_level == "conversation"
    assert list(LadderSuggestion.objects.values_list("status", flat=True)) == ["dismissed"]


def test_stale_suggestion_is_refused_with_a_reason(client, manager, climber):
    services.suggest_ladder_moves()
    suggestion = LadderSuggestion.objects.get()
    Customer.objects.filter(pk=climber.pk).update(relationship_level="evangelist")
    client.force_login(manager)
    response = client.post(f"/ladder/{suggestion.pk}/decide/", {"decision": "accept"}, follow=True)
    assert "level changed since this was suggested" in response.content.decode()
    climber.refresh_from_db()
    assert climber.relationship_level == "evangelist"


def test_a_decision_without_accept_or_dismiss_is_refused_and_changes_nothing(client, manager, climber):
    services.suggest_ladder_moves()
    suggestion = LadderSuggestion.objects.get()
    client.force_login(manager)
    response = client.post(f"/ladder/{suggestion.pk}/decide/", {})
    assert response.status_code == 400
    assert b"decision=accept or decision=dismiss" in response.content
    suggestion.refresh_from_db()
    climber.refresh_from_db()
    assert (suggestion.status, climber.relationship_level) == ("pending", "conversation")


def test_staff_cannot_decide(client, staff_user, climber):
    services.suggest_ladder_moves()
    suggestion = LadderSuggestion.objects.get()
    client.force_login(staff_user)
    assert client.post(f"/ladder/{suggestion.pk}/decide/", {"decision": "accept"}).status_code == 403
    climber.refresh_from_db()
    assert climber.relationship_level == "conversation"


def test_ladder_page_lists_pending_suggestions(client, manager, climber):
    services.suggest_ladder_moves()
    client.force_login(manager)
    body = client.get("/ladder/").content.decode()
    assert "UP-1" in body
    assert "Repeated positive experiences" in body


def test_funnel_counts_customers_at_or_above_each_rung(db):
    for level in ["communication", "communication", "conversation", "evangelist"]:
        CustomerFactory(relationship_level=level)
    funnel = {step.level: (step.customers, step.at_or_above) for step in queries.ladder_funnel(customers=everyone())}
    assert funnel == {
        "communication": (2, 4),
        "conversation": (1, 2),
        "collaboration": (0, 1),
        "co_creation": (0, 1),
        "evangelist": (1, 1),
    }


def test_funnel_per_segment(db):
    CustomerFactory(segment="enterprise", relationship_level="evangelist")
    CustomerFactory(segment="smb", relationship_level="communication")
    funnel = {step.level: step.customers for step in queries.ladder_funnel(customers=everyone(), segment="enterprise")}
    assert (funnel["evangelist"], funnel["communication"]) == (1, 0)


def test_funnel_per_department_counts_the_customers_it_served(touchpoint):
    served = CustomerFactory(relationship_level="collaboration")
    CustomerFactory(relationship_level="communication")
    positives(served, touchpoint, 1)
    department = touchpoint.owners.get().department
    other = DepartmentFactory(code="billing")
    TouchpointFactory(code="invoice", owner=other)
    assert [s.customers for s in queries.ladder_funnel(customers=everyone(), department=department)] == [
        0,
        0,
        1,
        0,
        0,
    ]
    assert sum(s.customers for s in queries.ladder_funnel(customers=everyone(), department=other)) == 0
