"""A long period's themes are read from weekly and monthly theme rollups: the counts of the mentions themselves."""

import random
from datetime import timedelta

import pytest
from django.db.models import Value
from django.utils import timezone

from experiences.models import Experience, Valence
from feedback import themes
from feedback.models import ExperienceTheme, MonthlyThemeRollup, Theme, ThemeRollup, WeeklyThemeRollup
from feedback.survey_scores import themes as top_themes
from scoring.recompute import rescore_all
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, TouchpointFactory

NOTES = ("late delivery again", "a broken box", "late delivery and a broken box", "all fine, thanks")


@pytest.fixture
def mentioned(db, django_capture_on_commit_callbacks):
    """80 notes over 100 days at three touchpoints of two departments, from customers of two segments; two themes."""
    rng = random.Random(7)
    logistics, _billing, delivery, invoice, _users = two_departments()
    returns = TouchpointFactory(code="easy-returns", owner=logistics)
    Theme.objects.create(phrase="late delivery", language="en")
    Theme.objects.create(phrase="broken box", language="en")
    customers = [CustomerFactory(segment=("smb", "enterprise")[n % 2]) for n in range(6)]
    items = [
        experience(
            rng.choice(customers),
            rng.choice((delivery, returns, invoice)),
            rng.choice(("negative", "positive")),
            days_ago=rng.uniform(0.5, 100),
            note=rng.choice(NOTES),
        )
        for _ in range(80)
    ]
    capture = django_capture_on_commit_callbacks
    log(capture, *items)
    with capture(execute=True):  # the marked days are rolled up again (in process here)
        themes.match_notes(Experience.objects.values_list("pk", "occurred_on", "note", Value("en")))
    return logistics


def counted(start, end, department_ids, segments=None) -> dict:
    """The reference: each mention read one by one, {(touchpoint id, phrase): (mentions, negatives)}."""
    found: dict = {}
    for m in ExperienceTheme.objects.select_related("experience__customer", "theme"):
        x = m.experience
        if not start <= x.occurred_on <= end or x.department_id not in department_ids:
            continue
        if segments is not None and x.customer.segment not in segments:
            continue
        mentions, negatives = found.get((x.touchpoint_id, m.theme.phrase), (0, 0))
        found[(x.touchpoint_id, m.theme.phrase)] = (mentions + 1, negatives + (x.valence == Valence.NEGATIVE))
    return found


def periods() -> list[tuple]:
    today = timezone.localdate()
    last_month = today.replace(day=1) - timedelta(days=1)
    return [
        (today - timedelta(days=99), today),  # months, weeks and days
        (last_month.replace(day=1), last_month),  # exactly one month
        (today - timedelta(days=today.weekday() + 14), today - timedelta(days=today.weekday() + 1)),  # two weeks
        (today - timedelta(days=9), today - timedelta(days=3)),  # days
    ]


def assert_themes_equal_the_mentions(department) -> None:
    for start, end in periods():
        length = end - start + timedelta(days=1)
        for segments in (None, ["smb"]):
            shown = top_themes(
                start=start,
                end=end,
                previous_start=start - length,
                previous_end=start - timedelta(days=1),
                department_ids=[department.pk],
                segments=segments,
            )
            reference = counted(start, end, [department.pk], segments)
            per_touchpoint = {
                (touchpoint, t.phrase): (t.mentions, t.negatives)
                for touchpoint, rows in shown.by_touchpoint.items()
                for t in rows
            }
            assert per_touchpoint == reference, (start, end, segments)
            before = counted(start - length, start - timedelta(days=1), [department.pk], segments)
            overall = {t.phrase: (t.mentions, t.negatives, t.previous_mentions) for t in shown.top}
            assert overall == {
                phrase: (
                    sum(m for (_, p), (m, _) in reference.items() if p == phrase),
                    sum(n for (_, p), (_, n) in reference.items() if p == phrase),
                    sum(m for (_, p), (m, _) in before.items() if p == phrase),
                )
                for phrase in {p for _, p in reference}
            }, (start, end, segments)


def period_rows(model, key: str) -> list[tuple]:
    return sorted(
        model.objects.values_list(key, "department_id", "touchpoint_id", "segment", "theme_id", "mentions", "negatives")
    )


def test_a_periods_themes_read_from_months_weeks_and_days_count_every_mention_once(mentioned):
    assert MonthlyThemeRollup.objects.exists() and WeeklyThemeRollup.objects.exists()
    assert_themes_equal_the_mentions(mentioned)


def test_weeks_and_months_are_the_sums_of_their_days(mentioned):
    for model, key in ((WeeklyThemeRollup, "week"), (MonthlyThemeRollup, "month")):
        sums: dict = {}
        for day, *rest, mentions, negatives in ThemeRollup.objects.values_list(
            "day", "department_id", "touchpoint_id", "segment", "theme_id", "mentions", "negatives"
        ):
            start = day - timedelta(days=day.weekday()) if key == "week" else day.replace(day=1)
            found = sums.get((start, *rest), (0, 0))
            sums[(start, *rest)] = (found[0] + mentions, found[1] + negatives)
        assert len(sums) > 3, f"100 days of notes fill several {key}s"
        assert period_rows(model, key) == sorted((*k, *v) for k, v in sums.items())


def test_the_full_recompute_rebuilds_the_weeks_and_months(mentioned):
    weeks, months = period_rows(WeeklyThemeRollup, "week"), period_rows(MonthlyThemeRollup, "month")
    WeeklyThemeRollup.objects.all().delete()
    MonthlyThemeRollup.objects.update(mentions=99)

    rescore_all()

    assert (period_rows(WeeklyThemeRollup, "week"), period_rows(MonthlyThemeRollup, "month")) == (weeks, months)
    assert_themes_equal_the_mentions(mentioned)
