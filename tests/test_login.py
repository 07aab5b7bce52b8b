"""Login and logout: the door to the staff pages."""

from django.urls import reverse

LOG_URL = "/log/"


def test_login_page_asks_for_username_and_password(client, db):
    page = client.get(reverse("login")).content.decode()

    assert 'name="username"' in page
    assert 'name="password"' in page
    assert "Log in" in page


def test_staff_land_on_their_inbox_after_login(client, staff_user):
    response = client.post(reverse("login"), {"username": "ana", "password": "correct-horse-battery"}, follow=True)

    assert response.redirect_chain == [("/", 302), ("/inbox/", 302)]
    assert "Assigned to me" in response.content.decode()


def test_login_returns_to_the_page_asked_for(client, staff_user):
    response = client.post(
        reverse("login"), {"username": "ana", "password": "correct-horse-battery", "next": "/dashboards/"}
    )

    assert response.url == "/dashboards/"


def test_wrong_password_says_so_and_keeps_the_username(client, staff_user):
    response = client.post(reverse("login"), {"username": "ana", "password": "wrong"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Please enter a correct username and password" in page
    assert 'value="ana"' in page
    assert "_auth_user_id" not in client.session


def test_page_shows_who_is_logged_in_with_a_logout_button(client, staff_user):
    client.force_login(staff_user)

    page = client.get(LOG_URL).content.decode()

    assert ">ana</span>" in page
    assert f'action="{reverse("logout")}"' in page


def test_logout_ends_the_session_and_returns_to_login(client, staff_user):
    client.force_login(staff_user)

    response = client.post(reverse("logout"))

    assert response.url == reverse("login")
    assert client.get(LOG_URL).status_code == 302


def test_admin_link_is_shown_to_admins_only(client, staff_user, django_user_model):
    client.force_login(staff_user)
    staff_page = client.get(LOG_URL).content.decode()
    client.force_login(django_user_model.objects.create_user("root", role="admin", is_staff=True))
    admin_page = client.get(LOG_URL).content.decode()

    assert reverse("admin:index") not in staff_page
    assert reverse("admin:index") in admin_page
