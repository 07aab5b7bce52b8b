"""Reads for dashboards and the API, served from stored scores and daily rollups."""

from datetime import timedelta

import pytest
from django.utils import timezone

from journeys.models import Journey, JourneyStep
from scoring import queries
from touchpoints.models import Department

from .dashboard_data import experience, log
from .factories import CustomerFactory, DepartmentFactory, TouchpointFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
WEEK_AGO = TODAY - timedelta(days=7)


@pytest.fixture
def invoice(db):
    return TouchpointFactory(code="clear-invoice", owner=DepartmentFactory(code="billing"), stage="remembrance")


def test_a_customer_without_experiences_has_no_score(customer):
    assert queries.customer_score(customer) is None


def test_a_customer_score_is_current_after_the_write(customer, touchpoint, django_capture_on_commit_callbacks):
    log(django_capture_on_commit_callbacks, experience(customer, touchpoint, "negative", days_ago=0))

    score = queries.customer_score(customer)

    assert score.recovery_debt == 5
    assert score.index == 0
    assert score.negative_mass == pytest.approx(3.0, rel=1e-3)


def test_an_empty_period_has_no_index(db):
    report = queries.period_report(start=WEEK_AGO, end=TODAY)

    assert report.experiences == 0
    assert report.index is None
    assert report.forgotten_share is None


def test_a_period_report_includes_both_ends_and_does_not_decay(
    customer, touchpoint, django_capture_on_commit_callbacks
):
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "positive", days_ago=7),
        experience(customer, touchpoint, "positive", days_ago=0),
        experience(customer, touchpoint, "negative", days_ago=8),
    )

    report = queries.period_report(start=WEEK_AGO, end=TODAY)

    assert (report.experiences, report.positives, report.negatives) == (2, 2, 0)
    assert report.positive_mass == pytest.approx(6.0)
    assert report.index == pytest.approx(100.0)


def test_five_positives_and_one_negative_make_an_index_of_50(customer, touchpoint, django_capture_on_commit_callbacks):
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "negative"),
        *[experience(customer, touchpoint, "positive") for _ in range(5)],
    )

    report = queries.touchpoint_report(touchpoint, start=WEEK_AGO, end=TODAY)

    assert report.index == pytest.approx(50.0)
    assert report.balance == pytest.approx(0.0)


def test_calibration_shares_count_only_experiences_with_an_expectation(
    customer, touchpoint, django_capture_on_commit_callbacks
):
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "neutral", expectation="met"),
        experience(customer, touchpoint, "neutral", expectation="met"),
        experience(customer, touchpoint, "negative", expectation="missed", outcome="failed"),
        experience(customer, touchpoint, "positive"),
    )

    report = queries.period_report(start=WEEK_AGO, end=TODAY)

    assert report.met_share == pytest.approx(2 / 3)
    assert report.missed_share == pytest.approx(1 / 3)
    assert report.exceeded_share == 0
    assert report.forgotten_share == pytest.approx(2 / 4)
    assert report.failed_share == pytest.approx(1 / 4)


def test_department_and_stage_reports_see_only_their_own(
    customer, touchpoint, department, invoice, django_capture_on_commit_callbacks
):
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "negative"),
        experience(customer, invoice, "positive"),
    )

    logistics = queries.department_report(department, start=WEEK_AGO, end=TODAY)
    remembrance = queries.stage_report("remembrance", start=WEEK_AGO, end=TODAY)

    assert (logistics.experiences, logistics.negatives) == (1, 1)
    assert (remembrance.experiences, remembrance.positives) == (1, 1)


def test_a_journey_reports_every_step_in_order(
    customer, touchpoint, invoice, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    journey = Journey.objects.create(slug="order-to-cash", name="Order to cash")
    silent = TouchpointFactory(code="order-confirmation")
    JourneyStep.objects.create(journey=journey, touchpoint=invoice, stage="remembrance", position=3)
    JourneyStep.objects.create(journey=journey, touchpoint=touchpoint, stage="interaction", position=1)
    JourneyStep.objects.create(journey=journey, touchpoint=silent, stage="interaction", position=2)
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "negative"),
        experience(customer, invoice, "positive"),
    )

    with django_assert_max_num_queries(2):
        steps = queries.journey_report(journey, start=WEEK_AGO, end=TODAY)

    assert [(step.touchpoint.code, report.experiences) for step, report in steps] == [
        ("on-time-delivery", 1),
        ("order-confirmation", 0),
        ("clear-invoice", 1),
    ]


