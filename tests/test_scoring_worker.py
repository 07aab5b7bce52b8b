"""Reliability with a real Celery worker on Redis (not eager): scores stay current through crashes and outages."""

import time

import psycopg2
import pytest
from django.db import connection

from experiences.models import Experience
from experiences.services import record_experiences
from scoring import engine
from scoring.engine import ExperienceFacts
from scoring.models import CustomerMark, CustomerScore, DailyRollup, DayMark
from scoring.services import mark_for_rescore
from scoring.tasks import rescore_dirty_task

from .dashboard_data import experience
from .factories import CustomerFactory
from .worker import redis_outage, score_upsert_waits_on_a_lock, wait_for, worker_fixture, worker_on_own_broker_fixture  # noqa: F401

pytestmark = pytest.mark.worker


def record(*items: dict) -> None:
    result = record_experiences(items=list(items), source="api")
    assert result.rejected == 0, [r.errors for r in result.results]


def scores_are_current() -> bool:
    """no mark is left and every stored score equals the engine's over the customer's experiences"""
    if CustomerMark.objects.exists() or DayMark.objects.exists():
        return False
    experiences: dict[int, list[ExperienceFacts]] = {}
    for x in Experience.objects.all():
        experiences.setdefault(x.customer_id, []).append(
            ExperienceFacts(x.valence, x.intensity, x.occurred_at, x.outcome or None)
        )
    scores = {s.customer_id: s for s in CustomerScore.objects.all()}
    if scores.keys() != experiences.keys():
        return False
    for customer_id, stored in scores.items():
        expected = engine.score(experiences[customer_id], stored.scored_at)
        if stored.recovery_debt != expected.recovery_debt or stored.negatives != sum(
            1 for x in experiences[customer_id] if x.valence == -1
        ):
            return False
        if stored.index != pytest.approx(expected.index, rel=1e-9, abs=1e-9):
            return False
    return True


def snapshot() -> tuple[list, list]:
    return (
        list(CustomerScore.objects.order_by("customer_id").values()),
        list(DailyRollup.objects.order_by("day", "department_id", "touchpoint_id", "stage").values()),
    )


def test_a_recorded_experience_is_scored_within_two_seconds(worker, customer, touchpoint):
    record(experience(customer, touchpoint, "negative", days_ago=0))

    def scored() -> bool:
        """the customer's score shows the negative"""
        return CustomerScore.objects.filter(customer=customer, negatives=1, recovery_debt=5).exists()

    assert wait_for(scored, timeout=2.0) < 2.0


def test_a_worker_killed_mid_recompute_leaves_every_score_right_after_a_restart(worker, touchpoint):
    customers = [CustomerFactory() for _ in range(40)]
    record(*[experience(c, touchpoint, "positive") for c in customers])
    wait_for(scores_are_current, timeout=10)
    # Hold one score row so that the worker's next recompute stops halfway, inside its transaction.
    blocker = psycopg2.connect(**connection.get_connection_params())
    try:
        blocker.cursor().execute(
            f"SELECT 1 FROM {CustomerScore._meta.db_table} WHERE customer_id = %s FOR UPDATE", [customers[20].pk]
        )
        record(*[experience(c, touchpoint, "negative") for c in customers])

        wait_for(score_upsert_waits_on_a_lock, timeout=10)
        worker.kill()
    finally:
        blocker.rollback()
        blocker.close()
    assert CustomerMark.objects.values("customer").distinct().count() == 40  # the interrupted batch lost nothing

    worker.start()

    wait_for(scores_are_current, timeout=20)
    assert set(CustomerScore.objects.values_list("recovery_debt", flat=True)) == {4}


def test_experiences_are_accepted_while_redis_is_down_and_scored_after_it_returns(
    worker_on_own_broker, own_redis, customer, touchpoint
):
    with redis_outage(own_redis):
        record(experience(customer, touchpoint, "negative", days_ago=0))
        assert Experience.objects.filter(customer=customer).count() == 1
        assert CustomerMark.objects.filter(customer=customer).exists()

    wait_for(scores_are_current, timeout=30)
    assert CustomerScore.objects.get(customer=customer).recovery_debt == 5


def test_the_same_batch_processed_twice_gives_identical_scores(worker, touchpoint):
    customers = [CustomerFactory() for _ in range(10)]
    batch = [
        experience(c, touchpoint, valence, id=f"evt-{c.pk}-{valence}", intensity=n % 5 + 1)
        for n, c in enumerate(customers)
        for valence in ("positive", "negative", "neutral")
    ]
    record(*batch)
    wait_for(scores_are_current, timeout=10)
    first = snapshot()

    record(*batch)  # a client retrying the whole batch
    mark_for_rescore(customer_ids=[c.pk for c in customers], days=Experience.objects.dates("occurred_on", "day"))
    rescore_dirty_task.delay()  # a message delivered twice
    rescore_dirty_task.delay()
    wait_for(scores_are_current, timeout=10)

    assert Experience.objects.count() == len(batch)
    assert snapshot() == first


def worker_connections() -> set[int]:
    """the backends of this test database other than the test's own connection"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_the_worker_keeps_its_database_connection_between_tasks(worker, touchpoint):
    customers = [CustomerFactory() for _ in range(5)]
    seen: list[set[int]] = []
    for n, customer in enumerate(customers, start=1):
        record(experience(customer, touchpoint, "negative", days_ago=0))
        wait_for(lambda n=n: CustomerScore.objects.count() == n, timeout=10)
        time.sleep(0.3)  # the dispatch, the follow-up and the rescore of this write are done
        seen.append(worker_connections())

    assert seen[0], "the worker holds a connection after its tasks"
    assert seen[0] & seen[-1], "one of the worker's connections served the first and the last writes' tasks"
