"""The dashboards' figures come from the cache on Redis until a rescore changes them, and never cross access scopes."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.access import reader_for
from dashboards.cache import COMPUTING, entry_key
from dashboards.filters import read_filters
from journeys.models import Journey, JourneyStep
from scoring.models import DailyRollup, MonthlyRollup, WeeklyRollup
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, UserFactory
from tests.worker import redis_outage
from touchpoints.models import Department, Touchpoint

# A period that is whole months (30 days ending on the 30th of November) reads no daily rollups at all.
ROLLUPS = tuple(model._meta.db_table for model in (DailyRollup, WeeklyRollup, MonthlyRollup))
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
    return [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in ROLLUPS)]


def main_of(response) -> str:
    """The page's `<main>`, without the per-request CSRF tokens."""
    main = response.content.decode().split('<main class="container" id="main" tabindex="-1">')[1].split("</main>")[0]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', main)


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


def test_within_the_stale_window_a_rescore_shows_after_the_window(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.CXM_DASHBOARD_STALE_SECONDS = 5
    client.force_login(world["manager"])
    first = client.get("/dashboards/logistics/")
    assert first.context["report"].experiences == 1
    computed = first.context["computed_at"]
    assert f"figures as of {timezone.localtime(computed):%H:%M:%S}" in first.content.decode()

    log(django_capture_on_commit_callbacks, experience(world["customer"], world["delivery"], "positive"))

    with time_machine.travel(computed + timedelta(seconds=4), tick=False):
        within = client.get("/dashboards/logistics/")
    assert within.context["report"].experiences == 1, "within the window the page keeps the figures it had"
    assert within.context["computed_at"] == computed, "and says when they were computed"
    with time_machine.travel(computed + timedelta(seconds=6), tick=False):
        after = client.get("/dashboards/logistics/")
    assert (after.context["report"].experiences, after.context["report"].positives) == (2, 1)
    assert after.context["computed_at"] > computed


def test_without_a_rescore_the_figures_outlive_the_window(client, world, settings, django_assert_num_queries):
    settings.CXM_DASHBOARD_STALE_SECONDS = 5
    client.force_login(world["manager"])
    computed = client.get("/dashboards/logistics/").context["computed_at"]
    with (
        time_machine.travel(computed + timedelta(seconds=30), tick=False),
        django_assert_num_queries(CACHED_DEPARTMENT_QUERIES),
    ):
        assert client.get("/dashboards/logistics/").context["computed_at"] == computed


def test_while_another_view_recomputes_a_page_past_the_window_serves_the_stored_figures(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.CXM_DASHBOARD_STALE_SECONDS = 5
    client.force_login(world["manager"])
    computed = client.get("/dashboards/logistics/").context["computed_at"]
    log(django_capture_on_commit_callbacks, experience(world["customer"], world["delivery"], "positive"))
    filters = read_filters(QueryDict(""))[1]
    computing = (
        entry_key(f"department:{Department.objects.get(code='logistics').pk}", reader_for(world["manager"]), filters)
        + COMPUTING
    )
    cache.set(computing, 1, timeout=30)  # another worker is recomputing this page
    with time_machine.travel(computed + timedelta(seconds=6), tick=False):
        assert client.get("/dashboards/logistics/").context["report"].experiences == 1
        cache.delete(computing)
        assert client.get("/dashboards/logistics/").context["report"].experiences == 2


@pytest.mark.parametrize("url", ["/dashboards/logistics/?period=30", "/dashboards/?period=30"])
def test_a_cached_view_renders_the_same_page_as_a_fresh_one(client, world, url, django_capture_on_commit_callbacks):
    log(
        django_capture_on_commit_callbacks,
        experience(world["customer"], world["delivery"], "negative"),
        user=world["staff"],
    )
    client.force_login(world["manager"])
    with CaptureQueriesContext(connection) as fresh_queries:
        fresh = client.get(url)
    with CaptureQueriesContext(connection) as cached_queries:
        cached = client.get(url)
    assert rollup_reads(fresh_queries) and not rollup_reads(cached_queries), "the second view is a cached one"
    assert main_of(cached) == main_of(fresh)
    reader_name = f'<span class="user-name">{world["manager"].get_full_name() or "mia"}</span>'
    assert reader_name in fresh.content.decode() and reader_name in cached.content.decode()
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', partial
    ).strip() in main_of(fresh), "the htmx partial is the page's content"


def test_each_reader_gets_their_own_csrf_token_in_a_shared_page(world):
    other_manager = UserFactory(username="max", role="manager", departments=[Department.objects.get(code="logistics")])
    client, other = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    client.force_login(world["manager"])
    first = client.get("/dashboards/logistics/")
    other.force_login(other_manager)
    with CaptureQueriesContext(connection) as queries:
        second = other.get("/dashboards/logistics/")
    assert not rollup_reads(queries), "the second reader gets the first one's stored figures and HTML"
    assert main_of(second) == main_of(first), "one scope, one page"
    at_risk_token = r'action="/cases/open/"[^>]*><input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"'
    theirs = re.findall(at_risk_token, first.content.decode())[0]
    mine = re.findall(at_risk_token, second.content.decode())[0]
    refused = other.post("/cases/open/", {"customer": "SHIP-1", "csrfmiddlewaretoken": theirs})
    assert refused.status_code == 403, "the first reader's token is not the second one's"
    opened = other.post("/cases/open/", {"customer": "SHIP-1", "csrfmiddlewaretoken": mine})
    assert opened.status_code == 302, "the form of the shared table opens a case for the reader who sees it"


def test_staff_and_other_departments_never_receive_the_logistics_managers_page(
    client, world, django_capture_on_commit_callbacks
):
    log(
        django_capture_on_commit_callbacks,
        experience(world["customer"], world["delivery"], "negative"),
        user=world["manager"],
    )
    client.force_login(world["manager"])
    managers = client.get("/dashboards/logistics/").content.decode()
    assert "Who logged what" in managers and "SHIP-1" in managers

    client.force_login(world["staff"])
    staff = client.get("/dashboards/logistics/")
    assert staff.status_code == 200
    assert "Who logged what" not in staff.content.decode() and "SHIP-1" not in staff.content.decode()
    assert "All departments" not in main_of(staff)

    client.force_login(world["billing manager"])
    assert client.get("/dashboards/logistics/").status_code == 403
    assert "Logistics" not in main_of(client.get("/dashboards/"))


def test_while_redis_is_down_the_page_is_computed_and_rendered_from_the_database(client, world, own_broker, settings):
    settings.CXM_DASHBOARD_STALE_SECONDS = 5
    client.force_login(world["manager"])
    stored = client.get("/dashboards/logistics/")
    with redis_outage(own_broker):
        down = client.get("/dashboards/logistics/")
    assert down.status_code == 200
    assert down.context["computed_at"] > stored.context["computed_at"], "computed again, not served from Redis"
    assert down.context["report"].experiences == 1
    assert "On-time delivery" in main_of(down) and "SHIP-1" in main_of(down)


@pytest.fixture
def journey(world):
    journey = Journey.objects.create(slug="delivery", name="Delivery")
    JourneyStep.objects.create(journey=journey, touchpoint=world["delivery"], stage="interaction", position=1)
    return journey


def step_volumes(response) -> list[tuple[str, int]]:
    return [(f.step.touchpoint.code, f.report.experiences) for f in response.context["map"].steps]


def test_a_second_view_of_a_journey_reads_no_rollups_until_a_rescore(
    client, world, journey, django_capture_on_commit_callbacks
):
    client.force_login(world["manager"])
    with CaptureQueriesContext(connection) as first:
        assert step_volumes(client.get("/journeys/delivery/?period=30")) == [("on-time-delivery", 1)]
    assert rollup_reads(first), "the first view computes the steps' figures from the rollups"
    with CaptureQueriesContext(connection) as second:
        response = client.get("/journeys/delivery/?period=30")
    assert not rollup_reads(second) and step_volumes(response) == [("on-time-delivery", 1)]
    assert "figures as of" in response.content.decode()

    log(django_capture_on_commit_callbacks, experience(world["customer"], world["delivery"], "positive"))

    assert step_volumes(client.get("/journeys/delivery/?period=30")) == [("on-time-delivery", 2)]


def test_a_new_journey_step_shows_on_the_next_view(client, world, journey, django_capture_on_commit_callbacks):
    client.force_login(world["admin"])
    assert step_volumes(client.get("/journeys/delivery/")) == [("on-time-delivery", 1)]
    invoice = Touchpoint.objects.get(code="clear-invoice")
    with django_capture_on_commit_callbacks(execute=True):
        JourneyStep.objects.create(journey=journey, touchpoint=invoice, stage="interaction", position=2)

    assert step_volumes(client.get("/journeys/delivery/")) == [("on-time-delivery", 1), ("clear-invoice", 2)]
