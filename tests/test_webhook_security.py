"""Standard Webhooks signatures through a secret rotation, SSRF refusals, ownership, and the delivery log.

Deliveries go to a real receiver on 127.0.0.1 (allowed by the setting, as for on-premises
receivers); the SSRF checks refuse 127.0.0.1, 10.0.0.1 and 169.254.169.254 before any
connection is opened, so no traffic goes to those addresses.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from integrations import signing
from integrations.models import DeliveryStatus, Scope, WebhookDelivery, WebhookSubscription
from integrations.services import attempt_delivery
from tests.factories import UserFactory

from .api import key_client
from .test_webhooks import Receiver

URL = "/api/v1/webhooks/"
REFUSED = ["http://127.0.0.1/hooks", "http://10.0.0.1/hooks", "http://169.254.169.254/latest/meta-data/",
           "http://localhost:8000/api/", "http://[::1]/hooks", "http://[::ffff:10.0.0.1]/hooks"]  # fmt: skip


@pytest.fixture
def receiver(settings, dns_of_this_machine_only):
    settings.CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def manager(db, dns_of_this_machine_only):
    return key_client(Scope.WEBHOOKS_MANAGE)


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """POST and run what the request queued after commit (the delivery), as a worker would."""

    def post(client, url):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url)

    return post


def verifies(secret: str, headers, body: bytes) -> bool:
    try:
        Webhook(secret).verify(body, dict(headers.items()))
    except WebhookVerificationError:
        return False
    return True


def test_deliveries_carry_standard_webhooks_headers(receiver, manager, sent):
    created = manager.post(URL, {"url": receiver.url, "events": ["case.opened"]}, format="json").json()
    sent(manager, f"{URL}{created['id']}/ping/")
    [(headers, body)] = receiver.received
    assert headers["webhook-id"].startswith("msg_")
    assert headers["webhook-signature"].startswith("v1,")
    assert verifies(created["secret"], headers, body)


def test_both_secrets_verify_during_a_rotation_and_only_the_new_one_after(receiver, manager, settings, sent):
    settings.CXM_WEBHOOK_SECRET_OVERLAP_HOURS = 2
    created = manager.post(URL, {"url": receiver.url, "events": ["case.opened"]}, format="json").json()
    old = created["secret"]
    rotated = manager.post(f"{URL}{created['id']}/rotate-secret/").json()
    new = rotated["secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated["old_secret_valid_until"] is not None
    sent(manager, f"{URL}{created['id']}/ping/")
    headers, body = receiver.received[-1]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verifies(old, headers, body) and verifies(new, headers, body)

    WebhookSubscription.objects.filter(pk=created["id"]).update(
        previous_secret_until=timezone.now() - timedelta(seconds=1)
    )
    sent(manager, f"{URL}{created['id']}/ping/")
    headers, body = receiver.received[-1]
    assert verifies(new, headers, body)
    assert not verifies(old, headers, body)


@pytest.mark.parametrize("url", REFUSED)
def test_private_destinations_are_refused_at_subscription(manager, url):
    response = manager.post(URL, {"url": url, "events": ["case.opened"]}, format="json")
    assert response.status_code == 400
    assert "webhooks are not sent here" in response.json()["errors"]["url"][0]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", REFUSED)
def test_private_destinations_are_refused_again_at_delivery(db, dns_of_this_machine_only, url):
    subscription = WebhookSubscription.objects.create(url=url, events=["case.opened"], secret=signing.new_secret())
    delivery = WebhookDelivery.objects.create(subscription=subscription, event="case.opened", payload={})
    assert attempt_delivery(delivery_id=delivery.pk, attempt=0) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == (DeliveryStatus.FAILED, None)
    assert "webhooks are not sent here" in delivery.last_error


def test_a_receiver_on_this_machine_gets_nothing_unless_allowed(db, dns_of_this_machine_only, settings):
    listening = Receiver()
    try:
        subscription = WebhookSubscription.objects.create(
            url=listening.url, events=["case.opened"], secret=signing.new_secret()
        )
        delivery = WebhookDelivery.objects.create(subscription=subscription, event="case.opened", payload={})
        attempt_delivery(delivery_id=delivery.pk, attempt=0)
        assert listening.received == []
    finally:
        listening.close()


def test_redirects_are_not_followed(db, receiver):
    target = Receiver()
    redirecting = Receiver(statuses=[302])
    try:
        subscription = WebhookSubscription.objects.create(
            url=redirecting.url, events=["case.opened"], secret=signing.new_secret()
        )
        delivery = WebhookDelivery.objects.create(subscription=subscription, event="case.opened", payload={})
        attempt_delivery(delivery_id=delivery.pk, attempt=0)
        delivery.refresh_from_db()
        assert delivery.response_status == 302
        assert delivery.status == DeliveryStatus.PENDING  # a failed attempt, retried later
        assert target.received == []
    finally:
        target.close()
        redirecting.close()


def test_subscriptions_belong_to_the_key_that_made_them(manager, client):
    other = key_client(Scope.WEBHOOKS_MANAGE)
    created = manager.post(URL, {"url": "https://hooks.example.com/a", "events": ["case.opened"]}, format="json")
    pk = created.json()["id"]
    assert other.get(URL).json()["results"] == []
    assert other.get(f"{URL}{pk}/").status_code == 404
    assert other.patch(f"{URL}{pk}/", {"active": False}, format="json").status_code == 404
    assert other.delete(f"{URL}{pk}/").status_code == 404
    assert [s["id"] for s in manager.get(URL).json()["results"]] == [pk]
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    assert [s["id"] for s in client.get(URL).json()["results"]] == [pk]


def test_subscription_list_is_paginated(manager):
    for n in range(3):
        manager.post(URL, {"url": f"https://hooks.example.com/{n}", "events": ["case.opened"]}, format="json")
    first = manager.get(URL, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = manager.get(first["next"]).json()
    assert [s["url"] for s in second["results"]] == ["https://hooks.example.com/2"]


def test_deactivation_cancels_pending_deliveries(manager):
    pk = manager.post(URL, {"url": "https://hooks.example.com/a", "events": ["case.opened"]}, format="json").json()[
        "id"
    ]
    subscription = WebhookSubscription.objects.get(pk=pk)
    pending = WebhookDelivery.objects.create(subscription=subscription, event="case.opened", payload={})
    assert manager.patch(f"{URL}{pk}/", {"active": False}, format="json").status_code == 200
    pending.refresh_from_db()
    assert pending.status == DeliveryStatus.CANCELLED
    assert attempt_delivery(delivery_id=pending.pk, attempt=0) is None
    pending.refresh_from_db()
    assert pending.attempts == 0


def test_deliveries_are_listed_and_one_can_be_sent_again(receiver, manager, sent):
    pk = manager.post(URL, {"url": receiver.url, "events": ["case.opened"]}, format="json").json()["id"]
    ping = sent(manager, f"{URL}{pk}/ping/")
    assert ping.status_code == 202
    listed = manager.get(f"{URL}{pk}/deliveries/").json()["results"]
    assert [(d["event"], d["status"]) for d in listed] == [("webhook.ping", "delivered")]
    again = sent(manager, f"{URL}{pk}/deliveries/{listed[0]['id']}/redeliver/")
    assert again.status_code == 202
    assert len(receiver.received) == 2
    assert receiver.received[0][1] != receiver.received[1][1]  # a new delivery: its own id
    assert manager.get(f"{URL}{pk}/deliveries/").json()["results"][0]["id"] == again.json()["id"]
    other = key_client(Scope.WEBHOOKS_MANAGE)
    assert other.post(f"{URL}{pk}/deliveries/{listed[0]['id']}/redeliver/").status_code == 404


def test_delivery_log_takes_three_queries(manager, django_assert_num_queries):
    pk = manager.post(URL, {"url": "https://hooks.example.com/a", "events": ["case.opened"]}, format="json").json()[
        "id"
    ]
    subscription = WebhookSubscription.objects.get(pk=pk)
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(subscription=subscription, event="case.opened", payload={}) for _ in range(5)]
    )
    with django_assert_num_queries(3):  # the key, the subscription, the page
        assert len(manager.get(f"{URL}{pk}/deliveries/").json()["results"]) == 5
