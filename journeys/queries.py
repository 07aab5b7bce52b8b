"""Reads of the journey map: each step's figures for a period (who sees which journey: `accounts.access`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from customers.models import Customer
from dashboards.filters import Filters
from experiences.models import Emotion, Experience
from feedback.survey_scores import survey_scores
from scoring.queries import PeriodReport, summed
from touchpoints.models import Stage

from .models import Journey, JourneyStep

EMOTION_SAMPLE = 500


@dataclass(frozen=True)
class StepFigures:
    step: JourneyStep
    report: PeriodReport
    emotion: str  # the most frequent emotion's label, "" when none was recorded
    weakest: bool = False
    # how the touchpoint's interactions are remembered: its remembrance stage and its survey scores
    remembrance: PeriodReport | None = None
    scores: dict = field(default_factory=dict)


@dataclass(frozen=True)
class JourneyMap:
    columns: list[tuple[str, str, list[StepFigures]]]  # (stage, label, steps in order)
    steps: list[StepFigures]

    @property
    def weakest(self) -> StepFigures | None:
        return next((s for s in self.steps if s.weakest), None)


def journey_map(journey: Journey, *, filters: Filters, department_ids: Iterable[int] | None) -> JourneyMap:
    """Each step with the period's figures of its touchpoint at its stage, and how it is remembered; four queries.

    Figures count only the reader's departments and the filter's customer segment. The weakest
    step is the one with the lowest index among the steps that have one.
    """
    ids = None if department_ids is None else list(department_ids)
    steps = list(journey.steps.select_related("touchpoint").order_by("position"))
    period = filters.period
    by_key = summed(
        start=period.start,
        end=period.end,
        by=("touchpoint_id", "stage"),
        department_ids=ids,
        touchpoint_ids={s.touchpoint_id for s in steps},
        stages=filters.stages or None,
        segments=filters.segments or None,
    )
    emotions = _frequent_emotions(journey, filters=filters, department_ids=ids)
    scores = survey_scores(
        by="touchpoint",
        start=period.start,
        end=period.end,
        department_ids=ids,
        touchpoint_ids={s.touchpoint_id for s in steps},
        segments=filters.segments or None,
    )
    reports = [by_key.get((s.touchpoint_id, s.stage), PeriodReport()) for s in steps]
    judged = [(r.index, i) for i, r in enumerate(reports) if r.index is not None]
    weakest = min(judged)[1] if judged else None
    figures = [
        StepFigures(
            step=s,
            report=r,
            emotion=emotions.get(s.pk, ""),
            weakest=i == weakest,
            remembrance=by_key.get((s.touchpoint_id, Stage.REMEMBRANCE)) if s.stage != Stage.REMEMBRANCE else None,
            scores=scores.get(s.touchpoint_id, {}),
        )
        for i, (s, r) in enumerate(zip(steps, reports, strict=True))
    ]
    columns = [(stage, str(label), [f for f in figures if f.step.stage == stage]) for stage, label in Stage.choices]
    return JourneyMap(columns=columns, steps=figures)


def _frequent_emotions(journey: Journey, *, filters: Filters, department_ids: list[int] | None) -> dict[int, str]:
    """The most frequent emotion per step among its latest experiences of the period; one query.

    Emotions are not in the rollups, so each step reads only its latest EMOTION_SAMPLE experiences
    (with or without an emotion) through the (touchpoint, occurred_at) index: the cost stays flat
    as data grows.
    """
    start, end = filters.period.moments
    table = Experience._meta.db_table
    params: list = [start, end]
    narrowing = ""
    if department_ids is not None:
        if not department_ids:
            return {}
        narrowing += f" AND e.department_id IN ({', '.join(['%s'] * len(department_ids))})"
        params += department_ids
    if filters.stages:
        narrowing += f" AND e.stage IN ({', '.join(['%s'] * len(filters.stages))})"
        params += filters.stages
    if filters.segments:
        narrowing += (
            f" AND e.customer_id IN (SELECT c.id FROM {Customer._meta.db_table} c"
            f" WHERE c.segment IN ({', '.join(['%s'] * len(filters.segments))}))"
        )
        params += filters.segments
    sql = f"""
        SELECT s.id, (
            SELECT x.emotion FROM (
                SELECT e.emotion FROM {table} e
                WHERE e.touchpoint_id = s.touchpoint_id AND e.stage = s.stage
                  AND e.occurred_at >= %s AND e.occurred_at < %s{narrowing}
                ORDER BY e.occurred_at DESC LIMIT {EMOTION_SAMPLE}
            ) x WHERE x.emotion <> '' GROUP BY x.emotion ORDER BY COUNT(*) DESC, x.emotion LIMIT 1
        )
        FROM {JourneyStep._meta.db_table} s WHERE s.journey_id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, journey.pk])
        return {pk: str(Emotion(emotion).label) for pk, emotion in cursor.fetchall() if emotion}
