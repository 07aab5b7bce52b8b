"""Closing the loop: surveys and their answers, recovery cases, relationship ladder suggestions."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import RelationshipLevel


class SurveyKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0–10)")
    CSAT = "csat", _("Customer satisfaction (1–5)")
    CES = "ces", _("Customer effort (1–7)")


class Survey(models.Model):
    """One standard question about one touchpoint; its answers are remembrance-stage experiences."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    touchpoint = models.ForeignKey("touchpoints.Touchpoint", on_delete=models.PROTECT, related_name="surveys")
    question = models.CharField(
        max_length=300, blank=True, help_text=_("Leave empty to ask the standard question of the survey's kind.")
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=SurveyKind.values), name="survey_kind_valid")]

    def __str__(self) -> str:
        return self.name

    @property
    def asked(self) -> str:
        """The question shown to the customer: the survey's own, or the standard one of its kind."""
        return self.question or str(STANDARD_QUESTIONS[SurveyKind(self.kind)])


STANDARD_QUESTIONS = {
    SurveyKind.NPS: _("How likely is it that you would recommend us to a friend or colleague?"),
    SurveyKind.CSAT: _("How satisfied were you with this experience?"),
    SurveyKind.CES: _("How easy was it to get what you needed from us?"),
}
# The words at both ends of each scale, lowest first.
SCALE_ENDS = {
    SurveyKind.NPS: (_("Not at all likely"), _("Extremely likely")),
    SurveyKind.CSAT: (_("Very dissatisfied"), _("Very satisfied")),
    SurveyKind.CES: (_("Very difficult"), _("Very easy")),
}


class Invitation(models.Model):
    """A customer's personal link to a survey; answered at most once, until `expires_at`."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="invitations")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["survey", "customer"], name="invitation_survey_customer")]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="invitation_expires_after_created")
        ]

    def __str__(self) -> str:
        return f"{self.survey} for {self.customer_id}"


class Response(models.Model):
    """A customer's answer. The one-to-one invitation makes a second answer impossible."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="survey_responses")
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    sentiment = models.FloatField(null=True, blank=True, help_text=_("VADER compound score of the comment, -1 to 1."))
    flagged = models.BooleanField(default=False, help_text=_("The comment contradicts the score: read it."))
    reviewed_at = models.DateTimeField(null=True, blank=True)
    experience = models.OneToOneField(
        "experiences.Experience", on_delete=models.SET_NULL, null=True, blank=True, related_name="survey_response"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "created_at"], name="response_customer_time")]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=10), name="response_score_0_10"),
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True) | Q(sentiment__gte=-1, sentiment__lte=1),
                name="response_sentiment_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score} on {self.survey}"


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class Case(models.Model):
    """The follow-up a negative moment is owed: one per experience, owned by its department."""

    experience = models.OneToOneField("experiences.Experience", on_delete=models.PROTECT, related_name="case")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="cases")
    department = models.ForeignKey("touchpoints.Department", on_delete=models.PROTECT, related_name="cases")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_cases"
    )
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["department", "status", "due_at"], name="case_department_status_due"),
            models.Index(fields=["due_at"], name="case_open_due", condition=Q(status="open")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="case_status_valid"),
            models.CheckConstraint(condition=Q(due_at__gt=F("opened_at")), name="case_due_after_opened"),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | Q(status="resolved", resolved_at__isnull=False) & ~Q(resolution=""),
                name="case_resolved_with_note",
            ),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.get_status_display()})"

    def is_overdue(self, now=None) -> bool:
        return self.status == CaseStatus.OPEN and self.due_at < (now or timezone.now())


class CaseComment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField()
    sentiment = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.CheckConstraint(condition=~Q(body=""), name="case_comment_not_blank")]

    def __str__(self) -> str:
        return f"comment on case {self.case_id}"


class CaseEventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    ASSIGNED = "assigned", _("Assigned")
    TRANSFERRED = "transferred", _("Transferred")
    ESCALATED = "escalated", _("Escalated")
    RESOLVED = "resolved", _("Resolved")


class CaseEvent(models.Model):
    """One step in a case's history: who did what, when, and why (transfers keep their reason)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=CaseEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    department = models.ForeignKey(
        "touchpoints.Department", on_delete=models.PROTECT, related_name="+", help_text=_("The case's department after")
    )
    from_department = models.ForeignKey(
        "touchpoints.Department", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True, help_text=_("The reason of a transfer, how a case was opened."))

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=CaseEventKind.values), name="case_event_kind_valid")]

    def __str__(self) -> str:
        return f"{self.kind} case {self.case_id}"


class Notice(models.Model):
    """What the inbox tells a person about a case (assigned to them, transferred or escalated to their
    department); the same news goes out by e-mail after commit."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=12, choices=CaseEventKind.choices)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "created_at"], name="notice_user_time")]

    def __str__(self) -> str:
        return self.message


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DISMISSED = "dismissed", _("Dismissed")


class LadderReason(models.TextChoices):
    """Why customers/ladder.py suggested a move (its reason codes)."""

    EARNED = "earned", _("Repeated positive experiences and no recovery debt (a promoter, for the top rungs)")
    DETRACTOR = "detractor", _("The latest NPS answer is a detractor")
    NEGATIVES = "negatives", _("Repeated negative experiences and recovery debt")


class LadderSuggestion(models.Model):
    """A proposed move on the relationship ladder (customers/ladder.py), decided by a manager."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="ladder_suggestions")
    from_level = models.CharField(max_length=20, choices=RelationshipLevel.choices)
    to_level = models.CharField(max_length=20, choices=RelationshipLevel.choices)
    reason = models.CharField(max_length=20, choices=LadderReason.choices)
    status = models.CharField(max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="pending"), name="ladder_one_pending_per_customer"
            ),
            models.CheckConstraint(condition=Q(status__in=SuggestionStatus.values), name="ladder_status_valid"),
            models.CheckConstraint(condition=~Q(from_level=F("to_level")), name="ladder_suggestion_moves"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_level} → {self.to_level}"

    @property
    def is_up(self) -> bool:
        return RelationshipLevel.values.index(self.to_level) > RelationshipLevel.values.index(self.from_level)
