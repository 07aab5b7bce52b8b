"""Short surveys in the customer's language: HTML and text e-mail, the why, a second question."""

import pytest
from django.urls import reverse

from feedback import services, tokens
from feedback.models import Invitation, Response, Survey

from .factories import CustomerFactory


@pytest.fixture
def survey(touchpoint):
    return Survey.objects.create(
        slug="delivery-nps",
        name="Delivery",
        kind="nps",
        touchpoint=touchpoint,
        follow_up_kind="choice",
        follow_up_question="What mattered most?",
        follow_up_choices="Speed\nFriendliness\nPrice",
    )


def invite(survey, customer, capture) -> Invitation:
    with capture(execute=True):
        [pk] = services.create_invitations(survey=survey, customers=[customer]).created
    return Invitation.objects.get(pk=pk)


def test_a_spanish_customer_gets_the_invitation_in_spanish_as_text_and_html(
    survey, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.CXM_BASE_URL = "https://cx.example.com"
    invitation = invite(survey, CustomerFactory(language="es", name="Lucía"), django_capture_on_commit_callbacks)

    [mail] = mailoutbox
    html, mimetype = mail.alternatives[0]
    link = f"https://cx.example.com/s/{tokens.invitation_token(invitation)}/"
    assert mimetype == "text/html"
    assert "Hola, Lucía" in mail.body and link in mail.body
    assert "Responder ahora" in html and f'href="{link}"' in html
    assert "No quiero más encuestas" in html


def test_an_english_customer_gets_it_in_english(survey, mailoutbox, django_capture_on_commit_callbacks):
    invite(survey, CustomerFactory(language="en", name="Lucy"), django_capture_on_commit_callbacks)
    assert "Hello Lucy" in mailoutbox[0].body
    assert "Answer now" in mailoutbox[0].alternatives[0][0]


def test_the_survey_page_speaks_the_customers_language_whatever_the_browser_says(
    client, survey, django_capture_on_commit_callbacks
):
    invitation = invite(survey, CustomerFactory(language="es"), django_capture_on_commit_callbacks)
    page = client.get(
        reverse("survey-answer", args=[tokens.invitation_token(invitation)]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert '<html lang="es"' in page
    assert "¿Cuál es el motivo principal de su puntuación? (opcional)" in page
    assert "What mattered most?" in page and "Friendliness" in page


def test_the_why_and_the_second_answer_are_kept_with_the_score(client, survey, django_capture_on_commit_callbacks):
    invitation = invite(survey, CustomerFactory(language="es"), django_capture_on_commit_callbacks)
    url = reverse("survey-answer", args=[tokens.invitation_token(invitation)])

    client.post(url, {"score": "9", "comment": "El repartidor fue muy amable", "follow_up": "Friendliness"})

    answer = Response.objects.get()
    assert (answer.score, answer.follow_up_answer, answer.language) == (9, "Friendliness", "es")
    assert answer.sentiment > 0.05  # read as Spanish


def test_a_second_answer_that_was_not_offered_is_refused_and_the_comment_kept(
    client, survey, django_capture_on_commit_callbacks
):
    invitation = invite(survey, CustomerFactory(), django_capture_on_commit_callbacks)
    url = reverse("survey-answer", args=[tokens.invitation_token(invitation)])

    response = client.post(url, {"score": "9", "comment": "Quick", "follow_up": "Colour"})

    assert response.status_code == 400
    assert "Choose one of the answers offered" in response.content.decode()
    assert "Quick" in response.content.decode()
    assert not Response.objects.exists()


def test_the_second_question_can_be_left_empty(client, survey, django_capture_on_commit_callbacks):
    invitation = invite(survey, CustomerFactory(), django_capture_on_commit_callbacks)
    client.post(reverse("survey-answer", args=[tokens.invitation_token(invitation)]), {"score": "3"})
    assert Response.objects.get().follow_up_answer == ""


@pytest.fixture
def bilingual(survey):
    survey.question = "How likely are you to recommend our deliveries?"
    survey.question_es = "¿Recomendaría nuestras entregas?"
    survey.follow_up_question_es = "¿Qué fue lo más importante?"
    survey.follow_up_choices_es = "Rapidez\nAmabilidad\nPrecio"
    survey.save()
    return survey


def page_of(client, invitation) -> str:
    return client.get(reverse("survey-answer", args=[tokens.invitation_token(invitation)])).content.decode()


def test_a_spanish_customer_reads_the_surveys_own_texts_in_spanish_on_the_page_and_in_the_email(
    client, bilingual, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = invite(bilingual, CustomerFactory(language="es"), django_capture_on_commit_callbacks)

    [mail] = mailoutbox
    assert (
        "¿Recomendaría nuestras entregas?" in mail.body
        and "¿Recomendaría nuestras entregas?" in mail.alternatives[0][0]
    )
    assert "recommend our deliveries" not in mail.body
    page = page_of(client, invitation)
    assert "¿Recomendaría nuestras entregas?" in page and "¿Qué fue lo más importante?" in page
    assert "<span>Amabilidad</span>" in page and "<span>Friendliness</span>" not in page


def test_a_spanish_choice_is_stored_as_the_english_one(client, bilingual, django_capture_on_commit_callbacks):
    invitation = invite(bilingual, CustomerFactory(language="es"), django_capture_on_commit_callbacks)
    client.post(
        reverse("survey-answer", args=[tokens.invitation_token(invitation)]),
        {"score": "9", "follow_up": "Friendliness"},
    )
    assert Response.objects.get().follow_up_answer == "Friendliness"


def test_an_english_customer_reads_the_english_texts(client, bilingual, mailoutbox, django_capture_on_commit_callbacks):
    invitation = invite(bilingual, CustomerFactory(language="en"), django_capture_on_commit_callbacks)

    assert "How likely are you to recommend our deliveries?" in mailoutbox[0].body
    page = page_of(client, invitation)
    assert "How likely are you to recommend our deliveries?" in page and "What mattered most?" in page
    assert "<span>Friendliness</span>" in page and "Amabilidad" not in page and "Recomendaría" not in page


def test_a_text_without_its_spanish_shows_the_english_one_to_a_spanish_customer(
    client, survey, mailoutbox, django_capture_on_commit_callbacks
):
    survey.question = "How likely are you to recommend our deliveries?"
    survey.save()
    invitation = invite(survey, CustomerFactory(language="es"), django_capture_on_commit_callbacks)

    assert "How likely are you to recommend our deliveries?" in mailoutbox[0].body
    page = page_of(client, invitation)
    assert "How likely are you to recommend our deliveries?" in page
    assert "What mattered most?" in page and "<span>Friendliness</span>" in page
    assert "¿Cuál es el motivo principal" in page  # the page itself still speaks Spanish


def test_without_any_own_question_a_spanish_customer_gets_the_translated_standard_one(
    client, survey, django_capture_on_commit_callbacks
):
    invitation = invite(survey, CustomerFactory(language="es"), django_capture_on_commit_callbacks)
    page = page_of(client, invitation)
    assert "¿Qué probabilidad hay de que nos recomiende a un amigo o colega?" in page
