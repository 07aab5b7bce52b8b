"""Translation between webhook subscriptions and JSON; nothing else."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers

from .models import Event, WebhookSubscription
from .strict_fields import StrictCharField, StrictTypes


class WebhookSubscriptionSerializer(StrictTypes, serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices), min_length=1, max_length=len(Event.values)
    )
    secret = StrictCharField(
        write_only=True,
        required=False,
        min_length=16,
        max_length=100,
        help_text=_("Shared signing secret; leave it out to have one generated and returned once."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "secret", "description", "active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_url(self, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise serializers.ValidationError(_("must be an http:// or https:// URL"))
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    """The creation response: the only time the secret is shown."""

    secret = StrictCharField(read_only=True)
