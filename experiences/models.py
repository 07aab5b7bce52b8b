"""The experience: one thing a customer lived at one touchpoint — the fact table."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from touchpoints.models import Stage


class Valence(models.IntegerChoices):
    NEGATIVE = -1, _("Negative")
    NEUTRAL = 0, _("Neutral")
    POSITIVE = 1, _("Positive")


# The valences as the API, the CSV import and the filters name them.
VALENCE_BY_NAME = {"negative": -1, "neutral": 0, "positive": 1}

# A negative that a person of another department noticed and logged (a person's department is known,
# and it is not the owner charged with it): the department page names who reports its negatives.
REPORTED_BY_OTHERS = Q(valence=Valence.NEGATIVE, reported_from_department__isnull=False) & ~Q(
    reported_from_department=F("department")
)


class Expectation(models.TextChoices):
    MISSED = "missed", _("Missed")
    MET = "met", _("Met")
    EXCEEDED = "exceeded", _("Exceeded")


class Outcome(models.TextChoices):
    OK = "ok", _("OK")
    FAILED = "failed", _("Failed")


class Source(models.TextChoices):
    FORM = "form", _("Form")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    SURVEY = "survey", _("Survey")


class Emotion(models.TextChoices):
    """A short, fixed vocabulary so that emotions can be counted per touchpoint."""

    DELIGHTED = "delighted", _("Delighted")
    GRATEFUL = "grateful", _("Grateful")
    TRUSTING = "trusting", _("Trusting")
    RELIEVED = "relieved", _("Relieved")
    SURPRISED = "surprised", _("Surprised")
    INDIFFERENT = "indifferent", _("Indifferent")
    CONFUSED = "confused", _("Confused")
    ANXIOUS = "anxious", _("Anxious")
    DISAPPOINTED = "disappointed", _("Disappointed")
    FRUSTRATED = "frustrated", _("Frustrated")
    ANGRY = "angry", _("Angry")


# What one experience says about the moment lived, in the order every item, list, export and
# insert uses: the one definition of the experience's own fields.
EXPERIENCE_FIELDS = ("stage", "valence", "intensity", "emotion", "expectation", "outcome")


class Experience(models.Model):
    """Written only through `experiences.services.record_experiences`.

    `impact` and the two normalised masses are computed once by the score engine when the
    row is written (DESIGN §3), so that customer scores are plain sums.
    """

    # No single-column indexes on the references: each partition's indexes cost every query's planning and
    # every insert. Customer and touchpoint lead composite indexes (Meta.indexes); departments, API keys
    # and the reporting department are looked up only when one is deleted, a rare admin action.
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, db_index=False, related_name="experiences"
    )
    touchpoint = models.ForeignKey(
        "touchpoints.Touchpoint", on_delete=models.PROTECT, db_index=False, related_name="experiences"
    )
    department = models.ForeignKey(
        "touchpoints.Department", on_delete=models.PROTECT, db_index=False, related_name="experiences"
    )
    stage = models.CharField(max_length=20, choices=Stage.choices)
    valence = models.SmallIntegerField(choices=Valence.choices)
    intensity = models.SmallIntegerField(default=3)
    emotion = models.CharField(max_length=20, choices=Emotion.choices, blank=True)
    expectation = models.CharField(max_length=10, choices=Expectation.choices, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    occurred_at = models.DateTimeField()
    occurred_on = models.DateField(help_text=_("The company's calendar day of occurred_at (TIME_ZONE)."))
    source = models.CharField(max_length=10, choices=Source.choices)
    external_id = models.CharField(
        max_length=100, null=True, blank=True, help_text=_("Idempotency key, unique per writer (idempotency_scope).")
    )
    idempotency_scope = models.CharField(
        max_length=160,
        db_default="",
        help_text=_("Whose id namespace the key belongs to: key:<API key>, user:<id>, import or survey."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reported_from_department = models.ForeignKey(
        "touchpoints.Department",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
        help_text=_(
            "The department of the person who logged it, when a person did: the experience is charged to "
            "`department` (the touchpoint's owner), whoever noticed it."
        ),
    )
    api_key = models.ForeignKey(
        "integrations.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
        help_text=_("The API key that wrote it (recorded_by is the user, for the form and the import)."),
    )
    note = models.TextField(blank=True)
    impact = models.FloatField()
    positive_mass_norm = models.FloatField()
    negative_mass_norm = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="experience_customer_time"),
            models.Index(fields=["occurred_on", "department"], name="experience_day_department"),
            # The journey map's most frequent emotion per step reads a step's latest experiences of its
            # stage from this index alone (stage and emotion carried in it): no heap block per experience.
            models.Index(
                fields=["touchpoint", "occurred_at"], name="experience_touchpoint_time", include=["stage", "emotion"]
            ),
            # GET /api/v1/experiences/ pages newest first by (occurred_at, id).
            models.Index(fields=["-occurred_at", "-id"], name="experience_newest_first"),
            # The department page: who else reported its negatives, and the latest experiences staff logged.
            # Partial, so each reads its few rows of the period however many experiences there are.
            models.Index(
                # occurred_at last, so that a period bounded by it too (on_days) is answered by the index alone
                fields=["department", "occurred_on", "reported_from_department", "occurred_at"],
                name="experience_reported_by_others",
                condition=REPORTED_BY_OTHERS,
            ),
            models.Index(
                fields=["department", "-occurred_on", "-occurred_at"],
                name="experience_logged_by_staff",
                condition=Q(recorded_by__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(intensity__gte=1, intensity__lte=5), name="experience_intensity_1_5"),
            models.CheckConstraint(condition=Q(valence__in=Valence.values), name="experience_valence_valid"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="experience_stage_valid"),
            models.CheckConstraint(
                condition=Q(expectation__in=["", *Expectation.values]), name="experience_expectation_valid"
            ),
            models.CheckConstraint(condition=Q(outcome__in=["", *Outcome.values]), name="experience_outcome_valid"),
            models.CheckConstraint(condition=Q(emotion__in=["", *Emotion.values]), name="experience_emotion_valid"),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="experience_source_valid"),
            models.CheckConstraint(
                condition=Q(positive_mass_norm__gte=0, negative_mass_norm__gte=0), name="experience_masses_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_valence_display()} at {self.touchpoint_id} for {self.customer_id}"


class ExperienceKey(models.Model):
    """A writer's idempotency key (`id`) and the experience it stored: unique across all of history.

    Apart from the experiences because their table is partitioned by month (docs/scaling.md, step 5),
    and PostgreSQL keeps a unique key only within one partition unless the month is part of it. The
    item as first sent is kept here, so that telling a replay from a conflict never reads the experiences.
    """

    pk = models.CompositePrimaryKey("idempotency_scope", "external_id")
    idempotency_scope = models.CharField(max_length=160)
    external_id = models.CharField(max_length=100)
    experience = models.ForeignKey(Experience, on_delete=models.CASCADE, db_constraint=False, related_name="+")
    sent = models.JSONField(
        null=True, blank=True, help_text=_("The item as sent with its key, to tell a replay from a conflict.")
    )

    def __str__(self) -> str:
        return f"{self.idempotency_scope} {self.external_id}"


class ChangeKind(models.TextChoices):
    CORRECTED = "corrected", _("Corrected")
    VOIDED = "voided", _("Voided")


class ExperienceChange(models.Model):
    """The history of corrections and voids: who, when, what it was and what it became.

    A voided experience is deleted (every score, rollup and report then forgets it by
    recomputing); this row keeps what it was, so the history survives it.
    """

    experience_id_then = models.BigIntegerField(help_text=_("The experience's id (gone once voided)."))
    # No database constraint: the experience table is partitioned by month, and PostgreSQL references
    # only a unique key of it, which is (id, occurred_at). Django applies on_delete itself.
    experience = models.ForeignKey(
        Experience, on_delete=models.SET_NULL, null=True, blank=True, db_constraint=False, related_name="changes"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    before = models.JSONField(help_text=_("The changed fields before (every field for a void)."))
    after = models.JSONField(default=dict, blank=True, help_text=_("The changed fields after."))

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=ChangeKind.values), name="change_kind_valid")]

    def __str__(self) -> str:
        return f"{self.kind} experience {self.experience_id_then}"


class CatalogueVersion(models.Model):
    """One row whose `version` changes (to a random number) with every write to touchpoints, departments or
    their owners, by a database trigger: the write path keeps the catalogue in memory per process and checks
    this number inside its insert statement, so a change made anywhere is seen by every process at once."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.version)
