"""The site's root sends each person to the page their role works in."""

import re

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


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("staff", ["Inbox", "Log experience", "Dashboards", "Your settings"], ["Cases", "Ladder", "Admin"]),
        ("manager", ["Inbox", "Log experience", "Dashboards", "Cases", "Ladder", "Your settings"], ["Admin"]),
        ("admin", ["Inbox", "Log experience", "Dashboards", "Cases", "Ladder", "Admin", "Your settings"], []),
    ],
)
def test_the_menu_shows_each_role_what_it_may_use(client, department, role, shown, hidden):
    client.force_login(UserFactory(role=role, departments=[department]))
    menu = client.get("/log/").content.decode().split("<main", 1)[0]
    links = re.findall(r'<a href="[^"]+"[^>]*>([^<]+)', menu)
    assert [label.strip() for label in links if label.strip() != "CXM"] == shown
    assert not set(hidden) & {label.strip() for label in links}
