"""Overdue cases are escalated once, by beat, to the managers of their department; webhooks hear of cases."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from cxm.celery import app as celery_app
from experiences.services import record_experiences
from feedback import services, tasks
from feedback.models import Case
from integrations.models import WebhookDelivery, WebhookSubscription

from .factories import DepartmentFactory, UserFactory


@pytest.fixture
def opened_at():
    return timezone.now().replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def case(customer, touchpoint, opened_at):
    """A case opened an hour ago (default SLA: due 47 hours from now)."""
    with time_machine.travel(opened_at, tick=False):
        result = record_experiences(
            items=[
                {
                    "customer": customer.external_id,
                    "touchpoint": touchpoint.code,
                    "valence": "negative",
                    "intensity": 5,
                    "note": "Parcel arrived broken",
                }
            ],
            source="form",
        )
        services.open_cases(experience_ids=[result.results[0].id])
    return Case.objects.get()


@pytest.fixture
def managers(department):
    return [
        UserFactory(username="mara", role="manager", email="mara@example.com", departments=[department]),
        UserFactory(username="otto", role="manager", email="otto@example.com", departments=[DepartmentFactory()]),
        UserFactory(username="sam", role="staff", email="sam@example.com", departments=[department]),
    ]


def test_overdue_case_is_emailed_to_its_departments_managers(case, managers, mailoutbox):
    with time_machine.travel(case.due_at + timedelta(minutes=1), tick=False):
        escalated = tasks.escalate_overdue_cases.delay().get()
    assert escalated == 1
    assert [m.to for m in mailoutbox] == [["mara@example.com"]]
    assert f"#{case.pk}" in mailoutbox[0].subject
    assert f"/cases/{case.pk}/" in mailoutbox[0].body


def test_case_not_yet_due_is_not_escalated(case, managers, mailoutbox):
    with time_machine.travel(case.due_at - timedelta(minutes=1), tick=False):
        assert services.escalate_overdue_cases() == 0
    assert mailoutbox == []
    case.refresh_from_db()
    assert case.escalated_at is None


def test_overdue_case_is_escalated_only_once(case, managers, mailoutbox):
    later = case.due_at + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        services.escalate_overdue_cases()
        services.escalate_overdue_cases()
    case.refresh_from_db()
    assert len(mailoutbox) == 1
    assert case.escalated_at == later


def test_resolved_case_is_never_escalated(case, managers, mailoutbox):
    services.resolve_case(case=case, by=managers[0], resolution="Called and replaced the parcel")
    with time_machine.travel(case.due_at + timedelta(days=3), tick=False):
        assert services.escalate_overdue_cases() == 0
    assert mailoutbox == []


def test_overdue_case_shows_as_overdue_to_the_manager(case, managers, client):
    client.force_login(managers[0])
    with time_machine.travel(case.due_at + timedelta(minutes=1), tick=False):
        body = client.get("/cases/?status=overdue").content.decode()
    assert f"/cases/{case.pk}/" in body
    assert 'class="overdue"' in body


def test_opened_case_is_published_to_webhook_subscribers(customer, touchpoint):
    WebhookSubscription.objects.create(url="https://example.com/hook", events=["case.opened"], secret="s3cret")
    result = record_experiences(
        items=[
            {"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": "negative", "intensity": 5}
        ],
        source="api",
    )
    opened = services.open_cases(experience_ids=[result.results[0].id])
    delivery = WebhookDelivery.objects.get(event="case.opened")
    assert delivery.payload["id"] == opened[0]
    assert delivery.payload["customer"] == customer.external_id


def test_overdue_case_is_published_to_webhook_subscribers(case, managers):
    WebhookSubscription.objects.create(url="https://example.com/hook", events=["case.overdue"], secret="s3cret")
    with time_machine.travel(case.due_at + timedelta(minutes=1), tick=False):
        tasks.escalate_overdue_cases.delay().get()
    delivery = WebhookDelivery.objects.get(event="case.overdue")
    assert delivery.payload["id"] == case.pk
    assert delivery.payload["due_at"] == case.due_at.isoformat()


@pytest.mark.parametrize("entry", ["escalate-overdue-cases", "sweep-missing-cases", "suggest-ladder-moves"])
def test_beat_runs_a_registered_task(entry):
    assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in celery_app.tasks


def test_each_manager_reads_the_escalation_in_the_language_of_their_profile(case, department, mailoutbox):
    UserFactory(username="mara", role="manager", email="mara@example.com", departments=[department])
    UserFactory(username="lola", role="manager", email="lola@example.com", departments=[department], language="es")

    with time_machine.travel(case.due_at + timedelta(minutes=1), tick=False):
        tasks.escalate_overdue_cases.delay().get()

    by_reader = {m.to[0]: m for m in mailoutbox}
    assert by_reader["mara@example.com"].subject.startswith("Overdue recovery case")
    assert by_reader["lola@example.com"].subject.startswith("Caso de recuperación vencido")
    assert "sigue abierto" in by_reader["lola@example.com"].body
