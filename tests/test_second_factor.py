"""A second factor (TOTP) confirms sign-ins; managers and admins must set one up when the setting says so."""

import base64
import re

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory
from tests.oidc_provider import provider_sign_in

PASSWORD = "correct-horse-battery"


def log_in(client, username: str):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key):06d}"


@pytest.fixture
def manager(department):
    return UserFactory(username="marta", role="manager", departments=[department])


def test_with_an_app_set_up_every_page_waits_for_the_code(client, manager):
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    log_in(client, "marta")

    response = client.get("/dashboards/")

    assert response.status_code == 302
    assert response.url == "/login/second-factor/?next=%2Fdashboards%2F"
    page = client.get(response.url).content.decode()
    assert "six-digit code" in page
    response = client.post(response.url, {"code": code_for(device), "next": "/dashboards/"})
    assert response.url == "/dashboards/"
    assert client.get("/dashboards/").status_code != 302


def test_a_wrong_code_says_what_to_do_and_keeps_the_door_shut(client, manager):
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    log_in(client, "marta")
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("second-factor"), {"code": wrong})

    assert response.status_code == 200
    assert "Codes change every 30 seconds" in response.content.decode()
    assert client.get("/log/").status_code == 302


def test_letters_instead_of_digits_are_refused_with_an_example(client, manager):
    TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    log_in(client, "marta")

    response = client.post(reverse("second-factor"), {"code": "abc"})

    assert "Type the six digits your app shows" in response.content.decode()


def test_required_managers_set_up_an_app_before_anything_else(client, manager, settings):
    settings.CXM_REQUIRE_TOTP = True
    log_in(client, "marta")

    response = client.get("/dashboards/")
    assert response.url.startswith(reverse("second-factor-setup"))
    page = client.get(response.url).content.decode()
    secret = re.search(r'<code class="totp-secret">([A-Z2-7 ]+)</code>', page).group(1)
    assert 'src="data:image/svg+xml;base64,' in page
    device = TOTPDevice.objects.get(user=manager)
    key = secret.replace(" ", "")
    assert device.bin_key == base64.b32decode(key + "=" * (-len(key) % 8))  # the key shown is the key stored

    response = client.post(reverse("second-factor-setup"), {"code": code_for(device), "next": "/dashboards/"})

    assert response.url == "/dashboards/"
    assert TOTPDevice.objects.get(user=manager).confirmed
    assert client.get("/dashboards/").status_code != 302


def test_staff_are_not_asked_for_a_code_when_none_is_set_up(client, staff_user, settings):
    settings.CXM_REQUIRE_TOTP = True
    log_in(client, "ana")

    assert client.get("/log/").status_code == 200


def test_managers_are_not_forced_when_the_setting_is_off(client, manager):
    log_in(client, "marta")

    assert client.get("/dashboards/").status_code != 302


def test_a_manager_from_the_directory_sets_up_the_code_after_company_sign_in(client, oidc_provider, settings, db):
    settings.CXM_REQUIRE_TOTP = True
    oidc_provider(
        {"rosa-idp": {"email": "rosa@acme.example", "email_verified": True, "cxm_role": "manager"}},
        "http://testserver/accounts/oidc/company/login/callback/",
    )
    start = client.post("/accounts/oidc/company/login/")
    back = provider_sign_in(start.url, "rosa-idp").removeprefix("http://testserver")
    landing = client.get(back)

    assert client.get(landing.url).url.startswith(reverse("second-factor-setup"))


def test_when_an_admin_removes_the_app_a_person_who_needs_none_goes_on(client, staff_user):
    TOTPDevice.objects.create(user=staff_user, name="lost phone", confirmed=True)
    log_in(client, "ana")
    assert client.get("/log/").status_code == 302

    TOTPDevice.objects.filter(user=staff_user).delete()
    response = client.get(reverse("second-factor"), {"next": "/log/"})

    assert response.url == "/log/"
    assert client.get("/log/").status_code == 200
