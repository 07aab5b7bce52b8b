"""Who sees which page: managers their own departments, admins everything, staff their department's summary."""

import pytest

from journeys.models import Journey, JourneyStep
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, UserFactory


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    """Logistics and Billing, one customer of each, a journey through each department's touchpoint."""
    logistics, billing, delivery, invoice, users = two_departments()
    shipped_to = CustomerFactory(external_id="SHIP-1", name="Shipped Ltd")
    billed = CustomerFactory(external_id="BILL-1", name="Billed Ltd")
    log(
        django_capture_on_commit_callbacks,
        experience(shipped_to, delivery, "negative"),
        experience(billed, invoice, "negative"),
    )
    for slug, touchpoint in (("delivery-path", delivery), ("billing-path", invoice)):
        journey = Journey.objects.create(slug=slug, name=slug)
        JourneyStep.objects.create(journey=journey, touchpoint=touchpoint, stage=touchpoint.stage, position=1)
    return users


PAGES = [
    "/dashboards/",
    "/dashboards/logistics/",
    "/dashboards/billing/",
    "/customers/SHIP-1/",
    "/customers/BILL-1/",
    "/journeys/delivery-path/",
    "/journeys/billing-path/",
]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitor_is_sent_to_log_in(client, world, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/dashboards/", 200),
        ("/dashboards/logistics/", 200),
        ("/dashboards/billing/", 403),  # departments are the public catalogue: "not one of your departments"
        ("/customers/SHIP-1/", 200),
        ("/customers/BILL-1/", 404),
        ("/journeys/delivery-path/", 200),
        ("/journeys/billing-path/", 404),
    ],
)
def test_manager_sees_only_their_departments(client, world, url, status):
    client.force_login(world["manager"])
    assert client.get(url).status_code == status


@pytest.mark.parametrize("url", PAGES)
def test_admin_sees_every_page(client, world, url):
    client.force_login(world["admin"])
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/dashboards/logistics/", 200),
        ("/dashboards/billing/", 403),  # departments are the public catalogue: "not one of your departments"
        ("/customers/SHIP-1/", 403),
        ("/journeys/delivery-path/", 403),
    ],
)
def test_staff_see_only_their_department_summary(client, world, url, status):
    client.force_login(world["staff"])
    assert client.get(url).status_code == status


def test_staff_land_on_their_department_instead_of_the_company(client, world):
    client.force_login(world["staff"])
    response = client.get("/dashboards/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboards/logistics/"


def test_staff_summary_names_no_customer_and_no_colleague(client, world):
    client.force_login(world["staff"])
    page = client.get("/dashboards/logistics/?period=90").content.decode()
    assert "Shipped Ltd" not in page
    assert "Customers at risk" not in page
    assert "Who logged what" not in page


def test_staff_cannot_export_the_experiences_behind_the_summary(client, world):
    client.force_login(world["staff"])
    assert client.get("/dashboards/logistics/?export=experiences").status_code == 403


def test_staff_cannot_export_customers_at_risk(client, world):
    client.force_login(world["staff"])
    response = client.get("/dashboards/logistics/?export=at-risk")
    assert response.status_code == 400
    assert "SHIP-1" not in response.content.decode()


def test_company_page_of_a_manager_lists_only_their_departments(client, world):
    client.force_login(world["manager"])
    page = client.get("/dashboards/").content.decode()
    assert "Logistics" in page
    assert "Billing" not in page


def test_manager_export_of_the_company_holds_only_their_departments(client, world):
    client.force_login(world["manager"])
    response = client.get("/dashboards/?export=experiences")
    body = b"".join(response.streaming_content).decode()
    assert "SHIP-1" in body
    assert "BILL-1" not in body


def test_manager_without_department_is_told_to_ask_an_admin(client, world):
    client.force_login(UserFactory(username="new-manager", role="manager"))
    page = client.get("/dashboards/").content.decode()
    assert "You manage no department yet" in page


def test_staff_without_department_are_refused_with_a_reason(client, world):
    client.force_login(UserFactory(username="new-staff", role="staff"))
    assert client.get("/dashboards/").status_code == 403


def test_a_manager_opening_another_departments_dashboard_is_told_why_inside_the_layout(client, world):
    client.force_login(world["manager"])

    response = client.get("/dashboards/billing/")

    body = response.content.decode()
    assert response.status_code == 403
    assert "Billing is not one of your departments." in body
    assert 'class="site-header"' in body and 'href="/"' in body, "the menu and a link back"
