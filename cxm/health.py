"""Probes for load balancers and orchestrators, and the worker heartbeat that /readyz reads.

`/healthz` says the web process answers (restart it if not). `/readyz` says it can do useful
work: the database answers, the broker answers, and a worker ran the beat-scheduled
`cxm.health.heartbeat` task recently (stop sending traffic if not). Neither needs a login.
"""

from __future__ import annotations

import time

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from cxm.celery import app as celery_app

HEARTBEAT_KEY = "cxm:worker-heartbeat"
BROKER_TIMEOUT_SECONDS = 2


@shared_task(ignore_result=True)
def heartbeat() -> float:
    """Beat, every CXM_HEARTBEAT_SECONDS: a worker proves it is consuming the queue."""
    now = time.time()
    cache.set(HEARTBEAT_KEY, now, timeout=max(settings.CXM_HEARTBEAT_MAX_AGE_SECONDS * 10, 600))
    return now


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "broker": _broker(), "worker": _worker()}
    ready = all(value == "ok" or value.startswith("ok ") for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        connection.close_if_unusable_or_obsolete()
        return f"error: {type(exc).__name__}"
    return "ok"


def _broker() -> str:
    if celery_app.conf.task_always_eager:
        return "ok (no broker: tasks run in-process)"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _worker() -> str:
    if celery_app.conf.task_always_eager:
        return "ok (no worker needed: tasks run in-process)"
    try:
        stamped = cache.get(HEARTBEAT_KEY)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    if stamped is None:
        return "error: no worker heartbeat yet"
    age = time.time() - float(stamped)
    if age > settings.CXM_HEARTBEAT_MAX_AGE_SECONDS:
        return f"error: last worker heartbeat {age:.0f} s ago"
    return "ok"
