"""Throttling per API key: past the key's rate the caller gets 429 and how long to wait.

A fixed window per key in Redis: one atomic round trip per request (integrations/throttling.py).
"""

import logging
import threading

import pytest
import redis
from django.db import connection
from rest_framework.test import APIClient

from integrations.models import Scope

from .api import key_client
from .factories import UserFactory
from .worker import redis_outage


def test_key_over_its_rate_gets_429_with_retry_after(touchpoint):
    client = key_client(Scope.CATALOGUE_READ, rate="2/minute")
    statuses = [client.get("/api/v1/touchpoints/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.get("/api/v1/touchpoints/")
    assert 0 < int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"].lower()


def test_a_key_without_its_own_rate_gets_the_default_rate(touchpoint, settings):
    settings.CXM_API_THROTTLE_RATE = "2/hour"
    client = key_client(Scope.CATALOGUE_READ)
    statuses = [client.get("/api/v1/touchpoints/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get("/api/v1/touchpoints/")
    assert refused["RateLimit-Limit"] == "2"
    assert 60 < int(refused["Retry-After"]) <= 3600  # the default rate's window, not a minute


def test_one_key_being_throttled_leaves_other_keys_alone(touchpoint):
    busy = key_client(Scope.CATALOGUE_READ, rate="1/minute")
    busy.get("/api/v1/touchpoints/")
    assert busy.get("/api/v1/touchpoints/").status_code == 429
    other = key_client(Scope.CATALOGUE_READ, rate="1/minute").get("/api/v1/touchpoints/")
    assert (other.status_code, other["RateLimit-Remaining"]) == (200, "0")


def test_logged_in_users_are_counted_each_on_their_own(own_broker, department, touchpoint, settings):
    """Own Redis, emptied: user ids repeat from one test database to the next."""
    settings.CXM_API_THROTTLE_RATE = "1/minute"
    ana, bo = APIClient(), APIClient()
    ana.force_login(UserFactory(username="ana", role="staff", departments=[department]))
    bo.force_login(UserFactory(username="bo", role="staff", departments=[department]))
    assert [ana.get("/api/v1/touchpoints/").status_code for _ in range(2)] == [200, 429]
    assert bo.get("/api/v1/touchpoints/").status_code == 200


def test_every_answer_carries_the_rate_limit_headers_counting_down(touchpoint):
    client = key_client(Scope.CATALOGUE_READ, rate="3/minute")
    answers = [client.get("/api/v1/touchpoints/") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["RateLimit-Limit"] for a in answers] == ["3"] * 4
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    resets = [int(a["RateLimit-Reset"]) for a in answers]
    assert 0 < resets[0] <= 60
    assert resets == sorted(resets, reverse=True)  # the window's end, not pushed back by each request
    refused = answers[-1]
    assert int(refused["RateLimit-Reset"]) == int(refused["Retry-After"])


def test_each_request_costs_one_redis_round_trip(own_broker, touchpoint):
    """Every command a client sent Redis while three requests ran, as MONITOR saw them."""
    client = key_client(Scope.CATALOGUE_READ, rate="10/minute")
    client.get("/api/v1/touchpoints/")  # loads the script into this Redis (once per Redis start)
    watcher = redis.Redis(port=own_broker.port, socket_timeout=5)
    marker = redis.Redis(port=own_broker.port)
    marker.ping()  # connected before MONITOR starts: it adds only its ECHO
    with watcher.monitor() as monitor:
        statuses = [client.get("/api/v1/touchpoints/").status_code for _ in range(3)]
        marker.echo("end of requests")
        sent = []
        while "end of requests" not in (command := monitor.next_command())["command"]:
            sent.append(command)
    assert statuses == [200, 200, 200]
    from_clients = [c["command"].split()[0] for c in sent if c["client_type"] != "lua"]
    assert from_clients == ["EVALSHA"] * 3
    from_script = [c["command"].split()[0] for c in sent if c["client_type"] == "lua"]
    assert from_script == ["INCR", "PTTL"] * 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_pass_the_limit():
    client = key_client(Scope.CATALOGUE_READ, rate="10/minute")
    threads_n, each = 8, 5
    start = threading.Barrier(threads_n)
    statuses: list[int] = []

    def burst() -> None:
        try:
            start.wait()
            mine = [client.get("/api/v1/touchpoints/").status_code for _ in range(each)]
            statuses.extend(mine)
        finally:
            connection.close()

    threads = [threading.Thread(target=burst) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 10 + [429] * (threads_n * each - 10)


def test_while_redis_is_down_requests_are_answered_uncounted(own_broker, touchpoint, caplog):
    client = key_client(Scope.CATALOGUE_READ, rate="1/minute")
    assert client.get("/api/v1/touchpoints/").status_code == 200
    with redis_outage(own_broker), caplog.at_level(logging.WARNING, logger="cxm.cache"):
        during = [client.get("/api/v1/touchpoints/") for _ in range(3)]
        assert [a.status_code for a in during] == [200, 200, 200]
        assert all("RateLimit-Remaining" not in a for a in during)
        assert "cache unavailable: count_hit" in caplog.text
    assert client.get("/api/v1/touchpoints/").status_code == 200  # Redis lost its counters too
    assert client.get("/api/v1/touchpoints/").status_code == 429


def test_without_redis_the_in_process_cache_still_throttles(touchpoint, settings):
    """`make run` (no CELERY_BROKER_URL) keeps its counters in the process (cxm.cache.LocalCache)."""
    settings.CACHES = {"default": {"BACKEND": "cxm.cache.LocalCache"}}
    client = key_client(Scope.CATALOGUE_READ, rate="2/minute")
    answers = [client.get("/api/v1/touchpoints/") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
