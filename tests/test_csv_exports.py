"""Every CSV export neutralises text a spreadsheet would run as a formula (=, +, -, @, tab, CR)."""

import csv
import io
from decimal import Decimal

import pytest

from dashboards.exports import FORMULA_START
from journeys.models import Journey, JourneyStep
from tests.dashboard_data import experience, log
from tests.factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory

HOSTILE_CUSTOMER = '=HYPERLINK("http://evil.example","Acme")'


@pytest.fixture
def hostile(db, django_capture_on_commit_callbacks):
    """Names and notes that start with every formula character, behind every export."""
    department = DepartmentFactory(code="logistics", name="-Logistics")
    touchpoint = TouchpointFactory(code="on-time-delivery", name="+Delivery", owner=department)
    customer = CustomerFactory(
        external_id="ACME-1",
        name=HOSTILE_CUSTOMER,
        segment="\tenterprise",
        category_spend=Decimal("1000"),
        our_revenue=Decimal("250"),
    )
    staff = UserFactory(username="@sam", role="staff", departments=[department])
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "negative", intensity=5, note="\r=1+1"),
        user=staff,
    )
    journey = Journey.objects.create(slug="order-to-delivery", name="Order to delivery")
    JourneyStep.objects.create(journey=journey, touchpoint=touchpoint, stage="interaction", position=1)
    return UserFactory(username="ada", role="admin")


EXPORTS = [
    "/dashboards/?period=7&export=experiences",
    "/dashboards/?period=7&export=departments",
    "/dashboards/?period=7&export=trend",
    "/dashboards/logistics/?period=7&export=experiences",
    "/dashboards/logistics/?period=7&export=trend",
    "/dashboards/logistics/?period=7&export=heat-map",
    "/dashboards/logistics/?period=7&export=moments",
    "/dashboards/logistics/?period=7&export=calibration",
    "/dashboards/logistics/?period=7&export=failed",
    "/dashboards/logistics/?period=7&export=at-risk",
    "/dashboards/logistics/?period=7&export=activity",
    "/journeys/order-to-delivery/?period=7&export=steps",
    "/journeys/order-to-delivery/?period=7&export=experiences",
    "/customers/ACME-1/?export=experiences",
    "/ladder/share-of-wallet/?format=csv",
]


def cells(response) -> list[str]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("url", EXPORTS)
def test_no_cell_of_an_export_starts_a_formula(client, hostile, url):
    client.force_login(hostile)
    exported = cells(client.get(url))
    assert [c for c in exported if c.startswith(FORMULA_START) and not is_number(c)] == []


@pytest.mark.parametrize(
    ("url", "neutralised"),
    [
        ("/dashboards/?period=7&export=experiences", ["'" + HOSTILE_CUSTOMER, "'\r=1+1", "'@sam"]),
        ("/dashboards/?period=7&export=departments", ["'-Logistics"]),
        ("/dashboards/logistics/?period=7&export=heat-map", ["'+Delivery"]),
        ("/dashboards/logistics/?period=7&export=at-risk", ["'" + HOSTILE_CUSTOMER]),
        ("/dashboards/logistics/?period=7&export=activity", ["'@sam", "'+Delivery"]),
        ("/journeys/order-to-delivery/?period=7&export=steps", ["'+Delivery"]),
        ("/customers/ACME-1/?export=experiences", ["'\r=1+1", "'+Delivery"]),
        ("/ladder/share-of-wallet/?format=csv", ["'" + HOSTILE_CUSTOMER, "'\tenterprise"]),
    ],
)
def test_text_keeps_its_content_behind_a_quote(client, hostile, url, neutralised):
    client.force_login(hostile)
    exported = cells(client.get(url))
    assert [value for value in neutralised if value not in exported] == []


def test_numbers_stay_numbers(client, hostile):
    client.force_login(hostile)
    exported = cells(client.get("/ladder/share-of-wallet/?format=csv"))
    assert "25.0" in exported and "1000.00" in exported
