"""The OpenAPI schema describes the API truthfully: schemathesis fuzzes every operation against it."""

import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode

from cxm.wsgi import application
from integrations.models import Scope
from integrations.services import create_api_key

from .factories import CustomerFactory
from .test_case_pages import open_case

pytestmark = pytest.mark.slow  # `make test` runs it beside the rest (scripts/run_tests.py)

load_all_checks()
ALL_CHECKS = CHECKS.get_all()  # the Python API's `--checks all`


def test_schema_describes_every_endpoint(db):
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert set(schema["paths"]) == {
        "/api/v1/cases/",
        "/api/v1/cases/{id}/",
        "/api/v1/cases/{id}/assign/",
        "/api/v1/cases/{id}/comments/",
        "/api/v1/cases/{id}/resolve/",
        "/api/v1/customers/",
        "/api/v1/customers/{external_id}/",
        "/api/v1/departments/",
        "/api/v1/departments/{code}/report/",
        "/api/v1/experiences/",
        "/api/v1/experiences/{id}/",
        "/api/v1/responses/",
        "/api/v1/responses/{id}/",
        "/api/v1/surveys/",
        "/api/v1/surveys/{slug}/",
        "/api/v1/surveys/{slug}/invitations/",
        "/api/v1/survey-rules/",
        "/api/v1/survey-rules/{touchpoint}/",
        "/api/v1/touchpoints/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{id}/",
        "/api/v1/webhooks/{id}/deliveries/",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/",
        "/api/v1/webhooks/{id}/ping/",
        "/api/v1/webhooks/{id}/rotate-secret/",
    }
    ingest = schema["paths"]["/api/v1/experiences/"]["post"]
    assert {"201", "200", "400", "401", "403", "413", "415", "422", "429", "503"} <= set(ingest["responses"])
    for path in schema["paths"].values():
        for operation in path.values():
            assert {"429", "503"} <= set(operation["responses"])
            assert "Retry-After" in operation["responses"]["503"]["headers"]
    conflict = schema["paths"]["/api/v1/cases/{id}/resolve/"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["IngestRequest"]["properties"]["experiences"]["minItems"] == 1
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"


def test_swagger_ui_is_served_without_a_cdn(db):
    page = APIClient().get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


@pytest.fixture
def api_schema(touchpoint, customer, dns_of_this_machine_only):
    """The app's own schema, called in-process inside the test's transaction (as Django's test client does)."""
    CustomerFactory(external_id="C-2")
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    loaded = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    # Schema-valid and schema-invalid data. NUL is refused in every string, which the schema's strings
    # do not each repeat: tests/test_api_bad_input.py and tests/test_api_any_input.py send it.
    loaded.config.generation.update(modes=list(GenerationMode), allow_x00=False)
    yield loaded
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def recovery_case(touchpoint, customer, staff_user):
    """A case the generated case operations work on (ana may be its assignee), until one resolves it."""
    return open_case(customer, touchpoint)


@pytest.fixture
def api_key(db):
    return create_api_key(name="schemathesis", scopes=Scope.values, throttle_rate="100000/minute")[1]


# Where the API's documented behaviour is conditional in a way a schema cannot state:
EXCLUDED_CHECKS = {
    # The batch answers per item: a schema-violating item is reported `rejected` with its field errors
    # in a 200/201 (its valid neighbours are stored), by design; whole-body violations (not an object,
    # 0 or 1,001 items) are still 400/413, as tests/test_api_any_input.py checks.
    "POST /api/v1/experiences/": ("negative_data_rejection",),
    # PATCH creates a customer only when `name` is sent; for an unknown id without one it is a 400 naming `name`.
    "PATCH /api/v1/customers/{external_id}/": ("positive_data_acceptance",),
    # A survey rule names a touchpoint and a survey by code: a generated code that names none is a 400.
    "POST /api/v1/survey-rules/": ("positive_data_acceptance",),
    "PUT /api/v1/survey-rules/{touchpoint}/": ("positive_data_acceptance",),
    "PATCH /api/v1/survey-rules/{touchpoint}/": ("positive_data_acceptance",),
    # The assignee is a username of the case's department: a generated one names nobody there (400).
    "POST /api/v1/cases/{id}/assign/": ("positive_data_acceptance",),
}

schema = schemathesis.pytest.from_fixture("api_schema")
# A cursor is opaque: a client only sends back one the API gave it (a forged one is a 400, tested apart).
schemathesis.openapi.format("cursor", st.sampled_from(["bz0x", "cj0x"]))  # o=1 and r=1


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_within_its_schema_and_never_with_5xx(case, api_key, recovery_case):
    if case.operation.path.startswith("/api/v1/cases/{id}/") and str(case.path_parameters.get("id")).isdigit():
        # A generated id names no case: a valid one is the real case, so reads and steps reach it (a
        # resolve resolves it; the next ones are 409s, as documented).
        case.path_parameters["id"] = recovery_case.pk
    if case.headers and "Idempotency-Key" in case.headers:
        # A key reused for another body is a 422 by design (tests/test_api_idempotency.py); each
        # generated request is a new request, so it gets a key of its own.
        case.headers["Idempotency-Key"] = f"{case.headers['Idempotency-Key'][:200]}-{uuid.uuid4().hex}"
    excluded = set(EXCLUDED_CHECKS.get(case.operation.label, ()))
    checks = [check for check in ALL_CHECKS if check.__name__ not in excluded]
    case.call_and_validate(headers={"Authorization": f"Api-Key {api_key}"}, checks=checks)
