"""Inputs that once reached a 500: each is now a 4xx that names what to fix, and costs no valid neighbour."""

import base64
import json
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from experiences.models import Experience
from integrations.models import Scope

from .api import full_client, key_client

URL = "/api/v1/experiences/"


@pytest.fixture
def writer(touchpoint, customer):
    return key_client(Scope.EXPERIENCES_WRITE, Scope.CUSTOMERS_WRITE)


def item(key="e-1", **fields):
    return {"id": key, "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative"} | fields


def send_raw(client, body: str, url: str = URL, method: str = "post"):
    return getattr(client, method)(url, body.encode("utf-8", "surrogatepass"), content_type="application/json")


def batch(*raw_items: str) -> str:
    return '{"experiences": [' + ", ".join(raw_items) + "]}"


GOOD = json.dumps(item("good"))


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (json.dumps(item("bad", note="a\u0000b")), "note"),
        (json.dumps(item("a\u0000b")), "id"),
        (json.dumps(item("bad", customer={"external_id": "N-1", "name": "a\u0000b"})), "customer"),
        (json.dumps(item("bad", customer="A\u0000B")), "customer"),
        (json.dumps(item("bad", customer={"external_id": "A\u0000B", "name": "x"})), "customer"),
        (json.dumps(item("bad", note="\ud800")), "note"),
        (json.dumps(item("\udc00x")), "id"),
        (json.dumps(item("bad", customer={"external_id": "N-2", "name": "\ud800"})), "customer"),
        (json.dumps(item("bad", touchpoint="\ud800")), "touchpoint"),
        (json.dumps(item("bad"))[:-1] + ', "intensity": 1e400}', "intensity"),
        (json.dumps(item("bad"))[:-1] + ', "intensity": ' + "9" * 400 + "}", "intensity"),
        (json.dumps(item("bad", department=[])), "department"),
        (json.dumps(item("bad", department={})), "department"),
        (json.dumps(item("bad", department=["logistics"])), "department"),
        (json.dumps(item("bad", stage=[])), "stage"),
        (json.dumps(item("bad", emotion={})), "emotion"),
        (json.dumps(item("bad", valence=[])), "valence"),
        (json.dumps(item("bad", occurred_at=1e300)), "occurred_at"),
        (json.dumps(item("bad", customer={"external_id": "N-3", "name": "x", "segment": "s" * 61})), "customer"),
        (json.dumps(item("bad", customer={"external_id": "N-4", "name": "x", "email": "@" * 300})), "customer"),
        (json.dumps(item("bad", customer={"external_id": ["N-5"], "name": "x"})), "customer"),
    ],
)
def test_bad_item_is_rejected_naming_its_field_and_keeps_its_neighbour(writer, raw, field):
    response = send_raw(writer, batch(raw, GOOD))
    assert response.status_code == 201, response.content
    first, second = response.json()["results"]
    assert first["status"] == "rejected"
    assert field in first["errors"]
    assert second["status"] == "accepted"
    assert list(Experience.objects.values_list("external_id", flat=True)) == ["good"]
    assert not Customer.objects.filter(external_id__startswith="N-").exists()


def test_customer_path_with_nul_is_400(db):
    response = key_client(Scope.CUSTOMERS_WRITE).put("/api/v1/customers/X%00/", {"name": "x"}, format="json")
    assert response.status_code == 400
    assert "external_id" in response.json()["errors"]


def test_customer_body_with_lone_surrogate_is_400_naming_the_field(db):
    response = send_raw(key_client(Scope.CUSTOMERS_WRITE), '{"name": "\\ud800"}', "/api/v1/customers/C-9/", "put")
    assert response.status_code == 400
    assert "name" in response.json()["errors"]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("authorization", ["Api-Key ", "Api-Key not-a-key", "Api-Key a.b\u0000"])
def test_docs_page_ignores_a_malformed_key(db, authorization):
    response = APIClient().get("/api/v1/docs/", HTTP_ACCEPT="application/json", HTTP_AUTHORIZATION=authorization)
    assert response.status_code in (200, 406)
    response = APIClient().get("/api/v1/docs/", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 200
    assert "swagger-ui" in response.content.decode()


def test_query_parameter_with_nul_is_400_naming_it(writer):
    response = key_client(Scope.CUSTOMERS_READ).get("/api/v1/customers/", {"segment": "a\u0000b"})
    assert response.status_code == 400
    assert "NUL" in response.json()["errors"]["segment"][0]


def test_unknown_top_level_field_with_a_lone_surrogate_is_a_json_400(writer):
    response = send_raw(writer, '{"experiences": [], "\\ud800": 1}')
    assert response.status_code == 400
    assert "\\ud800" in response.json()["detail"]


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (lambda: APIClient().get(URL), 401),
        (lambda: key_client(Scope.CUSTOMERS_READ).get(URL), 403),
        (lambda: key_client(Scope.CUSTOMERS_READ).get("/api/v1/customers/NOPE/"), 404),
        (lambda: key_client(Scope.CUSTOMERS_READ).get("/api/v1/nowhere/"), 404),
        (lambda: key_client(Scope.EXPERIENCES_WRITE).post(URL, "x=1", content_type="text/plain"), 415),
        (lambda: key_client(Scope.EXPERIENCES_WRITE).post(URL, "{", content_type="application/json"), 400),
        (lambda: key_client(Scope.CUSTOMERS_WRITE).put("/api/v1/customers/C/", {}, format="json"), 400),
        (lambda: key_client(Scope.CUSTOMERS_READ).delete("/api/v1/customers/C/"), 405),
    ],
)
def test_every_error_is_json_with_a_detail(db, request_, status):
    response = request_()
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize(("method", "url"), [("put", "/api/v1/customers/C-1/"), ("post", "/api/v1/webhooks/")])
def test_ten_megabyte_body_is_a_json_413(db, method, url):
    body = json.dumps({"name": "x" * 10_000_000, "url": "https://example.com/"})
    response = getattr(full_client(), method)(url, body, content_type="application/json")
    assert response.status_code == 413
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("url", "position"), [(URL, "not-a-date"), ("/api/v1/customers/", "a\u0000b"), (URL, "9999-99-99")]
)
def test_forged_cursor_is_400(writer, url, position):
    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()
    response = full_client().get(url, {"cursor": cursor})
    assert response.status_code == 400
    assert "invalid cursor" in response.json()["errors"]["cursor"][0]


def test_bad_cursor_is_400(writer):
    response = key_client(Scope.EXPERIENCES_READ).get(URL, {"cursor": "nonsense"})
    assert response.status_code == 400
    assert "invalid cursor" in response.json()["errors"]["cursor"][0]
