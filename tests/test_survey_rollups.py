"""The dashboards' survey figures come from the daily rollups: equal to the figures the answers give."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from feedback import services
from feedback.models import (
    Invitation,
    InvitationRollup,
    MonthlySurveyRollup,
    Response,
    Survey,
    SurveyRollup,
    WeeklySurveyRollup,
)
from feedback.scales import SCALES
from feedback.survey_scores import SurveyScore, response_rates, survey_scores
from scoring.recompute import rescore_all, rescore_dirty
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory


def from_answers(*, by=None, start, end, department_ids=None, segments=None, stages=None):
    """The reference: each answer read one by one in Python, where and when its experience was recorded."""
    found: dict = {}
    for r in Response.objects.select_related("experience__customer", "survey").filter(experience__isnull=False):
        x = r.experience
        if not start <= x.occurred_on <= end:
            continue
        if department_ids is not None and x.department_id not in department_ids:
            continue
        if segments is not None and x.customer.segment not in segments:
            continue
        if stages is not None and x.stage not in stages:
            continue
        kind, scale = r.survey.kind, SCALES[r.survey.kind]
        one = SurveyScore(
            kind, 1, int(r.score >= scale.positive_from), int(r.score <= scale.negative_up_to), r.score, r.score**2
        )
        key = {"department": x.department_id, "touchpoint": x.touchpoint_id}.get(by or "")
        scores = found.setdefault(key, {})
        scores[kind] = scores[kind] + one if kind in scores else one
    return found


def rates_from_invitations(*, by, start, end, department_ids=None):
    found: dict = {}
    for i in Invitation.objects.filter(sent_at__isnull=False):
        if not start <= timezone.localdate(i.sent_at) <= end:
            continue
        if department_ids is not None and i.department_id not in department_ids:
            continue
        key = {"survey": i.survey_id, "touchpoint": i.touchpoint_id, "department": i.department_id}[by]
        sent, answered = found.get(key, (0, 0))
        found[key] = (sent + 1, answered + (i.answered_at is not None))
    return found


@pytest.fixture
def varied(db, django_capture_on_commit_callbacks):
    """About 60 answers of three kinds over 70 days, two departments, three segments; some invitations never
    answered. 70 days hold whole weeks and at least one whole month, read from the weekly and monthly rollups."""
    rng = random.Random(13)
    logistics, billing, delivery, invoice, users = two_departments()
    surveys = [
        Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=delivery),
        Survey.objects.create(slug="invoice-csat", name="Invoice", kind="csat", touchpoint=invoice),
        Survey.objects.create(slug="delivery-ces", name="Effort", kind="ces", touchpoint=delivery),
    ]
    customers = [CustomerFactory(segment=("smb", "enterprise", "")[n % 3]) for n in range(30)]
    capture = django_capture_on_commit_callbacks
    now = timezone.now()
    for _ in range(80):
        survey, customer = rng.choice(surveys), rng.choice(customers)
        sent = now - timedelta(days=rng.randint(1, 70), hours=rng.randint(0, 23))
        with capture(execute=True):
            created = services.create_invitations(survey=survey, customers=[customer], now=sent).created
        if not created:
            continue
        invitation = Invitation.objects.get(pk=created[0])
        if rng.random() < 0.75:
            answered = sent + timedelta(hours=rng.randint(1, 60))
            with capture(execute=True):
                services.record_response(
                    invitation=invitation, score=rng.choice(SCALES[survey.kind].scores), now=min(answered, now)
                )
    # experiences of other stages, so the stage filter has something to leave out
    log(capture, experience(customers[0], delivery, "positive", stage="interaction"))
    return {"logistics": logistics, "billing": billing, "now": now}


def assert_rollups_equal_answers(now, **narrowing):
    today = timezone.localdate(now)
    last_month = today.replace(day=1) - timedelta(days=1)
    periods = [
        (today - timedelta(days=30), today),
        (today - timedelta(days=9), today - timedelta(days=3)),
        (today - timedelta(days=75), today),  # months, weeks and days
        (last_month.replace(day=1), last_month),  # exactly one month
        (today - timedelta(days=today.weekday() + 14), today - timedelta(days=today.weekday() + 1)),  # two weeks
    ]
    for start, end in periods:
        for by in (None, "department", "touchpoint"):
            assert survey_scores(by=by, start=start, end=end, **narrowing) == from_answers(
                by=by, start=start, end=end, **narrowing
            ), (by, start, end, narrowing)
        for by in ("survey", "touchpoint", "department"):
            rates = response_rates(by=by, start=start, end=end, department_ids=narrowing.get("department_ids"))
            assert {k: (r.sent, r.answered) for k, r in rates.items()} == rates_from_invitations(
                by=by, start=start, end=end, department_ids=narrowing.get("department_ids")
            )


def test_rollup_figures_equal_the_answers_figures_as_each_answer_arrives(varied):
    assert Response.objects.count() > 40 and SurveyRollup.objects.count() > 10
    assert Invitation.objects.filter(answered_at__isnull=True, sent_at__isnull=False).exists()
    now, logistics = varied["now"], varied["logistics"]

    assert_rollups_equal_answers(now, department_ids=None)
    assert_rollups_equal_answers(now, department_ids=[logistics.pk])
    assert_rollups_equal_answers(now, department_ids=None, segments=["smb"])
    assert_rollups_equal_answers(now, department_ids=None, stages=["remembrance"])
    assert_rollups_equal_answers(now, department_ids=None, stages=["interaction"])


def test_a_customers_new_segment_moves_their_answers(varied, django_capture_on_commit_callbacks):
    customer = Customer.objects.filter(segment="smb", survey_responses__isnull=False).first()
    with django_capture_on_commit_callbacks(execute=True):
        customer.segment = "public"
        customer.save()
        from scoring.services import mark_for_rescore

        mark_for_rescore(customer_ids=[customer.pk], days=customer.experiences.values_list("occurred_on", flat=True))
    rescore_dirty()

    assert_rollups_equal_answers(varied["now"], department_ids=None, segments=["public"])
    assert_rollups_equal_answers(varied["now"], department_ids=None, segments=["smb"])


def period_rows(model, key):
    return sorted(model.objects.values_list(key, "touchpoint_id", "segment", "kind", "responses", "total", "squares"))


def test_weeks_and_months_are_the_sums_of_their_days(varied):
    for model, key in ((WeeklySurveyRollup, "week"), (MonthlySurveyRollup, "month")):
        rows = period_rows(model, key)
        assert len(rows) > 3, f"70 days of answers fill several {key}s"
        sums: dict = {}
        for day, *rest, responses, total, squares in SurveyRollup.objects.values_list(
            "day", "touchpoint_id", "segment", "kind", "responses", "total", "squares"
        ):
            start = day - timedelta(days=day.weekday()) if key == "week" else day.replace(day=1)
            found = sums.get((start, *rest), (0, 0, 0))
            sums[(start, *rest)] = (found[0] + responses, found[1] + total, found[2] + squares)
        assert rows == sorted((*k, *v) for k, v in sums.items())


def test_the_full_recompute_rebuilds_the_same_rows(varied):
    weeks, months = period_rows(WeeklySurveyRollup, "week"), period_rows(MonthlySurveyRollup, "month")
    before = sorted(SurveyRollup.objects.values_list("day", "touchpoint_id", "segment", "kind", "responses", "squares"))
    rates = sorted(InvitationRollup.objects.values_list("day", "survey_id", "sent", "answered"))
    for model in (SurveyRollup, InvitationRollup, WeeklySurveyRollup, MonthlySurveyRollup):
        model.objects.all().delete()

    rescore_all()

    assert (period_rows(WeeklySurveyRollup, "week"), period_rows(MonthlySurveyRollup, "month")) == (weeks, months)
    assert (
        sorted(SurveyRollup.objects.values_list("day", "touchpoint_id", "segment", "kind", "responses", "squares"))
        == before
    )
    assert sorted(InvitationRollup.objects.values_list("day", "survey_id", "sent", "answered")) == rates
    assert_rollups_equal_answers(varied["now"], department_ids=None)


def test_a_full_recompute_rewrites_only_the_rows_that_are_wrong(varied):
    """The nightly rebuild keeps every right row as it is (the same row, not a copy: nothing to write),
    counts an invitation whose touchpoint was deleted (no department) once, corrects a wrong row and
    removes a row no answer or invitation gives any more."""
    orphan = Invitation.objects.filter(sent_at__isnull=False).order_by("pk").first()
    Invitation.objects.filter(pk=orphan.pk).update(department=None, touchpoint=None)  # as on_delete=SET_NULL does
    rescore_all()
    models = (SurveyRollup, WeeklySurveyRollup, MonthlySurveyRollup, InvitationRollup)
    right = {model: sorted(model.objects.values_list(), key=str) for model in models}
    assert InvitationRollup.objects.filter(department=None, touchpoint=None).exists()
    wrong = SurveyRollup.objects.order_by("pk").first()
    SurveyRollup.objects.filter(pk=wrong.pk).update(responses=wrong.responses + 7)
    stray = InvitationRollup.objects.create(day=wrong.day - timedelta(days=400), survey_id=orphan.survey_id, sent=3)

    rescore_all()

    after = {model: sorted(model.objects.values_list(), key=str) for model in models}
    answers_after, answers_right = (sorted(row[1:] for row in rows[SurveyRollup]) for rows in (after, right))
    assert after[SurveyRollup] != right[SurveyRollup]  # the corrected row is a new row...
    assert answers_after == answers_right  # ...as it was
    assert {model: rows for model, rows in after.items() if model is not SurveyRollup} == {
        model: rows for model, rows in right.items() if model is not SurveyRollup
    }
    assert not InvitationRollup.objects.filter(pk=stray.pk).exists()
    assert_rollups_equal_answers(varied["now"], department_ids=None)


def test_an_answer_shows_on_the_dashboard_as_soon_as_its_experience_does(
    client, varied, django_capture_on_commit_callbacks
):
    survey = Survey.objects.get(slug="invoice-csat")
    customer = CustomerFactory(email="new@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        [pk] = services.create_invitations(survey=survey, customers=[customer]).created
    before = survey_scores(start=timezone.localdate(), end=timezone.localdate(), department_ids=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.record_response(invitation=Invitation.objects.get(pk=pk), score=5)

    after = survey_scores(start=timezone.localdate(), end=timezone.localdate(), department_ids=None)
    had = before.get(None, {}).get("csat", SurveyScore("csat"))
    assert after[None]["csat"].responses == had.responses + 1
    rate = response_rates(by="survey", start=timezone.localdate(), end=timezone.localdate())[survey.pk]
    assert rate.answered >= 1
