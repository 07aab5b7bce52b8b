"""Outbound webhooks: signed, delivered by Celery to a real HTTP receiver, retried with backoff."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from experiences.services import record_experiences
from integrations.models import DeliveryStatus, Scope, WebhookDelivery, WebhookSubscription
from integrations.services import ATTEMPT_MARGIN_SECONDS
from integrations.tasks import deliver_webhooks
from outbox.services import dispatch, dispatch_due_tasks
from scoring.recompute import rescore_dirty

from .api import key_client

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """An HTTP server on 127.0.0.1 that answers with the given statuses, then 200, and keeps what it got."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified_bodies(self, secret=SECRET):
        """Bodies that the Standard Webhooks reference library verifies (signature and recent timestamp)."""
        bodies = []
        for headers, body in self.received:
            try:
                Webhook(secret).verify(body, dict(headers.items()))
            except WebhookVerificationError:
                continue
            bodies.append(json.loads(body))
        return bodies

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def receivers_on_this_machine_allowed(settings):
    """The test receiver listens on 127.0.0.1: refused unless allowed (tests/test_webhook_security.py)."""
    settings.CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True


@pytest.fixture
def receiver():
    made = []

    def make(*statuses):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def subscribe(url, *events):
    return WebhookSubscription.objects.create(url=url, events=list(events) or ["experience.negative"], secret=SECRET)


@pytest.fixture
def record(touchpoint, customer, django_capture_on_commit_callbacks):
    def send(valence, key="x-1"):
        with django_capture_on_commit_callbacks(execute=True):
            item = {"id": key, "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": valence}
            return record_experiences(items=[item], source="api")

    return send


def test_negative_experience_is_delivered_signed_to_the_subscriber(receiver, record):
    hook = receiver()
    subscribe(hook.url)
    batch = record("negative")
    [body] = hook.verified_bodies()
    assert body["event"] == "experience.negative"
    assert body["data"]["id"] == batch.results[0].id
    assert (body["data"]["customer"], body["data"]["valence"]) == ("ACME-1", "negative")
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


def test_signature_made_with_another_secret_does_not_verify(receiver, record):
    hook = receiver()
    subscribe(hook.url)
    record("negative")
    assert len(hook.received) == 1
    assert hook.verified_bodies(secret="somebody-elses-secret") == []


def test_positive_experience_sends_nothing(receiver, record):
    hook = receiver()
    subscribe(hook.url)
    record("positive")
    assert hook.received == []
    assert not WebhookDelivery.objects.exists()


def test_failed_delivery_is_retried_on_the_standard_webhooks_schedule(receiver, record):
    hook = receiver(500, 503)
    subscribe(hook.url)
    record("negative")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() == pytest.approx(5, abs=1)

    dispatch()  # not due yet
    assert len(hook.received) == 1
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
        dispatch()
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_status) == (2, 503)
    assert (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() == pytest.approx(300, abs=1)
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
        dispatch()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.DELIVERED, 3, 200)
    assert len(hook.received) == 3


def test_delivery_gives_up_after_the_last_attempt_of_the_schedule(receiver, record, settings):
    settings.CXM_WEBHOOK_RETRY_SCHEDULE = [0, 0]
    hook = receiver(500, 500, 500)
    subscribe(hook.url)
    record("negative")
    dispatch()
    dispatch()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.FAILED,
        2,
        "HTTP 500 Internal Server Error",
    )
    assert len(hook.received) == 2


def test_an_attempt_whose_message_arrives_twice_is_posted_once(receiver, touchpoint, customer):
    hook = receiver()
    delivery = WebhookDelivery.objects.create(
        subscription=subscribe(hook.url), event="experience.negative", payload={"id": 1}
    )

    deliver_webhooks([[delivery.pk, 0]])
    deliver_webhooks([[delivery.pk, 0]])  # the broker redelivered the message

    assert len(hook.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


def test_deliveries_waiting_their_turn_are_due_again_soon_should_their_worker_be_lost(transactional_db, settings):
    """A message of ten attempts to a slow receiver: while the first is under way, the nine others are
    held for two attempts' time, not for ten; were the worker lost now, the sweep would send them then."""
    answering, first_arrived = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            first_arrived.set()
            answering.wait(timeout=10)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    subscription = subscribe(f"http://127.0.0.1:{server.server_port}/hooks")
    deliveries = [
        WebhookDelivery.objects.create(subscription=subscription, event="experience.negative", payload={"id": n})
        for n in range(10)
    ]

    def worker() -> None:
        try:
            deliver_webhooks([[d.pk, 0] for d in deliveries])
        finally:
            connection.close()  # this thread's own

    message = threading.Thread(target=worker)
    message.start()
    try:
        assert first_arrived.wait(timeout=10)
        started = timezone.now()
        waiting = WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries[1:]])
        due = [at - started for at in waiting.values_list("next_attempt_at", flat=True)]
    finally:
        answering.set()
        message.join(timeout=30)
        server.shutdown()
        server.server_close()

    one_attempt = timedelta(seconds=settings.CXM_WEBHOOK_TIMEOUT_SECONDS + ATTEMPT_MARGIN_SECONDS)
    assert len(due) == 9
    assert all(one_attempt < held <= 2 * one_attempt for held in due), due
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


def test_customer_becoming_at_risk_is_announced(receiver, record):
    hook = receiver()
    subscribe(hook.url, "customer.at_risk")
    record("negative")
    [body] = hook.verified_bodies()
    assert body["event"] == "customer.at_risk"
    assert (body["data"]["external_id"], body["data"]["score"]["recovery_debt"]) == ("ACME-1", 5)


