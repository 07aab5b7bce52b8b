"""Writes of the integrations app: API keys, webhook events and their signed delivery, CSV import jobs."""

from __future__ import annotations

import io
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Least
from django.utils import timezone

from outbox import services as outbox
from outbox.services import LEASE as DISPATCH_LEASE
from outbox.services import queue_has_room, send_in_bulk, wake, wake_after_commit
from touchpoints.models import Department

from . import destinations, signing
from .models import (
    ApiKey,
    DeliveryStatus,
    Event,
    ImportJob,
    ImportStatus,
    Scope,
    WebhookDelivery,
    WebhookSubscription,
)

log = logging.getLogger(__name__)

EVENT_HEADER = "X-CXM-Event"
ERROR_TEXT_LIMIT = 1000
ATTEMPT_MARGIN_SECONDS = 20
DELIVERIES_PER_MESSAGE = 20


def create_api_key(
    *,
    name: str,
    scopes: Iterable[str],
    expiry_date: datetime | None = None,
    throttle_rate: str = "",
    departments: Iterable[str] = (),
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is stored only hashed and shown this once.

    `departments` (codes) limits what the key reads and changes to those departments' data.
    """
    scopes = sorted(set(scopes))
    if throttle_rate:
        try:
            ApiKey._meta.get_field("throttle_rate").run_validators(throttle_rate)
        except ValidationError as exc:
            raise ValueError(f"throttle rate {throttle_rate!r}: {' '.join(exc.messages)}") from exc
    if expiry_date is not None and timezone.is_naive(expiry_date):
        expiry_date = timezone.make_aware(expiry_date)
    unknown = [s for s in scopes if s not in Scope.values]
    if unknown:
        raise ValueError(f"unknown scopes {', '.join(unknown)}; valid scopes are {', '.join(Scope.values)}")
    codes = sorted(set(departments))
    limited = list(Department.objects.filter(code__in=codes))
    missing = sorted(set(codes) - {d.code for d in limited})
    if missing:
        raise ValueError(f"unknown departments {', '.join(missing)}")
    with transaction.atomic():
        api_key, key = ApiKey.objects.create_key(  # the manager of ApiKey makes ApiKey rows
            name=name, scopes=scopes, expiry_date=expiry_date, throttle_rate=throttle_rate
        )
        cast(ApiKey, api_key).departments.set(limited)
    return cast(ApiKey, api_key), key


def new_webhook_secret() -> str:
    return signing.new_secret()


def rotate_webhook_secret(*, subscription: WebhookSubscription) -> str:
    """A new secret; the old one keeps signing beside it for CXM_WEBHOOK_SECRET_OVERLAP_HOURS."""
    secret = new_webhook_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = timezone.now() + timedelta(hours=settings.CXM_WEBHOOK_SECRET_OVERLAP_HOURS)
    subscription.secret = secret
    subscription.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return secret


def save_webhook_subscription(*, subscription: WebhookSubscription) -> None:
    """Save a subscription; deactivating it cancels its pending deliveries (and their retries)."""
    with transaction.atomic():
        subscription.save()
        if not subscription.active:
            subscription.deliveries.filter(status=DeliveryStatus.PENDING).update(status=DeliveryStatus.CANCELLED)


def redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send an earlier delivery's event again, as a new delivery (same payload, new attempts)."""
    again = WebhookDelivery.objects.create(
        subscription=delivery.subscription, event=delivery.event, payload=delivery.payload
    )
    wake_after_commit()
    return again


def ping(*, subscription: WebhookSubscription) -> WebhookDelivery:
    """A test delivery, signed like every other, to check a receiver end to end."""
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event=Event.WEBHOOK_PING,
        payload={"subscription": subscription.pk, "message": "Ping from CXM: this receiver is set up."},
    )
    wake_after_commit()
    return delivery


