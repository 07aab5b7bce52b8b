"""Two integrations racing with the same ids: the database keeps exactly one experience per id."""

import threading

import pytest
from django.db import connection

from experiences.models import Experience
from integrations.models import Scope

from .api import key_client

THREADS = 4


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_the_same_ids_store_each_once(touchpoint, customer):
    items = [
        {"id": f"race-{n}", "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "positive"}
        for n in range(50)
    ]
    clients = [key_client(Scope.EXPERIENCES_WRITE) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    responses = []

    def send(client):
        try:
            barrier.wait()
            responses.append(client.post("/api/v1/experiences/", {"experiences": items}, format="json").json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Experience.objects.count() == 50
    assert sum(r["accepted"] for r in responses) == 50
    assert sum(r["duplicates"] for r in responses) == 50 * (THREADS - 1)
    ids_per_key = {(res["key"], res["id"]) for r in responses for res in r["results"]}
    assert len(ids_per_key) == 50
