"""One integration replaying a batch from many threads at once: each id is stored once and decided alike."""

import threading

import pytest
from django.db import connection

from customers.models import Customer
from experiences.models import Experience
from integrations.models import Scope

from .api import key_client

THREADS = 100
AT_ONCE = 20  # requests holding a database connection at the same time: the server allows 100 in all
URL = "/api/v1/experiences/"


def batch(changed: bool) -> dict:
    customer = {"external_id": "ACME-1", "name": "Renamed Ltd" if changed else "Acme Ltd"}
    return {
        "experiences": [
            {
                "id": f"race-{n}",
                "customer": customer,
                "touchpoint": "on-time-delivery",
                "valence": "positive",
                "note": "changed" if changed else "as first sent",
            }
            for n in range(30)
        ]
    }


@pytest.mark.django_db(transaction=True)
def test_replays_store_each_id_once_and_changed_payloads_conflict(touchpoint, customer):
    client = key_client(Scope.EXPERIENCES_WRITE, Scope.CUSTOMERS_WRITE)
    first = client.post(URL, batch(changed=False), format="json").json()
    stored_ids = [r["id"] for r in first["results"]]
    assert first["accepted"] == 30
    barrier = threading.Barrier(THREADS)
    gate = threading.BoundedSemaphore(AT_ONCE)
    answers: list[tuple[bool, dict]] = []

    def replay(changed: bool) -> None:
        barrier.wait()
        with gate:
            try:
                answers.append((changed, client.post(URL, batch(changed), format="json").json()))
            finally:
                connection.close()

    threads = [threading.Thread(target=replay, args=(n % 2 == 1,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(answers) == THREADS
    assert Experience.objects.count() == 30
    for changed, answer in answers:
        assert [r["status"] for r in answer["results"]] == ["conflict" if changed else "duplicate"] * 30
        assert [r["id"] for r in answer["results"]] == stored_ids
        if changed:
            assert all(sorted(r["errors"]) == ["customer.name", "note"] for r in answer["results"])
    assert Customer.objects.get(external_id="ACME-1").name == "Acme Ltd"
    assert set(Experience.objects.values_list("note", flat=True)) == {"as first sent"}


@pytest.mark.django_db(transaction=True)
def test_a_new_batch_sent_at_once_from_many_threads_is_stored_once(touchpoint, customer):
    client = key_client(Scope.EXPERIENCES_WRITE)
    barrier = threading.Barrier(AT_ONCE)
    answers = []

    def send() -> None:
        barrier.wait()
        try:
            answers.append(client.post(URL, batch(changed=False), format="json").json())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(AT_ONCE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Experience.objects.count() == 30
    assert sum(a["accepted"] for a in answers) == 30
    assert sum(a["duplicates"] for a in answers) == 30 * (AT_ONCE - 1)
    assert len({(r["key"], r["id"]) for a in answers for r in a["results"]}) == 30
