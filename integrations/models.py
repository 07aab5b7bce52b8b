"""API keys with scopes, outbound webhooks with their delivery log, and CSV import jobs."""

from typing import ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager


class Scope(models.TextChoices):
    """What an API key may do; every endpoint names the one scope it needs."""

    EXPERIENCES_WRITE = "experiences:write", _("Send experiences")
    EXPERIENCES_READ = "experiences:read", _("Read experiences")
    CUSTOMERS_READ = "customers:read", _("Read customers and their scores")
    CUSTOMERS_WRITE = "customers:write", _("Create and update customers")
    CATALOGUE_READ = "catalogue:read", _("Read touchpoints, departments and surveys")
    REPORTS_READ = "reports:read", _("Read department reports")
    WEBHOOKS_MANAGE = "webhooks:manage", _("Manage webhook subscriptions")
    SURVEYS_WRITE = "surveys:write", _("Invite customers to surveys")
    CASES_READ = "cases:read", _("Read recovery cases")
    CASES_WRITE = "cases:write", _("Assign, comment on and resolve recovery cases")
    RESPONSES_READ = "responses:read", _("Read survey answers")


class ApiKeyManager(APIKeyManager):
    def get_from_key(self, key: str) -> "ApiKey":
        """The library's lookup (a usable key by its prefix, then its hash checked) as one plain statement.

        It runs on every API request, and building the ORM's query cost a web worker more than
        sending it (docs/performance.md, "… the API key in one plain statement").
        """
        prefix, _dot, _secret = key.partition(".")
        table = ApiKey._meta.db_table
        found: list[ApiKey] = list(
            ApiKey.objects.raw(f"SELECT * FROM {table} WHERE prefix = %s AND NOT revoked", [prefix])
        )
        if not found or not found[0].is_valid(key):
            raise ApiKey.DoesNotExist("Unknown, revoked or wrong key.")
        return found[0]


class ApiKey(AbstractAPIKey):
    """A key for one integration: stored hashed, limited to its scopes, revocable at once."""

    objects: ClassVar[ApiKeyManager] = ApiKeyManager()

    scopes = models.JSONField(default=list, blank=True, help_text=_("What this key may do."))
    departments = models.ManyToManyField(
        "touchpoints.Department",
        blank=True,
        related_name="+",
        help_text=_("Limit the key to these departments' data, like a manager of them. Empty: the whole company."),
    )
    throttle_rate = models.CharField(
        max_length=20,
        blank=True,
        validators=[
            RegexValidator(
                r"^[1-9][0-9]*/(second|minute|hour|day)$", _("Write it as N/second, N/minute, N/hour or N/day.")
            )
        ],
        help_text=_("Requests allowed per period, e.g. 600/minute. Empty: the default CXM_API_THROTTLE_RATE."),
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API key")  # type: ignore[assignment]  # the library's Meta declares plain str
        verbose_name_plural = _("API keys")  # type: ignore[assignment]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class Event(models.TextChoices):
    """What a subscriber can be told about."""

    EXPERIENCE_NEGATIVE = "experience.negative", _("A negative experience was recorded")
    EXPERIENCE_RECORDED = "experience.recorded", _("Any experience was recorded (sent only to subscriptions naming it)")
    CUSTOMER_AT_RISK = "customer.at_risk", _("A customer's recovery debt went from 0 to more than 0")
    CASE_OPENED = "case.opened", _("A recovery case was opened")
    CASE_OVERDUE = "case.overdue", _("A recovery case passed its due time unresolved")
    CASE_ASSIGNED = "case.assigned", _("A recovery case was given to someone (or to nobody)")
    CASE_RESOLVED = "case.resolved", _("A recovery case was resolved")
    SURVEY_ANSWERED = "survey.answered", _("A customer answered a survey")
    WEBHOOK_PING = "webhook.ping", _("A test delivery asked for with POST /webhooks/{id}/ping/")


SUBSCRIBABLE_EVENTS = [(value, label) for value, label in Event.choices if value != Event.WEBHOOK_PING]


class WebhookSubscription(models.Model):
    """A receiver URL, the events it wants, and the secret its deliveries are signed with."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text=_("Event names, e.g. experience.negative."))
    secret = models.CharField(max_length=100, help_text=_("Signing secret (whsec_…), Standard Webhooks."))
    previous_secret = models.CharField(
        max_length=100, blank=True, help_text=_("The secret before the last rotation, still signing until below.")
    )
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        ApiKey,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
        help_text=_("The API key that made it: only it (and CX admins) see and change it."),
    )
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(secret=""), name="webhook_secret_not_blank")]

    def __str__(self) -> str:
        return self.url

    def secrets_in_force(self, now) -> list[str]:
        """The current secret, and the previous one while its overlap lasts: deliveries carry both signatures."""
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled (subscription deactivated)")


class WebhookDelivery(models.Model):
    """One event for one subscription: written with the change that caused it, so it survives Redis."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        default=timezone.now,
        help_text=_("When a pending delivery is due: retries are scheduled here, not as broker messages."),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["next_attempt_at"], name="delivery_due", condition=Q(status="pending")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} to {self.subscription_id}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One uploaded CSV of experiences, imported by a worker; the page polls its progress here.

    The file's text is kept in the row, so a job whose Celery message was lost (or whose worker
    died) can be picked up again from the database alone.
    """

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    content = models.TextField(help_text=_("The CSV text as uploaded (UTF-8, at most 20 MB)."))
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    rows_total = models.PositiveIntegerField()
    rows_processed = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    rejections = models.JSONField(default=list, blank=True, help_text=_('[{"line": 4, "reason": "…"}, …]'))
    error = models.TextField(blank=True, help_text=_("Why the import stopped, when it failed."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["updated_at"], name="importjob_unfinished", condition=Q(status__in=["queued", "running"])
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="importjob_status_valid"),
            models.CheckConstraint(
                condition=Q(rows_processed__lte=models.F("rows_total")), name="importjob_processed_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        return 100 * self.rows_processed // self.rows_total if self.rows_total else 100


class IdempotentRequest(models.Model):
    """A write sent with an `Idempotency-Key` header, and the answer it got, to give again on a retry."""

    scope = models.CharField(max_length=160, help_text=_("Whose key it is: key:<API key> or user:<id>."))
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text=_("SHA-256 of the method, path and body."))
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotent_request_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotent_request_age")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
