"""Idempotency with Stripe's semantics, per integration; scopes decide who may change a customer."""

import pytest

from customers.models import Customer
from experiences.models import Experience
from integrations.models import Scope

from .api import key_client

URL = "/api/v1/experiences/"


def item(key="e-1", **fields):
    return {"id": key, "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"} | fields


def send(client, *items):
    return client.post(URL, {"experiences": list(items)}, format="json").json()


@pytest.fixture
def writer(touchpoint, customer):
    return key_client(Scope.EXPERIENCES_WRITE, Scope.CUSTOMERS_WRITE)


def test_each_api_key_has_its_own_id_namespace(writer):
    other = key_client(Scope.EXPERIENCES_WRITE)
    mine = send(writer, item("1", note="first integration"))["results"][0]
    theirs = send(other, item("1", note="second integration"))["results"][0]
    assert (mine["status"], theirs["status"]) == ("accepted", "accepted")
    assert mine["id"] != theirs["id"]
    assert Experience.objects.get(pk=theirs["id"]).note == "second integration"


def test_ids_are_trimmed(writer):
    first = send(writer, item("x"))["results"][0]
    again = send(writer, item(" x"), item("x "))["results"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert {r["id"] for r in again} == {first["id"]}
    assert again[0]["key"] == "x"


@pytest.mark.parametrize("key", ["x\u200b", "x\u0007", "\ufeffx", "a\u2028b"])
def test_ids_with_control_or_invisible_characters_are_rejected(writer, key):
    result = send(writer, item(key))["results"][0]
    assert result["status"] == "rejected"
    assert "invisible" in result["errors"]["id"][0]
    assert not Experience.objects.exists()


def test_replayed_duplicate_changes_no_customer(writer):
    original = {"external_id": "ACME-1", "name": "Acme Ltd"}
    send(writer, item("a", customer=original))
    answer = send(writer, item("a", customer=original))["results"][0]
    assert answer["status"] == "duplicate"
    Customer.objects.filter(external_id="ACME-1").update(name="Renamed by the CRM")
    send(writer, item("a", customer=original))
    assert Customer.objects.get(external_id="ACME-1").name == "Renamed by the CRM"


def test_changed_payload_is_a_conflict_that_changes_nothing(writer, customer):
    first = send(writer, item("a", intensity=2))["results"][0]
    changed = {"external_id": "ACME-1", "name": "Attacker", "email": "attacker@example.com"}
    answer = send(writer, item("a", intensity=5, customer=changed))
    result = answer["results"][0]
    assert (answer["conflicts"], answer["accepted"]) == (1, 0)
    assert result["status"] == "conflict"
    assert result["id"] == first["id"]
    assert sorted(result["errors"]) == ["customer", "intensity"]
    assert Experience.objects.get().intensity == 2
    assert Customer.objects.get(external_id="ACME-1").email == customer.email


def test_inline_customer_creation_needs_only_experiences_write(touchpoint):
    client = key_client(Scope.EXPERIENCES_WRITE)
    new = {"external_id": "NEW-1", "name": "Nova SL", "email": "hola@nova.example", "segment": "smb"}
    result = send(client, item("a", customer=new))["results"][0]
    assert result["status"] == "accepted"
    assert Customer.objects.filter(external_id="NEW-1", name="Nova SL", segment="smb").exists()


def test_changing_an_existing_customer_needs_customers_write(touchpoint, customer):
    client = key_client(Scope.EXPERIENCES_WRITE)
    hostile = {"external_id": "ACME-1", "name": "Acme Ltd", "email": "attacker@example.com", "segment": "x"}
    answer = send(client, item("a", customer=hostile), item("b"))
    refused, neighbour = answer["results"]
    assert refused["status"] == "rejected"
    assert "customers:write" in refused["errors"]["customer"][0]
    assert "email, segment" in refused["errors"]["customer"][0]
    assert neighbour["status"] == "accepted"
    stored = Customer.objects.get(external_id="ACME-1")
    assert (stored.email, stored.segment) == (customer.email, customer.segment)


def test_sending_a_customers_current_values_needs_no_customers_write(touchpoint, customer):
    client = key_client(Scope.EXPERIENCES_WRITE)
    same = {"external_id": "ACME-1", "name": "Acme Ltd"}
    assert send(client, item("a", customer=same))["results"][0]["status"] == "accepted"


def test_a_key_with_customers_write_may_change_the_customer(writer):
    changed = {"external_id": "ACME-1", "name": "Acme Group", "segment": "enterprise"}
    assert send(writer, item("a", customer=changed))["results"][0]["status"] == "accepted"
    assert Customer.objects.get(external_id="ACME-1").segment == "enterprise"


def test_every_experience_records_the_key_that_wrote_it(writer):
    result = send(writer, item("a"))["results"][0]
    assert Experience.objects.get(pk=result["id"]).api_key_id == writer.api_key.pk


def test_idempotency_key_header_replays_the_first_answer(writer):
    body = {"experiences": [item("a"), item("b")]}
    first = writer.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    again = writer.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Experience.objects.count() == 2


def test_idempotency_key_reused_for_another_body_is_422(writer):
    writer.post(URL, {"experiences": [item("a")]}, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    response = writer.post(URL, {"experiences": [item("b")]}, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    assert response.status_code == 422
    assert "different request" in response.json()["detail"]
    assert Experience.objects.count() == 1


def test_idempotency_keys_belong_to_their_api_key(writer):
    other = key_client(Scope.EXPERIENCES_WRITE)
    writer.post(URL, {"experiences": [item("a")]}, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    response = other.post(URL, {"experiences": [item("b")]}, format="json", HTTP_IDEMPOTENCY_KEY="req-1")
    assert response.status_code == 201


@pytest.mark.parametrize("header", ["req\u200b", "", "r\u00e9q", "x" * 256])
def test_idempotency_key_that_is_not_1_to_255_printable_ascii_characters_is_400(writer, header):
    response = writer.post(URL, {"experiences": [item("a")]}, format="json", HTTP_IDEMPOTENCY_KEY=header)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
