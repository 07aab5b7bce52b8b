"""A moment of truth is remembered on a 375 px phone: logged, invited after the delay, answered in Spanish,
and the manager sees the NPS move, the theme appear and the answer beside the moment on the customer's timeline."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from experiences.services import record_experiences
from feedback import services, themes
from feedback.models import Invitation, Survey, SurveyRule
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def delivery(live_server, touchpoint, department):
    """Delivery NPS with a rule (2 h after a delivery); last month's Spanish answers taught the theme "entrega"."""
    survey = Survey.objects.create(slug="delivery-nps", name="Su entrega", kind="nps", touchpoint=touchpoint)
    now = timezone.now()
    SurveyRule.objects.create(
        touchpoint=touchpoint, survey=survey, delay_minutes=120, created_at=now - timedelta(days=90)
    )
    for n, comment in enumerate(["La entrega llegó tarde", "Otra entrega tarde", "La entrega llegó rota"]):
        old = CustomerFactory(external_id=f"OLD-{n}", language="es")
        [pk] = services.create_invitations(survey=survey, customers=[old], now=now - timedelta(days=45)).created
        services.record_response(
            invitation=Invitation.objects.get(pk=pk), score=3, comment=comment, now=now - timedelta(days=44)
        )
    happy = CustomerFactory(external_id="HAPPY-1")
    [pk] = services.create_invitations(survey=survey, customers=[happy], now=now - timedelta(days=3)).created
    services.record_response(invitation=Invitation.objects.get(pk=pk), score=10, now=now - timedelta(days=2))
    themes.refresh_themes()
    UserFactory(username="mia", role="manager", departments=[department])
    return survey


def nps_tile(page) -> str:
    return page.locator(".dash-tile", has=page.locator(".dash-tile-label", has_text=re.compile("^NPS$"))).inner_text()


def test_a_delivery_is_remembered_in_spanish_and_the_manager_sees_it(page, log_in, delivery, mailoutbox):
    page.set_viewport_size(PHONE)
    log_in("mia", "correct-horse-battery")
    page.goto("/dashboards/logistics/")
    assert "+100" in nps_tile(page)  # one promoter so far this month
    assert page.locator("#themes").get_by_text("entrega", exact=True).count() == 0  # no mention this month

    mailoutbox.clear()  # last month's invitations
    lucia = CustomerFactory(external_id="LUCIA-1", name="Lucía Gómez", email="lucia@example.com", language="es")
    delivered_at = timezone.now() - timedelta(hours=3)
    item = {"customer": lucia.external_id, "touchpoint": "on-time-delivery", "valence": -1, "intensity": 3}
    record_experiences(items=[{**item, "occurred_at": delivered_at, "note": "Truck came late"}], source="form")

    services.trigger_surveys(now=delivered_at + timedelta(minutes=119))
    assert mailoutbox == []  # not before the delay
    services.trigger_surveys()
    [mail] = mailoutbox
    assert mail.to == ["lucia@example.com"]
    assert "Hola, Lucía" in mail.body
    link = re.search(r"https?://[^\s]+/s/[^\s/]+/", mail.body).group(0)

    customer = page.context.browser.new_context(base_url=page.url.split("/dashboards")[0], viewport=PHONE).new_page()
    customer.goto("/s/" + link.split("/s/")[1])
    assert customer.evaluate("document.documentElement.lang") == "es"
    assert customer.evaluate("document.documentElement.scrollWidth") <= 375
    customer.locator("#id_score_4").check()
    customer.locator("#id_comment").fill("La entrega llegó tarde otra vez y nadie avisó")
    customer.screenshot(path=str(SCREENSHOTS / "survey-es-375.png"), full_page=True)
    customer.get_by_role("button", name="Enviar mi respuesta").click()
    customer.get_by_role("heading", level=1).wait_for()
    assert Invitation.objects.get(customer=lucia).answered_at is not None

    page.goto("/dashboards/logistics/")
    assert "±0" in nps_tile(page)  # a promoter and a detractor: NPS 0
    themes_card = page.locator("#themes")
    themes_card.get_by_role("link", name="entrega", exact=True).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(SCREENSHOTS / "remembrance-375.png"), full_page=True)
    themes_card.get_by_role("link", name="entrega", exact=True).click()
    page.get_by_text("La entrega llegó tarde otra vez y nadie avisó").wait_for()

    page.goto(f"/customers/{lucia.external_id}/")
    moment = page.locator("li", has_text="Truck came late")
    assert "remembered: NPS 4" in moment.inner_text()
    assert "La entrega llegó tarde otra vez" in moment.inner_text()
