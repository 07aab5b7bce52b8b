"""Customers as JSON for the REST API, with their stored score."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.strict_fields import StrictTypes
from scoring.models import CustomerScore

from .models import Customer


class ValenceCountsSerializer(serializers.Serializer):
    positive = serializers.IntegerField(allow_null=True)
    neutral = serializers.IntegerField(allow_null=True)
    negative = serializers.IntegerField(allow_null=True)


class CustomerScoreSerializer(serializers.Serializer):
    """The decayed score as of `scored_at`; every field is null before the customer's first scored experience."""

    index = serializers.FloatField(
        allow_null=True, help_text=_("Experience index 0–100 (50 = balance); null when nothing scored yet.")
    )
    balance = serializers.FloatField(allow_null=True, help_text=_("Positive mass − 5 × negative mass."))
    recovery_debt = serializers.IntegerField(
        allow_null=True, help_text=_("Standard positive experiences (intensity 3) still owed; > 0 means at risk.")
    )
    at_risk = serializers.BooleanField(allow_null=True)
    positive_mass = serializers.FloatField(allow_null=True)
    negative_mass = serializers.FloatField(allow_null=True)
    counts = ValenceCountsSerializer()
    scored_at = serializers.DateTimeField(allow_null=True)


def _score_of(customer: Customer) -> dict:
    score: CustomerScore | None = getattr(customer, "score", None) if customer.pk else None
    if score is None:
        empty = dict.fromkeys(("index", "balance", "recovery_debt", "at_risk", "positive_mass", "negative_mass"))
        return empty | {"counts": dict.fromkeys(("positive", "neutral", "negative")), "scored_at": None}
    return {
        "index": score.index,
        "balance": score.balance,
        "recovery_debt": score.recovery_debt,
        "at_risk": score.at_risk,
        "positive_mass": score.positive_mass,
        "negative_mass": score.negative_mass,
        "counts": {"positive": score.positives, "neutral": score.neutrals, "negative": score.negatives},
        "scored_at": score.scored_at,
    }


class CustomerSerializer(StrictTypes, serializers.ModelSerializer):
    """Read and upsert by `external_id`, the customer's id in the CRM (taken from the URL on writes)."""

    share_of_wallet = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text=_(
            "Our revenue as a percentage (0–100) of the customer's category spend, capped at 100; "
            "null when either is unknown or the spend is 0."
        ),
    )
    score = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "external_id",
            "name",
            "email",
            "segment",
            "relationship_level",
            "language",
            "surveys_opt_out",
            "category_spend",
            "our_revenue",
            "share_of_wallet",
            "created_at",
            "score",
        ]
        read_only_fields = ["external_id", "created_at"]
        extra_kwargs = {
            "category_spend": {"min_value": 0},
            "our_revenue": {"min_value": 0},
        }

    @extend_schema_field(CustomerScoreSerializer)
    def get_score(self, customer: Customer) -> dict:
        return CustomerScoreSerializer(_score_of(customer)).data
