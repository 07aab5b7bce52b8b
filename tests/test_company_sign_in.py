"""Signing in with the company's account: a real OpenID Connect provider on a local port."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from accounts.models import User
from tests.factories import DepartmentFactory, UserFactory
from tests.oidc_provider import provider_sign_in

CALLBACK = "http://testserver/accounts/oidc/company/login/callback/"
START = "/accounts/oidc/company/login/"


def sign_in(client, login: str, next_page: str = "") -> object:
    """Press "Sign in with your company account", sign in at the provider, come back to CXM."""
    response = client.post(START, {"next": next_page} if next_page else {})
    assert response.status_code == 302, response.content[:500]
    back = urlsplit(provider_sign_in(response.url, login))
    return client.get(f"{back.path}?{back.query}")


@pytest.fixture
def departments(db):
    return DepartmentFactory(code="logistics", name="Logistics"), DepartmentFactory(code="billing", name="Billing")


def test_login_page_offers_the_company_account_when_a_provider_is_configured(client, oidc_provider, db):
    oidc_provider({}, CALLBACK)

    page = client.get(reverse("login")).content.decode()

    assert "Sign in with your Acme account" in page
    assert f'action="{START}' in page
    assert 'name="username"' in page  # the password keeps working beside it


def test_login_page_has_no_company_button_without_a_provider(client, db):
    assert "Sign in with your" not in client.get(reverse("login")).content.decode()


def test_existing_user_is_matched_by_email_and_placed_by_the_directory_claims(client, oidc_provider, departments):
    logistics, billing = departments
    UserFactory(username="marta", email="marta@acme.example", role="staff", departments=[logistics])
    oidc_provider(
        {
            "marta-idp": {
                "email": "marta@acme.example",
                "email_verified": True,
                "cxm_role": "manager",
                "cxm_departments": ["billing", "logistics"],
            }
        },
        CALLBACK,
    )

    response = sign_in(client, "marta-idp")

    marta = User.objects.get(username="marta")
    assert response.status_code == 302 and response.url == "/"
    assert client.session["_auth_user_id"] == str(marta.pk)
    assert marta.role == "manager"
    assert set(marta.departments.values_list("code", flat=True)) == {"billing", "logistics"}
    assert User.objects.count() == 1


def test_without_claims_the_role_an_admin_set_stays(client, oidc_provider, departments):
    logistics, _ = departments
    UserFactory(username="marta", email="marta@acme.example", role="manager", departments=[logistics])
    oidc_provider({"marta-idp": {"email": "marta@acme.example", "email_verified": True}}, CALLBACK)

    sign_in(client, "marta-idp")

    marta = User.objects.get(username="marta")
    assert marta.role == "manager"
    assert list(marta.departments.values_list("code", flat=True)) == ["logistics"]


def test_a_new_person_from_the_directory_gets_an_account_with_their_departments(client, oidc_provider, departments):
    oidc_provider(
        {
            "luis-idp": {
                "email": "luis@acme.example",
                "email_verified": True,
                "preferred_username": "luis",
                "given_name": "Luis",
                "cxm_departments": "logistics",
            }
        },
        CALLBACK,
    )

    response = sign_in(client, "luis-idp")

    luis = User.objects.get(email="luis@acme.example")
    assert response.url == "/"
    assert (luis.username, luis.first_name, luis.role) == ("luis", "Luis", "staff")
    assert list(luis.departments.values_list("code", flat=True)) == ["logistics"]
    assert not luis.has_usable_password()


def test_a_claim_cxm_cannot_use_keeps_the_person_as_they_were(client, oidc_provider, departments, caplog):
    logistics, _ = departments
    UserFactory(username="marta", email="marta@acme.example", role="staff", departments=[logistics])
    oidc_provider(
        {"marta-idp": {"email": "marta@acme.example", "email_verified": True, "cxm_departments": ["no-such"]}},
        CALLBACK,
    )

    sign_in(client, "marta-idp")

    assert list(User.objects.get(username="marta").departments.values_list("code", flat=True)) == ["logistics"]
    assert "no department with code no-such" in caplog.text


def test_new_people_are_refused_when_the_setting_says_so(client, oidc_provider, settings, db):
    settings.CXM_OIDC_CREATE_USERS = False
    oidc_provider({"eve-idp": {"email": "eve@acme.example", "email_verified": True}}, CALLBACK)

    sign_in(client, "eve-idp")

    assert not User.objects.filter(email="eve@acme.example").exists()
    assert "_auth_user_id" not in client.session
