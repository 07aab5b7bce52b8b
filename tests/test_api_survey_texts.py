"""A survey's own texts in English and Spanish through GET/PATCH /api/v1/surveys/{slug}/ and the admin."""

import pytest
from rest_framework.test import APIClient

from feedback.models import Survey
from integrations.models import Scope

from .api import key_client
from .factories import DepartmentFactory, TouchpointFactory, UserFactory

URL = "/api/v1/surveys/order-ces/"


@pytest.fixture
def survey(touchpoint):
    return Survey.objects.create(
        slug="order-ces",
        name="Finding your order",
        kind="ces",
        touchpoint=touchpoint,
        follow_up_kind="choice",
        follow_up_question="What would have made it easier?",
        follow_up_choices="Tracking link\nA phone call",
    )


def test_the_texts_are_changed_in_both_languages_and_read_back(survey):
    response = key_client(Scope.SURVEYS_WRITE).patch(
        URL,
        {
            "question_en": "Was it easy to find your order?",
            "question_es": "¿Le resultó fácil encontrar su pedido?",
            "follow_up_question_es": "¿Qué lo habría hecho más fácil?",
            "follow_up_choices_es": ["Enlace de seguimiento", "Una llamada"],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    survey.refresh_from_db()
    assert survey.question_es == "¿Le resultó fácil encontrar su pedido?"
    assert survey.follow_up_choices_es == "Enlace de seguimiento\nUna llamada"
    read = key_client(Scope.CATALOGUE_READ)
    body = read.get(URL).json()
    assert body["follow_up_choices_en"] == ["Tracking link", "A phone call"]
    assert body["question"] == "Was it easy to find your order?"
    assert read.get(URL, HTTP_ACCEPT_LANGUAGE="es").json()["question"] == "¿Le resultó fácil encontrar su pedido?"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"follow_up_choices_es": ["Solo una"]}, "follow_up_choices_es", "2 lines, not 1"),
        ({"follow_up_choices_en": ["Only one"]}, "follow_up_choices_en", "2 to 8 choices"),
        ({"follow_up_choices_es": ["a\nb", "c"]}, "follow_up_choices_es", "one line"),
        ({"follow_up_question_en": ""}, "follow_up_question_en", "Write the second question"),
        ({"question_es": 3}, "question_es", "string"),
        ({"question_es": "x" * 301}, "question_es", "300"),
        ({"kind": "nps"}, "kind", "read-only"),
    ],
)
def test_bad_texts_are_refused_with_a_clear_400(survey, body, field, says):
    response = key_client(Scope.SURVEYS_WRITE).patch(URL, body, format="json")

    assert response.status_code == 400
    assert says in str(response.json()["errors"][field])
    survey.refresh_from_db()
    assert survey.follow_up_choices == "Tracking link\nA phone call"


def test_a_manager_changes_only_the_surveys_of_their_departments(survey, department):
    other = DepartmentFactory(code="billing")
    foreign = Survey.objects.create(
        slug="invoice", name="Invoice", kind="csat", touchpoint=TouchpointFactory(owner=other)
    )
    client = APIClient()
    client.force_login(UserFactory(role="manager", departments=[department]))

    assert client.patch(URL, {"question_es": "¿Fácil?"}, format="json").status_code == 200
    assert client.patch("/api/v1/surveys/invoice/", {"question_es": "¿Clara?"}, format="json").status_code == 403
    foreign.refresh_from_db()
    assert foreign.question_es == ""


def test_the_admin_refuses_spanish_choices_that_do_not_match_the_english_ones(client, survey):
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    form = {
        "slug": survey.slug,
        "name": survey.name,
        "kind": survey.kind,
        "touchpoint": survey.touchpoint_id,
        "follow_up_kind": "choice",
        "follow_up_question": survey.follow_up_question,
        "follow_up_choices": survey.follow_up_choices,
        "follow_up_choices_es": "Enlace de seguimiento",
        "reminder_days": "3",
        "active": "on",
    }
    url = f"/admin/feedback/survey/{survey.pk}/change/"

    refused = client.post(url, form)
    assert refused.status_code == 200
    assert "same order as the English ones: 2 lines, not 1" in refused.content.decode()

    assert client.post(url, {**form, "follow_up_choices_es": "Enlace de seguimiento\nUna llamada"}).status_code == 302
    survey.refresh_from_db()
    assert survey.follow_up_choices_es == "Enlace de seguimiento\nUna llamada"
