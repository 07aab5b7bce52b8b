"""/healthz and /readyz: what a load balancer asks before sending traffic."""

import time

import pytest
from django.core.cache import cache

from cxm.celery import app as celery_app
from cxm.health import HEARTBEAT_KEY, heartbeat

from .worker import redis_outage, wait_for, worker_fixture  # noqa: F401


@pytest.fixture
def with_broker(settings):
    """As in production: a broker and a worker are expected (tests otherwise run tasks in-process)."""
    if not settings.CELERY_BROKER_URL:
        pytest.skip("needs CELERY_BROKER_URL (Redis)")
    celery_app.conf.task_always_eager = False
    cache.delete(HEARTBEAT_KEY)


def test_probes_answer_at_the_exact_paths_without_a_redirect(client, db):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_healthz_answers_without_a_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_database_broker_and_a_fresh_heartbeat_answer(client, db, with_broker):
    heartbeat()

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "worker": "ok"}


def test_readyz_is_not_ready_before_any_worker_heartbeat(client, db, with_broker):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "error: no worker heartbeat yet"


def test_readyz_is_not_ready_when_the_last_heartbeat_is_too_old(client, db, with_broker, settings):
    cache.set(HEARTBEAT_KEY, time.time() - settings.CXM_HEARTBEAT_MAX_AGE_SECONDS - 5)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["worker"].startswith("error: last worker heartbeat")


def test_readyz_is_not_ready_while_the_broker_is_down(client, db, own_broker, with_broker):
    heartbeat()
    with redis_outage(own_broker):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error:")
    assert response.json()["checks"]["database"] == "ok"


def test_when_tasks_run_in_process_readyz_needs_no_worker(client, db):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == "ok (no worker needed: tasks run in-process)"


@pytest.mark.worker
def test_a_real_worker_stamps_the_heartbeat_from_beat(client, worker):
    wait_for(lambda: client.get("/readyz").status_code == 200, timeout=30, interval=0.5)

    assert client.get("/readyz").json()["checks"]["worker"] == "ok"
