"""A customer answers a survey on a 375 px phone, by keyboard, and sees the thank-you page."""

from pathlib import Path

import pytest
from django.utils import timezone

from feedback import tokens
from feedback.models import Invitation, Response, Survey

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "survey.png"


@pytest.fixture
def link(touchpoint, customer):
    survey = Survey.objects.create(slug="delivery-nps", name="Your delivery", kind="nps", touchpoint=touchpoint)
    invitation = Invitation.objects.create(
        survey=survey, customer=customer, expires_at=timezone.now() + timezone.timedelta(days=14)
    )
    return f"/s/{tokens.invitation_token(invitation)}/"


def test_customer_answers_on_a_phone_by_keyboard(page, link):
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(link)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the page scrolls sideways on a phone"
    page.locator("#id_score_0").focus()
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    assert page.locator("#id_score_9").is_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("The driver called ahead, very kind")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Thank you for your answer").wait_for()
    answer = Response.objects.get()
    assert (answer.score, answer.comment) == (9, "The driver called ahead, very kind")
    assert answer.experience.valence == 1

    page.goto(link)  # the link works once: a second visit thanks again
    page.get_by_role("heading", name="Thank you for your answer").wait_for()
    assert Response.objects.count() == 1
