"""POST /api/v1/experiences/: idempotent batch ingestion through the one write path."""

import json

import pytest

from customers.models import Customer
from experiences.models import Experience
from integrations.models import Scope
from touchpoints.models import Touchpoint

from .api import key_client
from .factories import TouchpointFactory

URL = "/api/v1/experiences/"


@pytest.fixture
def writer(touchpoint, customer):
    return key_client(Scope.EXPERIENCES_WRITE)


def item(key="e-1", **fields):
    return {"id": key, "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"} | fields


def test_batch_reports_each_item_in_request_order_with_counts(writer):
    response = writer.post(URL, {"experiences": [item("a"), item("b", intensity=9), item("a")]}, format="json")
    body = response.json()
    assert response.status_code == 201
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "duplicate"]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (1, 1, 1)
    assert body["results"][2]["id"] == body["results"][0]["id"]


def test_invalid_item_never_costs_a_valid_one(writer):
    body = writer.post(URL, {"experiences": [item("bad", intensity=9), item("good")]}, format="json").json()
    assert body["results"][0]["errors"] == {"intensity": ["must be 1 to 5, got 9"]}
    assert list(Experience.objects.values_list("external_id", flat=True)) == ["good"]


def test_resending_the_same_ids_creates_nothing_new(writer):
    first = writer.post(URL, {"experiences": [item("a"), item("b")]}, format="json").json()
    second = writer.post(URL, {"experiences": [item("a"), item("b")]}, format="json")
    assert second.status_code == 200
    assert [r["status"] for r in second.json()["results"]] == ["duplicate", "duplicate"]
    assert [r["id"] for r in second.json()["results"]] == [r["id"] for r in first["results"]]
    assert Experience.objects.count() == 2


def test_single_item_object_is_accepted_with_defaults_from_the_touchpoint(writer):
    body = writer.post(URL, item("solo"), format="json").json()
    stored = Experience.objects.get(pk=body["results"][0]["id"])
    assert (stored.intensity, stored.stage, stored.department.code, stored.source) == (
        3,
        "interaction",
        "logistics",
        "api",
    )


def test_unknown_touchpoint_is_rejected_naming_the_valid_codes(writer):
    body = writer.post(URL, item(touchpoint="teleport"), format="json").json()
    assert body["results"][0]["status"] == "rejected"
    assert "valid codes are: on-time-delivery" in body["results"][0]["errors"]["touchpoint"][0]


def test_customer_object_is_upserted_by_external_id(writer):
    customer = {"external_id": "NEW-7", "name": "Nova SL", "email": "hola@nova.example"}
    writer.post(URL, item(customer=customer), format="json")
    assert Customer.objects.filter(external_id="NEW-7", name="Nova SL", email="hola@nova.example").exists()


def test_more_than_1000_items_is_413_and_stores_nothing(writer):
    response = writer.post(URL, {"experiences": [item(str(n)) for n in range(1001)]}, format="json")
    assert response.status_code == 413
    assert "at most 1000" in response.json()["detail"]
    assert not Experience.objects.exists()


def test_body_over_one_megabyte_is_413(writer):
    response = writer.post(URL, {"experiences": [item(note="x" * 1_100_000)]}, format="json")
    assert response.status_code == 413
    assert "1 MB" in response.json()["detail"]


def test_malformed_json_is_400_not_500(writer):
    response = writer.post(URL, '{"experiences": [', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_wrong_content_type_is_415(writer):
    response = writer.post(URL, "id=1&valence=negative", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/x-www-form-urlencoded" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [{"experiences": []}, {"experiences": "all of them"}, [item()], {}, {"experiences": [item()], "extra": 1}],
    ids=["empty list", "not a list", "bare list", "empty object", "extra field"],
)
def test_a_wrong_envelope_is_400_saying_what_to_send(writer, body):
    response = writer.post(URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "experiences" in response.json()["detail"]
    assert not Experience.objects.exists()


def test_non_object_items_are_rejected_one_by_one(writer):
    body = writer.post(URL, {"experiences": [7, item("ok")]}, format="json").json()
    assert [r["status"] for r in body["results"]] == ["rejected", "accepted"]


def test_a_single_post_is_two_statements_the_key_and_the_write(writer, django_assert_num_queries):
    """The API key's row, then one statement that checks the catalogue's version, finds the customer,
    inserts, marks the rescore and leaves the outbox row: no per-request catalogue or customer reads."""
    writer.post(URL, item("warm-up"), format="json")  # this process has read the catalogue
    with django_assert_num_queries(2):
        response = writer.post(URL, item("one"), format="json")
    assert response.status_code == 201
    assert Experience.objects.get(external_id="one").customer.external_id == "ACME-1"


def test_a_catalogue_change_is_seen_by_the_next_post(writer, department, django_assert_num_queries):
    writer.post(URL, item("warm-up"), format="json")
    TouchpointFactory(code="new-counter", owner=department)
    with django_assert_num_queries(4):  # key, write refused by the changed version, catalogue, write
        body = writer.post(URL, item("new", touchpoint="new-counter"), format="json").json()
    assert body["results"][0]["status"] == "accepted"
    Touchpoint.objects.filter(code="new-counter").update(active=False)
    body = writer.post(URL, item("gone", touchpoint="new-counter"), format="json").json()
    assert body["results"][0]["status"] == "rejected"
    assert "unknown touchpoint" in body["results"][0]["errors"]["touchpoint"][0]


def test_a_touchpoint_added_after_the_catalogue_was_read_is_not_refused(writer, department):
    """A reject may come from an old catalogue: it is checked again before anything is refused."""
    writer.post(URL, item("warm-up"), format="json")
    TouchpointFactory(code="brand-new", owner=department)
    body = writer.post(URL, {"experiences": [item("a", touchpoint="brand-new", intensity=9)]}, format="json").json()
    assert body["results"][0]["errors"] == {"intensity": ["must be 1 to 5, got 9"]}
    body = writer.post(URL, item("b", touchpoint="brand-new"), format="json").json()
    assert body["results"][0]["status"] == "accepted"


def test_keyless_items_get_their_own_ids_in_request_order(writer):
    sent = [item(None, note=f"n{n}", valence=("negative", "positive")[n % 2]) for n in range(40)]
    for i in sent:
        del i["id"]
    body = writer.post(URL, {"experiences": sent}, format="json").json()
    stored = dict(Experience.objects.values_list("pk", "note"))
    assert [stored[r["id"]] for r in body["results"]] == [f"n{n}" for n in range(40)]
