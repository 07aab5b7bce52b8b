"""The catalogue of moments of truth and the departments that answer for them."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """The three stages of an experience (DESIGN §1.2)."""

    PERCEPTION = "perception", _("Perception")
    INTERACTION = "interaction", _("Interaction")
    REMEMBRANCE = "remembrance", _("Remembrance")


class Channel(models.TextChoices):
    WEB = "web", _("Website")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    IN_PERSON = "in_person", _("In person")
    FIELD = "field", _("Field visit")
    DELIVERY = "delivery", _("Delivery")
    DOCUMENT = "document", _("Document")
    MEDIA = "media", _("Media and word of mouth")
    SURVEY = "survey", _("Survey")


class Department(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    case_sla_hours = models.PositiveSmallIntegerField(
        default=48, help_text=_("Hours the department has to resolve a recovery case before it is escalated.")
    )
    # Case rules: which negative moments open a recovery case for this department (docs/feedback.md).
    case_min_intensity = models.PositiveSmallIntegerField(
        default=4, help_text=_("A negative experience of at least this intensity (1–5) opens a case.")
    )
    case_debt_threshold = models.PositiveSmallIntegerField(
        default=5,
        help_text=_(
            "A customer who owes at least this many positives and had a negative here in the last 7 days "
            "gets a case, whatever its intensity. 0: off."
        ),
    )
    case_on_detractor = models.BooleanField(
        default=True, help_text=_("Every negative survey answer (a detractor) about this department opens a case.")
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(case_sla_hours__gte=1), name="department_case_sla_positive"),
            models.CheckConstraint(
                condition=Q(case_min_intensity__gte=1, case_min_intensity__lte=5),
                name="department_case_min_intensity_1_5",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Touchpoint(models.Model):
    """A moment of truth. Exactly one owning department is primary: it is answerable by default."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=160)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    stage = models.CharField(max_length=20, choices=Stage.choices)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    departments = models.ManyToManyField(Department, through="TouchpointOwner", related_name="touchpoints")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="touchpoint_stage_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class TouchpointOwner(models.Model):
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="owners")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="owned")
    primary = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["touchpoint", "department"], name="touchpoint_owner_unique"),
            models.UniqueConstraint(
                fields=["touchpoint"], condition=Q(primary=True), name="touchpoint_one_primary_owner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department} owns {self.touchpoint}"
