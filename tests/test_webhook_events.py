"""survey.answered and the case events (opened, assigned, overdue, resolved) reach their subscribers, signed."""

from datetime import timedelta

import pytest

from feedback import services
from feedback.models import Invitation, Survey
from integrations.models import Scope, WebhookSubscription

from .api import key_client
from .test_case_pages import case, manager, open_case  # noqa: F401 - fixtures
from .test_webhooks import SECRET, Receiver


@pytest.fixture
def hook(settings):
    settings.CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    receiver = Receiver()
    yield receiver
    receiver.close()


def subscribe(url, *events):
    WebhookSubscription.objects.create(url=url, events=list(events), secret=SECRET)


def test_a_survey_answer_is_announced(hook, touchpoint, customer, django_capture_on_commit_callbacks):
    subscribe(hook.url, "survey.answered")
    survey = Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint)
    invitation = Invitation.objects.get(pk=services.create_invitations(survey=survey, customers=[customer]).created[0])
    with django_capture_on_commit_callbacks(execute=True):
        response = services.record_response(invitation=invitation, score=9, comment="Quick and friendly")
    [body] = hook.verified_bodies()
    assert body["event"] == "survey.answered"
    assert (body["data"]["id"], body["data"]["score"], body["data"]["survey"]) == (response.pk, 9, "delivery-nps")


def test_assigning_and_resolving_a_case_are_announced(
    hook,
    case,  # noqa: F811 - the fixture
    manager,  # noqa: F811 - the fixture
    staff_user,
    django_capture_on_commit_callbacks,
):
    subscribe(hook.url, "case.assigned", "case.resolved")
    with django_capture_on_commit_callbacks(execute=True):
        services.assign_case(case=case, assignee=staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        services.resolve_case(case=case, by=manager, resolution="Refunded the delivery fee")
    assigned, resolved = hook.verified_bodies()
    assert (assigned["event"], assigned["data"]["assignee"]) == ("case.assigned", "ana")
    assert (resolved["event"], resolved["data"]["status"]) == ("case.resolved", "resolved")
    assert resolved["data"]["resolution"] == "Refunded the delivery fee"


def test_every_case_event_and_survey_answers_can_be_subscribed_to_and_arrive(
    hook,
    touchpoint,
    customer,
    staff_user,
    manager,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    events = ["case.opened", "case.assigned", "case.overdue", "case.resolved", "survey.answered"]
    subscribed = key_client(Scope.WEBHOOKS_MANAGE).post(
        "/api/v1/webhooks/", {"url": hook.url, "events": events, "secret": SECRET}, format="json"
    )
    assert subscribed.status_code == 201, subscribed.json()
    with django_capture_on_commit_callbacks(execute=True):
        opened = open_case(customer, touchpoint)
    with django_capture_on_commit_callbacks(execute=True):
        services.assign_case(case=opened, assignee=staff_user, by=manager)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_overdue_cases(now=opened.due_at + timedelta(minutes=1)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.resolve_case(case=opened, by=manager, resolution="Replaced the parcel")
    survey = Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint)
    invitation = Invitation.objects.get(pk=services.create_invitations(survey=survey, customers=[customer]).created[0])
    with django_capture_on_commit_callbacks(execute=True):
        answer = services.record_response(invitation=invitation, score=10)

    bodies = hook.verified_bodies()
    assert [b["event"] for b in bodies] == events
    assert [b["data"]["id"] for b in bodies] == [opened.pk] * 4 + [answer.pk]
    assert (bodies[2]["data"]["status"], bodies[3]["data"]["status"]) == ("open", "resolved")
