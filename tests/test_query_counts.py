"""The pages people open all day cost the same number of queries with the demo data and with ten times it.

Every dashboard page is here (company, department, journey map, customer timeline, answers), as a
manager reads it, with its figures computed: no page's queries grow with the data (no N+1).
"""

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command

from accounts.models import User
from experiences.models import Experience
from journeys.models import Journey
from scoring.queries import customers_at_risk
from touchpoints.models import Department

SIZES = {"demo": (60, 1500), "10x demo": (600, 15000)}
# Each includes the session, the user, the reader's departments and the menu's inbox count; the department
# page also reads its survey scores, remembrance per touchpoint and themes. Dashboard figures are computed
# (their cache is emptied before each view).
QUERIES = {"/inbox/": 8, "department": 19, "customer": 8, "company": 12, "journey": 10, "answers": 7}


# Seeding ten times the demo takes a minute: `make test` runs that case beside the rest (the `slow` half).
@pytest.fixture(params=["demo", pytest.param("10x demo", marks=pytest.mark.slow)])
def demo(request, db, django_capture_on_commit_callbacks):
    customers, experiences = SIZES[request.param]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", customers=customers, experiences=experiences, stdout=io.StringIO())
    assert Experience.objects.count() >= experiences, "the data set has the size it claims"
    return User.objects.get(username="demo-manager")


def test_the_inbox_department_and_customer_pages_cost_the_same_queries_at_any_size(
    client, demo, django_assert_num_queries
):
    logistics = Department.objects.get(code="logistics")
    customer = customers_at_risk(limit=1, department_ids=[logistics.pk])[0].customer
    client.force_login(demo)
    journey = Journey.objects.order_by("slug").first()
    pages = {
        "/inbox/": "/inbox/",
        "department": "/dashboards/logistics/?period=90",
        "customer": f"/customers/{customer.external_id}/",
        "company": "/dashboards/?period=365",
        "journey": f"/journeys/{journey.slug}/?period=365",
        "answers": "/cases/answers/",
    }
    for name, url in pages.items():
        cache.clear()
        with django_assert_num_queries(QUERIES[name]):
            assert client.get(url).status_code == 200, url
