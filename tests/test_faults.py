"""Faults on the real stack: the database restarting, Redis stopping, the worker being killed.

The stack runs on a throwaway PostgreSQL and Redis of its own (tests/servers.py): the faults
break only those, never the servers the rest of the machine uses.
"""

import json
import os
import threading
import time
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from experiences.models import Experience
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from outbox.models import OutboxTask
from scoring.models import CustomerMark, CustomerScore
from scoring.recompute import rescore_all
from tests.factories import DepartmentFactory, TouchpointFactory

from .servers import ThrowawayPostgres, ThrowawayRedis
from .stack import api_key, running_stack, until
from .worker import redis_outage, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.faults]


@pytest.fixture
def figure(request):
    """Note a measured figure for bench/faults.py's table (kept only when CXM_FAULTS_FIGURES names a file)."""

    def note(text: str) -> None:
        path = os.environ.get("CXM_FAULTS_FIGURES")
        if path:
            with open(path, "a") as out:
                out.write(json.dumps({"test": request.node.name, "figure": text}) + "\n")

    return note


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


class Receiver:
    """A webhook receiver on a free port that counts what it got, optionally after hanging `delay` seconds."""

    def __init__(self, delay: float = 0) -> None:
        self.received: Counter = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay)
                receiver.received[(body["event"], json.dumps(body["data"].get("id")))] += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(delay: float = 0) -> Receiver:
        made.append(Receiver(delay))
        WebhookSubscription.objects.create(url=made[-1].url, events=["experience.negative"], secret="s" * 32)
        return made[-1]

    yield make
    for r in made:
        r.close()


def every_delivery_is_made() -> bool:
    """no webhook delivery is pending any more, nor any follow-up that would still create one

    (a follow-up whose message a Redis crash took waits in the outbox for its lease to run out)
    """
    return (
        not OutboxTask.objects.exists()
        and not WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()
    )


def what_is_owed() -> str:
    """The rescoring marks, outbox rows and undelivered webhooks left, with when each is due (seconds from now)."""
    now = timezone.now()

    def due(rows) -> list[tuple]:
        return [(*row[:-1], round((row[-1] - now).total_seconds(), 1)) for row in rows]

    rows = OutboxTask.objects.values_list("handler", "attempts", "due_at")
    deliveries = WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED)
    return (
        f"{CustomerMark.objects.count()} customer marks; outbox {due(rows)}; "
        f"deliveries {due(deliveries.values_list('status', 'attempts', 'next_attempt_at'))}"
    )


def scores_match_a_full_rescore() -> bool:
    """the stored scores equal those a full recompute (`rescore --all`) gives (the index to float precision)"""
    fields = ("customer_id", "recovery_debt", "positives", "negatives", "index")
    before = list(CustomerScore.objects.order_by("customer_id").values_list(*fields))
    rescore_all()
    after = list(CustomerScore.objects.order_by("customer_id").values_list(*fields))
    return [row[:-1] for row in before] == [row[:-1] for row in after] and [row[-1] for row in before] == pytest.approx(
        [row[-1] for row in after], rel=1e-9, abs=1e-9
    )


class Ingest:
    """A well-behaved integration sending batches in a thread: it resends a batch until it is acknowledged."""

    def __init__(self, stack, prefix: str, customers: int = 4, pause: float = 0.2, ids: bool = True) -> None:
        self.url = f"{stack.url}/api/v1/experiences/"
        self.headers = {"Authorization": f"Api-Key {api_key('experiences:write')}"}
        self.prefix, self.customers, self.pause, self.ids = prefix, customers, pause, ids
        self.accepted = 0
        self.statuses: list[int] = []
        self.seconds: list[float] = []
        self.acknowledged: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            started = time.monotonic()
            items = batch(f"{self.prefix}{n}", self.customers)
            if not self.ids:  # as many CRMs send them: a resent item would be stored twice
                items = [{k: v for k, v in item.items() if k != "id"} for item in items]
            try:
                response = requests.post(self.url, json={"experiences": items}, headers=self.headers, timeout=35)
            except requests.RequestException:
                self.statuses.append(0)
                continue
            self.seconds.append(time.monotonic() - started)
            self.statuses.append(response.status_code)
            if response.status_code == 201:
                self.acknowledged.update(r["key"] for r in response.json()["results"] if r["key"])
                self.accepted += response.json()["accepted"]
                n += 1
            time.sleep(self.pause)

    def __enter__(self) -> "Ingest":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


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
    return Experience.objects.exists() and not CustomerMark.objects.exists() and scored == lived


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


