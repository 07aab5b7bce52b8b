"""Reads of survey answers for the dashboards: NPS, CSAT and CES, response rates, themes.

An answer counts where and when the experience it became was recorded: the department and
touchpoint of that remembrance-stage experience (for a triggered survey, the touchpoint of the
moment it recalls) and its calendar day. Scores and response rates are read from the daily
rollups (feedback/rollups.py), themes from their mentions. Each function is one query over a
period; the pages call it twice (this period and the previous one) for the trend.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet, Sum

from cxm.aggregates import named_after
from experiences.partitions import on_days
from scoring.periods import PeriodTables, covering

from .models import (
    ExperienceTheme,
    InvitationRollup,
    MonthlySurveyRollup,
    MonthlyThemeRollup,
    SurveyKind,
    SurveyRollup,
    Theme,
    ThemeRollup,
    WeeklySurveyRollup,
    WeeklyThemeRollup,
)
from .scales import SCALES

FEW_RESPONSES = 100  # below this, a score is shown with its margin of error
Z95 = 1.96
KINDS = (SurveyKind.NPS, SurveyKind.CSAT, SurveyKind.CES)


@dataclass(frozen=True)
class SurveyScore:
    """The answers of one kind: NPS (% promoters − % detractors), CSAT (% 4–5) or CES (mean of 1–7)."""

    kind: str
    responses: int = 0
    positives: int = 0  # promoters (9–10), satisfied (4–5), easy (6–7)
    negatives: int = 0  # detractors (0–6), dissatisfied (1–2), difficult (1–3)
    total: int = 0  # sum of the scores
    squares: int = 0  # sum of the squared scores

    def __add__(self, other: SurveyScore) -> SurveyScore:
        return SurveyScore(
            self.kind,
            self.responses + other.responses,
            self.positives + other.positives,
            self.negatives + other.negatives,
            self.total + other.total,
            self.squares + other.squares,
        )

    @property
    def value(self) -> float | None:
        n = self.responses
        if not n:
            return None
        if self.kind == SurveyKind.NPS:
            return 100 * (self.positives - self.negatives) / n
        if self.kind == SurveyKind.CSAT:
            return 100 * self.positives / n
        return self.total / n

    @property
    def few(self) -> bool:
        return 0 < self.responses < FEW_RESPONSES

    @property
    def margin(self) -> float | None:
        """Half-width of the 95 % confidence interval, in the score's own unit (points, %, or scale steps)."""
        n = self.responses
        if n < 2:
            return None
        if self.kind == SurveyKind.NPS:
            p, d = self.positives / n, self.negatives / n
            variance = p + d - (p - d) ** 2
            return 100 * Z95 * math.sqrt(variance / n)
        if self.kind == SurveyKind.CSAT:
            p = self.positives / n
            return 100 * Z95 * math.sqrt(p * (1 - p) / n)
        mean = self.total / n
        variance = max(0.0, (self.squares - n * mean * mean) / (n - 1))
        return Z95 * math.sqrt(variance / n)


# The standard bands (DESIGN §2) as filters over answers of every kind.
POSITIVE = reduce(or_, (Q(survey__kind=k, score__gte=SCALES[k].positive_from) for k in KINDS))
NEGATIVE = reduce(or_, (Q(survey__kind=k, score__lte=SCALES[k].negative_up_to) for k in KINDS))


Scores = dict[str, SurveyScore]
SCORE_SUMS = ("responses", "positives", "negatives", "total", "squares")


# The survey and theme rollups: each daily table, what keys and sums its rows, and its weekly and monthly sums.
SURVEY_PERIODS = PeriodTables(
    SurveyRollup,
    ("department_id", "touchpoint_id", "stage", "segment", "kind"),
    SCORE_SUMS,
    WeeklySurveyRollup,
    MonthlySurveyRollup,
)
THEME_PERIODS = PeriodTables(
    ThemeRollup,
    ("department_id", "touchpoint_id", "segment", "theme_id"),
    ("mentions", "negatives"),
    WeeklyThemeRollup,
    MonthlyThemeRollup,
)


def survey_scores(*, by: str | None = None, start: date, end: date, **narrowing) -> dict[object, Scores]:
    """NPS, CSAT and CES per `by` ("department", "touchpoint" or None for one total under the key None); one query.

    Read from the survey rollups (feedback/rollups.py) that cover the period (`covering`), so a
    year costs tens of rows per key, not hundreds, and never the answers. `narrowing`:
    department_ids, and optionally touchpoint_ids, segments, stages.
    """
    group = {"department": "department_id", "touchpoint": "touchpoint_id"}.get(by or "")
    found: dict[object, Scores] = {}
    for r in covering(SURVEY_PERIODS, start, end, (*([group] if group else []), "kind"), SCORE_SUMS, **narrowing):
        kind = r["kind"]
        score = SurveyScore(kind, *(r[name] for name in SCORE_SUMS))
        scores = found.setdefault(r[group] if group else None, {})
        scores[kind] = scores[kind] + score if kind in scores else score
    return found


def summed(groups: Iterable[Scores]) -> Scores:
    """The scores of several groups together (groups that partition the answers, e.g. departments)."""
    total: Scores = {}
    for scores in groups:
        for kind, score in scores.items():
            total[kind] = total[kind] + score if kind in total else score
    return total


@dataclass(frozen=True)
class ScoreFigure:
    """One score of one kind for a page: this period, the change against the previous one."""

    score: SurveyScore
    previous: SurveyScore

    @property
    def change(self) -> float | None:
        if self.score.value is None or self.previous.value is None:
            return None
        return self.score.value - self.previous.value