def test_customer_already_at_risk_is_not_announced_again(receiver, record):
    hook = receiver()
    subscribe(hook.url, "customer.at_risk")
    record("negative", key="first")
    record("negative", key="second")
    assert len(hook.received) == 1


def test_at_risk_event_is_stored_in_the_rescore_transaction_itself(customer, touchpoint):
    subscribe("http://127.0.0.1:9/", "customer.at_risk")
    record_experiences(
        items=[{"customer": "ACME-1", "touchpoint": touchpoint.code, "valence": "negative"}], source="api"
    )  # no on-commit hooks run here: only the rescore below can store the event

    rescore_dirty()
    dispatch()  # what a worker does after the rescore's commit

    delivery = WebhookDelivery.objects.get(event="customer.at_risk")
    assert delivery.payload["external_id"] == "ACME-1"


def test_a_delivery_whose_message_was_lost_is_sent_by_the_next_sweep(receiver, db):
    hook = receiver()
    subscription = subscribe(hook.url)
    delivery = WebhookDelivery.objects.create(subscription=subscription, event="experience.negative", payload={"id": 1})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=3))

    assert dispatch()["deliveries"] == 1

    assert [b["data"] for b in hook.verified_bodies()] == [{"id": 1}]


def test_subscription_created_through_the_api_shows_its_secret_once(db):
    client = key_client(Scope.WEBHOOKS_MANAGE)
    created = client.post(
        "/api/v1/webhooks/", {"url": "https://crm.example/hooks", "events": ["customer.at_risk"]}, format="json"
    ).json()
    assert created["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhooks/").json()["results"]
    assert [s["url"] for s in listed] == ["https://crm.example/hooks"]
    assert "secret" not in listed[0]


def test_subscription_to_an_unknown_event_says_which_exist(db):
    response = key_client(Scope.WEBHOOKS_MANAGE).post(
        "/api/v1/webhooks/", {"url": "https://crm.example/hooks", "events": ["order.shipped"]}, format="json"
    )
    assert response.status_code == 400
    assert "events" in response.json()["errors"]


def test_a_survey_answer_is_announced_with_the_moment_it_recalls(
    customer, touchpoint, django_capture_on_commit_callbacks
):
    from feedback.models import Survey
    from feedback.services import create_invitations, record_response

    subscribe("http://127.0.0.1:9/", "survey.answered")
    survey = Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint)
    invitation = survey.invitations.get(pk=create_invitations(survey=survey, customers=[customer]).created[0])

    response = record_response(invitation=invitation, score=9, comment="Fast and friendly")

    payload = WebhookDelivery.objects.get(event="survey.answered").payload
    assert payload["id"] == response.pk
    assert (payload["survey"], payload["kind"], payload["score"]) == ("delivery-nps", "nps", 9)
    assert (payload["customer"], payload["comment"]) == ("ACME-1", "Fast and friendly")
    assert payload["experience"] == response.experience_id
    assert payload["recalls_experience"] is None  # invited by hand, not after a moment


def test_experience_recorded_goes_only_to_subscriptions_that_name_it(receiver, record):
    naming, negative_only = receiver(), receiver()
    subscribe(naming.url, "experience.recorded")
    subscribe(negative_only.url, "experience.negative")
    batch = record("positive")
    [body] = naming.verified_bodies()
    assert body["event"] == "experience.recorded"
    assert (body["data"]["id"], body["data"]["valence"]) == (batch.results[0].id, "positive")
    assert negative_only.received == []


def test_a_negative_is_announced_as_both_events_to_a_subscription_naming_both(receiver, record):
    hook = receiver()
    subscribe(hook.url, "experience.negative", "experience.recorded")
    record("negative")
    assert sorted(body["event"] for body in hook.verified_bodies()) == ["experience.negative", "experience.recorded"]


def test_a_batch_costs_its_request_one_write_and_one_wake_whatever_the_subscribers(
    touchpoint, customer, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """The request writes one outbox row; the deliveries (10 subscribers × 30 events) are a worker's job."""
    from outbox.models import OutboxTask

    for n in range(10):
        subscribe(f"https://receiver.example/{n}", "experience.negative", "experience.recorded")
    writer = key_client(Scope.EXPERIENCES_WRITE)
    items = [
        {
            "id": f"b-{n}",
            "customer": "ACME-1",
            "touchpoint": "on-time-delivery",
            "valence": ("negative", "positive")[n % 2],
        }
        for n in range(30)
    ]
    writer.post("/api/v1/experiences/", items[0] | {"id": "warm-up"}, format="json")
    OutboxTask.objects.all().delete()
    with django_capture_on_commit_callbacks() as wakes, django_assert_num_queries(2):
        response = writer.post("/api/v1/experiences/", {"experiences": items}, format="json")
    assert response.json()["accepted"] == 30
    assert len(wakes) <= 1  # at most one broker message, sent after commit
    assert not WebhookDelivery.objects.exists()
    [task] = OutboxTask.objects.all()
    assert len(task.kwargs["experience_ids"]) == 30
    dispatch_due_tasks()  # what the worker does with the row
    assert WebhookDelivery.objects.filter(event="experience.recorded").count() == 10 * 30
    assert WebhookDelivery.objects.filter(event="experience.negative").count() == 10 * 15
