"""The OpenAPI schema describes the API truthfully: schemathesis fuzzes every operation against it."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cxm.wsgi import application
from integrations.models import Scope
from integrations.services import create_api_key

from .factories import CustomerFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def test_schema_describes_every_endpoint(db):
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert set(schema["paths"]) == {
        "/api/v1/customers/",
        "/api/v1/customers/{external_id}/",
        "/api/v1/departments/",
        "/api/v1/departments/{code}/report/",
        "/api/v1/experiences/",
        "/api/v1/surveys/",
        "/api/v1/surveys/{slug}/invitations/",
        "/api/v1/survey-rules/",
        "/api/v1/survey-rules/{touchpoint}/",
        "/api/v1/touchpoints/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{id}/",
    }
    ingest = schema["paths"]["/api/v1/experiences/"]["post"]
    assert {"201", "200", "400", "401", "403", "413", "415", "429"} <= set(ingest["responses"])
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"


def test_swagger_ui_is_served_without_a_cdn(db):
    page = APIClient().get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


@pytest.fixture
def api_schema(touchpoint, customer):
    """The app's own schema, called in-process inside the test's transaction (as Django's test client does)."""
    CustomerFactory(external_id="C-2")
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_key(db):
    return create_api_key(name="schemathesis", scopes=Scope.values, throttle_rate="100000/minute")[1]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_within_its_schema_and_never_with_5xx(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Api-Key {api_key}"}, checks=CHECKS)
