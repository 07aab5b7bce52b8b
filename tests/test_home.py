"""The site's root sends each person to the page their role works in."""

import pytest

from .factories import UserFactory


def test_anonymous_visitor_is_sent_to_log_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("role", "landing"), [("staff", "/inbox/"), ("manager", "/dashboards/"), ("admin", "/dashboards/")]
)
def test_signed_in_user_lands_on_the_page_of_their_role(client, department, role, landing):
    client.force_login(UserFactory(role=role, departments=[department]))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == landing
