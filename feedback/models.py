"""Closing the loop: surveys and their answers, recovery cases, relationship ladder suggestions."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import RelationshipLevel


class SurveyKind(models.TextChoices):
    NPS = "nps", _("Net Promoter Score (0–10)")
    CSAT = "csat", _("Customer satisfaction (1–5)")
    CES = "ces", _("Customer effort (1–7)")


class FollowUpKind(models.TextChoices):
    SCALE = "scale", _("Scale 1–5")
    CHOICE = "choice", _("Single choice")


FOLLOW_UP_SCALE = range(1, 6)
FOLLOW_UP_CHOICES = range(2, 9)
# A survey's own texts, written in the default language (LANGUAGE_CODE) with a Spanish twin `<field>_es`.
TRANSLATED_TEXTS = ("question", "follow_up_question", "follow_up_choices")
SPANISH_FALLBACK = _("Spanish; leave empty to show the English text.")


class Survey(models.Model):
    """One standard question about one touchpoint; its answers are remembrance-stage experiences."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    touchpoint = models.ForeignKey("touchpoints.Touchpoint", on_delete=models.PROTECT, related_name="surveys")
    question = models.CharField(
        max_length=300, blank=True, help_text=_("Leave empty to ask the standard question of the survey's kind.")
    )
    question_es = models.CharField(max_length=300, blank=True, help_text=SPANISH_FALLBACK)
    follow_up_kind = models.CharField(
        max_length=10,
        choices=FollowUpKind.choices,
        blank=True,
        help_text=_("An optional second question, asked after the standard one and the free-text 'why'."),
    )
    follow_up_question = models.CharField(max_length=300, blank=True)
    follow_up_question_es = models.CharField(max_length=300, blank=True, help_text=SPANISH_FALLBACK)
    follow_up_choices = models.TextField(
        blank=True, help_text=_("For a single-choice second question: one choice per line (2 to 8).")
    )
    follow_up_choices_es = models.TextField(
        blank=True,
        help_text=_(
            "Spanish: the same choices in the same order, one per line; leave empty to show the English ones. "
            "Answers are stored as the English choice."
        ),
    )
    reminder_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=3,
        help_text=_("Send one reminder this many days after the invitation if unanswered; empty: no reminder."),
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=SurveyKind.values), name="survey_kind_valid"),
            models.CheckConstraint(
                condition=Q(follow_up_kind="") | ~Q(follow_up_question=""), name="survey_follow_up_has_question"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A second question has its text; a single-choice one 2 to 8 choices, matched one to one in Spanish."""
        errors: dict[str, object] = {}
        if self.follow_up_kind and not self.follow_up_question:
            errors["follow_up_question"] = _("Write the second question, or choose no second question.")
        choices, spanish = _lines(self.follow_up_choices), _lines(self.follow_up_choices_es)
        if self.follow_up_kind == FollowUpKind.CHOICE and len(choices) not in FOLLOW_UP_CHOICES:
            errors["follow_up_choices"] = _("Give 2 to 8 choices, one per line (there are %(n)d).") % {
                "n": len(choices)
            }
        if spanish and len(spanish) != len(choices):
            errors["follow_up_choices_es"] = _(
                "Give the Spanish choices in the same order as the English ones: %(want)d lines, not %(got)d."
            ) % {"want": len(choices), "got": len(spanish)}
        if errors:
            raise ValidationError(errors)

    def text(self, field: str) -> str:
        """The survey's own `field` in the active language; the default language's text where no Spanish was given."""
        if field not in TRANSLATED_TEXTS:
            raise ValueError(field)
        if (translation.get_language() or "").split("-")[0] == "es":
            return getattr(self, f"{field}_es") or getattr(self, field)
        return getattr(self, field)

    @property
    def asked(self) -> str:
        """The question shown to the customer, in the active language: the survey's own, or the standard one.

        The standard questions come from the translation catalogue; a survey's own text from its
        field in that language, else the default language's (docs/feedback.md, "Languages").
        """
        return self.text("question") or str(STANDARD_QUESTIONS[SurveyKind(self.kind)])

    @property
    def follow_up_asked(self) -> str:
        return self.text("follow_up_question")

    @property
    def choices(self) -> list[str]:
        """The second question's choices as stored in answers: the default language's."""
        return _lines(self.follow_up_choices)

    @property
    def choices_shown(self) -> list[tuple[str, str]]:
        """(stored value, label in the active language) for each choice."""
        labels = _lines(self.text("follow_up_choices"))
        return list(zip(self.choices, labels if len(labels) == len(self.choices) else self.choices, strict=True))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


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


class SurveyRule(models.Model):
    """Ask about a moment of truth after it happened: one rule per touchpoint.

    After an experience at the touchpoint, the customer is invited `delay_minutes` later, if
    they fall in the sample (a seeded draw per customer, so the same customers are asked every
    time), have not opted out, and have had no invitation from any survey within the quiet
    period (`CXM_SURVEY_QUIET_DAYS`).
    """

    touchpoint = models.OneToOneField("touchpoints.Touchpoint", on_delete=models.CASCADE, related_name="survey_rule")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="rules")
    delay_minutes = models.PositiveIntegerField(
        default=120, help_text=_("How long after the experience the invitation goes out (e.g. 120: two hours).")
    )
    sample_percent = models.PositiveSmallIntegerField(
        default=100, help_text=_("Share of customers asked, 1 to 100 %; the same customers are drawn every time.")
    )
    seed = models.CharField(
        max_length=40, default="cxm", help_text=_("Change it to draw a different sample of customers.")
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["touchpoint__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sample_percent__gte=1, sample_percent__lte=100), name="rule_sample_1_100"
            )
        ]

    def __str__(self) -> str:
        return f"{self.survey} after {self.touchpoint}"


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    LINK = "link", _("Link sent by the company's own channel")


class Invitation(models.Model):
    """A customer's personal link to a survey; answered at most once, until `expires_at`.

    A triggered invitation keeps the experience that triggered it, so its answer can be shown
    beside what happened.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="invitations")
    experience = models.ForeignKey(
        "experiences.Experience",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="survey_invitations",
        help_text=_("The moment of truth this invitation asks about."),
    )
    rule = models.ForeignKey(SurveyRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations")
    # Whose moment it asks about, for response rates: the triggering experience's touchpoint and
    # department, else the survey's touchpoint and its primary department.
    touchpoint = models.ForeignKey(
        "touchpoints.Touchpoint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    department = models.ForeignKey(
        "touchpoints.Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["survey", "customer"], name="invitation_survey_customer"),
            models.Index(fields=["customer", "created_at"], name="invitation_customer_time"),
            models.Index(fields=["department", "sent_at"], name="invitation_department_sent"),
            models.Index(fields=["sent_at"], name="invitation_sent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="invitation_expires_after_created"
            ),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="invitation_channel_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} for {self.customer_id}"


class TriggerOutcome(models.TextChoices):
    INVITED = "invited", _("Invited")
    SAMPLED_OUT = "sampled_out", _("Not in the sample")
    QUIET = "quiet", _("Invited recently (quiet period)")
    OPTED_OUT = "opted_out", _("Opted out of surveys")
    NO_EMAIL = "no_email", _("No e-mail address")


class SurveyTrigger(models.Model):
    """What a rule decided about one experience, once: so a decision is never taken twice."""

    experience = models.OneToOneField(
        "experiences.Experience", on_delete=models.CASCADE, db_constraint=False, related_name="survey_trigger"
    )
    rule = models.ForeignKey(SurveyRule, on_delete=models.CASCADE, related_name="triggers")
    outcome = models.CharField(max_length=12, choices=TriggerOutcome.choices)
    invitation = models.OneToOneField(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="trigger"
    )
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(outcome__in=TriggerOutcome.values), name="trigger_outcome_valid")
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.outcome} for experience {self.experience_id}"


