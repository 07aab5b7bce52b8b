"""A burst of writes asks the broker for one rescore, not one per write, and never waits on it; rescores run
one at a time, at most one start per CXM_RESCORE_INTERVAL_SECONDS."""

import threading
import time
from datetime import datetime

import psycopg2
import pytest
from django.core.cache import cache
from django.db import connection

from experiences.services import record_experiences
from outbox.services import DISPATCH_PENDING_SECONDS, DISPATCH_STARTED_KEY, dispatch
from scoring.models import CustomerScore
from scoring.recompute import RESCORE_LOCK
from scoring.tasks import STARTED_KEY, enqueue_rescore, rescore_dirty_task

from .dashboard_data import experience
from .factories import CustomerFactory
from .worker import wait_for


def test_a_burst_of_ten_thousand_experiences_enqueues_one_rescore(
    broker, touchpoint, django_capture_on_commit_callbacks
):
    customers = [CustomerFactory() for _ in range(100)]

    started = time.monotonic()
    for n in range(50):  # fifty commits of 200 experiences, as fifty API calls would make
        with django_capture_on_commit_callbacks(execute=True):
            result = record_experiences(
                items=[experience(customers[(n + k) % 100], touchpoint, "negative") for k in range(200)],
                source="api",
            )
        assert result.accepted == 200
    wait_for(lambda: broker("outbox.tasks.dispatch") >= 1, timeout=5)
    for _ in range(broker("outbox.tasks.dispatch")):  # what a worker does with each dispatch message
        dispatch()

    # the first commit asks for a dispatch; the others find it queued, not started yet, and share it
    # (the flag lasts DISPATCH_PENDING_SECONDS in case the message was lost: a slow burst may ask again)
    assert broker("outbox.tasks.dispatch") <= 1 + (time.monotonic() - started) // DISPATCH_PENDING_SECONDS
    assert broker("scoring.tasks.rescore_dirty_task") == 1


def test_a_rescore_asked_for_right_after_one_started_waits_for_the_interval(broker, customer, touchpoint, settings):
    settings.CXM_RESCORE_INTERVAL_SECONDS = 0.5
    record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")
    started = time.time() - 0.2
    cache.set(STARTED_KEY, started)  # a rescore started 0.2 s ago

    assert enqueue_rescore()

    (eta,) = broker.etas("scoring.tasks.rescore_dirty_task")
    assert eta is not None
    # Half a second after the start of the one under way, not after the ask: Celery adds the countdown to
    # its own clock, read a moment after the countdown was computed, so the eta may pass it by that moment.
    assert 0.5 - 1e-3 <= datetime.fromisoformat(eta).timestamp() - started < 0.6


def test_a_rescore_asked_for_long_after_the_last_one_runs_at_once(broker, customer, touchpoint, settings):
    settings.CXM_RESCORE_INTERVAL_SECONDS = 0.5
    record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")
    cache.set(STARTED_KEY, time.time() - 5)

    assert enqueue_rescore()

    assert broker.etas("scoring.tasks.rescore_dirty_task") == [None]


@pytest.mark.django_db(transaction=True)
def test_a_rescore_waits_for_the_one_under_way_then_scores_what_it_left(customer, touchpoint, monkeypatch):
    monkeypatch.setattr("outbox.services.wake", lambda: None)  # the task is run by hand below
    record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")
    under_way = psycopg2.connect(**connection.get_connection_params())  # holds the lock a running rescore holds
    under_way.cursor().execute("SELECT pg_advisory_lock(%s)", [RESCORE_LOCK])
    second = threading.Thread(target=lambda: (rescore_dirty_task.apply(), connection.close()))
    try:
        second.start()
        time.sleep(0.5)
        assert not CustomerScore.objects.filter(customer=customer).exists()  # it waits, computing nothing
    finally:
        under_way.close()  # the first run ends
    second.join(timeout=30)

    assert CustomerScore.objects.get(customer=customer).negatives == 1


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_asked_for_right_after_one_started_waits_for_the_interval(broker, customer, touchpoint, settings):
    settings.CXM_DISPATCH_INTERVAL_SECONDS = 0.25
    cache.set(DISPATCH_STARTED_KEY, time.time())  # a dispatch has just started
    try:
        asked = time.time()
        record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")  # commits: asks
        wait_for(lambda: broker("outbox.tasks.dispatch") == 1, timeout=5)
    finally:
        cache.delete(DISPATCH_STARTED_KEY)

    (eta,) = broker.etas("outbox.tasks.dispatch")
    assert eta is not None
    assert 0.1 < datetime.fromisoformat(eta).timestamp() - asked <= 0.3