def publish_event(*, event: str, payloads: Sequence[dict[str, Any]]) -> list[int]:
    """Owe one delivery per payload to every active subscriber of `event`, sent after commit.

    The delivery rows are written in the caller's transaction (the outbox), by one INSERT …
    SELECT for all payloads and subscribers, so an event is never lost to a broker outage:
    the dispatcher sends every due row (outbox.services).
    """
    if event not in Event.values:
        raise ValueError(f"unknown event {event!r}")
    if not payloads:
        return []
    if connection.vendor != "postgresql":
        subscribers = [s for s in WebhookSubscription.objects.filter(active=True) if event in s.events]
        deliveries = WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(subscription=s, event=event, payload=p) for s in subscribers for p in payloads]
        )
        ids = [d.pk for d in deliveries]
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                DELIVERIES_SQL,
                {"event": event, "payloads": [json.dumps(p, cls=DjangoJSONEncoder) for p in payloads]},
            )
            ids = [row[0] for row in cursor.fetchall()]
    if ids:
        wake_after_commit()
    return ids


DELIVERIES_SQL = """
INSERT INTO integrations_webhookdelivery
    (subscription_id, event, payload, status, attempts, last_error, created_at, next_attempt_at)
SELECT subscription.id, %(event)s, item.payload::jsonb, 'pending', 0, '', now(), now()
FROM integrations_webhooksubscription AS subscription
CROSS JOIN unnest(%(payloads)s::text[]) WITH ORDINALITY AS item(payload, position)
WHERE subscription.active AND subscription.events ? %(event)s
ORDER BY subscription.id, item.position
RETURNING id
"""


def publish_experience_events(*, experience_ids: Sequence[int]) -> list[int]:
    """`experience.negative` for the negatives among newly recorded experiences, and `experience.recorded`
    for all of them to the subscriptions that name it (it is opt-in: a busy API sends many).

    Called by a worker from the outbox row the write left (experiences.services.follow_up), so a batch
    costs its request one insert whatever the number of subscribers; each payload is built once.
    """
    from experiences.models import Experience, Valence
    from experiences.serializers import ExperienceSerializer

    wanted = {e for events in _subscribed_events() for e in events} & {
        Event.EXPERIENCE_NEGATIVE,
        Event.EXPERIENCE_RECORDED,
    }
    if not experience_ids or not wanted:
        return []
    experiences = Experience.objects.filter(pk__in=experience_ids).select_related(
        "customer", "touchpoint", "department"
    )
    if Event.EXPERIENCE_RECORDED not in wanted:
        experiences = experiences.filter(valence=Valence.NEGATIVE)
    experiences = experiences.order_by("pk")
    payloads = list(ExperienceSerializer(experiences, many=True).data)
    ids = []
    if Event.EXPERIENCE_NEGATIVE in wanted:
        negatives = [p for p, x in zip(payloads, experiences, strict=True) if x.valence == Valence.NEGATIVE]
        ids += publish_event(event=Event.EXPERIENCE_NEGATIVE, payloads=negatives)
    if Event.EXPERIENCE_RECORDED in wanted:
        ids += publish_event(event=Event.EXPERIENCE_RECORDED, payloads=payloads)
    return ids


def record_customers_at_risk(*, customer_ids: Sequence[int]) -> None:
    """Owe `customer.at_risk` events, in the caller's (the rescore's) transaction: one outbox row per batch.

    The deliveries themselves are written by `publish_customers_at_risk` on an events worker
    moments later, so a full recompute costs hardly more with subscribers than without.
    """
    if customer_ids and has_subscribers(Event.CUSTOMER_AT_RISK):
        outbox.record(handler="integrations.services.publish_customers_at_risk", customer_ids=list(customer_ids))


