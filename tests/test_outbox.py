"""The outbox: work owed to a write is stored with it and handed out by the dispatcher."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from experiences.services import FOLLOW_UP, record_experiences
from feedback.models import Case, Survey
from feedback.services import create_invitations
from integrations.models import WebhookDelivery, WebhookSubscription
from outbox import services as outbox
from outbox.models import OutboxTask
from outbox.services import dispatch, dispatch_due_tasks
from outbox.tasks import run

from .factories import CustomerFactory
from .servers import free_port
from .worker import wait_for, worker_fixture  # noqa: F401


def negative(key: str) -> dict:
    return {"id": key, "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative", "intensity": 5}


def test_a_write_owes_its_cases_in_its_own_transaction(customer, touchpoint):
    record_experiences(items=[negative("n-1")], source="api")  # the test's transaction never commits

    [task] = OutboxTask.objects.all()
    assert task.handler == "experiences.services.follow_up"  # the cases and webhook events of the batch
    assert not Case.objects.exists()

    dispatch()  # what a worker does after the commit

    assert Case.objects.count() == 1
    assert not OutboxTask.objects.exists()


def positive(key: str) -> dict:
    return negative(key) | {"valence": "positive"}


def payload_ids(event: str) -> list[int]:
    return sorted(WebhookDelivery.objects.filter(event=event).values_list("payload__id", flat=True))


def test_thirty_single_item_writes_owe_one_message_and_one_call(broker, customer, touchpoint):
    WebhookSubscription.objects.create(
        url="https://crm.example/hooks",
        events=["experience.negative", "experience.recorded", "case.opened"],
        secret="s" * 32,
    )
    results = [
        record_experiences(items=[(negative if n % 2 else positive)(f"x-{n}")], source="api") for n in range(30)
    ]  # thirty requests, thirty commits: the test's transaction stands in for them
    ids = [r.results[0].id for r in results]
    negatives = ids[1::2]
    assert OutboxTask.objects.filter(handler=FOLLOW_UP).count() == 30  # one row per write

    assert dispatch_due_tasks() == 30
    messages = broker.args("outbox.tasks.run")
    assert len(messages) == 1  # not thirty: the rows go as one group
    for args in messages:
        run(*args)  # what a worker does with the message

    assert not OutboxTask.objects.exists()
    assert sorted(Case.objects.values_list("experience_id", flat=True)) == negatives  # every negative its case
    assert payload_ids("experience.negative") == negatives  # every event exactly once
    assert payload_ids("experience.recorded") == ids
    assert payload_ids("case.opened") == sorted(Case.objects.values_list("pk", flat=True))


def test_a_merged_group_is_capped_so_one_message_stays_quick(broker, customer, touchpoint, monkeypatch):
    for n in range(5):
        record_experiences(items=[negative(f"a-{n}"), negative(f"b-{n}")], source="api")
    outbox_rows = list(OutboxTask.objects.order_by("pk").values_list("pk", flat=True))

    monkeypatch.setattr(outbox, "MERGE_IDS", 4)  # two writes of two ids each per message
    dispatch_due_tasks()

    assert broker.args("outbox.tasks.run") == [[outbox_rows[0:2]], [outbox_rows[2:4]], [outbox_rows[4:5]]]


def test_rows_of_other_handlers_run_one_call_each(broker, customer, touchpoint):
    survey = Survey.objects.create(slug="nps", name="NPS", kind="nps", touchpoint=touchpoint)
    create_invitations(survey=survey, customers=[customer])
    create_invitations(survey=survey, customers=[CustomerFactory()])  # e-mail leaves the process: never merged
    record_experiences(items=[negative("n-1")], source="api")
    rows = list(OutboxTask.objects.order_by("pk").values_list("pk", flat=True))

    assert dispatch_due_tasks() == 3

    assert sorted(broker.args("outbox.tasks.run")) == [[[pk]] for pk in rows]


def test_a_row_that_fails_is_retried_alone_while_its_merged_neighbours_complete(customer, touchpoint):
    written = [record_experiences(items=[negative(f"n-{n}")], source="api").results[0].id for n in range(3)]
    broken = OutboxTask.objects.create(handler=FOLLOW_UP, kwargs={"experience_ids": ["not-an-id"]})
    written.append(record_experiences(items=[negative("n-3")], source="api").results[0].id)

    with pytest.raises(ValueError):
        dispatch()  # one group of four rows: the merged call fails, then each row runs alone

    assert sorted(Case.objects.values_list("experience_id", flat=True)) == written
    assert list(OutboxTask.objects.values_list("pk", "attempts")) == [(broken.pk, 1)]  # owed, leased
    assert dispatch()["tasks"] == 0
    later = timezone.now() + outbox.LEASE + timedelta(seconds=1)
    with time_machine.travel(later, tick=False), pytest.raises(ValueError):
        dispatch()  # due again after the lease, alone
    assert OutboxTask.objects.get().attempts == 2
    assert Case.objects.count() == 4  # its neighbours' cases were opened once


def test_a_second_message_for_the_same_rows_does_nothing(customer, touchpoint):
    record_experiences(items=[negative("n-1")], source="api")
    record_experiences(items=[negative("n-2")], source="api")
    rows = list(OutboxTask.objects.values_list("pk", flat=True))

    run(rows)
    Case.objects.all().delete()
    run(rows)  # the broker delivered the message again
    run(rows[0])  # or a message queued before rows went in groups named one of them

    assert not Case.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_row_under_way_in_another_worker_is_left_to_it(broker, customer, touchpoint):
    # the writes commit; their dispatch waits in Redis (the broker fixture: no worker takes it)
    record_experiences(items=[negative("n-1")], source="api")
    record_experiences(items=[negative("n-2")], source="api")
    busy, free = OutboxTask.objects.order_by("pk")
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        """holds the first row's lock, as a worker running its call would"""
        try:
            with transaction.atomic():
                OutboxTask.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        run([busy.pk, free.pk])  # a second message for both, while the first is under way
    finally:
        release.set()
        thread.join()

    assert list(OutboxTask.objects.values_list("pk", flat=True)) == [busy.pk]  # still the other worker's
    assert list(Case.objects.values_list("experience_id", flat=True)) == free.kwargs["experience_ids"]


