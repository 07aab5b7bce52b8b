"""Customers as the CRM knows them, plus where they stand on the relationship ladder."""

from django.conf import settings
from django.db import models
from django.db.models import Case as CaseWhen
from django.db.models import F, Q, Value, When
from django.db.models.functions import Cast, Least
from django.utils.translation import gettext_lazy as _


class RelationshipLevel(models.TextChoices):
    """The relationship ladder (DESIGN §1.5), lowest rung first."""

    COMMUNICATION = "communication", _("Communication")
    CONVERSATION = "conversation", _("Conversation")
    COLLABORATION = "collaboration", _("Collaboration")
    CO_CREATION = "co_creation", _("Co-creation")
    EVANGELIST = "evangelist", _("Evangelist")


SHARE_OF_WALLET = CaseWhen(
    When(
        category_spend__gt=0,
        our_revenue__isnull=False,
        # In floating point: SQLite would divide two whole amounts as integers.
        then=Least(
            Cast(F("our_revenue"), models.FloatField()) * 100 / Cast(F("category_spend"), models.FloatField()),
            Value(100.0),
        ),
    ),
    default=None,
)
"""Share of wallet, the one definition: our revenue as a percentage (0–100) of the customer's category
spend, capped at 100 (revenue above the estimate means the estimate is stale); null when either figure
is unknown or the spend is 0."""


class Customer(models.Model):
    external_id = models.CharField(max_length=100, unique=True, help_text=_("The customer's id in the CRM."))
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    segment = models.CharField(max_length=60, blank=True, db_index=True)
    relationship_level = models.CharField(
        max_length=20, choices=RelationshipLevel.choices, default=RelationshipLevel.COMMUNICATION
    )
    category_spend = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Estimated yearly spend of the customer in our category, for share of wallet."),
    )
    our_revenue = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Our yearly revenue from the customer, for share of wallet."),
    )
    share_of_wallet = models.GeneratedField(
        expression=SHARE_OF_WALLET,
        output_field=models.DecimalField(max_digits=5, decimal_places=2, null=True),
        db_persist=True,
        help_text=_("Our revenue as a % of the customer's category spend, at most 100; computed by the database."),
    )
    language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        default="en",
        db_default="en",  # rows written by set-based SQL (imports, benchmarks) get it too
        help_text=_("The language surveys and their e-mails are written in for this customer."),
    )
    surveys_opt_out = models.BooleanField(
        default=False,
        db_default=False,
        help_text=_("The customer asked not to receive surveys: no invitation or reminder is sent."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(relationship_level__in=RelationshipLevel.values), name="customer_level_valid"
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="customer_external_id_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


def customer_field_max_length(name: str) -> int:
    field = Customer._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length is not None
    return field.max_length


# The limits callers check before writing, read from the columns so they cannot drift from them.
EXTERNAL_ID_MAX_LENGTH = customer_field_max_length("external_id")
NAME_MAX_LENGTH = customer_field_max_length("name")
EMAIL_MAX_LENGTH = customer_field_max_length("email")
SEGMENT_MAX_LENGTH = customer_field_max_length("segment")