class Response(models.Model):
    """A customer's answer. The one-to-one invitation makes a second answer impossible."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="survey_responses")
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True)
    follow_up_answer = models.CharField(max_length=300, blank=True, help_text=_("The answer to the second question."))
    language = models.CharField(max_length=8, blank=True, help_text=_("The language the survey was answered in."))
    sentiment = models.FloatField(
        null=True, blank=True, help_text=_("Compound sentiment of the comment, -1 to 1 (docs/feedback.md).")
    )
    flagged = models.BooleanField(default=False, help_text=_("The comment contradicts the score: read it."))
    reviewed_at = models.DateTimeField(null=True, blank=True)
    experience = models.OneToOneField(
        "experiences.Experience",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="survey_response",
    )
    # Who sees the answer (accounts.access.responses), on the answer's own row: a page of answers is
    # filtered without joining each one to its experience, which PostgreSQL would look up in every
    # monthly partition (docs/performance.md). Copied when answered; a survey's experience is never
    # re-charged (only its logger may correct an experience, and nobody logs a survey's).
    department = models.ForeignKey(
        "touchpoints.Department",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
        help_text=_("The department its experience is charged to."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="response_customer_time"),
            # The answers page walks this, newest first, and stops after a page (cxm/paging.py).
            models.Index(fields=["-created_at", "-id"], name="response_newest_first"),
        ]
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
    # One case's status ("Abierto"), not the list filter's "Open" cases ("Abiertos").
    OPEN = "open", pgettext_lazy("case status", "Open")
    RESOLVED = "resolved", pgettext_lazy("case status", "Resolved")


class Case(models.Model):
    """The follow-up a negative moment is owed: one per experience, owned by its department."""

    experience = models.OneToOneField(
        "experiences.Experience", on_delete=models.PROTECT, db_constraint=False, related_name="case"
    )
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
    resolved_by_key = models.ForeignKey(
        "integrations.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The API key that resolved it (resolved_by is the person, on the case page)."),
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
    api_key = models.ForeignKey(
        "integrations.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The API key that wrote it (author is the person, on the case page)."),
    )
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
    api_key = models.ForeignKey(
        "integrations.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The API key that took the step (actor is the person, on the case page)."),
    )
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


class Theme(models.Model):
    """A key phrase customers and staff keep using (feedback/themes.py), in one language."""

    phrase = models.CharField(max_length=80)
    language = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["phrase"]
        constraints = [models.UniqueConstraint(fields=["language", "phrase"], name="theme_unique_phrase")]

    def __str__(self) -> str:
        return self.phrase


class ExperienceTheme(models.Model):
    """A theme found in an experience's note (a survey comment is its answer's note)."""

    experience = models.ForeignKey(
        "experiences.Experience", on_delete=models.CASCADE, db_constraint=False, related_name="themes"
    )
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="mentions")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["theme", "experience"], name="theme_mention_unique")]
        indexes = [models.Index(fields=["experience"], name="theme_mention_experience")]

    def __str__(self) -> str:
        return f"{self.theme_id} in experience {self.experience_id}"


class ThemeScan(models.Model):
    """How far the matching of new notes has read (one row): experiences after it are still to match."""

    last_experience_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"themes matched up to experience {self.last_experience_id}"


class SurveySums(models.Model):
    """The answers of one period × department × touchpoint × stage × customer segment × survey kind, summed.

    Keyed like scoring's rollups (the department, touchpoint and stage of the experience each
    answer became; the customer's current segment). Sums, not scores: NPS, CSAT, CES and their
    margins of error follow from them (`feedback/survey_scores.py`).
    """

    department = models.ForeignKey("touchpoints.Department", on_delete=models.CASCADE, related_name="+")
    touchpoint = models.ForeignKey("touchpoints.Touchpoint", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=20)
    segment = models.CharField(max_length=60, blank=True, default="")
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    responses = models.IntegerField(default=0)
    positives = models.IntegerField(default=0)
    negatives = models.IntegerField(default=0)
    total = models.BigIntegerField(default=0, help_text=_("Sum of the scores."))
    squares = models.BigIntegerField(default=0, help_text=_("Sum of the squared scores, for the margin of error."))

    class Meta:
        abstract = True


class SurveyRollup(SurveySums):
    """Answers per company calendar day: the rows the dashboards read instead of the answers."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "department", "touchpoint", "stage", "segment", "kind"], name="survey_rollup_key"
            ),
        ]
        indexes = [models.Index(fields=["department", "day"], name="survey_rollup_department_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.department_id}/{self.touchpoint_id}/{self.stage}/{self.segment}/{self.kind}"


class WeeklySurveyRollup(SurveySums):
    """The daily survey rollups of a week (Monday to Sunday) summed, so a long period reads tens of rows per key."""

    week = models.DateField(help_text=_("The Monday the week starts on."))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week", "department", "touchpoint", "stage", "segment", "kind"], name="weekly_survey_rollup_key"
            ),
        ]
        indexes = [models.Index(fields=["department", "week"], name="weekly_survey_department")]

    def __str__(self) -> str:
        return f"week of {self.week} {self.department_id}/{self.touchpoint_id}/{self.stage}/{self.segment}/{self.kind}"


