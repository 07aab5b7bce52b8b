"""Throttling per API key: past the key's rate the caller gets 429 and how long to wait."""

from integrations.models import Scope

from .api import key_client


def test_key_over_its_rate_gets_429_with_retry_after(touchpoint):
    client = key_client(Scope.CATALOGUE_READ, rate="2/minute")
    statuses = [client.get("/api/v1/touchpoints/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.get("/api/v1/touchpoints/")
    assert 0 < int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"].lower()


def test_one_key_being_throttled_leaves_other_keys_alone(touchpoint):
    busy = key_client(Scope.CATALOGUE_READ, rate="1/minute")
    busy.get("/api/v1/touchpoints/")
    assert busy.get("/api/v1/touchpoints/").status_code == 429
    assert key_client(Scope.CATALOGUE_READ, rate="1/minute").get("/api/v1/touchpoints/").status_code == 200


def test_every_answer_carries_the_rate_limit_headers(touchpoint):
    client = key_client(Scope.CATALOGUE_READ, rate="3/minute")
    first = client.get("/api/v1/touchpoints/")
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("3", "2")
    assert 0 < int(first["RateLimit-Reset"]) <= 60
    client.get("/api/v1/touchpoints/")
    client.get("/api/v1/touchpoints/")
    refused = client.get("/api/v1/touchpoints/")
    assert refused.status_code == 429
    assert (refused["RateLimit-Limit"], refused["RateLimit-Remaining"]) == ("3", "0")
    assert int(refused["RateLimit-Reset"]) == int(refused["Retry-After"])