def figures(current: Scores, previous: Scores) -> list[ScoreFigure]:
    """The kinds answered in either period, NPS first, each with its trend."""
    return [
        ScoreFigure(current.get(kind, SurveyScore(kind)), previous.get(kind, SurveyScore(kind)))
        for kind in KINDS
        if kind in current or kind in previous
    ]


# Response rates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseRate:
    sent: int
    answered: int
    name: str = ""

    @property
    def rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None


RATE_GROUPS = {
    "survey": ("survey_id", "survey__name"),
    "touchpoint": ("touchpoint_id", "touchpoint__name"),
    "department": ("department_id", "department__name"),
}


def response_rates(
    *, by: str, start: date, end: date, department_ids: Iterable[int] | None = None
) -> dict[object, ResponseRate]:
    """Invitations sent in the period and how many were answered, per "survey", "touchpoint" or "department".

    An invitation belongs to the touchpoint and department of the moment it asks about (stored on
    it when it is made); read from the daily invitation rollups (feedback/rollups.py), one query.
    """
    group, name = RATE_GROUPS[by]
    rows = InvitationRollup.objects.filter(day__gte=start, day__lte=end)
    if department_ids is not None:
        rows = rows.filter(department_id__in=list(department_ids))
    result = rows.values(group, name).annotate(sent=Sum("sent"), answered=Sum("answered")).order_by(name)
    return {r[group]: ResponseRate(r["sent"], r["answered"], r[name] or "") for r in result}


# Themes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThemeRow:
    theme_id: int
    phrase: str
    language: str
    mentions: int
    negatives: int
    previous_mentions: int

    def __add__(self, other: ThemeRow) -> ThemeRow:
        """The same theme's mentions elsewhere or in another part of the period, added."""
        return replace(self, mentions=self.mentions + other.mentions, negatives=self.negatives + other.negatives)

    @property
    def negative_share(self) -> float:
        return self.negatives / self.mentions if self.mentions else 0.0

    @property
    def change(self) -> int:
        """Mentions gained (+) or lost (−) against the previous period of the same length."""
        return self.mentions - self.previous_mentions


def _mentions(*, start: date, end: date, department_ids, touchpoint_ids=None) -> QuerySet:
    rows = ExperienceTheme.objects.filter(on_days(start, end, via="experience__"))
    if department_ids is not None:
        rows = rows.filter(experience__department_id__in=list(department_ids))
    if touchpoint_ids is not None:
        rows = rows.filter(experience__touchpoint_id__in=list(touchpoint_ids))
    return rows


@dataclass(frozen=True)
class Themes:
    top: list[ThemeRow]  # the most mentioned overall, with their trend
    by_touchpoint: dict[int, list[ThemeRow]]  # each touchpoint's most mentioned


def themes(
    *, previous_start: date, previous_end: date, limit: int = 10, per_touchpoint: int = 3, **narrowing
) -> Themes:
    """The themes mentioned most in the period, overall with their trend and per touchpoint; two queries.

    Read from the theme rollups that cover the period (`covering`): a year is twelve months' rows,
    at most touchpoints × segments × themes each, however many notes there are. The period's rows
    are read once and summed by touchpoint and theme id, then named: both lists come from those
    sums, where reading a year's rows twice cost 9–10 ms each at 10,000,000 experiences.
    """
    sums = covering(THEME_PERIODS, group=("touchpoint_id", "theme_id"), sums=("mentions", "negatives"), **narrowing)
    added: dict[tuple[int, int], ThemeRow] = {}  # (touchpoint, theme) → its mentions over the period's parts
    for touchpoint_id, theme_id, mentions, negatives, phrase, language in named_after(
        sums, "theme_id", Theme, "phrase", "language"
    ):
        row = ThemeRow(theme_id, phrase, language, mentions, negatives, 0)
        found = added.get((touchpoint_id, theme_id))
        added[(touchpoint_id, theme_id)] = row if found is None else found + row
    by_touchpoint: dict[int, list[ThemeRow]] = {}
    totals: dict[int, ThemeRow] = {}  # each theme over every touchpoint
    # each touchpoint's most mentioned first
    for (touchpoint_id, theme_id), row in sorted(added.items(), key=lambda i: (i[0][0], -i[1].mentions, i[1].phrase)):
        top = by_touchpoint.setdefault(touchpoint_id, [])
        if len(top) < per_touchpoint:
            top.append(row)
        total = totals.get(theme_id)
        totals[theme_id] = row if total is None else total + row
    if not totals:
        return Themes(top=[], by_touchpoint={})
    ranked = sorted(totals.values(), key=lambda t: (-t.mentions, t.phrase))[:limit]
    before: dict[int, int] = {}
    for r in covering(
        THEME_PERIODS,
        **{**narrowing, "start": previous_start, "end": previous_end},
        group=("theme_id",),
        sums=("mentions",),
        where=Q(theme_id__in=[t.theme_id for t in ranked]),
    ):
        before[r["theme_id"]] = before.get(r["theme_id"], 0) + r["mentions"]
    top = [replace(t, previous_mentions=before.get(t.theme_id, 0)) for t in ranked]
    return Themes(top=top, by_touchpoint=by_touchpoint)


def theme_mentions(
    *,
    theme_id: int,
    start: date,
    end: date,
    department_ids: Iterable[int] | None,
    touchpoint_ids: Iterable[int] | None = None,
) -> QuerySet[ExperienceTheme]:
    """The experiences behind a theme in the period, newest first, with what a reader needs beside each."""
    return (
        _mentions(start=start, end=end, department_ids=department_ids, touchpoint_ids=touchpoint_ids)
        .filter(theme_id=theme_id)
        .select_related(
            "experience__customer",
            "experience__touchpoint",
            "experience__department",
            "experience__survey_response__survey",
        )
        .order_by("-experience__occurred_at", "-pk")
    )