class MonthlySurveyRollup(SurveySums):
    """The daily survey rollups of a calendar month summed."""

    month = models.DateField(help_text=_("The first day of the month."))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "department", "touchpoint", "stage", "segment", "kind"],
                name="monthly_survey_rollup_key",
            ),
        ]
        indexes = [models.Index(fields=["department", "month"], name="monthly_survey_department")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.department_id}/{self.touchpoint_id}/{self.stage}/{self.segment}/{self.kind}"


class ThemeSums(models.Model):
    """Theme mentions per period × department × touchpoint × customer segment × theme.

    Keyed like the survey rollups (the department, touchpoint and day of the experience the note
    belongs to; the customer's current segment).
    """

    # No index of its own: each table's (department, period) index starts with it.
    department = models.ForeignKey("touchpoints.Department", on_delete=models.CASCADE, related_name="+", db_index=False)
    touchpoint = models.ForeignKey("touchpoints.Touchpoint", on_delete=models.CASCADE, related_name="+")
    segment = models.CharField(max_length=60, blank=True, default="")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="+")
    mentions = models.IntegerField(default=0)
    negatives = models.IntegerField(default=0, help_text=_("Mentions in negative experiences."))

    class Meta:
        abstract = True


# The period tables' indexes hold every column the department page sums, so it reads them alone.
THEME_SUMS_INCLUDED = ["touchpoint", "segment", "theme", "mentions", "negatives"]


