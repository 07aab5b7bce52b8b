"""The dashboards' figures come from the cache on Redis until a rescore changes them, and never cross access scopes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scoring.models import DailyRollup
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, UserFactory
from touchpoints.models import Department

ROLLUPS = DailyRollup._meta.db_table
# A cached view still reads the session, the user, the reader's departments, the menu's inbox count,
# the department (access gate) and the segments of the filter form; its figures cost nothing.
CACHED_DEPARTMENT_QUERIES = 6


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    logistics, billing, delivery, invoice, users = two_departments()
    shipped_to = CustomerFactory(external_id="SHIP-1")
    billed = CustomerFactory(external_id="BILL-1")
    log(
        django_capture_on_commit_callbacks,
        experience(shipped_to, delivery, "negative"),
        experience(billed, invoice, "positive"),
        experience(billed, invoice, "positive"),
    )
    users["billing manager"] = UserFactory(username="bob", role="manager", departments=[billing])
    return {"delivery": delivery, "customer": shipped_to, **users}


def rollup_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if ROLLUPS in q["sql"]]


def test_a_second_view_reads_no_rollups(client, world, django_assert_num_queries):
    client.force_login(world["manager"])
    with CaptureQueriesContext(connection) as first:
        assert client.get("/dashboards/logistics/?period=30").status_code == 200
    assert rollup_reads(first), "the first view computes its figures from the rollups"
    with django_assert_num_queries(CACHED_DEPARTMENT_QUERIES) as second:
        response = client.get("/dashboards/logistics/?period=30")
    assert not rollup_reads(second)
    assert response.context["report"].experiences == 1


def test_a_new_experience_shows_on_the_next_view_after_scoring(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["manager"])
    assert client.get("/dashboards/logistics/").context["report"].negatives == 1
    assert client.get("/dashboards/").context["ranking"][0][0].report.experiences == 1

    log(django_capture_on_commit_callbacks, experience(world["customer"], world["delivery"], "positive"))

    department = client.get("/dashboards/logistics/").context["report"]
    assert (department.experiences, department.positives) == (2, 1)
    assert client.get("/dashboards/").context["ranking"][0][0].report.experiences == 2


def test_renaming_a_department_shows_on_the_next_view(client, world, django_capture_on_commit_callbacks):
    client.force_login(world["manager"])
    assert client.get("/dashboards/").context["ranking"][0][0].department.name == "Logistics"
    with django_capture_on_commit_callbacks(execute=True):
        department = Department.objects.get(code="logistics")
        department.name = "Logistics and delivery"
        department.save()
    assert client.get("/dashboards/").context["ranking"][0][0].department.name == "Logistics and delivery"


def test_managers_of_other_departments_never_see_each_others_cached_page(client, world):
    client.force_login(world["manager"])
    logistics_page = client.get("/dashboards/?period=30")
    assert [row.department.code for row, _, _ in logistics_page.context["ranking"]] == ["logistics"]

    client.force_login(world["billing manager"])
    billing_page = client.get("/dashboards/?period=30")
    assert [row.department.code for row, _, _ in billing_page.context["ranking"]] == ["billing"]
    assert billing_page.context["ranking"][0][0].report.experiences == 2
    assert b"Logistics" not in billing_page.content.split(b"<main")[-1]


def test_staff_never_get_the_managers_cached_figures(client, world):
    client.force_login(world["manager"])
    assert client.get("/dashboards/logistics/").context["at_risk"], "the manager's page lists customers at risk"
    client.force_login(world["staff"])
    page = client.get("/dashboards/logistics/")
    assert page.status_code == 200
    assert page.context["at_risk"] == []
    assert b"SHIP-1" not in page.content
