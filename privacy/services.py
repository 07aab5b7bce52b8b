"""Writes of the privacy app: exporting and erasing a customer's personal data, always audited."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from experiences.models import Experience, ExperienceChange, ExperienceKey
from feedback.models import Case, CaseComment, CaseEvent, Notice, Response
from integrations.models import WebhookDelivery

from .models import AuditAction, AuditEntry
from .queries import customer_data

PERSONAL_PAYLOAD_KEYS = ("name", "email", "note", "comment")


def export_customer(*, customer: Customer, actor_label: str, via: str, actor=None) -> str:
    """Everything held about the customer as JSON text; the export itself is audited."""
    with transaction.atomic():
        data = customer_data(customer)
        data["exported_at"] = timezone.now()
        AuditEntry.objects.create(
            action=AuditAction.EXPORT,
            customer=customer,
            subject=customer.external_id,
            actor=actor,
            actor_label=actor_label,
            via=via,
            detail={"rows": {label: len(rows) for label, rows in data["related"].items()}},
        )
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def erase_customer(*, customer: Customer, actor_label: str, via: str, actor=None) -> AuditEntry:
    """Anonymise the person and every free text about them; keep their experiences, so scores stay true.

    The name becomes "Erased customer", the e-mail is emptied and the CRM id replaced, so that
    nothing left links the experiences to a person. Notes, survey comments, case comments and
    resolutions, webhook payloads and the admin's history are scrubbed in the same transaction.
    The audit log keeps the old CRM id (to prove the erasure and re-apply it after a restore)
    but no longer points at the anonymous customer row.
    """
    erased = _("[erased]")
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        original_id = customer.external_id
        customer.name = _("Erased customer")
        customer.email = ""
        customer.external_id = f"erased-{customer.pk}"
        customer.save(update_fields=["name", "email", "external_id"])
        counts = {
            "experience_notes": Experience.objects.filter(customer=customer).exclude(note="").update(note=""),
            # The items as sent (kept to tell an API replay from a conflict) carry notes and names.
            "experience_payloads": ExperienceKey.objects.filter(
                experience_id__in=Experience.objects.filter(customer=customer).values("pk"), sent__isnull=False
            ).update(sent=None),
            "survey_comments": Response.objects.filter(customer=customer).exclude(comment="").update(comment=""),
            "case_comments": CaseComment.objects.filter(case__customer=customer).update(body=erased),
            "case_resolutions": Case.objects.filter(customer=customer).exclude(resolution="").update(resolution=erased),
            "case_notices": Notice.objects.filter(case__customer=customer).update(message=erased),
            "case_transfer_reasons": CaseEvent.objects.filter(case__customer=customer)
            .exclude(note="")
            .update(note=erased),
            "experience_changes": _scrub_experience_changes(customer, erased),
            "webhook_payloads": _scrub_webhook_payloads(original_id, customer.external_id),
            "admin_history": LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer.pk)
            ).update(object_repr=str(customer), change_message=""),
        }
        AuditEntry.objects.filter(customer=customer).update(customer=None)
        return AuditEntry.objects.create(
            action=AuditAction.ERASE,
            customer=None,
            subject=original_id,
            actor=actor,
            actor_label=actor_label,
            via=via,
            detail={"scrubbed": counts},
        )


def _scrub_experience_changes(customer: Customer, erased: str) -> int:
    """Corrections and voids keep notes in their before/after snapshots, and voids a reason."""
    changes = list(ExperienceChange.objects.filter(customer=customer))
    for change in changes:
        change.before = {k: ("" if k == "note" else v) for k, v in change.before.items()}
        change.after = {k: ("" if k == "note" else v) for k, v in change.after.items()}
        change.reason = erased if change.reason else ""
    ExperienceChange.objects.bulk_update(changes, ["before", "after", "reason"])
    return len(changes)


def _scrub_webhook_payloads(original_id: str, new_id: str) -> int:
    deliveries = list(
        WebhookDelivery.objects.filter(Q(payload__customer=original_id) | Q(payload__external_id=original_id))
    )
    for delivery in deliveries:
        payload: dict[str, Any] = {k: v for k, v in delivery.payload.items() if k not in PERSONAL_PAYLOAD_KEYS}
        for key in ("customer", "external_id"):
            if payload.get(key) == original_id:
                payload[key] = new_id
        delivery.payload = payload
    WebhookDelivery.objects.bulk_update(deliveries, ["payload"])
    return len(deliveries)
