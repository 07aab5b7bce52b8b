"""Benchmark of the scores (not a test): 1,000,000 experiences for 100,000 customers in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_bench CELERY_BROKER_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/scoring.py [--experiences N] [--customers N] [--samples N]

Creates the database if needed (its name must contain "bench": the script empties it), loads the
data with set-based SQL, then prints the full recompute (customer scores, then with the daily, weekly
and monthly rollups, the survey rollups and the rollups of who reported negatives) against the
hand-written aggregates of the experiences and the answers measured in the same run, and their ratios,
an incremental rescore of 1,000 dirty customers, and experience-to-score latency through a real worker.
Drop the database afterwards: `dropdb -h 127.0.0.1 -U postgres cxm_bench`.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings")

from bench import data  # noqa: E402


def timed(label: str, work) -> float:
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    print(f"  {label:<58} {seconds:8.3f} s")
    return seconds


def full_recompute(label: str, rescore_all) -> tuple[float, float]:
    """Seconds for the customer scores (up to the last customer batch) and for everything with the rollups."""
    steps: dict[int, float] = {}
    start = time.perf_counter()
    rescore_all(progress=lambda done, total: steps.setdefault(done, time.perf_counter()))
    total = time.perf_counter() - start
    customers = steps[max(steps) - 1] - start
    print(f"  {label:<58} {customers:8.3f} s customers, {total:.3f} s with the rollups")
    return customers, total


def load(experiences: int, customers: int) -> None:
    """Two years of experiences, then VACUUM ANALYZE so the planner knows the tables."""
    from django.db import connection

    data.load(experiences=experiences, customers=customers, days=730)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def into_scratch_table(select: str) -> None:
    """Run `select` into a temporary table and drop it: a hand-written aggregate, the physical limit, with
    the parallel workers the recompute's own aggregates get (the app's connections have none)."""
    from django.db import connection

    from scoring.recompute import FULL_PARALLEL_WORKERS

    with connection.cursor() as cursor:
        cursor.execute(f"SET max_parallel_workers_per_gather = {FULL_PARALLEL_WORKERS}")
        cursor.execute("DROP TABLE IF EXISTS bench_scratch")
        cursor.execute(f"CREATE TEMPORARY TABLE bench_scratch AS {select}")
        cursor.execute("DROP TABLE bench_scratch")
        cursor.execute("RESET max_parallel_workers_per_gather")


# One GROUP BY over the stored masses, per customer.
CUSTOMER_AGGREGATE = (
    "SELECT customer_id, SUM(positive_mass_norm) AS p, SUM(negative_mass_norm) AS n "
    "FROM experiences_experience GROUP BY customer_id"
)
# One GROUP BY of the experiences by day and rollup key, the customers joined for the segment.
DAILY_AGGREGATE = (
    "SELECT e.occurred_on, e.department_id, e.touchpoint_id, e.stage, c.segment, COUNT(*) AS n, SUM(e.impact) AS i "
    "FROM experiences_experience e JOIN customers_customer c ON c.id = e.customer_id "
    "GROUP BY e.occurred_on, e.department_id, e.touchpoint_id, e.stage, c.segment"
)
# The survey answers by their experience's day and rollup key and the survey's kind (the survey rollups' own
# aggregate; the bench data of bench/dashboards.py has answers, that of this script none).
ANSWER_AGGREGATE = (
    "SELECT e.occurred_on, e.department_id, e.touchpoint_id, e.stage, c.segment, s.kind, COUNT(*) AS n, "
    "SUM(r.score) AS t FROM feedback_response r JOIN experiences_experience e ON e.id = r.experience_id "
    "JOIN customers_customer c ON c.id = e.customer_id JOIN feedback_survey s ON s.id = r.survey_id "
    "GROUP BY e.occurred_on, e.department_id, e.touchpoint_id, e.stage, c.segment, s.kind"
)
# The negatives others reported, by day, department, reporting department, stage and segment (the reporter
# rollups' own aggregate, scoring/reporters.py).
REPORTER_AGGREGATE = (
    "SELECT e.occurred_on, e.department_id, e.reported_from_department_id, e.stage, c.segment, COUNT(*) AS n "
    "FROM experiences_experience e JOIN customers_customer c ON c.id = e.customer_id "
    "WHERE e.valence = -1 AND e.reported_from_department_id IS NOT NULL "
    "AND NOT (e.reported_from_department_id = e.department_id) "
    "GROUP BY e.occurred_on, e.department_id, e.reported_from_department_id, e.stage, c.segment"
)


def incremental(count: int) -> None:
    """`count` customers get one new experience each and are marked dirty, as the write path would."""
    from django.conf import settings
    from django.utils import timezone

    from experiences.models import Experience
    from scoring import engine
    from scoring.models import CustomerMark, DayMark
    from touchpoints.models import TouchpointOwner

    now = timezone.now()
    owner = TouchpointOwner.objects.select_related("touchpoint").filter(primary=True).first()
    assert owner is not None, "load the benchmark data first"
    ids = random.sample(list(Experience.objects.values_list("customer_id", flat=True).order_by().distinct()), count)
    impact = engine.impact(-1, 4, "failed")
    positive, negative = engine.normalised_masses(impact, now, settings.CXM_EPOCH)
    Experience.objects.bulk_create(
        Experience(
            customer_id=pk, touchpoint=owner.touchpoint, department_id=owner.department_id, stage="interaction",
            valence=-1, intensity=4, outcome="failed", occurred_at=now, occurred_on=timezone.localdate(now),
            source="api", impact=impact, positive_mass_norm=positive, negative_mass_norm=negative,
        )
        for pk in ids
    )  # fmt: skip
    CustomerMark.objects.bulk_create([CustomerMark(customer_id=pk) for pk in ids])
    DayMark.objects.create(day=timezone.localdate(now))


def latency(samples: int) -> list[float]:
    """Seconds from `record_experiences` returning to the customer's stored score showing the experience."""
    from django.conf import settings

    from cxm.celery import app
    from experiences.services import record_experiences
    from scoring.models import CustomerScore
    from touchpoints.models import Touchpoint

    if not settings.CELERY_BROKER_URL:
        print("  latency: skipped, CELERY_BROKER_URL is not set")
        return []
    app.conf.task_always_eager = False
    with open("/tmp/cxm_bench_worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cxm", "worker", "-B", "--pool=solo", "--queues", "scoring,events",
             "--loglevel=WARNING",
             "--schedule", "/tmp/cxm_bench_beat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        time.sleep(6)
        touchpoint = Touchpoint.objects.first()
        assert touchpoint is not None, "load the benchmark data first"
        scores = list(CustomerScore.objects.order_by("?").values_list("customer__external_id", "customer_id")[:samples])
        seconds = []
        for external_id, customer_id in scores:
            negatives = CustomerScore.objects.get(customer_id=customer_id).negatives
            start = time.perf_counter()
            record_experiences(
                items=[{"customer": external_id, "touchpoint": touchpoint.code, "valence": "negative"}], source="api"
            )
            while not CustomerScore.objects.filter(customer_id=customer_id, negatives=negatives + 1).exists():
                if time.perf_counter() - start > 30:
                    raise RuntimeError("no score after 30 s: see /tmp/cxm_bench_worker.log")
                time.sleep(0.005)
            seconds.append(time.perf_counter() - start)
        return seconds
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiences", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    args = parser.parse_args()
    data.open_database()
    from django.db.models import Model

    from scoring.models import CustomerScore, DailyRollup, MonthlyRollup, WeeklyRollup
    from scoring.recompute import rescore_all, rescore_dirty
    from scoring.reporters import REPORTER_PERIODS

    print(f"CXM scoring benchmark: {args.experiences:,} experiences, {args.customers:,} customers")
    if not args.reuse:
        timed("load (generate_series + engine masses + VACUUM ANALYZE)", lambda: load(args.experiences, args.customers))
    CustomerScore.objects.all().delete()
    emptied: list[type[Model]] = [DailyRollup, WeeklyRollup, MonthlyRollup]
    for rollups in emptied + [model for model, _ in REPORTER_PERIODS.longest_first]:
        rollups._default_manager.all().delete()
    aggregate, daily, answers, reporters = (
        min(timed(label, lambda sql=sql: into_scratch_table(sql)) for _ in range(3))
        for label, sql in (
            ("hand-written aggregate of customer masses", CUSTOMER_AGGREGATE),
            ("hand-written aggregate by day and rollup key", DAILY_AGGREGATE),
            ("hand-written aggregate of the answers by day, key and kind", ANSWER_AGGREGATE),
            ("hand-written aggregate of the negatives others reported", REPORTER_AGGREGATE),
        )
    )
    full_recompute("full recompute, empty score tables (first run)", rescore_all)
    runs = [full_recompute("full recompute, scores stored (nightly)", rescore_all) for _ in range(3)]
    customers, total = min(c for c, _ in runs), min(t for _, t in runs)
    print(f"  {'ratio customer recompute / hand-written aggregate':<58} {customers / aggregate:8.2f} x")
    print(f"  {'ratio full recompute (customers + rollups) / aggregate':<58} {total / aggregate:8.2f} x   (goal <= 2)")
    every = aggregate + daily + answers + reporters
    # The rollups group the experiences and the answers otherwise than by customer: no recompute of them
    # can take less than the four aggregates together, whatever it writes.
    print(f"  {'  floor: the four hand-written aggregates / the first':<58} {every / aggregate:8.2f} x")
    print(f"  {'ratio full recompute / both hand-written aggregates':<58} {total / (aggregate + daily):8.2f} x")
    print(f"  {'ratio full recompute / the four hand-written aggregates':<58} {total / every:8.2f} x")
    incremental(1_000)
    timed("incremental rescore of 1,000 dirty customers", rescore_dirty)
    seconds = latency(args.samples)
    if seconds:
        p50 = statistics.median(seconds)
        p95 = statistics.quantiles(seconds, n=20)[-1]
        print(f"  experience-to-score latency, real worker: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
              f"over {len(seconds)} samples   (target p95 < 2 s)")  # fmt: skip


if __name__ == "__main__":
    main()
