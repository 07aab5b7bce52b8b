"""Who reported a department's negatives is read from day, week and month rollups: the count of the negatives."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from experiences.models import Experience, Valence
from scoring.models import DailyReporterRollup, MonthlyReporterRollup, WeeklyReporterRollup
from scoring.recompute import rescore_all
from scoring.reporters import reported_by
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory


@pytest.fixture
def reported(db, django_capture_on_commit_callbacks):
    """120 experiences over 100 days at logistics' two touchpoints (and billing's), logged by people of
    logistics, billing and customer service, for customers of two segments."""
    rng = random.Random(11)
    logistics, billing, delivery, invoice, users = two_departments()
    service = DepartmentFactory(code="customer-service", name="Customer service")
    dock = TouchpointFactory(code="loading-dock", name="Loading dock", owner=logistics, stage="perception")
    people = [
        users["staff"],
        UserFactory(username="bea", role="staff", departments=[billing]),
        UserFactory(username="cara", role="staff", departments=[service]),
    ]
    customers = [CustomerFactory(segment=("smb", "enterprise")[n % 2]) for n in range(6)]
    by_person: dict = {person: [] for person in people}
    for _ in range(120):
        item = experience(
            rng.choice(customers),
            rng.choice((delivery, dock, invoice)),
            rng.choice(("negative", "negative", "positive")),
            days_ago=rng.uniform(0.5, 100),
        )
        by_person[rng.choice(people)].append(item)
    for person, items in by_person.items():
        log(django_capture_on_commit_callbacks, *items, user=person)
    return logistics


def counted(start, end, department, stages=None, segments=None) -> list[tuple[str, int]]:
    """The reference: each experience read one by one."""
    found: dict[str, int] = {}
    for x in Experience.objects.select_related("customer", "reported_from_department"):
        if x.department_id != department.pk or x.valence != Valence.NEGATIVE or not start <= x.occurred_on <= end:
            continue
        if x.reported_from_department is None or x.reported_from_department_id == x.department_id:
            continue
        if (stages is not None and x.stage not in stages) or (
            segments is not None and x.customer.segment not in segments
        ):
            continue
        found[x.reported_from_department.name] = found.get(x.reported_from_department.name, 0) + 1
    return sorted(found.items(), key=lambda o: (-o[1], o[0]))


def assert_reporters_equal_the_negatives(department) -> None:
    today = timezone.localdate()
    last_month = today.replace(day=1) - timedelta(days=1)
    periods = [
        (today - timedelta(days=99), today),  # months, weeks and days
        (last_month.replace(day=1), last_month),  # exactly one month
        (today - timedelta(days=today.weekday() + 14), today - timedelta(days=today.weekday() + 1)),  # two weeks
        (today - timedelta(days=9), today - timedelta(days=3)),  # days
    ]
    for start, end in periods:
        for stages, segments in ((None, None), (["perception"], None), (None, ["smb"])):
            narrowing = {"stages": stages, "segments": segments}
            shown = reported_by(start=start, end=end, department_id=department.pk, **narrowing)
            assert shown == counted(start, end, department, **narrowing), (start, end, narrowing)


def period_rows(model, key: str) -> list[tuple]:
    fields = (key, "department_id", "reported_from_department_id", "stage", "segment", "negatives")
    return sorted(model.objects.values_list(*fields))


def test_who_reported_a_periods_negatives_is_read_from_months_weeks_and_days(reported):
    assert counted(timezone.localdate() - timedelta(days=99), timezone.localdate(), reported)[0][1] > 5
    assert MonthlyReporterRollup.objects.exists() and WeeklyReporterRollup.objects.exists()
    assert_reporters_equal_the_negatives(reported)


def test_weeks_and_months_are_the_sums_of_their_days(reported):
    for model, key in ((WeeklyReporterRollup, "week"), (MonthlyReporterRollup, "month")):
        sums: dict = {}
        for day, *rest, negatives in DailyReporterRollup.objects.values_list(
            "day", "department_id", "reported_from_department_id", "stage", "segment", "negatives"
        ):
            start = day - timedelta(days=day.weekday()) if key == "week" else day.replace(day=1)
            sums[(start, *rest)] = sums.get((start, *rest), 0) + negatives
        assert len(sums) > 3, f"100 days of negatives fill several {key}s"
        assert period_rows(model, key) == sorted((*k, v) for k, v in sums.items())


def test_the_full_recompute_rebuilds_every_reporter_rollup(reported):
    rows = [period_rows(model, key) for model, key in ((DailyReporterRollup, "day"), (WeeklyReporterRollup, "week"))]
    DailyReporterRollup.objects.all().delete()
    WeeklyReporterRollup.objects.update(negatives=99)

    rescore_all()

    assert [period_rows(DailyReporterRollup, "day"), period_rows(WeeklyReporterRollup, "week")] == rows
    assert_reporters_equal_the_negatives(reported)


def test_a_customers_new_segment_moves_the_negatives_they_had(reported, django_capture_on_commit_callbacks):
    from customers.services import save_customer

    customer = next(c for c in Customer.objects.order_by("pk") if c.segment == "smb")
    start, end = timezone.localdate() - timedelta(days=99), timezone.localdate()
    smb_before = counted(start, end, reported, segments=["smb"])
    customer.segment = "public"
    with django_capture_on_commit_callbacks(execute=True):
        save_customer(customer=customer)

    moved = counted(start, end, reported, segments=["public"])
    assert moved and counted(start, end, reported, segments=["smb"]) != smb_before
    for segments in (["smb"], ["public"], None):
        shown = reported_by(start=start, end=end, department_id=reported.pk, segments=segments)
        assert shown == counted(start, end, reported, segments=segments), segments
