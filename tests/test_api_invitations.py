"""POST /api/v1/surveys/{slug}/invitations/: bulk invitations by external id or segment, and GET /surveys/."""

import pytest
from rest_framework.test import APIClient

from experiences.services import record_experiences
from feedback.models import Invitation, Survey
from feedback.services import create_invitations
from feedback.tokens import invitation_token
from integrations.models import Scope

from .api import key_client
from .factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory

URL = "/api/v1/surveys/delivery-nps/invitations/"


@pytest.fixture
def survey(touchpoint):
    return Survey.objects.create(slug="delivery-nps", name="Delivery NPS", kind="nps", touchpoint=touchpoint)


@pytest.fixture
def inviter(db):
    return key_client(Scope.SURVEYS_WRITE)


def invite(client, body, capture):
    with capture(execute=True):
        return client.post(URL, body, format="json")


def session(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_customers_listed_by_external_id_are_invited_and_emailed(
    survey, inviter, mailoutbox, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="EXT-1", email="one@example.com")
    CustomerFactory(external_id="EXT-2", email="two@example.com")

    response = invite(inviter, {"customers": ["EXT-2", "EXT-1"]}, django_capture_on_commit_callbacks)

    assert response.status_code == 201
    body = response.json()
    assert [i["customer"] for i in body["invitations"]] == ["EXT-2", "EXT-1"]
    assert body["counts"] == {"invited": 2, "unknown": 0, "no_email": 0, "already_invited": 0}
    assert sorted(m.to[0] for m in mailoutbox) == ["one@example.com", "two@example.com"]


def test_a_segment_is_invited_and_other_segments_are_not(
    survey, inviter, mailoutbox, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="S-1", segment="smb", email="small@example.com")
    CustomerFactory(external_id="E-1", segment="enterprise", email="big@example.com")

    response = invite(inviter, {"segment": "enterprise"}, django_capture_on_commit_callbacks)

    assert response.status_code == 201
    assert [i["customer"] for i in response.json()["invitations"]] == ["E-1"]
    assert [m.to for m in mailoutbox] == [["big@example.com"]]


def test_each_skipped_customer_is_reported_with_the_reason(survey, inviter, django_capture_on_commit_callbacks):
    CustomerFactory(external_id="NEW-1", email="new@example.com")
    CustomerFactory(external_id="MUTE-1", email="")
    create_invitations(survey=survey, customers=[CustomerFactory(external_id="OPEN-1", email="open@example.com")])

    response = invite(
        inviter, {"customers": ["NEW-1", "MUTE-1", "OPEN-1", "NOPE-1"]}, django_capture_on_commit_callbacks
    )

    body = response.json()
    assert body["skipped"] == [
        {"customer": "NOPE-1", "reason": "unknown"},
        {"customer": "MUTE-1", "reason": "no_email"},
        {"customer": "OPEN-1", "reason": "already_invited"},
    ]
    assert body["counts"] == {"invited": 1, "unknown": 1, "no_email": 1, "already_invited": 1}


def test_nobody_new_to_invite_answers_200_and_sends_nothing(
    survey, inviter, mailoutbox, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="EXT-1", email="one@example.com")
    invite(inviter, {"customers": ["EXT-1"]}, django_capture_on_commit_callbacks)
    mailoutbox.clear()

    response = invite(inviter, {"customers": ["EXT-1"]}, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert response.json()["counts"]["already_invited"] == 1
    assert mailoutbox == []


def test_an_id_sent_twice_is_invited_once(survey, inviter, django_capture_on_commit_callbacks):
    CustomerFactory(external_id="EXT-1", email="one@example.com")

    response = invite(inviter, {"customers": ["EXT-1", "EXT-1"]}, django_capture_on_commit_callbacks)

    assert response.json()["counts"] == {"invited": 1, "unknown": 0, "no_email": 0, "already_invited": 0}
    assert Invitation.objects.count() == 1


def test_an_emailed_link_never_comes_back_in_the_answer(
    survey, inviter, mailoutbox, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="EXT-1", email="one@example.com")

    response = invite(inviter, {"customers": ["EXT-1"]}, django_capture_on_commit_callbacks)

    token = invitation_token(Invitation.objects.get())
    assert token in mailoutbox[0].body
    assert token not in response.content.decode()
    assert "/s/" not in response.content.decode()
    assert response.json()["invitations"][0]["url"] is None


def test_the_link_channel_returns_personal_links_and_sends_no_mail(
    survey, inviter, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.CXM_BASE_URL = "https://cx.example.com"
    CustomerFactory(external_id="EXT-1", email="")  # reached by SMS: no e-mail address needed

    response = invite(inviter, {"customers": ["EXT-1"], "channel": "link"}, django_capture_on_commit_callbacks)

    assert response.status_code == 201
    invitation = Invitation.objects.get()
    assert invitation.channel == "link"
    url = response.json()["invitations"][0]["url"]
    assert url == f"https://cx.example.com/s/{invitation_token(invitation)}/"
    assert mailoutbox == []


def test_an_unknown_channel_is_refused_with_the_choices(survey, inviter):
    CustomerFactory(external_id="EXT-1")

    response = inviter.post(URL, {"customers": ["EXT-1"], "channel": "pigeon"}, format="json")

    assert response.status_code == 400
    assert "channel" in response.json()["errors"]


def test_surveys_are_listed_with_their_kind_touchpoint_and_question(survey):
    response = key_client(Scope.CATALOGUE_READ).get("/api/v1/surveys/")

    assert response.json() == [
        {
            "slug": "delivery-nps",
            "name": "Delivery NPS",
            "kind": "nps",
            "touchpoint": "on-time-delivery",
            "question": "How likely is it that you would recommend us to a friend or colleague?",
            "question_en": "",
            "question_es": "",
            "follow_up_question_en": "",
            "follow_up_question_es": "",
            "follow_up_choices_en": [],
            "follow_up_choices_es": [],
            "follow_up_kind": "",
            "active": True,
        }
    ]


# Who may invite ------------------------------------------------------------------------------


def test_anonymous_caller_invites_nobody(survey, customer):
    response = APIClient().post(URL, {"customers": ["ACME-1"]}, format="json")

    assert response.status_code == 401
    assert not Invitation.objects.exists()


def test_key_without_surveys_write_is_refused_and_told_the_scope(survey, customer):
    client = key_client(*(s for s in Scope.values if s != Scope.SURVEYS_WRITE))

    response = client.post(URL, {"customers": ["ACME-1"]}, format="json")

    assert response.status_code == 403
    assert "surveys:write" in response.json()["detail"]
    assert not Invitation.objects.exists()


def test_revoked_key_invites_nobody(survey, customer, inviter):
    inviter.api_key.revoked = True
    inviter.api_key.save()

    response = inviter.post(URL, {"customers": ["ACME-1"]}, format="json")

    assert response.status_code == 401
    assert not Invitation.objects.exists()


def test_staff_session_may_not_invite(survey, customer, staff_user):
    response = session(staff_user).post(URL, {"customers": ["ACME-1"]}, format="json")

    assert response.status_code == 403
    assert not Invitation.objects.exists()


@pytest.fixture
def delivered(survey, customer, staff_user):
    """ACME-1 dealt with Logistics, so Logistics managers see it."""
    record_experiences(
        items=[{"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "positive"}], source="form"
    )
    return customer


def test_manager_invites_to_a_survey_of_their_departments_touchpoint(
    department, delivered, django_capture_on_commit_callbacks
):
    manager = UserFactory(role="manager", departments=[department])

    response = invite(session(manager), {"customers": ["ACME-1"]}, django_capture_on_commit_callbacks)

    assert response.status_code == 201
    assert response.json()["counts"]["invited"] == 1


def test_manager_of_another_department_is_refused(delivered):
    billing = DepartmentFactory(code="billing", name="Billing")
    TouchpointFactory(code="clear-invoice", owner=billing)
    manager = UserFactory(role="manager", departments=[billing])

    response = session(manager).post(URL, {"customers": ["ACME-1"]}, format="json")

    assert response.status_code == 403
    assert "your departments" in response.json()["detail"]
    assert not Invitation.objects.exists()


def test_manager_sees_customers_of_other_departments_as_unknown(department, survey, django_capture_on_commit_callbacks):
    CustomerFactory(external_id="STRANGER-1", email="s@example.com")  # no experience with Logistics
    manager = UserFactory(role="manager", departments=[department])

    response = invite(session(manager), {"customers": ["STRANGER-1"]}, django_capture_on_commit_callbacks)

    assert response.json()["skipped"] == [{"customer": "STRANGER-1", "reason": "unknown"}]
    assert not Invitation.objects.exists()


# Bad input -----------------------------------------------------------------------------------


def test_unknown_survey_is_a_404_that_points_to_the_list(inviter, customer):
    response = inviter.post("/api/v1/surveys/nope/invitations/", {"customers": ["ACME-1"]}, format="json")

    assert response.status_code == 404
    assert "/api/v1/surveys/" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({}, "customers", 'send "customers"'),
        ({"customers": ["ACME-1"], "segment": "smb"}, "segment", "not both"),
        ({"customers": []}, "customers", "at least one external id"),
        ({"customers": [f"C-{n}" for n in range(1001)]}, "customers", "at most 1000 external ids"),
        ({"customers": "ACME-1"}, "customers", "list"),
        ({"segment": ""}, "segment", "blank"),
        ({"segment": "smb", "survey": "x"}, "survey", "unknown field"),
    ],
    ids=["nothing", "both", "empty list", "too many", "not a list", "blank segment", "unknown field"],
)
def test_bad_body_is_a_400_that_says_what_to_fix(survey, customer, inviter, body, field, says):
    response = inviter.post(URL, body, format="json")

    assert response.status_code == 400
    assert says in str(response.json()["errors"][field])
    assert not Invitation.objects.exists()


def test_a_segment_without_customers_is_a_400(survey, customer, inviter):
    response = inviter.post(URL, {"segment": "nobody-here"}, format="json")

    assert response.status_code == 400
    assert "nobody-here" in response.json()["errors"]["segment"][0]


def test_an_inactive_survey_is_a_400_that_says_to_activate_it(survey, customer, inviter):
    Survey.objects.filter(pk=survey.pk).update(active=False)

    response = inviter.post(URL, {"customers": ["ACME-1"]}, format="json")

    assert response.status_code == 400
    assert "activate it" in response.json()["errors"]["survey"][0]


def test_a_body_that_is_not_json_is_a_415(survey, inviter):
    response = inviter.post(URL, "customers=ACME-1", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
