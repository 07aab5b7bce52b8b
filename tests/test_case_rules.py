"""Which negative moments open a recovery case, for whom, and by when it is due."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from experiences.services import record_experiences
from feedback import services
from feedback.models import Case, Invitation, Survey

from .factories import DepartmentFactory, TouchpointFactory


def record(customer, touchpoint, capture, **item):
    """Record one experience through the write path and run its after-commit work."""
    with capture(execute=True):
        result = record_experiences(
            items=[{"customer": customer.external_id, "touchpoint": touchpoint.code, **item}], source="form"
        )
    return result.results[0].id


@pytest.mark.parametrize("intensity", [4, 5])
def test_negative_at_or_above_the_threshold_opens_a_case(
    customer, touchpoint, department, django_capture_on_commit_callbacks, intensity
):
    experience_id = record(
        customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=intensity
    )
    case = Case.objects.get()
    assert (case.experience_id, case.department, case.customer, case.status) == (
        experience_id,
        department,
        customer,
        "open",
    )


def test_a_mild_negative_below_every_threshold_opens_no_case(customer, touchpoint, django_capture_on_commit_callbacks):
    record(customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=2)
    assert not Case.objects.exists()  # intensity 2 < 4, and it owes 4 positives < 5


def test_the_intensity_threshold_is_the_departments(customer, touchpoint, django_capture_on_commit_callbacks):
    touchpoint.departments.update(case_min_intensity=2, case_debt_threshold=0)
    record(customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=2)
    assert Case.objects.count() == 1


def test_a_customer_crossing_the_debt_threshold_gets_one_case(customer, touchpoint, django_capture_on_commit_callbacks):
    record(customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=3)  # owes 5
    record(customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=3)

    case = Case.objects.get()
    assert case.events.get().note == "case rules"
    assert customer.score.recovery_debt >= 5


def test_the_debt_rule_can_be_switched_off(customer, touchpoint, django_capture_on_commit_callbacks):
    touchpoint.departments.update(case_debt_threshold=0)
    record(customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=3)
    record(customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=3)
    assert not Case.objects.exists()


@pytest.mark.parametrize("valence", ["positive", "neutral"])
def test_strong_positive_or_neutral_opens_no_case(customer, touchpoint, django_capture_on_commit_callbacks, valence):
    record(customer, touchpoint, django_capture_on_commit_callbacks, valence=valence, intensity=5)
    assert not Case.objects.exists()


def test_case_goes_to_the_department_named_on_the_experience(customer, django_capture_on_commit_callbacks):
    primary, billing = DepartmentFactory(code="primary"), DepartmentFactory(code="billing")
    touchpoint = TouchpointFactory(code="invoice", owner=primary)
    touchpoint.owners.create(department=billing, primary=False)
    record(
        customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=5, department="billing"
    )
    assert Case.objects.get().department == billing


def test_every_detractor_answer_opens_a_case_even_a_mild_one(customer, touchpoint, django_capture_on_commit_callbacks):
    survey = Survey.objects.create(slug="nps", name="NPS", kind="nps", touchpoint=touchpoint)
    invitation = Invitation.objects.get(pk=services.create_invitations(survey=survey, customers=[customer]).created[0])
    with django_capture_on_commit_callbacks(execute=True):
        response = services.record_response(invitation=invitation, score=6)
    assert response.experience.intensity == 1
    assert Case.objects.get().experience == response.experience


def test_passive_answer_opens_no_case(customer, touchpoint, django_capture_on_commit_callbacks):
    survey = Survey.objects.create(slug="nps", name="NPS", kind="nps", touchpoint=touchpoint)
    invitation = Invitation.objects.get(pk=services.create_invitations(survey=survey, customers=[customer]).created[0])
    with django_capture_on_commit_callbacks(execute=True):
        services.record_response(invitation=invitation, score=7)
    assert not Case.objects.exists()


def test_old_negative_from_an_import_opens_no_case(customer, touchpoint, django_capture_on_commit_callbacks, settings):
    long_ago = timezone.now() - timedelta(days=settings.CXM_CASE_LOOKBACK_DAYS + 1)
    record(
        customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=5, occurred_at=long_ago
    )
    assert not Case.objects.exists()


def test_case_is_due_after_the_default_sla_of_48_hours(customer, touchpoint, django_capture_on_commit_callbacks):
    opened = timezone.now().replace(microsecond=0)
    with time_machine.travel(opened, tick=False):
        record(customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=5)
    case = Case.objects.get()
    assert (case.opened_at, case.due_at) == (opened, opened + timedelta(hours=48))


def test_case_is_due_after_its_departments_own_sla(
    customer, touchpoint, department, django_capture_on_commit_callbacks
):
    department.case_sla_hours = 4
    department.save()
    opened = timezone.now().replace(microsecond=0)
    with time_machine.travel(opened, tick=False):
        record(customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=5)
    assert Case.objects.get().due_at == opened + timedelta(hours=4)


def test_opening_twice_opens_one_case(customer, touchpoint, django_capture_on_commit_callbacks):
    experience_id = record(customer, touchpoint, django_capture_on_commit_callbacks, valence="negative", intensity=5)
    assert services.open_cases(experience_ids=[experience_id]) == []
    assert Case.objects.count() == 1


def test_sweep_opens_the_case_a_lost_message_missed(customer, touchpoint):
    record_experiences(  # the after-commit request never runs: as if the broker were down
        items=[
            {"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": "negative", "intensity": 5}
        ],
        source="api",
    )
    assert not Case.objects.exists()
    assert len(services.sweep_missing_cases()) == 1
    assert Case.objects.count() == 1
