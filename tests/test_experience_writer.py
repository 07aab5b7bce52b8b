"""Every experience records the API key or user that wrote it; the admin and the customer export show it."""

import csv
import io

from experiences.models import Experience
from integrations.models import Scope
from tests.factories import UserFactory

from .api import key_client


def send(client, key):
    item = {"id": key, "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"}
    return client.post("/api/v1/experiences/", item, format="json").json()["results"][0]["id"]


def test_customer_export_names_the_api_key_that_wrote_each_experience(client, touchpoint, customer):
    crm = key_client(Scope.EXPERIENCES_WRITE)
    crm.api_key.name = "crm-sync"
    crm.api_key.save()
    send(crm, "a")
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    body = b"".join(client.get("/customers/ACME-1/?export=experiences").streaming_content).decode()
    (row,) = csv.DictReader(io.StringIO(body))
    assert row["api_key__name"] == "crm-sync"


def test_admin_list_shows_who_wrote_each_experience(client, touchpoint, customer):
    crm = key_client(Scope.EXPERIENCES_WRITE)
    crm.api_key.name = "crm-sync"
    crm.api_key.save()
    pk = send(crm, "a")
    assert Experience.objects.get(pk=pk).api_key_id == crm.api_key.pk
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    page = client.get("/admin/experiences/experience/").content.decode()
    assert "Written by" in page
    assert "API key crm-sync" in page
