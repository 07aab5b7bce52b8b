"""Comments get a lexicon sentiment; one that contradicts its score is flagged for review."""

import pytest

from feedback import sentiment, services
from feedback.models import Invitation, Survey

from .factories import UserFactory


@pytest.fixture
def answer(touchpoint, customer):
    survey = Survey.objects.create(slug="nps", name="Delivery", kind="nps", touchpoint=touchpoint)

    def answer(score, comment):
        invitation = Invitation.objects.get(
            pk=services.create_invitations(survey=survey, customers=[customer]).created[0]
        )
        return services.record_response(invitation=invitation, score=score, comment=comment)

    return answer


def test_comment_sentiment_is_stored(answer):
    assert answer(10, "Wonderful, friendly and fast. Thank you!").sentiment > 0.5


def test_no_comment_has_no_sentiment(answer):
    assert answer(10, "").sentiment is None


def test_high_score_with_an_angry_comment_is_flagged(answer):
    assert answer(10, "Terrible, rude driver and a broken parcel. Awful.").flagged


def test_low_score_with_a_delighted_comment_is_flagged(answer):
    assert answer(1, "Excellent service, I love it, great job!").flagged


def test_agreeing_comment_is_not_flagged(answer):
    assert not answer(2, "Terrible, rude driver and a broken parcel. Awful.").flagged


def test_neutral_score_is_never_flagged(answer):
    assert not answer(7, "Terrible, awful, horrible.").flagged


def test_manager_sees_flagged_answers_and_marks_them_reviewed(client, answer, department):
    flagged = answer(10, "Terrible, rude driver and a broken parcel. Awful.")
    client.force_login(UserFactory(role="manager", departments=[department]))
    body = client.get("/cases/answers/?flagged=1").content.decode()
    assert "comment contradicts score" in body and "sentiment valence-negative" in body
    client.post(f"/cases/answers/{flagged.pk}/reviewed/")
    flagged.refresh_from_db()
    assert flagged.reviewed_at is not None
    assert "rude driver" not in client.get("/cases/answers/?flagged=1").content.decode()


def test_manager_of_another_department_does_not_see_the_answer(client, answer):
    answer(10, "Awful")
    client.force_login(UserFactory(role="manager"))
    assert "Awful" not in client.get("/cases/answers/").content.decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Arrived late again", "negative"),
        ("We waited and the phone stayed unanswered", "negative"),
        ("Delivery arrived two days after the agreed date", "neutral"),
        ("Promised a call back that never came", "neutral"),
        ("The driver called ahead, very kind", "positive"),
    ],
)
def test_customer_experience_phrasing_is_read_in_its_own_sense(text, expected):
    assert sentiment.label(sentiment.compound(text)) == expected
