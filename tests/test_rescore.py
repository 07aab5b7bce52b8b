"""The set-based recompute: same numbers as the engine, marks worked off, unchanged rows left alone."""

import random
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from experiences.models import Experience
from experiences.services import record_experiences
from scoring import engine, queries
from scoring.engine import ExperienceFacts
from scoring.models import CustomerMark, CustomerScore, DailyRollup, DayMark
from scoring.recompute import SCORES, rescore_all, rescore_dirty, rewrite_masses
from scoring.services import mark_for_rescore

from .dashboard_data import experience, log
from .factories import CustomerFactory, DepartmentFactory, TouchpointFactory
from .worker import score_upsert_waits_on_a_lock, wait_for

pytestmark = pytest.mark.django_db


def random_history(seed: int, *, customers: int = 12, experiences: int = 400) -> None:
    """Random experiences over two years, three touchpoints, two departments, three segments, every optional field."""
    rng = random.Random(seed)
    logistics, billing = DepartmentFactory(code="logistics"), DepartmentFactory(code="billing")
    touchpoints = [
        TouchpointFactory(code="delivery", owner=logistics),
        TouchpointFactory(code="invoice", owner=billing),
        TouchpointFactory(code="website", owner=billing, stage="perception"),
    ]
    people = [CustomerFactory(segment=rng.choice(["smb", "enterprise", ""])) for _ in range(customers)]
    items = [
        {
            "customer": rng.choice(people).external_id,
            "touchpoint": rng.choice(touchpoints).code,
            "valence": rng.choice(["positive", "neutral", "negative"]),
            "intensity": rng.randint(1, 5),
            "outcome": rng.choice(["", "ok", "failed"]),
            "expectation": rng.choice(["", "missed", "met", "exceeded"]),
            "occurred_at": (timezone.now() - timedelta(days=rng.uniform(0, 730))).isoformat(),
        }
        for _ in range(experiences)
    ]
    assert record_experiences(items=items, source="import").rejected == 0


def facts(rows) -> list[ExperienceFacts]:
    return [ExperienceFacts(r.valence, r.intensity, r.occurred_at, r.outcome or None) for r in rows]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_customer_scores_equal_the_engine(seed):
    random_history(seed)
    now = timezone.now()

    rescore_dirty(now=now)

    by_customer = defaultdict(list)
    for x in Experience.objects.all():
        by_customer[x.customer_id].append(x)
    assert CustomerScore.objects.count() == len(by_customer)
    for stored in CustomerScore.objects.all():
        expected = engine.score(facts(by_customer[stored.customer_id]), now)
        assert stored.positive_mass == pytest.approx(expected.positive_mass, rel=1e-9, abs=1e-9)
        assert stored.negative_mass == pytest.approx(expected.negative_mass, rel=1e-9, abs=1e-9)
        assert stored.index == pytest.approx(expected.index, rel=1e-9, abs=1e-9)
        assert stored.balance == pytest.approx(expected.balance, rel=1e-9, abs=1e-9)
        assert stored.recovery_debt == expected.recovery_debt
        rows = by_customer[stored.customer_id]
        assert (stored.positives, stored.neutrals, stored.negatives) == tuple(
            sum(1 for x in rows if x.valence == v) for v in (1, 0, -1)
        )
        assert stored.last_negative_at == max((x.occurred_at for x in rows if x.valence == -1), default=None)


@pytest.mark.parametrize("seed", [4, 5])
def test_daily_rollups_equal_the_undecayed_engine(seed):
    random_history(seed)

    rescore_dirty()

    groups = defaultdict(list)
    for x in Experience.objects.select_related("customer"):
        groups[(x.occurred_on, x.department_id, x.touchpoint_id, x.stage, x.customer.segment)].append(x)
    assert DailyRollup.objects.count() == len(groups)
    for rollup in DailyRollup.objects.all():
        rows = groups[(rollup.day, rollup.department_id, rollup.touchpoint_id, rollup.stage, rollup.segment)]
        expected = engine.score(facts(rows), timezone.now(), decayed=False)
        assert rollup.positive_mass == pytest.approx(expected.positive_mass, rel=1e-9, abs=1e-9)
        assert rollup.negative_mass == pytest.approx(expected.negative_mass, rel=1e-9, abs=1e-9)
        assert rollup.experiences == len(rows)
        assert (rollup.positives, rollup.neutrals, rollup.negatives) == tuple(
            sum(1 for x in rows if x.valence == v) for v in (1, 0, -1)
        )
        assert (rollup.missed, rollup.met, rollup.exceeded) == tuple(
            sum(1 for x in rows if x.expectation == e) for e in ("missed", "met", "exceeded")
        )
        assert rollup.failed == sum(1 for x in rows if x.outcome == "failed")