def test_the_stack_keeps_scoring_and_delivering_through_three_redis_restarts_with_messages_in_flight(
    stack, catalogue, own_redis: ThrowawayRedis, receiver, figure
):
    hook = receiver()
    with Ingest(stack, "rr") as ingest:
        for _ in range(3):
            until(lambda: len(ingest.acknowledged) >= 8, timeout=30)
            own_redis.stop()  # as a crash: queued and unacknowledged messages are gone with it
            time.sleep(1)
            own_redis.start()
            time.sleep(2)
        count = len(ingest.acknowledged)
        until(lambda: len(ingest.acknowledged) > count + 8, timeout=30)

    started = time.monotonic()
    owed: list[str] = []  # what was still owed every 5 s of the catching up, for a slow run's message

    def caught_up_with_everything() -> bool:
        """every experience is scored and every delivery made"""
        if every_experience_is_scored() and every_delivery_is_made():
            return True
        if time.monotonic() - started > 5 * (len(owed) + 1):
            owed.append(f"{time.monotonic() - started:.0f} s: {what_is_owed()}")
        return False

    until(caught_up_with_everything, timeout=90)
    caught_up = time.monotonic() - started

    exits = stack.log.count("Unrecoverable error")
    figure(
        f"{len(ingest.acknowledged)} items; all scored and delivered {caught_up:.1f} s after the 3rd restart; "
        f"{exits} worker exit(s)"
    )
    assert set(ingest.statuses) == {201}, Counter(ingest.statuses)
    assert caught_up < 30, f"scores and deliveries caught up {caught_up:.1f} s after the last restart; " + "; ".join(
        [*owed, *[line for line in stack.log.splitlines() if "WARNING" in line or "ERROR" in line][-30:]]
    )
    assert scores_match_a_full_rescore()
    negatives = set(Experience.objects.filter(valence=-1).values_list("pk", flat=True))
    assert set(hook.received) == {("experience.negative", json.dumps(pk)) for pk in negatives}
    assert set(hook.received.values()) == {1}, "a delivery reached the receiver twice"
    assert "Unrecoverable error" not in stack.log  # kombu's restore_unacked_once crash (cxm/broker.py)


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def test_a_stalled_redis_holds_no_request_and_stores_nothing_twice(stack, catalogue, own_redis: ThrowawayRedis, figure):
    healthz: list[float] = []
    with Ingest(stack, "cp", ids=False, pause=0.05) as ingest:
        until(lambda: ingest.accepted >= 8, timeout=30)
        own_redis.pause(30_000)  # CLIENT PAUSE: Redis accepts connections and answers nothing for 30 s
        stalled_until = time.monotonic() + 30
        while time.monotonic() < stalled_until:
            started = time.monotonic()
            assert requests.get(f"{stack.url}/healthz", timeout=5).status_code == 200
            healthz.append(time.monotonic() - started)
            time.sleep(0.2)
        count = ingest.accepted
        until(lambda: ingest.accepted > count + 8, timeout=30)

    figure(
        f"{len(ingest.seconds)} requests, slowest {max(ingest.seconds):.2f} s; /healthz p95 "
        f"{p95(healthz) * 1000:.0f} ms, max {max(healthz) * 1000:.0f} ms; {Counter(ingest.statuses)}"
    )
    assert set(ingest.statuses) == {201}, Counter(ingest.statuses)
    assert max(ingest.seconds) < 2, f"slowest request {max(ingest.seconds):.2f} s"
    assert p95(healthz) < 0.1, f"/healthz p95 {p95(healthz) * 1000:.0f} ms"  # it never touches Redis
    assert max(healthz) < 0.5, f"slowest /healthz {max(healthz) * 1000:.0f} ms"
    assert Experience.objects.count() == ingest.accepted  # nothing resent, nothing stored twice
    until(every_experience_is_scored, timeout=60)


def test_with_the_broker_down_a_write_answers_at_once_and_everything_is_delivered_after(
    stack, catalogue, own_redis: ThrowawayRedis, receiver, figure
):
    hooks = [receiver() for _ in range(10)]
    headers = {"Authorization": f"Api-Key {api_key('experiences:write')}"}
    negatives = [{**item, "valence": "negative"} for item in batch("bd", customers=300)]
    own_redis.stop()
    try:
        started = time.monotonic()
        response = requests.post(
            f"{stack.url}/api/v1/experiences/", json={"experiences": negatives}, headers=headers, timeout=35
        )
        answered = time.monotonic() - started
    finally:
        own_redis.start()
    started = time.monotonic()
    # The batch's one outbox row becomes its 3,000 deliveries in a worker, once the broker is back.
    until(lambda: WebhookDelivery.objects.count() == 3000 and every_delivery_is_made(), timeout=120)
    delivered = time.monotonic() - started

    figure(f"write answered in {answered:.2f} s; 3,000 deliveries made {delivered:.1f} s after Redis returned")
    assert (response.status_code, response.json()["accepted"]) == (201, 300)
    assert answered < 1, f"the write took {answered:.2f} s"
    assert WebhookDelivery.objects.count() == 3000
    assert all(sum(hook.received.values()) == 300 for hook in hooks)
    assert delivered < 30, f"delivered {delivered:.1f} s after Redis returned"


def test_a_hanging_webhook_receiver_does_not_delay_scores(stack, catalogue, receiver, figure):
    receiver(delay=15)  # answers after 15 s: every attempt times out
    headers = {"Authorization": f"Api-Key {api_key('experiences:write')}"}
    latencies: list[float] = []
    for n in range(20):
        item = batch(f"hr{n}", customers=2)[1]  # a negative: one delivery to the hanging receiver
        scores = CustomerScore.objects.filter(customer__external_id=item["customer"]["external_id"], negatives=1)
        sent = time.monotonic()
        response = requests.post(
            f"{stack.url}/api/v1/experiences/", json={"experiences": [item]}, headers=headers, timeout=10
        )
        assert response.status_code == 201
        wait_for(scores.exists, timeout=30, interval=0.02)
        latencies.append(time.monotonic() - sent)

    figure(f"experience → score p50 {sorted(latencies)[len(latencies) // 2]:.2f} s, p95 {p95(latencies):.2f} s")
    assert p95(latencies) < 2, f"experience → score p95 {p95(latencies):.2f} s"