def test_a_message_queued_before_rows_went_in_groups_still_runs_its_row(customer, touchpoint):
    record_experiences(items=[negative("n-1")], source="api")

    run(OutboxTask.objects.get().pk)  # a single id, as messages were sent before

    assert Case.objects.count() == 1
    assert not OutboxTask.objects.exists()


def test_a_call_that_fails_stays_owed_and_is_due_again_after_the_lease(customer, touchpoint, settings, mailoutbox):
    survey = Survey.objects.create(slug="nps", name="NPS", kind="nps", touchpoint=touchpoint)
    create_invitations(survey=survey, customers=[customer])
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # a mail server that is down
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    with pytest.raises(OSError):
        dispatch()

    task = OutboxTask.objects.get()
    assert (task.handler, task.attempts) == ("feedback.services.send_invitations", 1)
    assert dispatch()["tasks"] == 0  # leased: not sent again at once
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is back
    with time_machine.travel(timezone.now() + outbox.LEASE + timedelta(seconds=1), tick=False):
        assert dispatch()["tasks"] == 1
    assert [m.to for m in mailoutbox] == [[customer.email]]
    assert not OutboxTask.objects.exists()


def test_only_known_service_functions_can_be_owed(db):
    with pytest.raises(ValueError, match="not an outbox handler"):
        outbox.record(handler="os.system", command="true")


@pytest.mark.worker
def test_a_real_worker_runs_a_burst_of_writes_follow_ups_from_one_message(worker, customer, touchpoint):
    worker.stop()  # the writes land while no worker takes messages, as under a busy queue
    for n in range(30):
        record_experiences(items=[negative(f"n-{n}")], source="api")  # thirty commits
    worker.start()

    def done() -> bool:
        """every negative has its case and no outbox row is left"""
        return Case.objects.count() == 30 and not OutboxTask.objects.exists()

    wait_for(done, timeout=30)
    received = [line for line in worker.log.splitlines() if "Task outbox.tasks.run[" in line and "received" in line]
    assert len(received) == 1  # one message for the thirty rows
