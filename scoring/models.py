"""Derived score tables (recomputable from experiences) and the durable rescoring queue."""

from django.db import models
from django.db.models import Q

from touchpoints.models import Stage


class CustomerScore(models.Model):
    """A customer's decayed score as of `scored_at` (DESIGN §3).

    The `*_norm` sums are time-invariant (masses against the epoch); the index never
    changes with time, the masses, balance and debt do, so a nightly task refreshes them.
    """

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    positive_mass_norm = models.FloatField(default=0)
    negative_mass_norm = models.FloatField(default=0)
    positive_mass = models.FloatField(default=0)
    negative_mass = models.FloatField(default=0)
    index = models.FloatField(null=True, blank=True)
    balance = models.FloatField(default=0)
    recovery_debt = models.IntegerField(default=0)
    positives = models.IntegerField(default=0)
    neutrals = models.IntegerField(default=0)
    negatives = models.IntegerField(default=0)
    last_negative_at = models.DateTimeField(null=True, blank=True)
    scored_at = models.DateTimeField()

    class Meta:
        indexes = [
            # Customers at risk, worst first (scoring.queries.customers_at_risk): read in this order, never sorted.
            models.Index(
                fields=["-recovery_debt", "balance", "customer"], name="score_at_risk", condition=Q(recovery_debt__gt=0)
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(index__isnull=True) | Q(index__gte=0, index__lte=100), name="score_index_0_100"
            ),
            models.CheckConstraint(condition=Q(recovery_debt__gte=0), name="score_debt_not_negative"),
        ]

    def __str__(self) -> str:
        return f"score of customer {self.customer_id}"

    @property
    def at_risk(self) -> bool:
        return self.recovery_debt > 0


class Rollup(models.Model):
    """Undecayed sums of a period × department × touchpoint × stage × customer segment.

    `segment` is the customer's segment at the last recompute ("" for none): changing a
    customer's segment marks the days of their experiences dirty, so figures follow the
    customer's current segment, not the one they had when the experience happened.
    """

    department = models.ForeignKey("touchpoints.Department", on_delete=models.CASCADE, related_name="+")
    touchpoint = models.ForeignKey("touchpoints.Touchpoint", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    segment = models.CharField(max_length=60, blank=True, default="")
    experiences = models.IntegerField(default=0)
    positives = models.IntegerField(default=0)
    neutrals = models.IntegerField(default=0)
    negatives = models.IntegerField(default=0)
    positive_mass = models.FloatField(default=0)
    negative_mass = models.FloatField(default=0)
    missed = models.IntegerField(default=0)
    met = models.IntegerField(default=0)
    exceeded = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    # Negatives someone of another department reported (`Experience.reported_from_department`).
    reported_by_others = models.IntegerField(default=0)

    class Meta:
        abstract = True


class DailyRollup(Rollup):
    """The sums of one company calendar day: what every page and report reads, directly or summed up."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "department", "touchpoint", "stage", "segment"], name="rollup_key"),
        ]
        indexes = [models.Index(fields=["department", "day"], name="rollup_department_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.department_id}/{self.touchpoint_id}/{self.stage}/{self.segment}"


class WeeklyRollup(Rollup):
    """The sum of a week's daily rollups (Monday to Sunday, `week` is the Monday): a year is 53 rows a key.

    Kept in step with the daily rollups by the same rescore transaction, so long periods read
    a seventh of the rows.
    """

    week = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week", "department", "touchpoint", "stage", "segment"], name="weekly_rollup_key"
            ),
        ]
        indexes = [models.Index(fields=["department", "week"], name="weekly_rollup_department")]

    def __str__(self) -> str:
        return f"week of {self.week} {self.department_id}/{self.touchpoint_id}/{self.stage}/{self.segment}"


class MonthlyRollup(Rollup):
    """The sum of a calendar month's daily rollups (`month` is its first day), kept like the weekly ones."""

    month = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "department", "touchpoint", "stage", "segment"], name="monthly_rollup_key"
            ),
        ]
        indexes = [models.Index(fields=["department", "month"], name="monthly_rollup_department")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.department_id}/{self.touchpoint_id}/{self.stage}/{self.segment}"


class ReporterSums(models.Model):
    """Negatives charged to a department that people of another department logged, per period × that other
    department × stage × customer segment (the customer's current one, as in the rollups above).

    The rollups above count these negatives (`reported_by_others`) but not who logged them; the
    department page names the departments that noticed most. Counted from the experiences, that
    read grew with the data (docs/performance.md).
    """

    # No index of its own: each table's (department, period) index starts with it.
    department = models.ForeignKey("touchpoints.Department", on_delete=models.CASCADE, related_name="+", db_index=False)
    reported_from_department = models.ForeignKey("touchpoints.Department", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    segment = models.CharField(max_length=60, blank=True, default="")
    negatives = models.IntegerField(default=0)

    class Meta:
        abstract = True


# The period tables' indexes hold every column the department page reads, so it reads them alone.
REPORTER_SUMS_INCLUDED = ["reported_from_department", "stage", "segment", "negatives"]


class DailyReporterRollup(ReporterSums):
    """The negatives others reported of one company calendar day."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "department", "reported_from_department", "stage", "segment"], name="reporter_rollup_key"
            ),
        ]
        indexes = [
            models.Index(fields=["department", "day"], include=REPORTER_SUMS_INCLUDED, name="reporter_rollup_sums"),
            models.Index(fields=["day"], name="reporter_rollup_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.department_id} by {self.reported_from_department_id}/{self.stage}/{self.segment}"


class WeeklyReporterRollup(ReporterSums):
    """A week's daily reporter rollups summed (`week` is the Monday)."""

    week = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week", "department", "reported_from_department", "stage", "segment"],
                name="weekly_reporter_rollup_key",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "week"], include=REPORTER_SUMS_INCLUDED, name="weekly_reporter_sums")
        ]

    def __str__(self) -> str:
        return f"week of {self.week} {self.department_id} by {self.reported_from_department_id}"


class MonthlyReporterRollup(ReporterSums):
    """A calendar month's daily reporter rollups summed (`month` is its first day)."""

    month = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "department", "reported_from_department", "stage", "segment"],
                name="monthly_reporter_rollup_key",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "month"], include=REPORTER_SUMS_INCLUDED, name="monthly_reporter_sums")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.department_id} by {self.reported_from_department_id}"


class CustomerMark(models.Model):
    """A customer whose score must be recomputed: the rescoring queue that survives Redis.

    Append-only: every write adds its own marks and never touches another's, so writers never wait
    on each other or on a rescore for a mark. The rescore reads marks, recomputes, and deletes the
    very marks it read; one written meanwhile stays for the next batch, so no write is ever lost.
    """

    # No database constraint: the experience written in the same statement already checks its customer
    # (5 ms of every 1,000-item batch, docs/performance.md), and a mark whose customer is gone is worked
    # off like any other. Deleting a customer still deletes its marks (Django's CASCADE).
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_constraint=False)

    def __str__(self) -> str:
        return f"customer {self.customer_id} to rescore"


class DayMark(models.Model):
    """A company calendar day whose rollups must be recomputed (same protocol as CustomerMark)."""

    day = models.DateField(db_index=True)

    def __str__(self) -> str:
        return f"{self.day} to roll up"