def test_rescoring_works_off_every_mark():
    random_history(6, experiences=50)
    assert CustomerMark.objects.exists() and DayMark.objects.exists()

    rescore_dirty(batch_size=5, day_batch_size=3)

    assert not CustomerMark.objects.exists()
    assert not DayMark.objects.exists()


def test_a_mark_whose_customer_is_gone_is_worked_off(customer, touchpoint):
    """Marks carry no database constraint (a write's experience checks its customer): a mark left by a
    customer removed outside Django is worked off like any other, and Django's delete takes the marks."""
    record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")
    gone = CustomerFactory()
    CustomerMark.objects.create(customer=gone)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a constraint would refuse this delete here
        cursor.execute("DELETE FROM customers_customer WHERE id = %s", [gone.pk])

    rescore_dirty()

    assert not CustomerMark.objects.exists()
    assert CustomerScore.objects.get(customer=customer).recovery_debt > 0
    assert not CustomerScore.objects.filter(customer_id=gone.pk).exists()
    other = CustomerFactory()
    mark_for_rescore(customer_ids=[other.pk], days=[])
    other.delete()
    assert not CustomerMark.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_write_landing_mid_rescore_keeps_its_mark_and_is_scored(customer, touchpoint, monkeypatch):
    monkeypatch.setattr("outbox.services.wake", lambda: None)  # the writes' dispatch messages are on their way
    record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")
    rescore_dirty()
    record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")
    # Hold the customer's score row: the rescore reads its marks, then waits inside its transaction.
    blocker = psycopg2.connect(**connection.get_connection_params())
    rescore = threading.Thread(target=lambda: (rescore_dirty(), connection.close()))
    try:
        blocker.cursor().execute(f"SELECT 1 FROM {SCORES} WHERE customer_id = %s FOR UPDATE", [customer.pk])
        rescore.start()
        wait_for(score_upsert_waits_on_a_lock, timeout=10)
        record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")
    finally:
        blocker.rollback()
        blocker.close()
    rescore.join(timeout=30)

    assert CustomerScore.objects.get(customer=customer).negatives == 3
    assert not CustomerMark.objects.exists()


def test_a_second_rescore_rewrites_nothing():
    random_history(8)
    rescore_dirty()
    before = list(CustomerScore.objects.order_by("customer_id").values())
    mark_for_rescore(
        customer_ids=[s["customer_id"] for s in before], days=Experience.objects.dates("occurred_on", "day")
    )

    again = rescore_dirty()

    assert again.changed == 0
    assert list(CustomerScore.objects.order_by("customer_id").values()) == before


def test_a_customer_whose_debt_appears_is_reported_once(customer, touchpoint):
    record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")
    first = rescore_dirty()
    record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")
    second = rescore_dirty()

    assert first.became_at_risk == [customer.pk]
    assert second.became_at_risk == []


def test_an_experience_stamped_ahead_of_the_rescore_weighs_no_more_than_in_full(customer, touchpoint):
    """A write that lands while a rescore runs may be stamped after the rescore's `now`: its score must not
    owe an extra positive that the nightly recompute would take back."""
    started = timezone.now()
    record_experiences(
        items=[experience(customer, touchpoint, "negative", days_ago=-60 / 86_400)], source="api"
    )  # stamped a minute after `started`

    rescore_dirty(now=started)
    incremental = CustomerScore.objects.values_list("recovery_debt", "index").get()
    rescore_all(now=started + timedelta(minutes=2))

    assert incremental == (5, 0.0)
    assert CustomerScore.objects.values_list("recovery_debt", "index").get() == incremental


