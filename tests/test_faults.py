"""Faults on the real stack: the database restarting, Redis stopping, the worker being killed.

The stack runs on a throwaway PostgreSQL and Redis of its own (tests/servers.py): the faults
break only those, never the servers the rest of the machine uses.
"""

import threading
import time
from contextlib import contextmanager

import pytest
import requests
from django.db import connection

from customers.models import Customer
from experiences.models import Experience
from scoring.models import CustomerScore, DirtyCustomer
from tests.factories import DepartmentFactory, TouchpointFactory

from .servers import ThrowawayPostgres
from .stack import api_key, running_stack, until
from .worker import redis_outage

pytestmark = [pytest.mark.stack, pytest.mark.faults]


@contextmanager
def postgres_outage(server: ThrowawayPostgres, seconds: float):
    """The throwaway PostgreSQL stopped for `seconds`, then started again whatever happens."""
    try:
        server.stop()
        time.sleep(seconds)
    finally:
        server.start()
        connection.close()  # this process's connection died with the server
    yield


@pytest.fixture
def stack(own_broker, own_database, tmp_path):
    """The Procfile's stack on the throwaway servers, which the tests here may break."""
    yield from running_stack(tmp_path)


@pytest.fixture
def catalogue(own_database):
    logistics = DepartmentFactory(code="logistics", name="Logistics")
    return TouchpointFactory(code="on-time-delivery", name="On-time delivery", owner=logistics)


def batch(prefix: str, customers: int = 5) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{n}",
            "customer": {"external_id": f"{prefix}-C{n}", "name": f"Customer {n}"},
            "touchpoint": "on-time-delivery",
            "valence": "negative" if n % 2 else "positive",
        }
        for n in range(customers)
    ]


def every_experience_is_scored() -> bool:
    """every customer's score counts all of their experiences, and no rescoring mark is left"""
    scored = {
        pk: (positives, negatives)
        for pk, positives, negatives in CustomerScore.objects.values_list("customer_id", "positives", "negatives")
    }
    lived = {
        c.pk: (c.experiences.filter(valence=1).count(), c.experiences.filter(valence=-1).count())
        for c in Customer.objects.all()
    }
    return Experience.objects.exists() and not DirtyCustomer.objects.exists() and scored == lived


def test_database_restart_during_ingestion_gives_503_with_retry_after_and_loses_no_acknowledged_item(
    stack, catalogue, own_postgres
):
    headers = {"Authorization": f"Api-Key {api_key('experiences:write')}"}
    statuses: list[int] = []
    acknowledged: set[str] = set()
    outage_503s: list[requests.Response] = []
    stop = threading.Event()

    def client() -> None:
        """A well-behaved integration: sends batches, and on 503 waits Retry-After and sends the same batch."""
        n = 0
        while not stop.is_set():
            items = batch(f"b{n}", customers=3)
            response = requests.post(
                f"{stack.url}/api/v1/experiences/", json={"experiences": items}, headers=headers, timeout=15
            )
            statuses.append(response.status_code)
            if response.status_code == 503:
                outage_503s.append(response)
                time.sleep(min(float(response.headers["Retry-After"]), 1))
                continue
            if response.status_code in (200, 201):
                acknowledged.update(
                    r["key"] for r in response.json()["results"] if r["status"] in ("accepted", "duplicate")
                )
            n += 1

    sender = threading.Thread(target=client)
    sender.start()
    try:
        until(lambda: len(acknowledged) >= 9)
        with postgres_outage(own_postgres, seconds=3):
            pass
        count_before = len(acknowledged)
        until(lambda: len(acknowledged) > count_before + 6, timeout=60)
    finally:
        stop.set()
        sender.join(timeout=30)

    assert set(statuses) <= {201, 503}, statuses
    assert outage_503s, "no request met the outage"
    assert all(r.headers["Retry-After"] == "5" and "briefly unavailable" in r.json()["detail"] for r in outage_503s)
    stored = set(Experience.objects.values_list("external_id", flat=True))
    assert acknowledged <= stored
    assert Experience.objects.count() == len(stored)  # retries stored nothing twice


def test_writes_are_accepted_while_redis_is_down_and_scores_catch_up_after(stack, catalogue, own_redis):
    headers = {"Authorization": f"Api-Key {api_key('experiences:write')}"}
    with redis_outage(own_redis):
        response = requests.post(
            f"{stack.url}/api/v1/experiences/", json={"experiences": batch("r")}, headers=headers, timeout=15
        )
        scored_during_outage = CustomerScore.objects.count()

    assert response.status_code == 201, response.text
    assert response.json()["accepted"] == 5
    assert scored_during_outage == 0
    until(every_experience_is_scored, timeout=60)


def test_a_killed_worker_is_restarted_and_leaves_nothing_unscored(stack, catalogue):
    headers = {"Authorization": f"Api-Key {api_key('experiences:write')}"}
    response = requests.post(
        f"{stack.url}/api/v1/experiences/", json={"experiences": batch("k", customers=40)}, headers=headers, timeout=15
    )
    assert response.status_code == 201

    stack.kill("scoring-worker")  # at once: the rescore message is unacknowledged or the rescore cut short

    until(every_experience_is_scored, timeout=60)
