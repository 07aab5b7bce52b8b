"""Reads and upserts: customers with their score, the catalogue, department reports, experience lists."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from experiences.services import record_experiences
from integrations.models import Scope

from .api import key_client
from .factories import CustomerFactory


@pytest.fixture
def client(touchpoint, customer):
    return key_client(*Scope.values)


@pytest.fixture
def log(django_capture_on_commit_callbacks):
    """Record experiences and run the work queued after commit (the rescore), as a worker would."""

    def record(*items):
        with django_capture_on_commit_callbacks(execute=True):
            return record_experiences(items=list(items), source="api")

    return record


def negative(key, **fields):
    return {"id": key, "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"} | fields


def test_customer_read_includes_the_score(client, log):
    log(negative("n1"))
    score = client.get("/api/v1/customers/ACME-1/").json()["score"]
    assert score["recovery_debt"] == 5  # one negative of intensity 3 owes five standard positives
    assert score["at_risk"] is True
    assert score["counts"] == {"positive": 0, "neutral": 0, "negative": 1}
    assert score["index"] == 0
    assert score["scored_at"] is not None


def test_customer_without_experiences_has_a_null_score(client):
    score = client.get("/api/v1/customers/ACME-1/").json()["score"]
    assert score["index"] is None and score["recovery_debt"] is None
    assert score["counts"] == {"positive": None, "neutral": None, "negative": None}


def test_unknown_customer_is_404(client):
    assert client.get("/api/v1/customers/NOPE/").status_code == 404


def test_put_creates_then_updates_the_customer_by_external_id(client):
    created = client.put("/api/v1/customers/CRM-9/", {"name": "Gamma", "segment": "smb"}, format="json")
    updated = client.put("/api/v1/customers/CRM-9/", {"name": "Gamma Group", "segment": "enterprise"}, format="json")
    assert (created.status_code, updated.status_code) == (201, 200)
    assert Customer.objects.filter(external_id="CRM-9").values_list("name", "segment").get() == (
        "Gamma Group",
        "enterprise",
    )


def test_patch_changes_only_the_fields_sent(client):
    client.patch("/api/v1/customers/ACME-1/", {"relationship_level": "collaboration"}, format="json")
    customer = Customer.objects.get(external_id="ACME-1")
    assert (customer.name, customer.relationship_level) == ("Acme Ltd", "collaboration")


def test_patch_of_a_new_customer_without_name_says_name_is_required(client):
    response = client.patch("/api/v1/customers/NEW-1/", {"segment": "smb"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["errors"]
    assert not Customer.objects.filter(external_id="NEW-1").exists()


def test_invalid_customer_field_is_400_with_what_to_fix(client):
    response = client.put("/api/v1/customers/ACME-1/", {"name": "A", "email": "not-an-email"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["email"]


def test_customer_list_is_cursor_paginated_and_filters_at_risk(client, log):
    CustomerFactory(external_id="ZED-1", name="Zed")
    log(negative("n1"))
    page = client.get("/api/v1/customers/?page_size=1").json()
    assert [c["external_id"] for c in page["results"]] == ["ACME-1"]
    assert [c["external_id"] for c in client.get(page["next"]).json()["results"]] == ["ZED-1"]
    at_risk = client.get("/api/v1/customers/?at_risk=true").json()["results"]
    assert [c["external_id"] for c in at_risk] == ["ACME-1"]


def test_touchpoints_list_their_owning_departments(client):
    [touchpoint] = client.get("/api/v1/touchpoints/").json()
    assert touchpoint["code"] == "on-time-delivery"
    assert (touchpoint["departments"], touchpoint["primary_department"]) == (["logistics"], "logistics")


def test_departments_are_listed_by_code(client):
    assert client.get("/api/v1/departments/").json() == [{"code": "logistics", "name": "Logistics", "active": True}]


def test_department_report_counts_the_period(client, log):
    today = timezone.localdate()
    log(negative("n1", expectation="missed", outcome="failed"), negative("p1", valence="positive", expectation="met"))
    report = client.get(f"/api/v1/departments/logistics/report/?from={today}&to={today}").json()
    assert (report["experiences"], report["positives"], report["negatives"], report["failed"]) == (2, 1, 1, 1)
    assert report["calibration"]["missed"] == 1 and report["calibration"]["missed_share"] == 0.5
    assert report["index"] is not None


def test_department_report_of_an_empty_period_has_no_index(client, log):
    log(negative("n1"))
    report = client.get("/api/v1/departments/logistics/report/?from=2020-01-01&to=2020-01-31").json()
    assert (report["experiences"], report["index"]) == (0, None)


def test_department_report_with_a_bad_date_says_what_to_fix(client):
    response = client.get("/api/v1/departments/logistics/report/?from=yesterday")
    assert response.status_code == 400
    assert "from" in response.json()["errors"]


def test_department_report_with_from_after_to_is_400(client):
    response = client.get("/api/v1/departments/logistics/report/?from=2026-02-01&to=2026-01-01")
    assert response.status_code == 400


def test_experiences_filter_by_valence_and_time(client, log):
    now = timezone.now()
    log(
        negative("old", occurred_at=(now - timedelta(days=10)).isoformat()),
        negative("new", occurred_at=(now - timedelta(hours=1)).isoformat()),
        negative("pos", valence="positive"),
    )
    since = (now - timedelta(days=1)).isoformat().replace("+", "%2B")
    rows = client.get(f"/api/v1/experiences/?valence=negative&since={since}").json()["results"]
    assert [r["key"] for r in rows] == ["new"]


def test_experiences_are_cursor_paginated_newest_first(client, log):
    now = timezone.now()
    log(*(negative(f"k{n}", occurred_at=(now - timedelta(hours=n)).isoformat()) for n in range(3)))
    first = client.get("/api/v1/experiences/?page_size=2").json()
    second = client.get(first["next"]).json()
    assert [r["key"] for r in first["results"] + second["results"]] == ["k0", "k1", "k2"]
    assert second["next"] is None


def test_experience_filter_with_a_bad_valence_is_400(client):
    response = client.get("/api/v1/experiences/?valence=furious")
    assert response.status_code == 400
    assert "valence" in response.json()["errors"]


def test_one_experience_is_read_by_id(touchpoint, customer):
    pk = (
        record_experiences(
            items=[{"id": "one", "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"}],
            source="api",
        )
        .results[0]
        .id
    )
    client = key_client(Scope.EXPERIENCES_READ)
    body = client.get(f"/api/v1/experiences/{pk}/").json()
    assert (body["id"], body["key"], body["valence"], body["emotion"]) == (pk, "one", "negative", "")
    assert client.get("/api/v1/experiences/999999999/").status_code == 404
    assert client.get("/api/v1/experiences/99999999999999999999999/").status_code == 404


def test_reading_one_experience_takes_three_queries(touchpoint, customer, django_assert_num_queries):
    item = {"id": "one", "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"}
    pk = record_experiences(items=[item], source="api").results[0].id
    client = key_client(Scope.EXPERIENCES_READ)
    # the key, the key's departments (the access gate), the experience with its customer, touchpoint and department
    with django_assert_num_queries(3):
        assert client.get(f"/api/v1/experiences/{pk}/").status_code == 200


def test_an_experience_of_long_ago_reads_as_a_valid_date_time(touchpoint, customer):
    """Madrid kept local mean time (-00:14:44) until 1901: an offset with seconds, which RFC 3339 and the
    schema's date-time refuse. Such a moment reads in UTC, the same instant."""
    items = [
        {"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative", "occurred_at": at}
        for at in ("1750-08-31T04:50:35.35Z", "2026-03-01T14:30:00Z")
    ]
    old, recent = (r.id for r in record_experiences(items=items, source="api").results)
    client = key_client(Scope.EXPERIENCES_READ)
    assert client.get(f"/api/v1/experiences/{old}/").json()["occurred_at"] == "1750-08-31T04:50:35.350000Z"
    assert client.get(f"/api/v1/experiences/{recent}/").json()["occurred_at"] == "2026-03-01T15:30:00+01:00"
