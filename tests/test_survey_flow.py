"""The survey link: answer once without login; expired, reused and tampered links get a clear page."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from experiences.models import Experience
from feedback import services, tokens
from feedback.models import Invitation, Response, Survey
from touchpoints.models import Stage

from .factories import CustomerFactory


@pytest.fixture
def survey(touchpoint):
    return Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint)


@pytest.fixture
def invitation(survey, customer):
    return Invitation.objects.get(pk=services.create_invitations(survey=survey, customers=[customer]).created[0])


def url(invitation):
    return reverse("survey-answer", args=[tokens.invitation_token(invitation)])


def test_link_shows_the_standard_question_without_login(client, invitation):
    response = client.get(url(invitation))
    assert response.status_code == 200
    assert "How likely is it that you would recommend us" in response.content.decode()
    assert 'value="10"' in response.content.decode()


def test_answer_becomes_a_remembrance_experience_through_the_write_path(client, invitation, touchpoint):
    client.post(url(invitation), {"score": "10", "comment": "Quick and friendly"})
    answer = Response.objects.get()
    experience = Experience.objects.get()
    assert answer.experience == experience
    assert (experience.source, experience.external_id) == ("survey", f"response-{answer.pk}")
    assert experience.stage == Stage.REMEMBRANCE
    assert (experience.valence, experience.intensity) == (1, 5)
    assert experience.touchpoint == touchpoint
    assert experience.note == "Quick and friendly"
    # The answer carries the department its experience is charged to: the access gate reads it there.
    assert answer.department_id == experience.department_id is not None


def test_second_visit_shows_the_thank_you_page(client, invitation):
    first = client.post(url(invitation), {"score": "8"}, follow=True)
    second = client.get(url(invitation))
    assert "Thank you for your answer" in first.content.decode()
    assert "Thank you for your answer" in second.content.decode()


def test_second_answer_is_not_stored(client, invitation):
    client.post(url(invitation), {"score": "8"})
    client.post(url(invitation), {"score": "0"})
    assert list(Response.objects.values_list("score", flat=True)) == [8]
    assert Experience.objects.count() == 1


def test_expired_link_gets_a_clear_page(client, invitation, settings):
    with time_machine.travel(timezone.now() + timedelta(days=settings.CXM_SURVEY_TTL_DAYS, minutes=1), tick=False):
        response = client.get(url(invitation))
        client.post(url(invitation), {"score": "9"})
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert not Response.objects.exists()


def test_link_still_works_just_before_it_expires(client, invitation, settings):
    with time_machine.travel(timezone.now() + timedelta(days=settings.CXM_SURVEY_TTL_DAYS, minutes=-1), tick=False):
        response = client.get(url(invitation))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "tamper", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "9" + t, lambda t: "x"]
)
def test_tampered_link_gets_a_clear_page(client, invitation, tamper):
    token = tokens.invitation_token(invitation)
    response = client.get(reverse("survey-answer", args=[tamper(token)]))
    assert response.status_code == 404
    assert "We do not recognise this link" in response.content.decode()


def test_link_of_another_invitation_cannot_be_forged_from_an_id(client, invitation):
    response = client.get(f"/s/{invitation.pk + 1}:forged/")
    assert response.status_code == 404
    assert "We do not recognise this link" in response.content.decode()


def test_score_outside_the_scale_says_what_to_fix_and_keeps_the_comment(client, invitation):
    response = client.post(url(invitation), {"score": "11", "comment": "late again"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert "late again" in response.content.decode()
    assert not Response.objects.exists()


def test_missing_score_asks_for_one(client, invitation):
    response = client.post(url(invitation), {"comment": "hello"})
    assert response.status_code == 400
    assert "Choose a score to answer." in response.content.decode()


def test_csat_scale_offers_one_to_five(client, touchpoint, customer):
    csat = Survey.objects.create(slug="csat", name="Support", kind="csat", touchpoint=touchpoint)
    invitation = Invitation.objects.get(pk=services.create_invitations(survey=csat, customers=[customer]).created[0])
    body = client.get(url(invitation)).content.decode()
    assert 'value="1"' in body and 'value="5"' in body
    assert 'value="0"' not in body and 'value="6"' not in body


def test_invitations_are_emailed_with_the_personal_link(survey, mailoutbox, django_capture_on_commit_callbacks):
    customers = [CustomerFactory(email=f"c{n}@example.com") for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.create_invitations(survey=survey, customers=customers)
    assert len(mailoutbox) == 3
    first = Invitation.objects.get(pk=batch.created[0])
    message = next(m for m in mailoutbox if m.to == [first.customer.email])
    assert url(first) in message.body
    assert Invitation.objects.filter(sent_at__isnull=False).count() == 3


def test_sending_twice_sends_each_invitation_once(survey, mailoutbox):
    batch = services.create_invitations(survey=survey, customers=[CustomerFactory(email="a@example.com")])
    services.send_invitations(invitation_ids=batch.created)
    services.send_invitations(invitation_ids=batch.created)
    assert len(mailoutbox) == 1


def test_customer_with_an_open_invitation_is_not_invited_again(survey, customer):
    services.create_invitations(survey=survey, customers=[customer])
    batch = services.create_invitations(survey=survey, customers=[customer])
    assert (batch.created, batch.already_invited) == ([], 1)


def test_customer_is_invited_again_once_the_old_link_expired(survey, customer, settings):
    services.create_invitations(survey=survey, customers=[customer])
    later = timezone.now() + timedelta(days=settings.CXM_SURVEY_TTL_DAYS + 1)
    assert len(services.create_invitations(survey=survey, customers=[customer], now=later).created) == 1


def test_customer_without_email_is_counted_not_invited(survey):
    batch = services.create_invitations(survey=survey, customers=[CustomerFactory(email="")])
    assert (batch.created, batch.without_email) == ([], 1)


def test_inactive_survey_refuses_invitations(survey, customer):
    survey.active = False
    survey.save()
    with pytest.raises(services.FeedbackError, match="not active"):
        services.create_invitations(survey=survey, customers=[customer])