def test_the_engine_scores_an_experience_ahead_of_now_in_full():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    ahead = ExperienceFacts(valence=-1, intensity=3, occurred_at=now + timedelta(minutes=5))

    assert engine.score([ahead], now).recovery_debt == 5
    assert engine.score([ahead], now).negative_mass == pytest.approx(3.0)


def test_a_day_is_the_company_calendar_day(customer, touchpoint, django_capture_on_commit_callbacks, settings):
    settings.TIME_ZONE = "Europe/Madrid"
    late_evening_utc = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # already February 1st in Madrid
    log(
        django_capture_on_commit_callbacks,
        {
            "customer": customer.external_id,
            "touchpoint": touchpoint.code,
            "valence": "negative",
            "occurred_at": late_evening_utc.isoformat(),
        },
    )

    assert list(DailyRollup.objects.values_list("day", flat=True)) == [datetime(2026, 2, 1).date()]


def test_removed_experiences_leave_no_score_behind(customer, touchpoint, django_capture_on_commit_callbacks):
    log(django_capture_on_commit_callbacks, experience(customer, touchpoint, "negative", intensity=2))
    day = Experience.objects.get().occurred_on
    Experience.objects.all().delete()
    mark_for_rescore(customer_ids=[customer.pk], days=[day])

    rescore_dirty()

    assert queries.customer_score(customer) is None
    assert not DailyRollup.objects.exists()


def test_the_full_recompute_rebuilds_what_was_lost():
    random_history(9)
    rescore_dirty()
    expected = list(CustomerScore.objects.order_by("customer_id").values_list("customer_id", "index", "recovery_debt"))
    rollups = list(DailyRollup.objects.order_by("day", "touchpoint_id", "segment").values_list("day", "experiences"))
    CustomerScore.objects.all().delete()
    DailyRollup.objects.all().delete()

    result = rescore_all(batch_size=4)

    assert result.customers == len(expected)
    assert list(CustomerScore.objects.order_by("customer_id").values_list("customer_id", "index", "recovery_debt")) == [
        (pk, pytest.approx(index), debt) for pk, index, debt in expected
    ]
    assert (
        list(DailyRollup.objects.order_by("day", "touchpoint_id", "segment").values_list("day", "experiences"))
        == rollups
    )


def test_the_nightly_recompute_lets_the_debt_fade(customer, touchpoint, django_capture_on_commit_callbacks):
    log(django_capture_on_commit_callbacks, experience(customer, touchpoint, "negative", days_ago=0))
    assert CustomerScore.objects.get().recovery_debt == 5

    rescore_all(now=timezone.now() + timedelta(days=360))  # two half-lives later: a quarter of the weight

    assert CustomerScore.objects.get().recovery_debt == 2


def test_rewriting_the_masses_follows_a_new_half_life(
    customer, touchpoint, django_capture_on_commit_callbacks, settings
):
    log(django_capture_on_commit_callbacks, experience(customer, touchpoint, "negative", days_ago=90))
    settings.CXM_HALF_LIFE_DAYS = 90.0

    rewrite_masses()
    rescore_all()

    stored = CustomerScore.objects.get()
    assert stored.negative_mass == pytest.approx(3.0 / 2, rel=1e-6)


def test_the_rescore_command_reports_what_it_did(customer, touchpoint, capsys):
    record_experiences(items=[experience(customer, touchpoint, "negative")], source="api")

    call_command("rescore", "--all", skip_checks=True)

    out = capsys.readouterr().out
    assert "Rescored 1 customers" in out
    assert "1 customers became at risk" in out


def test_a_new_negative_weight_reaches_stored_indexes(
    customer, touchpoint, django_capture_on_commit_callbacks, settings
):
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "negative"),
        *[experience(customer, touchpoint, "positive") for _ in range(5)],
    )
    settings.CXM_NEGATIVE_WEIGHT = 3.0

    rescore_all()

    assert CustomerScore.objects.get().index == pytest.approx(100 * 15 / (15 + 3 * 3))
