"""Triggered surveys: after a moment of truth, invite after the delay, sampled, quiet, opt-out, reminded once."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from experiences.services import record_experiences
from feedback import services, tokens
from feedback.models import Invitation, Response, Survey, SurveyRule, SurveyTrigger
from feedback.sampling import in_sample

from .factories import CustomerFactory, TouchpointFactory, UserFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def survey(touchpoint):
    return Survey.objects.create(
        slug="delivery-csat", name="Your delivery", kind="csat", touchpoint=touchpoint, reminder_days=3
    )


@pytest.fixture
def rule(survey, touchpoint):
    return SurveyRule.objects.create(touchpoint=touchpoint, survey=survey, delay_minutes=120, created_at=T0)


def delivered(*customers, at=T0, touchpoint="on-time-delivery", key=""):
    """Customers lived the moment of truth at `at`; the experiences arrive through the API at that time."""
    items = [
        {
            "id": f"delivery-{c.external_id}{key}",
            "customer": c.external_id,
            "touchpoint": touchpoint,
            "valence": 1,
            "intensity": 3,
            "occurred_at": at,
        }
        for c in customers
    ]
    with time_machine.travel(at, tick=False):
        result = record_experiences(items=items, source="api")
    return [r.id for r in result.results]


def trigger_at(moment, capture):
    with time_machine.travel(moment, tick=False), capture(execute=True):
        return services.trigger_surveys()


def test_the_customer_is_invited_only_once_the_delay_has_passed(
    rule, customer, mailoutbox, django_capture_on_commit_callbacks
):
    [experience_id] = delivered(customer)

    assert trigger_at(T0 + timedelta(minutes=119), django_capture_on_commit_callbacks) == {}
    assert mailoutbox == []
    assert trigger_at(T0 + timedelta(minutes=121), django_capture_on_commit_callbacks) == {"invited": 1}

    invitation = Invitation.objects.get()
    assert (invitation.customer, invitation.experience_id, invitation.rule) == (customer, experience_id, rule)
    assert [m.to for m in mailoutbox] == [[customer.email]]
    assert invitation.sent_at == T0 + timedelta(minutes=121)


def test_an_experience_is_decided_once_whatever_the_number_of_runs(
    rule, customer, mailoutbox, django_capture_on_commit_callbacks
):
    delivered(customer)
    trigger_at(T0 + timedelta(hours=3), django_capture_on_commit_callbacks)
    assert trigger_at(T0 + timedelta(hours=4), django_capture_on_commit_callbacks) == {}
    assert Invitation.objects.count() == 1
    assert len(mailoutbox) == 1


def test_other_touchpoints_and_history_trigger_nothing(
    rule, customer, department, mailoutbox, django_capture_on_commit_callbacks
):
    TouchpointFactory(code="invoice", owner=department)
    delivered(customer, touchpoint="invoice")
    delivered(customer, at=T0 - timedelta(days=30), key="-old")  # imported history: before the rule existed

    assert trigger_at(T0 + timedelta(hours=3), django_capture_on_commit_callbacks) == {}
    assert mailoutbox == []


def test_sampling_asks_exactly_the_customers_drawn_by_the_seed(
    rule, mailoutbox, django_capture_on_commit_callbacks, settings
):
    rule.sample_percent, rule.seed = 50, "spring"
    rule.save()
    customers = [CustomerFactory(external_id=f"S-{i:02d}", email=f"s{i:02d}@example.com") for i in range(20)]
    delivered(*customers)

    outcome = trigger_at(T0 + timedelta(hours=3), django_capture_on_commit_callbacks)

    asked = sorted(Invitation.objects.values_list("customer__external_id", flat=True))
    assert asked == ["S-00", "S-03", "S-06", "S-09", "S-12", "S-16", "S-17"]
    assert outcome == {"invited": 7, "sampled_out": 13}
    assert sorted(m.to[0] for m in mailoutbox) == [
        f"s{n}@example.com" for n in ("00", "03", "06", "09", "12", "16", "17")
    ]


def test_another_seed_draws_other_customers():
    drawn = [f"S-{i:02d}" for i in range(20) if in_sample(seed="autumn", customer_ref=f"S-{i:02d}", percent=50)]
    assert drawn == [
        "S-01",
        "S-04",
        "S-05",
        "S-06",
        "S-08",
        "S-09",
        "S-10",
        "S-11",
        "S-12",
        "S-13",
        "S-16",
        "S-17",
        "S-18",
    ]


def test_the_quiet_period_spans_every_survey(
    rule, customer, department, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.CXM_SURVEY_QUIET_DAYS = 30
    invoice = TouchpointFactory(code="invoice", owner=department)
    invoice_survey = Survey.objects.create(slug="invoice-ces", name="Your invoice", kind="ces", touchpoint=invoice)
    SurveyRule.objects.create(touchpoint=invoice, survey=invoice_survey, delay_minutes=0, created_at=T0)
    delivered(customer)
    delivered(customer, at=T0 + timedelta(minutes=1), touchpoint="invoice", key="-invoice")
    delivered(customer, at=T0 + timedelta(days=10), key="-2")
    delivered(customer, at=T0 + timedelta(days=31), key="-3")

    assert trigger_at(T0 + timedelta(hours=3), django_capture_on_commit_callbacks) == {"invited": 1, "quiet": 1}
    assert trigger_at(T0 + timedelta(days=10, hours=3), django_capture_on_commit_callbacks) == {"quiet": 1}
    assert trigger_at(T0 + timedelta(days=31, hours=3), django_capture_on_commit_callbacks) == {"invited": 1}
    # the delivery came first, so it was asked about; the invoice a minute later fell in the quiet period
    assert list(Invitation.objects.order_by("created_at").values_list("survey__slug", flat=True)) == [
        "delivery-csat",
        "delivery-csat",
    ]
    assert len(mailoutbox) == 2


def test_a_customer_who_opted_out_is_never_asked(rule, mailoutbox, django_capture_on_commit_callbacks):
    quiet = CustomerFactory(external_id="NO-1", surveys_opt_out=True)
    delivered(quiet)

    assert trigger_at(T0 + timedelta(hours=3), django_capture_on_commit_callbacks) == {"opted_out": 1}
    assert SurveyTrigger.objects.get().outcome == "opted_out"
    assert mailoutbox == []


def test_the_opt_out_link_stops_the_reminder(rule, customer, client, mailoutbox, django_capture_on_commit_callbacks):
    delivered(customer)
    trigger_at(T0 + timedelta(hours=3), django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()

    client.post(reverse("survey-opt-out", args=[tokens.invitation_token(invitation)]))

    customer.refresh_from_db()
    assert customer.surveys_opt_out
    with time_machine.travel(T0 + timedelta(days=4), tick=False):
        assert services.send_reminders() == 0
    assert len(mailoutbox) == 1


def test_one_reminder_after_the_configured_days_then_nothing(
    rule, customer, mailoutbox, django_capture_on_commit_callbacks
):
    delivered(customer)
    trigger_at(T0 + timedelta(hours=2), django_capture_on_commit_callbacks)

    with time_machine.travel(T0 + timedelta(days=3, hours=1), tick=False):
        assert services.send_reminders() == 0  # three days after sending is not yet reached
    with time_machine.travel(T0 + timedelta(days=3, hours=2), tick=False):
        assert services.send_reminders() == 1
    with time_machine.travel(T0 + timedelta(days=6, hours=2), tick=False):
        assert services.send_reminders() == 0

    assert len(mailoutbox) == 2
    assert mailoutbox[1].subject.startswith("Reminder:")
    assert tokens.invitation_token(Invitation.objects.get()) in mailoutbox[1].body


def test_an_answered_invitation_gets_no_reminder(rule, customer, mailoutbox, django_capture_on_commit_callbacks):
    delivered(customer)
    trigger_at(T0 + timedelta(hours=2), django_capture_on_commit_callbacks)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        services.record_response(invitation=Invitation.objects.get(), score=5)
    with time_machine.travel(T0 + timedelta(days=4), tick=False):
        assert services.send_reminders() == 0


def test_an_expired_invitation_is_neither_reminded_nor_answerable(
    rule, customer, survey, client, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.CXM_SURVEY_TTL_DAYS = 2
    delivered(customer)
    trigger_at(T0 + timedelta(hours=2), django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()

    with time_machine.travel(T0 + timedelta(days=3, hours=2), tick=False):
        assert services.send_reminders() == 0
        response = client.get(reverse("survey-answer", args=[tokens.invitation_token(invitation)]))
    assert response.status_code == 410
    assert len(mailoutbox) == 1


def test_the_answer_is_linked_to_the_moment_it_recalls(rule, customer, django_capture_on_commit_callbacks):
    [experience_id] = delivered(customer)
    trigger_at(T0 + timedelta(hours=2), django_capture_on_commit_callbacks)

    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        services.record_response(invitation=Invitation.objects.get(), score=2, comment="The box was crushed")

    answer = Response.objects.get()
    assert answer.invitation.experience_id == experience_id
    assert answer.experience.touchpoint.code == "on-time-delivery"
    assert answer.experience.stage == "remembrance"


def test_the_customer_timeline_shows_what_happened_beside_how_it_is_remembered(
    rule, customer, client, django_capture_on_commit_callbacks
):
    now = datetime.now(UTC)
    delivered(customer, at=now - timedelta(hours=5))
    trigger_at(now - timedelta(hours=3), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.record_response(invitation=Invitation.objects.get(), score=2, comment="The box was crushed")
    client.force_login(UserFactory(role="admin"))

    page = client.get(reverse("customers:timeline", args=[customer.external_id])).content.decode()

    assert "remembered: CSAT 2" in page
    assert "CSAT 2 about On-time delivery" in page
