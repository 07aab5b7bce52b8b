"""survey.answered, case.assigned and case.resolved reach their subscribers, signed like every delivery."""

import pytest

from feedback import services
from feedback.models import Invitation, Survey
from integrations.models import WebhookSubscription

from .test_case_pages import case, manager  # noqa: F401 - fixtures
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
