"""Journeys: designed paths of touchpoints across perception, interaction and remembrance."""

from django.db import models
from django.db.models import Q

from touchpoints.models import Stage


class Journey(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JourneyStep(models.Model):
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    touchpoint = models.ForeignKey("touchpoints.Touchpoint", on_delete=models.PROTECT, related_name="journey_steps")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["journey", "position"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "position"], name="journey_step_position_unique"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="journey_step_stage_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.journey} #{self.position}: {self.touchpoint}"
