"""A client generated from the schema (openapi-python-client) reads every list endpoint, every page.

The generated models are strict: a value the schema does not allow (an enum without "", a
missing nullable) fails to parse, so this test fails the day the schema stops telling the truth.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from rest_framework.test import APIClient

from experiences.models import Source
from experiences.services import record_experiences
from feedback.models import Survey
from integrations.models import Scope, WebhookSubscription
from integrations.services import create_api_key

LIST_OPERATIONS = [
    "cases.cases_list",
    "customers.customers_list",
    "departments.departments_list",
    "experiences.experiences_list",
    "responses.responses_list",
    "surveys.surveys_list",
    "touchpoints.touchpoints_list",
    "webhooks.webhooks_list",
]


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory, django_db_blocker):
    directory = tmp_path_factory.mktemp("client")
    with django_db_blocker.unblock():
        schema = APIClient().get("/api/v1/schema/?format=json").content
    (directory / "schema.json").write_bytes(schema)
    (directory / "config.yaml").write_text("project_name_override: cxm_client\npackage_name_override: cxm_client\n")
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", "schema.json", "--meta", "none",
         "--config", "config.yaml", "--fail-on-warning"],
        cwd=directory, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(directory))
    yield importlib.import_module("cxm_client")
    sys.path.remove(str(directory))


@pytest.mark.django_db(transaction=True)
def test_generated_client_reads_every_list_endpoint(generated_client, live_server, touchpoint, customer):
    items = [
        {"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"},
        {"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "positive", "emotion": "delighted",
         "expectation": "exceeded", "outcome": "ok", "note": "Early and complete"},
        {"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "neutral", "intensity": 1},
    ]  # fmt: skip
    assert record_experiences(items=items, source=Source.API).accepted == 3
    Survey.objects.create(slug="delivery-nps", name="Delivery NPS", kind="nps", touchpoint=touchpoint)
    WebhookSubscription.objects.create(url="https://hooks.example.com/cxm", events=["case.opened"], secret="s" * 32)
    key = create_api_key(name="generated", scopes=Scope.values)[1]
    client = generated_client.AuthenticatedClient(
        base_url=live_server.url, token=key, prefix="Api-Key", raise_on_unexpected_status=True
    )
    for name in LIST_OPERATIONS:
        operation = importlib.import_module(f"cxm_client.api.{name}")
        response = operation.sync_detailed(client=client)
        assert response.status_code == 200, (name, response.content)
        assert response.parsed is not None and not isinstance(response.parsed, generated_client.models.Error), name

    experiences = importlib.import_module("cxm_client.api.experiences.experiences_list")
    seen, cursor = [], None
    while True:
        page = experiences.sync(client=client, page_size=1, **({"cursor": cursor} if cursor else {}))
        seen += page.results
        if not page.next_:
            break
        cursor = parse_qs(urlparse(page.next_).query)["cursor"][0]
    assert len(seen) == 3
    assert {str(e.emotion) for e in seen} == {"", "delighted"}
