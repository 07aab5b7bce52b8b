"""Translation between webhook subscriptions and JSON; nothing else."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from rest_framework import serializers

from . import destinations, signing
from .models import SUBSCRIBABLE_EVENTS, WebhookDelivery, WebhookSubscription
from .strict_fields import StrictCharField, StrictTypes


class WebhookSubscriptionSerializer(StrictTypes, serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_EVENTS), min_length=1, max_length=len(SUBSCRIBABLE_EVENTS)
    )
    secret = StrictCharField(
        write_only=True,
        required=False,
        min_length=38,
        max_length=100,
        trim_whitespace=False,
        validators=[
            RegexValidator(signing.SECRET_PATTERN, _("must be whsec_ followed by the base64 of 24 to 62 random bytes"))
        ],
        help_text=_("Signing secret `whsec_<base64 of 24 to 62 bytes>`; leave it out to have one made and shown once."),
    )
    old_secret_valid_until = serializers.DateTimeField(
        source="previous_secret_until",
        read_only=True,
        allow_null=True,
        help_text=_("After a rotation: until when deliveries are signed with the old secret too."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "secret", "description", "active", "old_secret_valid_until", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_url(self, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise serializers.ValidationError(_("must be an http:// or https:// URL"))
        try:
            destinations.check(value, resolve_names=False)
        except destinations.DestinationRefused as refused:
            raise serializers.ValidationError(str(refused)) from None
        return value


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "status",
            "attempts",
            "response_status",
            "last_error",
            "created_at",
            "last_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    """The creation response: the only time the secret is shown."""

    secret = StrictCharField(read_only=True)
