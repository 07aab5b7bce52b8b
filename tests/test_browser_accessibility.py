"""axe-core on every page of CXM, on a desk (1280 px) and a phone (375 px): no serious or critical finding.

The data is the demo company (a small `seed_demo`), so every page has real tables, charts and cases.
The API docs are a third-party page (Swagger UI) and are left out.
"""

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import Customer
from feedback.models import Case, Invitation, Survey
from feedback.services import create_invitations
from feedback.tokens import invitation_token
from journeys.models import Journey
from tests.axe import serious_violations

pytestmark = pytest.mark.browser

WIDTHS = [1280, 375]


@pytest.fixture
def demo(transactional_db, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", customers=40, experiences=1500, verbosity=0)
    survey = Survey.objects.first() or Survey.objects.create(
        slug="demo-nps", name="Demo NPS", kind="nps", touchpoint=Journey.objects.first().steps.first().touchpoint
    )
    customer = Customer.objects.exclude(email="").first()
    with django_capture_on_commit_callbacks(execute=True):
        create_invitations(survey=survey, customers=[customer])
    return {
        "customer": Customer.objects.filter(experiences__isnull=False).first().external_id,
        "journey": Journey.objects.first().slug,
        "case": Case.objects.order_by("pk").first().pk,
        "survey": reverse("survey-answer", args=[invitation_token(Invitation.objects.order_by("pk").last())]),
    }


def check(page, paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        response = page.goto(path)
        page.wait_for_load_state("networkidle")
        assert response.status < 500, path
        found += serious_violations(page)
    return found


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_of_a_manager_and_admin_passes_axe(demo, page, log_in, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in("demo-admin", "every-department-counts")

    found = check(
        page,
        [
            "/log/",
            "/dashboards/",
            "/dashboards/logistics/",
            f"/customers/{demo['customer']}/",
            f"/journeys/{demo['journey']}/",
            "/cases/",
            f"/cases/{demo['case']}/",
            "/cases/answers/",
            "/ladder/",
            "/ladder/share-of-wallet/",
            "/profile/",
            "/login/second-factor/set-up/",
        ],
    )

    assert not found, "\n".join(found)


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_of_visitors_and_staff_pass_axe(demo, page, log_in, width):
    page.set_viewport_size({"width": width, "height": 900})
    found = check(page, ["/login/", demo["survey"], "/no-such-page/"])
    log_in("demo-staff", "moments-of-truth")
    found += check(page, ["/log/", "/dashboards/customer-service/", "/cases/"])  # the last: 403 for staff

    assert not found, "\n".join(found)