class ThemeRollup(ThemeSums):
    """Theme mentions per company calendar day.

    Kept by `feedback.rollups` with the survey rollups, for the same dirty days (matching notes
    marks the days of the experiences it found themes in), so the dashboards count a year of
    themes from these rows instead of joining every mention to its experience.
    """

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "department", "touchpoint", "segment", "theme"], name="theme_rollup_key"
            ),
        ]
        indexes = [
            models.Index(
                fields=["department", "day"], include=THEME_SUMS_INCLUDED, name="theme_rollup_department_sums"
            ),
            models.Index(fields=["day"], name="theme_rollup_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.department_id}/{self.touchpoint_id}/{self.segment}: theme {self.theme_id}"


class WeeklyThemeRollup(ThemeSums):
    """The daily theme rollups of a week (Monday to Sunday) summed: a year of themes reads weeks and months,
    whose rows stop growing once every theme is mentioned at every touchpoint (docs/performance.md)."""

    week = models.DateField(help_text=_("The Monday the week starts on."))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week", "department", "touchpoint", "segment", "theme"], name="weekly_theme_rollup_key"
            ),
        ]
        indexes = [models.Index(fields=["department", "week"], include=THEME_SUMS_INCLUDED, name="weekly_theme_sums")]

    def __str__(self) -> str:
        return f"week of {self.week} {self.department_id}/{self.touchpoint_id}/{self.segment}: theme {self.theme_id}"


class MonthlyThemeRollup(ThemeSums):
    """The daily theme rollups of a calendar month summed."""

    month = models.DateField(help_text=_("The first day of the month."))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "department", "touchpoint", "segment", "theme"], name="monthly_theme_rollup_key"
            ),
        ]
        indexes = [models.Index(fields=["department", "month"], include=THEME_SUMS_INCLUDED, name="monthly_theme_sums")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.department_id}/{self.touchpoint_id}/{self.segment}: theme {self.theme_id}"


class InvitationRollup(models.Model):
    """Invitations sent per company calendar day (of `sent_at`) × survey × department × touchpoint, and how many
    of them were answered: the response rates without reading the invitations."""

    day = models.DateField()
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(
        "touchpoints.Department", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    touchpoint = models.ForeignKey(
        "touchpoints.Touchpoint", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    sent = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "survey", "department", "touchpoint"], name="invitation_rollup_key"),
        ]
        indexes = [
            models.Index(fields=["department", "day"], name="invitation_rollup_department"),
            models.Index(fields=["day"], name="invitation_rollup_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.survey_id}/{self.department_id}/{self.touchpoint_id}"
