"""Share of wallet: our revenue over the customer's category spend, against the experience index."""

import csv
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from feedback import queries
from scoring.models import CustomerScore

from .api import full_client
from .factories import CustomerFactory, UserFactory


def everyone():
    """Every customer: these tests read the queries below the access gate."""
    return Customer.objects.all()


def customer(spend, revenue, index=None, **kwargs):
    c = CustomerFactory(
        category_spend=None if spend is None else Decimal(spend),
        our_revenue=None if revenue is None else Decimal(revenue),
        **kwargs,
    )
    if index is not None:
        CustomerScore.objects.create(customer=c, index=index, scored_at=timezone.now())
    return c


def share(c) -> float | None:
    c.refresh_from_db()
    return None if c.share_of_wallet is None else float(c.share_of_wallet)


def test_share_is_revenue_over_category_spend_in_percent(db):
    assert share(customer("20000", "5000")) == pytest.approx(25.0)
    assert share(customer("300", "100")) == pytest.approx(33.33)


@pytest.mark.parametrize(("spend", "revenue"), [(None, "100"), ("100", None), ("0", "100")])
def test_share_is_unknown_without_both_figures(db, spend, revenue):
    assert share(customer(spend, revenue)) is None


def test_revenue_above_the_estimate_caps_at_100(db):
    assert share(customer("1000", "1500")) == 100.0


@pytest.mark.parametrize(("spend", "revenue", "expected"), [("20000", "5000", 25.0), ("1000", "1500", 100.0)])
def test_api_page_and_csv_give_the_same_percentage(client, department, spend, revenue, expected):
    customer(spend, revenue, index=72, name="Acme Ltd", external_id="ACME-9")
    assert full_client().get("/api/v1/customers/ACME-9/").json()["share_of_wallet"] == expected
    client.force_login(UserFactory(role="admin"))
    assert f"{expected:.1f} %" in client.get("/ladder/share-of-wallet/").content.decode()
    (row,) = csv.DictReader(
        io.StringIO(b"".join(client.get("/ladder/share-of-wallet/?format=csv").streaming_content).decode())
    )
    assert float(row["share_pct"]) == expected


def test_api_upsert_answers_with_the_new_share(db):
    api = full_client()
    api.put("/api/v1/customers/CRM-9/", {"name": "Gamma", "category_spend": "400", "our_revenue": "100"}, format="json")
    changed = api.patch("/api/v1/customers/CRM-9/", {"our_revenue": "300"}, format="json")
    assert changed.json()["share_of_wallet"] == 75.0


def test_table_sorts_by_share_with_unknown_last(db):
    customer("100", "10", name="Low")
    customer("100", "90", name="High")
    customer(None, None, name="Unknown")
    assert [c.name for c in queries.wallet_rows(customers=everyone(), sort="-share")] == [
        "High",
        "Low",
        "Unknown",
    ]
    assert [c.name for c in queries.wallet_rows(customers=everyone(), sort="share")] == [
        "Low",
        "High",
        "Unknown",
    ]


def test_bands_give_the_mean_index_per_quarter_of_share(db):
    customer("100", "10", index=40)
    customer("100", "20", index=60)
    customer("100", "90", index=85)
    customer("100", "100")  # no score yet: counted, not averaged
    bands = {(b.low, b.high): (b.customers, b.mean_index) for b in queries.wallet_bands(customers=everyone())}
    assert bands == {(0, 25): (2, 50.0), (25, 50): (0, None), (50, 75): (0, None), (75, 100): (2, 85.0)}


def test_page_shows_share_beside_the_experience_index(client, department):
    customer("20000", "5000", index=72, name="Acme Ltd", external_id="ACME-9")
    client.force_login(UserFactory(role="admin"))
    body = client.get("/ladder/share-of-wallet/").content.decode()
    assert "Acme Ltd" in body and "25.0 %" in body and ">72<" in body
    assert ">€20,000<" in body and ">€5,000<" in body  # money with the company currency and separators


def test_page_shows_money_the_spanish_way_to_a_spanish_reader(client, department):
    customer("2131200", "5000", index=72, external_id="ACME-9")
    client.force_login(UserFactory(role="admin", language="es"))
    body = client.get("/ladder/share-of-wallet/").content.decode()
    assert ">2.131.200\xa0€<" in body and ">Cuota de cliente<" in body


def test_page_exports_csv(client, department):
    customer("20000", "5000", index=72, external_id="ACME-9")
    client.force_login(UserFactory(role="admin"))
    response = client.get("/ladder/share-of-wallet/?format=csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert lines[1].startswith("ACME-9,") and lines[1].endswith(",25.0,72.0")