def test_the_overview_lists_active_departments_and_totals_everything(
    customer, touchpoint, department, invoice, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "negative"),
        experience(customer, invoice, "positive"),
    )
    Department.objects.filter(code="billing").update(active=False)
    DepartmentFactory(code="reception")

    with django_assert_max_num_queries(2):
        overview = queries.company_overview(start=WEEK_AGO, end=TODAY)

    assert [(d.code, r.experiences) for d, r in overview.departments] == [("logistics", 1), ("reception", 0)]
    assert overview.total.experiences == 2


def test_customers_at_risk_come_worst_first(touchpoint, django_capture_on_commit_callbacks, django_assert_num_queries):
    calm, upset, furious = (CustomerFactory(external_id=ref) for ref in ("CALM", "UPSET", "FURIOUS"))
    log(
        django_capture_on_commit_callbacks,
        experience(calm, touchpoint, "positive"),
        experience(upset, touchpoint, "negative", intensity=2),
        experience(furious, touchpoint, "negative", intensity=5),
    )

    with django_assert_num_queries(1):
        at_risk = [(s.customer.external_id, s.recovery_debt) for s in queries.customers_at_risk()]

    assert at_risk == [("FURIOUS", 9), ("UPSET", 4)]


def test_customers_at_risk_of_a_department_are_those_it_let_down(
    touchpoint, invoice, django_capture_on_commit_callbacks
):
    billed, delivered = CustomerFactory(external_id="BILLED"), CustomerFactory(external_id="DELIVERED")
    log(
        django_capture_on_commit_callbacks,
        experience(billed, invoice, "negative"),
        experience(delivered, touchpoint, "negative"),
        experience(delivered, invoice, "positive", intensity=1),
    )
    billing = Department.objects.get(code="billing")

    at_risk = queries.customers_at_risk(department_ids=[billing.pk])

    assert [s.customer.external_id for s in at_risk] == ["BILLED"]


def test_customers_at_risk_are_limited(touchpoint, django_capture_on_commit_callbacks):
    log(
        django_capture_on_commit_callbacks,
        *[experience(CustomerFactory(), touchpoint, "negative") for _ in range(3)],
    )

    assert len(queries.customers_at_risk(limit=2)) == 2


def test_every_report_narrows_to_the_segments_asked_for(
    customer, touchpoint, invoice, department, django_capture_on_commit_callbacks
):
    big = CustomerFactory(external_id="ENT-1", segment="enterprise")
    journey = Journey.objects.create(slug="order-to-cash", name="Order to cash")
    JourneyStep.objects.create(journey=journey, touchpoint=touchpoint, stage="interaction", position=1)
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "negative"),
        experience(big, touchpoint, "positive"),
        experience(big, invoice, "positive"),
    )
    enterprise = {"start": WEEK_AGO, "end": TODAY, "segments": ["enterprise"]}

    assert queries.period_report(**enterprise).experiences == 2
    assert queries.period_report(start=WEEK_AGO, end=TODAY, segments=["smb", "enterprise"]).experiences == 3
    assert queries.department_report(department, **enterprise).negatives == 0
    assert queries.touchpoint_report(touchpoint, **enterprise).positives == 1
    assert queries.stage_report("remembrance", **enterprise).experiences == 1
    assert [report.experiences for _step, report in queries.journey_report(journey, **enterprise)] == [1]
    assert queries.company_overview(**enterprise).total.experiences == 2
    assert queries.customers_at_risk(segments=["enterprise"]) == []
    assert [s.customer.external_id for s in queries.customers_at_risk(segments=["smb"])] == ["ACME-1"]
