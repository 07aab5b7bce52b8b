"""The audit log of what was done with a person's data, by whom and when."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    EXPORT = "export", _("Exported a customer's data")
    ERASE = "erase", _("Erased a customer's personal data")


class AuditEntry(models.Model):
    """One privacy action. Never edited or deleted from the application (the admin is read-only).

    `subject` keeps the customer's external id as it was at the time, so that an erasure can be
    proven, and re-applied after restoring a backup older than it (docs/operations.md).
    """

    action = models.CharField(max_length=10, choices=AuditAction.choices)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_entries"
    )
    subject = models.CharField(max_length=100, help_text=_("The customer's external id when the action was taken."))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(
        max_length=150, help_text=_("Who acted: a username, or the system account that ran the command.")
    )
    via = models.CharField(max_length=20, help_text=_("Where: admin or command."))
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        constraints = [
            models.CheckConstraint(condition=Q(action__in=AuditAction.values), name="audit_action_valid"),
            models.CheckConstraint(condition=~Q(actor_label=""), name="audit_actor_named"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.subject} by {self.actor_label} at {self.at:%Y-%m-%d %H:%M}"
