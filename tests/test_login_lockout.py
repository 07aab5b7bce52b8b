"""Repeated wrong passwords lock the username out from that address for a while."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = 0.25


def attempt(client, password: str, username: str = "ana", address: str = "203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_failures_below_the_limit_only_show_the_usual_error(client, staff_user):
    for _ in range(2):
        response = attempt(client, "wrong")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_reaching_the_limit_locks_out_with_429_and_says_how_long(client, staff_user):
    for _ in range(2):
        attempt(client, "wrong")

    response = attempt(client, "wrong")

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "Try again in 15 minutes" in response.content.decode()


def test_a_locked_out_user_cannot_log_in_even_with_the_right_password(client, staff_user):
    for _ in range(3):
        attempt(client, "wrong")

    response = attempt(client, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_out_is_per_address_so_an_attacker_cannot_lock_out_the_owner(client, staff_user):
    for _ in range(3):
        attempt(client, "wrong", address="203.0.113.66")

    response = attempt(client, PASSWORD, address="198.51.100.1")

    assert response.status_code == 302
    assert response.url == "/"  # the home page sends each role to its page


def test_a_successful_login_resets_the_count(client, staff_user):
    for _ in range(2):
        attempt(client, "wrong")
    attempt(client, PASSWORD)
    client.post(reverse("logout"))

    response = attempt(client, "wrong")

    assert response.status_code == 200
    assert AccessAttempt.objects.get().failures_since_start == 1


def test_the_admin_login_is_guarded_too(client, staff_user):
    for _ in range(3):
        client.post("/admin/login/", {"username": "ana", "password": "wrong"}, REMOTE_ADDR="203.0.113.7")

    response = client.post("/admin/login/", {"username": "ana", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 429


def test_the_lock_out_ends_after_the_cool_off(client, staff_user, settings):
    for _ in range(3):
        attempt(client, "wrong")
    settings.AXES_COOLOFF_TIME = 0.000001

    response = attempt(client, PASSWORD)

    assert response.status_code == 302
