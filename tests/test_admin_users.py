"""An admin adds or changes one person in the admin by the same rules as the CSV import and SSO.

Both forms are the real admin pages, posted as an admin would; the rules are those of
accounts.services.save_user (here: one e-mail, one person, since the company sign-in finds
people by e-mail).
"""

from datetime import UTC, datetime

import pytest

from accounts.models import User
from tests.factories import DepartmentFactory, UserFactory

ADD = "/admin/accounts/user/add/"
PASSWORD = "a-long-passphrase-nobody-guesses"


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="ada", role="admin", is_staff=True, is_superuser=True))
    return client


def add(client, **fields):
    data = {"username": "luis", "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD}
    return client.post(ADD, {**data, **fields})


def change(client, user: User, **fields):
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "role": user.role,
        "departments": [d.pk for d in user.departments.all()],
        "language": user.language,
    }
    return client.post(f"/admin/accounts/user/{user.pk}/change/", {**data, **fields})


def test_a_user_added_in_the_admin_gets_role_departments_and_email(admin_client):
    logistics, billing = DepartmentFactory(code="logistics"), DepartmentFactory(code="billing")

    response = add(
        admin_client, email="luis@acme.example", role="manager", departments=[logistics.pk, billing.pk], language="es"
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    luis = User.objects.get(username="luis")
    assert (luis.role, luis.email, luis.language) == ("manager", "luis@acme.example", "es")
    assert set(luis.departments.values_list("code", flat=True)) == {"logistics", "billing"}
    assert luis.check_password(PASSWORD)


def test_the_add_form_refuses_an_email_another_person_has(admin_client):
    UserFactory(username="ana", email="ana@acme.example")

    response = add(admin_client, email="Ana@Acme.example", role="staff")

    assert response.status_code == 200
    assert "is already ana&#x27;s; the company sign-in finds people by e-mail" in response.content.decode()
    assert not User.objects.filter(username="luis").exists()


def test_the_change_form_refuses_an_email_another_person_has(admin_client):
    UserFactory(username="ana", email="ana@acme.example")
    luis = UserFactory(username="luis", email="luis@acme.example")

    response = change(admin_client, luis, email="ana@acme.example")

    assert response.status_code == 200
    assert "is already ana&#x27;s" in response.content.decode()
    luis.refresh_from_db()
    assert luis.email == "luis@acme.example"


def test_a_person_who_joined_in_the_hour_that_repeats_when_the_clocks_go_back_can_be_changed(admin_client, settings):
    settings.TIME_ZONE = "Europe/Madrid"
    joined = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 in Madrid, an hour before 02:30 came again
    luis = UserFactory(username="luis", email="luis@acme.example", date_joined=joined)
    page = admin_client.get(f"/admin/accounts/user/{luis.pk}/change/").content.decode()
    assert 'name="date_joined_0"' not in page and "25 October 2026, 02:30" in page, "shown, not an input"

    response = change(admin_client, luis, first_name="Luis", date_joined_0="2026-10-25", date_joined_1="02:30:00")

    assert response.status_code == 302, response.content.decode()[-3000:]
    luis.refresh_from_db()
    assert (luis.first_name, luis.date_joined) == ("Luis", joined)


def test_a_user_changed_in_the_admin_gets_new_role_and_departments_and_may_be_renamed(admin_client):
    logistics = DepartmentFactory(code="logistics")
    DepartmentFactory(code="billing")
    luis = UserFactory(username="luis", email="luis@acme.example", role="staff")

    response = change(admin_client, luis, username="luis.vidal", role="manager", departments=[logistics.pk])

    assert response.status_code == 302, response.content.decode()[-3000:]
    luis.refresh_from_db()
    assert (luis.username, luis.email, luis.role) == ("luis.vidal", "luis@acme.example", "manager")
    assert list(luis.departments.values_list("code", flat=True)) == ["logistics"]
