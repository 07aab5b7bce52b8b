"""The limits the API states and applies are the ones the model and the settings hold."""

from rest_framework.test import APIClient

from customers.models import Customer
from integrations.models import Scope

from .api import key_client

NAME_MAX = Customer._meta.get_field("name").max_length
EXTERNAL_ID_MAX = Customer._meta.get_field("external_id").max_length


def ingest(client, name: str, external_id: str = "NEW-1") -> dict:
    item = {
        "id": external_id,
        "customer": {"external_id": external_id, "name": name},
        "touchpoint": "on-time-delivery",
        "valence": "negative",
    }
    return client.post("/api/v1/experiences/", {"experiences": [item]}, format="json").json()


def test_a_customer_name_as_long_as_the_column_is_accepted_one_more_is_refused(touchpoint):
    writer = key_client(Scope.EXPERIENCES_WRITE)
    assert ingest(writer, "n" * NAME_MAX)["results"][0]["status"] == "accepted"
    refused = ingest(writer, "n" * (NAME_MAX + 1), external_id="NEW-2")["results"][0]
    assert refused["status"] == "rejected"
    assert f"name must be at most {NAME_MAX} characters" in refused["errors"]["customer"][0]


def test_a_customer_id_longer_than_the_column_is_refused_with_its_limit(db):
    writer = key_client(Scope.CUSTOMERS_WRITE)
    response = writer.put(f"/api/v1/customers/{'x' * (EXTERNAL_ID_MAX + 1)}/", {"name": "Long"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["external_id"] == [f"must be 1 to {EXTERNAL_ID_MAX} characters"]


def test_schema_states_the_configured_future_limit(db, settings):
    settings.CXM_MAX_FUTURE_MINUTES = 15
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    help_text = schema["components"]["schemas"]["ExperienceItem"]["properties"]["occurred_at"]["description"]
    assert help_text == "ISO 8601; default now; at most 15 minutes in the future."
