"""Experiences as JSON for the REST API (reads and webhook payloads; writes go through the service)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers

from touchpoints.models import Stage

from .models import Emotion, Expectation, Experience, Outcome
from .services import VALENCE_BY_NAME

VALENCE_NAMES = {number: name for name, number in VALENCE_BY_NAME.items()}


class ValenceField(serializers.ChoiceField):
    """Valence travels as a word: positive, neutral or negative."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=list(VALENCE_BY_NAME), **kwargs)

    def to_representation(self, value: int) -> str:
        return VALENCE_NAMES[value]


class ExperienceSerializer(serializers.ModelSerializer):
    key = serializers.CharField(
        source="external_id", allow_null=True, help_text=_("The sender's idempotency key (`id` when it was sent).")
    )
    customer = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    touchpoint = serializers.SlugRelatedField(slug_field="code", read_only=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    valence = ValenceField()
    # Sent as "" when not noted: the schema says so, so that a strictly generated client reads every page.
    emotion = serializers.ChoiceField(choices=Emotion.choices, allow_blank=True, read_only=True)
    expectation = serializers.ChoiceField(choices=Expectation.choices, allow_blank=True, read_only=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Experience
        fields = [
            "id",
            "key",
            "source",
            "customer",
            "touchpoint",
            "department",
            "stage",
            "valence",
            "intensity",
            "emotion",
            "expectation",
            "outcome",
            "occurred_at",
            "note",
            "impact",
            "created_at",
        ]
        read_only_fields = fields


class CustomerRefSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(required=False)
    segment = serializers.CharField(max_length=60, required=False)


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
    occurred_at = serializers.DateTimeField(
        required=False, help_text=_("ISO 8601; default now; at most 5 minutes in the future.")
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class IngestRequestSerializer(serializers.Serializer):
    experiences = serializers.ListField(child=ExperienceItemSerializer(), min_length=1, max_length=1000)


class ItemResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "conflict", "rejected"])
    id = serializers.IntegerField(
        allow_null=True, help_text=_("The stored experience (accepted, duplicate, or the one a conflict is with).")
    )
    key = serializers.CharField(allow_null=True, help_text=_("The item's `id` as sent."))
    errors = serializers.DictField(
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
