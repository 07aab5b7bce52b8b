"""Experiences as JSON for the REST API (reads and webhook payloads; writes go through the service)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from rest_framework import serializers

from customers.models import EXTERNAL_ID_MAX_LENGTH, NAME_MAX_LENGTH, SEGMENT_MAX_LENGTH
from touchpoints.models import Stage

from .models import EXPERIENCE_FIELDS, VALENCE_BY_NAME, Emotion, Expectation, Experience, Outcome

VALENCE_NAMES = {number: name for name, number in VALENCE_BY_NAME.items()}


class ValenceField(serializers.ChoiceField):
    """Valence travels as a word: positive, neutral or negative."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=list(VALENCE_BY_NAME), **kwargs)

    def to_representation(self, value: int) -> str:  # type: ignore[override]  # valence is stored as -1/0/1
        return VALENCE_NAMES[value]


class MomentField(serializers.DateTimeField):
    """A moment in the company's zone, as DRF writes it, but in UTC where that zone's offset then had
    seconds: local mean time before the zone's standard time (Madrid: -00:14:44 until 1901), which an
    import of old history may carry. RFC 3339, and so the schema's `date-time`, allows none."""

    def to_representation(self, value: Any) -> Any:
        offset = self.enforce_timezone(value).utcoffset() if isinstance(value, datetime) else None
        if offset and offset % timedelta(minutes=1):
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return super().to_representation(value)


class ExperienceSerializer(serializers.ModelSerializer):
    key = serializers.CharField(
        source="external_id", allow_null=True, help_text=_("The sender's idempotency key (`id` when it was sent).")
    )
    customer: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    touchpoint: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    department: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    reported_from_department: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text=_("The department of the person who logged it; null for API, import and survey experiences."),
    )
    valence = ValenceField()
    # Sent as "" when not noted: the schema says so, so that a strictly generated client reads every page.
    emotion = serializers.ChoiceField(choices=Emotion.choices, allow_blank=True, read_only=True)
    expectation = serializers.ChoiceField(choices=Expectation.choices, allow_blank=True, read_only=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)
    occurred_at = MomentField(read_only=True)

    class Meta:
        model = Experience
        fields = [
            "id",
            "key",
            "source",
            "customer",
            "touchpoint",
            "department",
            "reported_from_department",
            *EXPERIENCE_FIELDS,
            "occurred_at",
            "note",
            "impact",
            "created_at",
        ]
        read_only_fields = fields


class CustomerRefSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=EXTERNAL_ID_MAX_LENGTH)
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, required=False)
    email = serializers.EmailField(required=False)
    segment = serializers.CharField(max_length=SEGMENT_MAX_LENGTH, required=False)


def _occurred_at_help() -> str:
    """Read when the schema is built, so it states the limit the write path applies."""
    return _("ISO 8601; default now; at most %(minutes)d minutes in the future.") % {
        "minutes": settings.CXM_MAX_FUTURE_MINUTES
    }


class ExperienceItemSerializer(serializers.Serializer):
    """The shape of one item, for the OpenAPI schema only: `record_experiences` validates items."""

    id = serializers.CharField(
        max_length=100, required=False, help_text=_("Your idempotency key: re-sending it creates nothing new.")
    )
    customer = CustomerRefSerializer(
        help_text=_("An external id string, or an object that creates or updates the customer.")
    )
    touchpoint = serializers.CharField(help_text=_("A touchpoint code from GET /api/v1/touchpoints/."))
    stage = serializers.ChoiceField(choices=Stage.choices, required=False, help_text=_("Default: the touchpoint's."))
    valence = ValenceField()
    intensity = serializers.IntegerField(min_value=1, max_value=5, required=False, help_text=_("Default 3."))
    emotion = serializers.ChoiceField(choices=Emotion.choices, required=False, allow_blank=True)
    expectation = serializers.ChoiceField(choices=Expectation.choices, required=False, allow_blank=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True)
    department = serializers.CharField(required=False, help_text=_("Default: the touchpoint's primary department."))
    occurred_at = serializers.DateTimeField(required=False, help_text=lazy(_occurred_at_help, str)())
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class IngestRequestSerializer(serializers.Serializer):
    experiences = serializers.ListField(child=ExperienceItemSerializer(), min_length=1, max_length=1000)


class ItemResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "conflict", "rejected"])
    id = serializers.IntegerField(
        allow_null=True, help_text=_("The stored experience (accepted, duplicate, or the one a conflict is with).")
    )
    key = serializers.CharField(allow_null=True, help_text=_("The item's `id` as sent."))
    # A declared field, not the Serializer.errors property: DRF's metaclass takes it off the class.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        allow_null=True,
        help_text=_("For a rejected item: field → what to fix; for a conflict: each field that differs."),
    )


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    conflicts = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = ItemResultSerializer(many=True, help_text=_("One per item, in request order."))
