"""Who may call what: every endpoint × anonymous / wrong scope / right scope / revoked or expired key."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from experiences.models import Experience
from experiences.services import record_experiences
from feedback.models import Invitation, Survey
from integrations.models import ApiKey, Scope
from integrations.services import create_api_key

from .api import key_client
from .factories import DepartmentFactory, TouchpointFactory, UserFactory

NEW_ITEM = {"id": "k-1", "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "positive"}
# method, path, scope it needs, body, status when allowed
ENDPOINTS = [
    ("get", "/api/v1/experiences/", Scope.EXPERIENCES_READ, None, 200),
    ("post", "/api/v1/experiences/", Scope.EXPERIENCES_WRITE, NEW_ITEM, 201),
    ("get", "/api/v1/customers/", Scope.CUSTOMERS_READ, None, 200),
    ("get", "/api/v1/customers/ACME-1/", Scope.CUSTOMERS_READ, None, 200),
    ("put", "/api/v1/customers/ACME-2/", Scope.CUSTOMERS_WRITE, {"name": "Beta SA"}, 201),
    ("patch", "/api/v1/customers/ACME-1/", Scope.CUSTOMERS_WRITE, {"segment": "enterprise"}, 200),
    ("get", "/api/v1/touchpoints/", Scope.CATALOGUE_READ, None, 200),
    ("get", "/api/v1/departments/", Scope.CATALOGUE_READ, None, 200),
    ("get", "/api/v1/departments/logistics/report/", Scope.REPORTS_READ, None, 200),
    ("get", "/api/v1/surveys/", Scope.CATALOGUE_READ, None, 200),
    ("post", "/api/v1/surveys/delivery-nps/invitations/", Scope.SURVEYS_WRITE, {"customers": ["ACME-1"]}, 201),
    ("get", "/api/v1/webhooks/", Scope.WEBHOOKS_MANAGE, None, 200),
    (
        "post",
        "/api/v1/webhooks/",
        Scope.WEBHOOKS_MANAGE,
        {"url": "https://hooks.example.com/cxm", "events": ["experience.negative"]},
        201,
    ),
]
IDS = [f"{method.upper()} {path}" for method, path, *_ in ENDPOINTS]


def call(client, method, path, body):
    return getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)


@pytest.fixture
def catalogue(touchpoint, customer):
    Survey.objects.create(slug="delivery-nps", name="Delivery NPS", kind="nps", touchpoint=touchpoint)
    return touchpoint


@pytest.mark.parametrize(("method", "path", "scope", "body", "allowed"), ENDPOINTS, ids=IDS)
def test_anonymous_caller_is_asked_for_an_api_key(catalogue, method, path, scope, body, allowed):
    response = call(APIClient(), method, path, body)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert not Experience.objects.exists()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(("method", "path", "scope", "body", "allowed"), ENDPOINTS, ids=IDS)
def test_key_without_the_scope_is_refused_and_told_which_one(catalogue, method, path, scope, body, allowed):
    client = key_client(*(s for s in Scope.values if s != scope))
    response = call(client, method, path, body)
    assert response.status_code == 403
    assert scope in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "scope", "body", "allowed"), ENDPOINTS, ids=IDS)
def test_key_with_the_scope_gets_through(catalogue, method, path, scope, body, allowed):
    response = call(key_client(scope), method, path, body)
    assert response.status_code == allowed, response.content


@pytest.mark.parametrize(("method", "path", "scope", "body", "allowed"), ENDPOINTS, ids=IDS)
def test_revoked_key_stops_working_at_once(catalogue, method, path, scope, body, allowed):
    client = key_client(scope)
    assert client.get("/api/v1/touchpoints/").status_code in (200, 403)  # the key worked a moment ago
    api_key = client.api_key
    api_key.revoked = True
    api_key.save()
    response = call(client, method, path, body)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "scope", "body", "allowed"), ENDPOINTS, ids=IDS)
def test_expired_key_is_refused(catalogue, method, path, scope, body, allowed):
    response = call(key_client(scope, expired=True), method, path, body)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_key_with_a_real_prefix_and_a_wrong_secret_is_refused(catalogue):
    """The prefix only finds the row; the secret must match its stored hash."""
    _api_key, key = create_api_key(name="real", scopes=Scope.values)
    prefix, _dot, secret = key.partition(".")
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Api-Key {prefix}.{secret[::-1]}")
    unknown = APIClient()
    unknown.credentials(HTTP_AUTHORIZATION="Api-Key Nobody00.0123456789abcdef")
    for client in (forged, unknown):
        response = client.get("/api/v1/touchpoints/")
        assert response.status_code == 401
        assert response.json()["detail"] == "Unknown or revoked API key."
    real = APIClient()
    real.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert real.get("/api/v1/touchpoints/").status_code == 200


def test_create_api_key_prints_a_working_key_once(catalogue):
    out = StringIO()
    call_command(
        "create_api_key", "crm-sync", "--scopes", "customers:read,catalogue:read", stdout=out, stderr=StringIO()
    )
    key = out.getvalue().strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/customers/ACME-1/").json()["name"] == "Acme Ltd"
    assert key not in str(ApiKey.objects.values_list("id", "hashed_key", "prefix").get())


def test_create_api_key_rejects_an_unknown_scope_and_lists_the_valid_ones(db):
    with pytest.raises(Exception, match="valid scopes are .*experiences:write"):
        call_command("create_api_key", "x", "--scopes", "everything", stdout=StringIO(), stderr=StringIO())
    assert not ApiKey.objects.exists()


@pytest.fixture
def billing_touchpoint(db):
    return TouchpointFactory(code="clear-invoice", owner=DepartmentFactory(code="billing", name="Billing"))


def customer_name(external_id):
    from customers.models import Customer

    return Customer.objects.get(external_id=external_id).name


def session(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_staff_session_lists_only_the_experiences_they_logged(staff_user, catalogue, billing_touchpoint):
    record_experiences(
        items=[
            {"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"},
            {"customer": "ACME-1", "touchpoint": "clear-invoice", "valence": "negative"},
        ],
        source="form",
    )
    record_experiences(
        items=[{"customer": "ACME-1", "touchpoint": "clear-invoice", "valence": "positive"}],
        source="form",
        recorded_by=staff_user,
    )
    rows = session(staff_user).get("/api/v1/experiences/").json()["results"]
    assert [(r["department"], r["valence"]) for r in rows] == [("billing", "positive")]


def test_manager_cannot_read_the_report_of_another_department(catalogue, billing_touchpoint):
    manager = UserFactory(role="manager", departments=[billing_touchpoint.departments.get()])
    client = session(manager)
    assert client.get("/api/v1/departments/billing/report/").status_code == 200
    response = client.get("/api/v1/departments/logistics/report/")
    assert response.status_code == 403
    assert "own departments" in response.json()["detail"]


def test_staff_session_cannot_change_customers(staff_user, catalogue):
    response = session(staff_user).patch("/api/v1/customers/ACME-1/", {"name": "Renamed"}, format="json")
    assert response.status_code == 403
    assert customer_name("ACME-1") == "Acme Ltd"


def test_cx_admin_session_sees_every_department(catalogue, billing_touchpoint):
    record_experiences(
        items=[{"customer": "ACME-1", "touchpoint": "clear-invoice", "valence": "positive"}], source="form"
    )
    admin = UserFactory(role="admin")
    rows = session(admin).get("/api/v1/experiences/").json()["results"]
    assert [r["department"] for r in rows] == ["billing"]


def test_manager_session_reads_only_customers_who_dealt_with_their_departments(catalogue, billing_touchpoint):
    record_experiences(
        items=[
            {"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"},
            {
                "customer": {"external_id": "BETA-1", "name": "Beta SA"},
                "touchpoint": "clear-invoice",
                "valence": "negative",
            },
        ],
        source="form",
    )
    client = session(UserFactory(role="manager", departments=[billing_touchpoint.departments.get()]))

    listed = [c["external_id"] for c in client.get("/api/v1/customers/").json()["results"]]
    assert listed == ["BETA-1"]
    assert client.get("/api/v1/customers/BETA-1/").status_code == 200
    assert client.get("/api/v1/customers/ACME-1/").status_code == 404


def test_manager_session_cannot_change_a_customer_of_other_departments(catalogue, billing_touchpoint):
    client = session(UserFactory(role="manager", departments=[billing_touchpoint.departments.get()]))

    response = client.patch("/api/v1/customers/ACME-1/", {"name": "Renamed"}, format="json")

    assert response.status_code == 404
    assert "among your departments' customers" in response.json()["detail"]
    assert customer_name("ACME-1") == "Acme Ltd"
    unknown = client.patch("/api/v1/customers/NOBODY-9/", {"name": "New"}, format="json")
    assert unknown.status_code == 404, "an unknown id answers like another department's: ids cannot be enumerated"
