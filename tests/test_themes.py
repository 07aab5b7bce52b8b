"""Themes: key phrases found offline in comments and notes, English and Spanish, with counts and negatives."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from experiences.services import record_experiences
from feedback import themes
from feedback.models import ExperienceTheme, Theme
from feedback.sentiment import compound

from .factories import CustomerFactory

COMMENTS = Path(__file__).parent / "data" / "survey_comments.txt"  # 200 comments written for this test


def comments() -> list[tuple[str, int, str]]:
    rows = [line.split("|", 2) for line in COMMENTS.read_text(encoding="utf-8").splitlines()]
    return [(language, int(score), text) for language, score, text in rows]


@pytest.fixture
def noted(touchpoint, django_capture_on_commit_callbacks):
    """The 200 comments as notes of experiences of the last week (negative when the score was low)."""
    customer = CustomerFactory()
    now = timezone.now()
    items = [
        {
            "customer": customer.external_id,
            "touchpoint": touchpoint.code,
            "valence": -1 if score <= 6 else 1,
            "occurred_at": now - timedelta(hours=i),
            "note": text,
        }
        for i, (_, score, text) in enumerate(comments())
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert record_experiences(items=items, source="import").rejected == 0


def top(language: str, n: int) -> list[str]:
    counted = sorted(
        ((theme.mentions.count(), theme.phrase) for theme in Theme.objects.filter(language=language)), reverse=True
    )
    return [phrase for _, phrase in counted[:n]]


def test_the_200_comments_give_the_expected_top_themes_in_both_languages(noted):
    assert len(comments()) == 200

    themes.refresh_themes()

    assert top("en", 5) == ["invoice", "customer service", "friendly driver", "late delivery", "waiting time"]
    assert top("es", 3) == ["entrega", "factura", "repartidor"]
    assert "atención al cliente" in top("es", 8)  # three words, tied with other phrases of 9 mentions


def test_a_word_nearly_always_inside_a_longer_theme_is_not_a_theme_of_its_own(noted):
    themes.refresh_themes()
    phrases = set(Theme.objects.values_list("phrase", flat=True))
    assert {"friendly driver", "late delivery"} <= phrases
    assert not {"friendly", "driver", "late", "delivery"} & phrases


def test_refreshing_twice_adds_no_mention_twice(noted):
    themes.refresh_themes()
    mentions = ExperienceTheme.objects.count()
    themes.refresh_themes()
    assert ExperienceTheme.objects.count() == mentions


def test_new_notes_are_matched_against_the_themes_known(noted, touchpoint, django_capture_on_commit_callbacks):
    themes.refresh_themes()
    themes.match_new_notes()  # catch up with everything stored so far
    late = Theme.objects.get(phrase="late delivery")
    before = late.mentions.count()
    item = {"customer": "ACME-9", "touchpoint": touchpoint.code, "valence": -1, "note": "Late delivery AGAIN."}
    with django_capture_on_commit_callbacks(execute=True):
        record_experiences(items=[{**item, "customer": {"external_id": "ACME-9", "name": "Acme 9"}}], source="api")

    assert themes.match_new_notes() == 1
    assert late.mentions.count() == before + 1


@pytest.mark.parametrize(
    "text, language, mood",
    [
        ("The driver was lovely and on time", "en", "positive"),
        ("The delivery was late and nobody called", "en", "negative"),
        ("El repartidor fue muy amable, todo perfecto", "es", "positive"),
        ("La entrega llegó tarde y nadie me avisó", "es", "negative"),
        ("No estoy contento con la factura", "es", "negative"),
        ("Pésimo servicio, nunca más", None, "negative"),  # no language given: recognised as Spanish
    ],
)
def test_sentiment_reads_english_and_spanish(text, language, mood):
    score = compound(text, language=language)
    assert score > 0.05 if mood == "positive" else score < -0.05, score
