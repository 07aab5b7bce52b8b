"""A burst of writes asks the broker for one rescore, not one per write, and never waits on it."""

import time

from experiences.services import record_experiences
from outbox.services import DISPATCH_PENDING_SECONDS, dispatch

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
