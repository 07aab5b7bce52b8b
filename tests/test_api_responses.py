"""GET /api/v1/responses/: survey answers for integrations (scope responses:read)."""

from feedback import services
from feedback.models import Invitation, Survey
from integrations.models import Scope

from .api import key_client

URL = "/api/v1/responses/"


def answered(touchpoint, customer, score, comment=""):
    survey = Survey.objects.get_or_create(
        slug="delivery-nps", defaults={"name": "Delivery", "kind": "nps", "touchpoint": touchpoint}
    )[0]
    invitation = Invitation.objects.get(pk=services.create_invitations(survey=survey, customers=[customer]).created[0])
    return services.record_response(invitation=invitation, score=score, comment=comment)


def test_answers_are_read_with_their_score_comment_and_experience(touchpoint, customer, django_assert_num_queries):
    response = answered(touchpoint, customer, 3, "The parcel was late again")
    client = key_client(Scope.RESPONSES_READ)
    with django_assert_num_queries(3):  # the key, the key's departments (the access gate), the page
        body = client.get(URL).json()
    [answer] = body["results"]
    assert (answer["id"], answer["survey"], answer["customer"], answer["score"]) == (
        response.pk,
        "delivery-nps",
        "ACME-1",
        3,
    )
    assert answer["comment"] == "The parcel was late again"
    assert answer["experience"] == response.experience_id
    assert client.get(f"{URL}{response.pk}/").json()["score"] == 3
    assert client.get(URL, {"survey": "other"}).json()["results"] == []


def test_a_key_without_responses_read_is_refused(db):
    response = key_client(Scope.CATALOGUE_READ).get(URL)
    assert response.status_code == 403
    assert "responses:read" in response.json()["detail"]
