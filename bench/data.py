"""The benchmarks' data: a synthetic company loaded with set-based SQL, large enough to measure.

A catalogue of 8 departments and 40 touchpoints through the ORM; customers and experiences by
generate_series; the masses by the score engine's own SQL (`rewrite_masses`). The experiences'
secondary indexes are built after the rows are in, and the rows skip the per-row foreign-key
triggers (they are generated from the tables they point at): 10 million rows load in a fraction
of the time the same INSERT takes into an indexed table.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

DEPARTMENTS = 8
TOUCHPOINTS = 40
JOURNEY_STEPS = 7


def create_database(url: str) -> None:
    """Create the benchmark database if needed; refuse any whose name does not say it is one."""
    import psycopg2

    db = urlparse(url)
    name = db.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to fill {name!r}: use a database whose name contains 'bench'")
    conn = psycopg2.connect(host=db.hostname, port=db.port or 5432, user=db.username or "postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def open_database() -> None:
    """Set Django up on the benchmark database DATABASE_URL names, created if needed (`create_database`)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    create_database(url)

    import django

    django.setup()


def load(*, experiences: int, customers: int, days: int, staff: int = 0, journeys: int = 0) -> None:
    """Empty the database and fill it: experiences spread over `days`, 40 % logged by `staff` users if any.

    A person who logs reports from the touchpoint owner's department, but one time in ten from
    any department (the department page names who else noticed its negatives).
    """
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Role
    from experiences.models import Emotion
    from experiences.partitions import keep_partitions
    from journeys.models import Journey, JourneyStep
    from scoring.recompute import rewrite_masses
    from tests.factories import DepartmentFactory, TouchpointFactory, UserFactory

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    keep_partitions(since=timezone.localdate() - timedelta(days=days))  # every month of the data has its own
    departments = [DepartmentFactory(code=f"department-{n}") for n in range(DEPARTMENTS)]
    stages = ["perception", "interaction", "remembrance"]
    touchpoints: list[Any] = [
        TouchpointFactory(code=f"touchpoint-{n}", owner=departments[n % DEPARTMENTS], stage=stages[n % 3])
        for n in range(TOUCHPOINTS)
    ]
    for n in range(staff):
        UserFactory(username=f"staff-{n}", role=Role.STAFF, departments=[departments[n % DEPARTMENTS]])
    for j in range(journeys):
        journey = Journey.objects.create(slug=f"journey-{j}", name=f"Journey {j}")
        for position in range(1, JOURNEY_STEPS + 1):
            touchpoint = touchpoints[(j * JOURNEY_STEPS + position) % TOUCHPOINTS]
            JourneyStep.objects.create(
                journey=journey, touchpoint=touchpoint, stage=touchpoint.stage, position=position
            )
    emotions = ["", "", "", *Emotion.values]
    with connection.cursor() as cursor, bulk_load(cursor, "experiences_experience"):
        cursor.execute(
            "INSERT INTO customers_customer (external_id, name, email, segment, relationship_level, created_at) "
            "SELECT 'C-' || n, 'Customer ' || n, '', (ARRAY['smb', 'enterprise', 'public'])[1 + n %% 3], "
            "'communication', now() FROM generate_series(1, %s) n",
            [customers],
        )
        cursor.execute(
            """
            INSERT INTO experiences_experience (customer_id, touchpoint_id, department_id, stage, valence, intensity,
                emotion, expectation, outcome, occurred_at, occurred_on, source, external_id, recorded_by_id,
                reported_from_department_id, note, impact, positive_mass_norm, negative_mass_norm, created_at)
            SELECT c.id, t.id, o.department_id, t.stage, x.valence, x.intensity,
                   (%(emotions)s::text[])[1 + floor(random() * %(emotion_count)s)::int],
                   (ARRAY['', 'missed', 'met', 'exceeded'])[1 + floor(random() * 4)::int],
                   (ARRAY['', '', 'ok', 'failed'])[1 + floor(random() * 4)::int],
                   x.at, (x.at AT TIME ZONE %(tz)s)::date,
                   CASE WHEN x.by_staff THEN 'form' ELSE 'import' END, NULL,
                   CASE WHEN x.by_staff THEN (SELECT min(id) FROM accounts_user) + x.n %% %(staff)s END,
                   CASE WHEN x.by_staff AND random() < 0.1
                        THEN (SELECT min(id) FROM touchpoints_department) + floor(random() * %(departments)s)::int
                        WHEN x.by_staff THEN o.department_id END,
                   '', 0, 0, 0, now()
              FROM (SELECT n, (SELECT min(id) FROM customers_customer) + floor(random() * %(customers)s)::int AS c,
                           floor(random() * %(touchpoints)s)::int AS t,
                           (ARRAY[-1, 0, 1, 1])[1 + floor(random() * 4)::int] AS valence,
                           1 + floor(random() * 5)::int AS intensity,
                           %(staff)s > 0 AND random() < 0.4 AS by_staff,
                           now() - random() * make_interval(days => %(days)s) AS at
                      FROM generate_series(1, %(experiences)s) n) x
              JOIN customers_customer c ON c.id = x.c
              JOIN touchpoints_touchpoint t ON t.code = 'touchpoint-' || x.t
              JOIN touchpoints_touchpointowner o ON o.touchpoint_id = t.id AND o.primary
            """,
            {
                "tz": "Europe/Madrid",
                "customers": customers,
                "experiences": experiences,
                "days": days,
                "touchpoints": TOUCHPOINTS,
                "departments": DEPARTMENTS,
                "staff": staff,
                "emotions": emotions,
                "emotion_count": len(emotions),
            },
        )
        rewrite_masses()


@contextmanager
def bulk_load(cursor: Any, table: str) -> Iterator[None]:
    """Drop `table`'s indexes that back no constraint and skip foreign-key triggers; rebuild the indexes after."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            # A partitioned table's index reads "ON ONLY <table>", which would leave its partitions without one.
            cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
        cursor.execute("RESET maintenance_work_mem")