def publish_customers_at_risk(*, customer_ids: Sequence[int]) -> int:
    """`customer.at_risk` for each customer whose recovery debt just went from 0 to more than 0.

    One INSERT … SELECT writes every delivery, for every subscriber, with the payload built by
    PostgreSQL in the shape of the API's customer (customers.serializers.CustomerSerializer):
    a full recompute can put tens of thousands of customers at risk, and none of them passes
    through Python. Returns the number of deliveries written.
    """
    if not customer_ids or not has_subscribers(Event.CUSTOMER_AT_RISK):
        return 0
    if connection.vendor != "postgresql":
        return len(_publish_customers_at_risk_one_by_one(customer_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            AT_RISK_DELIVERIES_SQL,
            {"ids": list(customer_ids), "event": Event.CUSTOMER_AT_RISK, "zone": settings.TIME_ZONE},
        )
        written = cursor.rowcount
    wake_after_commit()
    return written


def _publish_customers_at_risk_one_by_one(customer_ids: Sequence[int]) -> list[int]:
    """The same deliveries through the serializer, for the SQLite of `make run`."""
    from customers.models import Customer
    from customers.serializers import CustomerSerializer

    customers = Customer.objects.filter(pk__in=customer_ids).select_related("score").order_by("pk")
    return publish_event(event=Event.CUSTOMER_AT_RISK, payloads=list(CustomerSerializer(customers, many=True).data))


def _iso(column: str) -> str:
    """SQL for `column` (timestamptz) as DRF writes it: ISO 8601 in the company's zone, `Z` for UTC."""
    local, utc = f"({column} AT TIME ZONE %(zone)s)", f"({column} AT TIME ZONE 'UTC')"
    return f"""CASE WHEN {column} IS NULL THEN NULL ELSE
        to_char({local}, 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN mod(date_part('microseconds', {column})::bigint, 1000000) <> 0
                THEN to_char({local}, '.US') ELSE '' END
        || CASE WHEN {local} = {utc} THEN 'Z'
                WHEN {local} > {utc} THEN '+' || to_char({local} - {utc}, 'HH24:MI')
                ELSE '-' || to_char({utc} - {local}, 'HH24:MI') END
    END"""


AT_RISK_DELIVERIES_SQL = f"""
INSERT INTO integrations_webhookdelivery
    (subscription_id, event, payload, status, attempts, last_error, created_at, next_attempt_at)
SELECT subscription.id, %(event)s, customer.payload, 'pending', 0, '', now(), now()
FROM integrations_webhooksubscription AS subscription
CROSS JOIN (
    SELECT c.id, jsonb_build_object(
        'external_id', c.external_id,
        'name', c.name,
        'email', c.email,
        'segment', c.segment,
        'relationship_level', c.relationship_level,
        'language', c.language,
        'surveys_opt_out', c.surveys_opt_out,
        'category_spend', c.category_spend::text,
        'our_revenue', c.our_revenue::text,
        'share_of_wallet', c.share_of_wallet::float8,
        'created_at', {_iso("c.created_at")},
        'score', jsonb_build_object(
            'index', s.index,
            'balance', s.balance,
            'recovery_debt', s.recovery_debt,
            'at_risk', s.recovery_debt > 0,
            'positive_mass', s.positive_mass,
            'negative_mass', s.negative_mass,
            'counts', jsonb_build_object('positive', s.positives, 'neutral', s.neutrals, 'negative', s.negatives),
            'scored_at', {_iso("s.scored_at")}
        )
    ) AS payload
    FROM customers_customer AS c
    JOIN scoring_customerscore AS s ON s.customer_id = c.id
    WHERE c.id = ANY(%(ids)s)
) AS customer
WHERE subscription.active AND subscription.events ? %(event)s
ORDER BY subscription.id, customer.id
"""


def _subscribed_events() -> list[list[str]]:
    return list(WebhookSubscription.objects.filter(active=True).values_list("events", flat=True))


def has_subscribers(event: str) -> bool:
    """Whether an active subscription names `event`."""
    return any(event in events for events in _subscribed_events())


def dispatch_due_deliveries(*, limit: int) -> int:
    """Lease the pending deliveries that are due and send them, a few per message, over one connection.

    A message carries attempts for one subscription only, so a hanging receiver holds up its
    own deliveries and nobody else's. The lease keeps the next sweeps from sending the same
    attempts again while the message waits; if it is lost, they are due again when the lease
    ends. The message names each attempt, so a copy of it posts nothing.
    """
    from .tasks import deliver_webhooks

    if not queue_has_room(deliver_webhooks):
        return 0
    now = timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("subscription_id", "pk", "attempts")[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=[pk for _, pk, _ in due]).update(next_attempt_at=now + DISPATCH_LEASE)
    by_subscription: dict[int, list[tuple[int, int]]] = {}
    for subscription_id, pk, attempt in due:
        by_subscription.setdefault(subscription_id, []).append((pk, attempt))
    messages = [
        (attempts[start : start + DELIVERIES_PER_MESSAGE],)
        for attempts in by_subscription.values()
        for start in range(0, len(attempts), DELIVERIES_PER_MESSAGE)
    ]
    send_in_bulk(deliver_webhooks, messages)
    return len(due)


def attempt_deliveries(*, attempts: Sequence[tuple[int, int]]) -> None:
    """Make the given attempts (delivery id, attempts made so far) one after the other.

    The deliveries still waiting their turn are held, so the sweep does not hand them to another
    worker meanwhile: a hanging receiver holds up its own deliveries and nobody else's. The hold
    reaches two attempts' time ahead and is renewed once less than one is left, so a worker lost
    mid-message (killed, or its task cancelled when the broker went away) leaves them due again
    within two attempts' time, however many the message carries.
    """
    lease = _attempt_lease()
    held_until = timezone.now()
    for index, (pk, attempt) in enumerate(attempts):
        now = timezone.now()
        if index + 1 < len(attempts) and held_until < now + lease:
            held_until = now + 2 * lease
            WebhookDelivery.objects.filter(
                pk__in=[waiting for waiting, _ in attempts[index + 1 :]],
                status=DeliveryStatus.PENDING,
                next_attempt_at__lt=held_until,
            ).update(next_attempt_at=held_until)
        attempt_delivery(delivery_id=pk, attempt=attempt)


def _attempt_lease() -> timedelta:
    """How long an attempt under way keeps its delivery from being sent again: the POST's timeout and a margin."""
    return timedelta(seconds=settings.CXM_WEBHOOK_TIMEOUT_SECONDS + ATTEMPT_MARGIN_SECONDS)


def send_again(*, deliveries) -> int:
    """An operator's "send again": the deliveries start over with a fresh attempt budget, due now."""
    count = deliveries.update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
    transaction.on_commit(wake)
    return count


def signed_headers(delivery: WebhookDelivery, body: bytes) -> dict[str, str]:
    """The headers of one attempt: Standard Webhooks' id, timestamp and signature (two during a rotation)."""
    subscription = delivery.subscription
    return {
        "Content-Type": "application/json",
        "User-Agent": "CXM-Webhooks/1",
        EVENT_HEADER: delivery.event,
        **signing.headers(
            secrets_in_force=subscription.secrets_in_force(timezone.now()),
            message_id=f"msg_{delivery.pk}",
            timestamp=int(time.time()),
            body=body,
        ),
    }


def render_body(delivery: WebhookDelivery) -> bytes:
    envelope = {
        "id": delivery.pk,
        "event": delivery.event,
        "created_at": delivery.created_at,
        "data": delivery.payload,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def attempt_delivery(*, delivery_id: int, attempt: int) -> None:
    """Make attempt number `attempt + 1` of one delivery: POST it, signed, and schedule what comes next.

    The attempt is claimed in the database before the POST, so a message delivered twice (or a
    dispatch sent twice) posts it once. A delivery already delivered or given up is left alone.
    On failure the next attempt is scheduled in `next_attempt_at`, per CXM_WEBHOOK_RETRY_SCHEDULE.
    """
    now = timezone.now()
    pending = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
    claimed = pending.filter(attempts=attempt).update(
        attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + _attempt_lease()
    )
    if not claimed:
        return
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    status, error, refused = post(delivery)
    delivery.response_status = status
    delivery.last_error = error[:ERROR_TEXT_LIMIT]
    schedule = settings.CXM_WEBHOOK_RETRY_SCHEDULE
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, timezone.now()
    elif refused or delivery.attempts >= len(schedule):
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=schedule[delivery.attempts])
    delivery.save(update_fields=["response_status", "last_error", "status", "delivered_at", "next_attempt_at"])


def post(delivery: WebhookDelivery) -> tuple[int | None, str, bool]:
    """POST one delivery, signed, following no redirect; return the receiver's status (None if it never
    answered), the error, and whether the destination was refused (private, loopback, metadata…)."""
    body = render_body(delivery)
    request = urllib.request.Request(
        delivery.subscription.url, data=body, method="POST", headers=signed_headers(delivery, body)
    )
    try:
        destinations.check(delivery.subscription.url)  # again at each delivery: DNS may have changed since
        with destinations.opener.open(request, timeout=settings.CXM_WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, "", False
    except destinations.DestinationRefused as exc:
        return None, str(exc), True
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}", False
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc)), False


