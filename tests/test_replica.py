"""Dashboards read a real PostgreSQL streaming replica; writes, and a writer's next pages, use the primary.

A throwaway primary and its replica (`pg_basebackup -R`, tests/servers.py) run on ports of their
own. With the replica's replay paused, what the dashboards show is the replica's older state, while
the API's writes land on the primary: the pages visibly read the replica (cxm/db_router.py).
With the replica stopped, the pages read the primary.
"""

import csv
import io
import time

import psycopg2
import pytest
import requests

from customers.models import Customer
from experiences.models import Experience
from scoring.models import CustomerScore
from tests.factories import DepartmentFactory, TouchpointFactory, UserFactory

from .servers import ThrowawayPostgres, database_in_use, postgres_with_replica
from .stack import api_key, logged_in, post_form, running_stack, until

pytestmark = [pytest.mark.stack, pytest.mark.faults]

DATABASE = "cxm_replicated"
PASSWORD = "a-long-enough-password-1"
PIN_SECONDS = 2


@pytest.fixture(scope="module")
def servers():
    with postgres_with_replica(DATABASE) as pair:
        yield pair


@pytest.fixture
def stack(servers, own_broker, transactional_db, tmp_path, monkeypatch):
    """The Procfile's stack on the throwaway primary, with DATABASE_REPLICA_URL naming its replica."""
    primary, replica = servers
    monkeypatch.setenv("DATABASE_REPLICA_URL", replica.url(DATABASE))
    monkeypatch.setenv("CXM_REPLICA_PIN_SECONDS", str(PIN_SECONDS))
    with database_in_use(primary, DATABASE):
        yield from running_stack(tmp_path)


def sql(server: ThrowawayPostgres, query: str) -> object:
    with psycopg2.connect(server.url(DATABASE)) as conn, conn.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0] if cursor.description else None


def caught_up(primary: ThrowawayPostgres, replica: ThrowawayPostgres) -> bool:
    """the replica has replayed everything the primary has written"""
    written = sql(primary, "SELECT pg_current_wal_lsn()::text")
    return bool(sql(replica, f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn"))


def batch(prefix: str) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{n}",
            "customer": {"external_id": f"{prefix}-C{n}", "name": f"Customer {prefix}{n}"},
            "touchpoint": "on-time-delivery",
            "valence": "negative",
            "intensity": 5,
        }
        for n in range(3)
    ]


def test_dashboards_read_the_replica_while_writes_and_a_writers_next_pages_use_the_primary(stack, servers):
    primary, replica = servers
    assert sql(replica, "SELECT pg_is_in_recovery()") is True
    logistics = DepartmentFactory(code="logistics", name="Logistics")
    TouchpointFactory(code="on-time-delivery", name="On-time delivery", owner=logistics)
    UserFactory(username="mia", role="manager", departments=[logistics], password=PASSWORD)
    UserFactory(username="leo", role="manager", departments=[logistics], password=PASSWORD)
    headers = {"Authorization": f"Api-Key {api_key('experiences:write')}"}

    def send(prefix: str) -> None:
        sent = requests.post(
            f"{stack.url}/api/v1/experiences/", json={"experiences": batch(prefix)}, headers=headers, timeout=10
        )
        assert sent.status_code == 201 and sent.json()["accepted"] == 3, sent.text
        until(lambda: CustomerScore.objects.filter(customer__external_id__startswith=f"{prefix}-").count() == 3)

    def page(session: requests.Session) -> str:
        response = session.get(f"{stack.url}/dashboards/logistics/", timeout=10)
        assert response.status_code == 200, response.text
        return response.text

    def exported(session: requests.Session) -> set[str]:
        """the customers of the department's streamed CSV export of experiences"""
        response = session.get(f"{stack.url}/dashboards/logistics/?export=experiences", timeout=10)
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        return {row["customer__external_id"] for row in rows}

    send("A")
    until(lambda: caught_up(primary, replica))
    mia, leo = logged_in(stack, "mia", PASSWORD), logged_in(stack, "leo", PASSWORD)
    time.sleep(PIN_SECONDS + 0.5)  # signing in is a write: their next pages read the primary until then

    sql(replica, "SELECT pg_wal_replay_pause()")
    try:
        send("B")  # a read-only standby refuses writes: these land on the primary
        assert Experience.objects.filter(external_id__startswith="B-").count() == 3
        assert Customer.objects.filter(external_id__startswith="B-").count() == 3

        assert exported(mia) == {"A-C0", "A-C1", "A-C2"}
        assert "Customer A0" in page(mia) and "Customer B0" not in page(mia)

        # mia writes (her language, a POST); her next pages read the primary, where B is.
        changed = post_form(mia, f"{stack.url}/language/", {"language": "en", "next": "/dashboards/logistics/"})
        assert changed.status_code == 302, changed.text
        assert exported(mia) == {"A-C0", "A-C1", "A-C2", "B-C0", "B-C1", "B-C2"}
        assert "Customer B0" in page(mia)
        assert exported(leo) == {"A-C0", "A-C1", "A-C2"}  # leo wrote nothing: still the replica
        assert "Customer B0" not in page(leo)
    finally:
        sql(replica, "SELECT pg_wal_replay_resume()")

    until(lambda: caught_up(primary, replica))
    assert exported(leo) == {"A-C0", "A-C1", "A-C2", "B-C0", "B-C1", "B-C2"}
    assert "Customer B0" in page(leo)

    replica.stop()  # the replica goes away: the pages read the primary, where C is, without an error
    try:
        send("C")
        for _ in range(4):  # every web worker finds its persistent replica connection dead: no error
            page(leo)
        assert "C-C0" in exported(leo)
        # the page may serve figures stored before C for CXM_DASHBOARD_STALE_SECONDS (5), then shows C
        until(lambda: "Customer C0" in page(leo), timeout=20)
    finally:
        replica.start()
