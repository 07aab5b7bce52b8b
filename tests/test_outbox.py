"""The outbox: work owed to a write is stored with it and handed out by the dispatcher."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from experiences.services import record_experiences
from feedback.models import Case, Survey
from feedback.services import create_invitations
from outbox import services as outbox
from outbox.models import OutboxTask
from outbox.services import dispatch, run_task

from .servers import free_port


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


def test_a_second_message_for_the_same_row_does_nothing(customer, touchpoint):
    record_experiences(items=[negative("n-1")], source="api")
    task = OutboxTask.objects.get()

    run_task(task_id=task.pk)
    Case.objects.all().delete()
    run_task(task_id=task.pk)  # the broker delivered the message again

    assert not Case.objects.exists()


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
