"""Every department answers for its moments of truth, whoever noticed them (DESIGN §1)."""

import pytest

from experiences.models import Experience
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory
from touchpoints.models import TouchpointOwner


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    """A customer-service agent reports a late delivery; logistics co-owns delivery with production."""
    logistics, billing, delivery, invoice, users = two_departments()
    service = DepartmentFactory(code="customer-service", name="Customer service")
    production = DepartmentFactory(code="production", name="Production")
    TouchpointOwner.objects.create(touchpoint=delivery, department=production, primary=False)
    TouchpointFactory(code="loading-dock", name="Loading dock", owner=logistics)  # nobody measures it
    agent = UserFactory(username="cara", role="staff", departments=[service])
    acme = CustomerFactory(external_id="ACME-1", name="Acme Ltd")
    log(django_capture_on_commit_callbacks, experience(acme, delivery, "negative", intensity=4), user=agent)
    log(
        django_capture_on_commit_callbacks,
        experience(acme, delivery, "negative", intensity=3),
        experience(acme, delivery, "positive", intensity=3, department="production"),
        user=users["staff"],
    )
    users["production_manager"] = UserFactory(username="pat", role="manager", departments=[production])
    return users | {"agent": agent}


def test_a_late_delivery_reported_by_customer_service_is_charged_to_logistics(world):
    reported = Experience.objects.get(recorded_by=world["agent"])

    assert reported.department.code == "logistics"
    assert reported.reported_from_department.code == "customer-service"


def test_the_department_page_shows_the_share_of_negatives_other_departments_reported(client, world):
    client.force_login(world["manager"])

    response = client.get("/dashboards/logistics/?period=7")

    reported = response.context["reported"]
    assert (reported.negatives, reported.count, reported.share) == (2, 1, 0.5)
    assert reported.by_department == [("Customer service", 1)]
    body = response.content.decode()
    assert "Reported by other departments" in body and "most by Customer service (1)" in body


def test_each_co_owner_sees_the_whole_touchpoint_beside_its_share(client, world):
    client.force_login(world["production_manager"])

    owned = {o.touchpoint.code: o for o in client.get("/dashboards/production/?period=7").context["owned"]}

    delivery = owned["on-time-delivery"]
    assert (delivery.owners, delivery.share.experiences, delivery.whole.experiences) == (2, 1, 3)


def test_the_department_page_lists_the_touchpoints_nobody_measured(client, world):
    client.force_login(world["manager"])

    response = client.get("/dashboards/logistics/?period=7")

    owned = {o.touchpoint.code: o for o in response.context["owned"]}
    assert set(owned) == {"on-time-delivery", "loading-dock"}
    assert owned["loading-dock"].share is None and not owned["loading-dock"].measured
    assert "not measured in this period" in response.content.decode()


def test_the_api_tells_which_department_reported_an_experience(client, world):
    client.force_login(UserFactory(username="root", role="admin"))

    rows = client.get("/api/v1/experiences/").json()["results"]

    reported = {(r["department"], r["reported_from_department"]) for r in rows}
    assert ("logistics", "customer-service") in reported and ("logistics", "logistics") in reported
