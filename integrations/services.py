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
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

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


def create_api_key(
    *, name: str, scopes: Iterable[str], expiry_date: datetime | None = None, throttle_rate: str = ""
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is stored only hashed and shown this once."""
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
    return ApiKey.objects.create_key(name=name, scopes=scopes, expiry_date=expiry_date, throttle_rate=throttle_rate)


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
    transaction.on_commit(lambda: enqueue_deliveries([again.pk]))
    return again


def ping(*, subscription: WebhookSubscription) -> WebhookDelivery:
    """A test delivery, signed like every other, to check a receiver end to end."""
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event=Event.WEBHOOK_PING,
        payload={"subscription": subscription.pk, "message": "Ping from CXM: this receiver is set up."},
    )
    transaction.on_commit(lambda: enqueue_deliveries([delivery.pk]))
    return delivery


def publish_event(*, event: str, payloads: Sequence[dict[str, Any]]) -> list[int]:
    """Queue one delivery per payload for every active subscriber of `event`, sent after commit.

    The delivery rows are written in the caller's transaction, so an event is never lost to a
    broker outage: `retry_pending_deliveries` sends whatever a lost message left behind.
    """
    if event not in Event.values:
        raise ValueError(f"unknown event {event!r}")
    if not payloads:
        return []
    subscribers = [s for s in WebhookSubscription.objects.filter(active=True) if event in s.events]
    if not subscribers:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(subscription=s, event=event, payload=p) for s in subscribers for p in payloads]
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: enqueue_deliveries(ids))
    return ids


def publish_negative_experiences(*, experience_ids: Sequence[int]) -> list[int]:
    """`experience.negative` for each newly recorded negative experience."""
    from experiences.models import Experience
    from experiences.serializers import ExperienceSerializer

    if not experience_ids or not _has_subscribers(Event.EXPERIENCE_NEGATIVE):
        return []
    experiences = Experience.objects.filter(pk__in=experience_ids).select_related(
        "customer", "touchpoint", "department"
    )
    return publish_event(event=Event.EXPERIENCE_NEGATIVE, payloads=ExperienceSerializer(experiences, many=True).data)


def publish_customers_at_risk(*, customer_ids: Sequence[int]) -> list[int]:
    """`customer.at_risk` for each customer whose recovery debt just went from 0 to more than 0."""
    from customers.models import Customer
    from customers.serializers import CustomerSerializer

    if not customer_ids or not _has_subscribers(Event.CUSTOMER_AT_RISK):
        return []
    customers = Customer.objects.filter(pk__in=customer_ids).select_related("score").order_by("pk")
    return publish_event(event=Event.CUSTOMER_AT_RISK, payloads=CustomerSerializer(customers, many=True).data)


def _has_subscribers(event: str) -> bool:
    return any(
        event in events for events in WebhookSubscription.objects.filter(active=True).values_list("events", flat=True)
    )


def enqueue_deliveries(delivery_ids: Iterable[int]) -> None:
    """Hand deliveries to Celery; never fails the caller (the periodic retry picks up what is left)."""
    from .tasks import deliver_webhook

    for pk in delivery_ids:
        try:
            deliver_webhook.delay(pk)
        except Exception:
            log.warning("could not enqueue webhook delivery %s; the periodic retry will send it", pk, exc_info=True)


def render_body(delivery: WebhookDelivery) -> bytes:
    envelope = {
        "id": delivery.pk,
        "event": delivery.event,
        "created_at": delivery.created_at,
        "data": delivery.payload,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def attempt_delivery(*, delivery_id: int) -> int | None:
    """POST one delivery, signed; return the seconds to wait before the next attempt, or None when done.

    A delivery already delivered or given up is left alone, so running this twice is safe.
    """
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    body = render_body(delivery)
    timestamp = int(time.time())
    subscription = delivery.subscription
    request = urllib.request.Request(
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "CXM-Webhooks/1",
            EVENT_HEADER: delivery.event,
            **signing.headers(
                secrets_in_force=subscription.secrets_in_force(timezone.now()),
                message_id=f"msg_{delivery.pk}",
                timestamp=timestamp,
                body=body,
            ),
        },
    )
    status, error, refused = None, "", False
    try:
        destinations.check(subscription.url)  # again at each delivery: DNS may have changed since
        with destinations.opener.open(request, timeout=settings.CXM_WEBHOOK_TIMEOUT_SECONDS) as response:
            status = response.status
    except destinations.DestinationRefused as exc:
        error, refused = str(exc), True
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = str(getattr(exc, "reason", exc))
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    delivery.response_status = status
    delivery.last_error = error[:ERROR_TEXT_LIMIT]
    wait = None
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, delivery.last_attempt_at
    elif refused or delivery.attempts >= settings.CXM_WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    else:
        wait = backoff_seconds(delivery.attempts)
    delivery.save(
        update_fields=["attempts", "last_attempt_at", "response_status", "last_error", "status", "delivered_at"]
    )
    return wait


def backoff_seconds(attempts: int) -> int:
    """Exponential backoff after the n-th failed attempt: base, 2×base, 4×base …"""
    return settings.CXM_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1)


def stalled_deliveries() -> list[int]:
    """Pending deliveries idle for longer than the longest backoff: their Celery message was lost."""
    idle = timedelta(seconds=2 * backoff_seconds(settings.CXM_WEBHOOK_MAX_ATTEMPTS))
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .annotate(last_activity=Coalesce("last_attempt_at", "created_at"))
        .filter(last_activity__lt=timezone.now() - idle)
        .values_list("pk", flat=True)[:1000]
    )


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

    for pk in job_ids:
        try:
            run_import_job.delay(pk)
        except Exception:
            log.warning("could not enqueue import job %s; the periodic sweep will start it", pk, exc_info=True)


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
