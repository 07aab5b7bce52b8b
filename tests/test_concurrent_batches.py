"""Two integrations sending 50 batches each about the same 5,000 new customers at once: no deadlock, no failed batch."""

import random
import threading

import pytest
from django.db import connection

from customers.models import Customer
from experiences.models import Experience
from experiences.services import record_experiences

BATCHES = 50
CUSTOMERS_PER_BATCH = 100


def batches(thread: int) -> list[list[dict]]:
    """The same customers (created on first sight, renamed by the other thread), each batch in its own order."""
    shuffle = random.Random(thread)
    made = []
    for b in range(BATCHES):
        items = [
            {
                "id": f"t{thread}-b{b}-c{c}",
                "customer": {"external_id": f"C{b}-{c}", "name": f"Customer {c} as thread {thread} knows it"},
                "touchpoint": "on-time-delivery",
                "valence": "negative",
            }
            for c in range(CUSTOMERS_PER_BATCH)
        ]
        shuffle.shuffle(items)
        made.append(items)
    return made


@pytest.mark.faults
@pytest.mark.django_db(transaction=True)
def test_two_threads_creating_the_same_customers_never_deadlock(touchpoint):
    failures: list[BaseException] = []
    accepted: list[int] = []

    def send(thread: int) -> None:
        try:
            for items in batches(thread):
                accepted.append(record_experiences(items=items, source="api").accepted)
        except BaseException as exc:  # a deadlock is an OperationalError: the API would answer 503
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    assert sum(accepted) == 2 * BATCHES * CUSTOMERS_PER_BATCH
    assert Customer.objects.count() == BATCHES * CUSTOMERS_PER_BATCH
    assert Experience.objects.count() == 2 * BATCHES * CUSTOMERS_PER_BATCH
