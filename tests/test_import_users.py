"""Admins bring in many people at once: a CSV of users with their roles and departments."""

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from tests.factories import DepartmentFactory, UserFactory

URL = "/admin/accounts/user/import/"
HEADER = "username,email,first_name,last_name,role,departments,language\n"


def upload(client, text: str):
    return client.post(URL, {"file": SimpleUploadedFile("users.csv", text.encode())})


def admin_client(client):
    client.force_login(UserFactory(username="ada", role="admin", is_staff=True, is_superuser=True))
    return client


def test_import_creates_and_updates_users_with_roles_and_departments(client, db):
    DepartmentFactory(code="logistics")
    DepartmentFactory(code="billing")
    UserFactory(username="ana", role="staff")

    response = upload(
        admin_client(client),
        HEADER
        + "ana,ana@acme.example,Ana,Ruiz,manager,logistics billing,es\nluis,luis@acme.example,Luis,,,logistics,\n",
    )

    assert response.status_code == 302
    ana, luis = User.objects.get(username="ana"), User.objects.get(username="luis")
    assert (ana.role, ana.email, ana.first_name, ana.language) == ("manager", "ana@acme.example", "Ana", "es")
    assert set(ana.departments.values_list("code", flat=True)) == {"logistics", "billing"}
    assert (luis.role, list(luis.departments.values_list("code", flat=True))) == ("staff", ["logistics"])
    assert not luis.has_usable_password()
    assert "1 new users, 1 updated" in client.get(response.url).content.decode()


def test_a_file_with_wrong_lines_imports_nothing_and_names_each_line(client, db):
    DepartmentFactory(code="logistics")

    response = upload(
        admin_client(client),
        HEADER + "luis,luis@acme.example,,,staff,logistics,\nrosa,not-an-address,,,boss,sales,fr\n",
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Line 3" in page
    assert "not an e-mail address" in page and "“boss” is not one of staff, manager, admin" in page
    assert "no department with code sales" in page and "language “fr” is not one of en, es" in page
    assert not User.objects.filter(username__in=["luis", "rosa"]).exists()


def test_a_file_without_the_header_says_which_columns_it_needs(client, db):
    response = upload(admin_client(client), "luis,luis@acme.example\n")

    assert "the first line must name the columns username, email" in response.content.decode()


def test_only_cx_admins_may_import(client, department):
    client.force_login(UserFactory(username="mo", role="manager", is_staff=True))

    assert client.get(URL).status_code == 403


def test_a_file_may_not_give_one_email_to_two_people(client, db):
    UserFactory(username="ana", email="ana@acme.example")

    response = upload(
        admin_client(client),
        HEADER + "luis,Ana@acme.example,,,staff,,\nrosa,rosa@acme.example,,,,,\nmar,rosa@acme.example,,,,,\n",
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "“Ana@acme.example” is already ana&#x27;s; the company sign-in finds people by e-mail" in page
    assert "“rosa@acme.example” is also on line 3, for rosa" in page
    assert not User.objects.filter(username__in=["luis", "rosa", "mar"]).exists()
