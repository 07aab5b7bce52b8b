"""Admin: a survey rule per touchpoint; an invitation's personal link to copy and its QR code as SVG."""

import pytest
from django.utils import timezone

from feedback import tokens
from feedback.models import Invitation, Survey, SurveyRule

from .factories import UserFactory


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", role="admin", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def invitation(touchpoint, customer):
    survey = Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint)
    return Invitation.objects.create(
        survey=survey, customer=customer, channel="link", expires_at=timezone.now() + timezone.timedelta(days=14)
    )


def test_an_invitation_page_shows_its_link_to_copy_and_a_qr_code_made_on_the_server(admin_client, invitation, settings):
    settings.CXM_BASE_URL = "https://cx.example.com"
    page = admin_client.get(f"/admin/feedback/invitation/{invitation.pk}/change/").content.decode()

    url = f"https://cx.example.com/s/{tokens.invitation_token(invitation)}/"
    assert f'value="{url}"' in page
    assert 'data-copy="personal-link"' in page
    assert "<svg" in page and 'class="segno"' in page


def test_a_rule_is_made_in_the_admin(admin_client, invitation, touchpoint):
    response = admin_client.post(
        "/admin/feedback/surveyrule/add/",
        {
            "touchpoint": touchpoint.pk,
            "survey": invitation.survey.pk,
            "delay_minutes": 90,
            "sample_percent": 25,
            "seed": "spring",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert SurveyRule.objects.get().sample_percent == 25
