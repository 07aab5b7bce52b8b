"""The outbox: work that must follow a write, stored in the write's own transaction."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxTask(models.Model):
    """One call of a service function (`handler`, a dotted path) owed to a committed write.

    The row commits with the write, so a broker outage or a lost message delays the work by
    seconds and never loses it; the dispatcher hands due rows to the broker and pushes
    `due_at` ahead while the message is out, and the row is deleted once the call returned.
    The call runs in one transaction with the row's deletion, so it is made once.
    """

    handler = models.CharField(max_length=100, help_text=_("e.g. feedback.services.open_cases"))
    kwargs = models.JSONField(default=dict)
    due_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.handler} #{self.pk}"