# CSV import jobs (docs/api.md, "Bulk import"). A queued job older than the grace period has lost
# its message; a running job silent for longer than the stall limit has lost its worker.
IMPORT_QUEUED_GRACE = timedelta(minutes=1)
IMPORT_STALLED_AFTER = timedelta(minutes=5)


def create_import_job(*, uploaded_by, file_name: str, text: str) -> ImportJob:
    """Check an uploaded CSV and store it as a queued job, imported by a worker after commit.

    The header and the CSV syntax are checked here, so a file that cannot be imported at all is
    refused on the form (CsvFormatError) instead of failing later in the worker.
    """
    from .csv_import import count_rows

    rows = count_rows(text)
    with transaction.atomic():
        job = ImportJob.objects.create(
            uploaded_by=uploaded_by, file_name=file_name[:255], content=text, rows_total=rows
        )
        transaction.on_commit(lambda: enqueue_import_jobs([job.pk]))
    return job


def enqueue_import_jobs(job_ids: Iterable[int]) -> None:
    """Hand jobs to Celery; never fails the caller (the periodic sweep picks up what is left)."""
    from .tasks import run_import_job

    send_in_bulk(run_import_job, [(pk,) for pk in job_ids])


def run_import_job(*, job_id: int) -> None:
    """Import a job's CSV through the one write path, recording progress after each batch.

    A conditional update claims the job, so two deliveries of the same message never import it
    side by side. A job whose worker went silent is claimed again and imported from the start:
    the rows it already stored come back as duplicates (their idempotency keys), nothing twice.
    """
    from .csv_import import import_experiences_csv

    now = timezone.now()
    claimable = Q(status=ImportStatus.QUEUED) | Q(
        status=ImportStatus.RUNNING, updated_at__lt=now - IMPORT_STALLED_AFTER
    )
    jobs = ImportJob.objects.filter(pk=job_id)
    if not jobs.filter(claimable).update(status=ImportStatus.RUNNING, rows_processed=0, started_at=now, updated_at=now):
        return
    job = jobs.select_related("uploaded_by").get()

    def progress(rows: int) -> None:
        jobs.update(rows_processed=Least(F("rows_processed") + rows, F("rows_total")), updated_at=timezone.now())

    try:
        report = import_experiences_csv(
            lines=io.StringIO(job.content, newline=""), recorded_by=job.uploaded_by, progress=progress
        )
    except Exception as exc:
        log.exception("import job %s failed", job_id)
        jobs.update(
            status=ImportStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        return
    jobs.update(
        status=ImportStatus.DONE,
        content="",  # the report keeps what matters; the database is no file store
        rows_total=report.rows,
        rows_processed=report.rows,
        accepted=report.accepted,
        duplicates=report.duplicates,
        rejected=report.rejected,
        rejections=[{"line": r.line, "reason": r.reason} for r in report.rejections],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def stalled_import_jobs() -> list[int]:
    """Jobs still queued after the grace period, or running with no progress for the stall limit."""
    now = timezone.now()
    return list(
        ImportJob.objects.filter(
            Q(status=ImportStatus.QUEUED, updated_at__lt=now - IMPORT_QUEUED_GRACE)
            | Q(status=ImportStatus.RUNNING, updated_at__lt=now - IMPORT_STALLED_AFTER)
        ).values_list("pk", flat=True)[:100]
    )
