"""A real Celery worker, with embedded beat, in a subprocess against the test database.

Tests that use the `worker` fixture see their writes travel through Redis to another
process, as in production; the data they write must be committed (`transactional_db`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from cxm.cache import ResilientRedisCache
from cxm.celery import app as celery_app
from outbox.services import DISPATCH_PENDING_KEY
from scoring.tasks import PENDING_KEY

from .servers import ThrowawayRedis

READY_SECONDS = 60


def wait_for(condition: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> float:
    """Seconds until `condition()` held; fails the test after `timeout`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"still not true after {timeout} s: {condition.__doc__ or condition.__name__}")
        time.sleep(interval)
    return time.monotonic() - start


def score_upsert_waits_on_a_lock() -> bool:
    """a rescore's score upsert waits on a row lock held elsewhere"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            ["%INSERT INTO scoring_customerscore%"],
        )
        return cursor.fetchone()[0] > 0


def database_url_of_tests() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`celery worker -B` in its own process group, so that a kill takes beat along."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log(self) -> str:
        return (self.directory / f"worker-{self.starts}.log").read_text(errors="replace")

    def start(self) -> None:
        self.starts += 1
        env = {
            **os.environ,
            "DATABASE_URL": database_url_of_tests(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "cxm", "worker", "-B", "--pool=solo", "--loglevel=INFO",
            "--schedule", str(self.directory / "beat-schedule"), "--hostname", f"scores-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--queues", "scoring,events",
        ]  # fmt: skip
        with open(self.directory / f"worker-{self.starts}.log", "wb") as out:
            self.process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self.is_ready, timeout=READY_SECONDS, interval=0.2)

    def is_ready(self) -> bool:
        """the worker and beat have started"""
        if self.process.poll() is not None:
            pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.log}")
        return " ready." in self.log and "beat: Starting" in self.log

    def kill(self) -> None:
        """SIGKILL to the worker and its beat: no warm shutdown, no ack, open transactions cut."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def running_worker(directory: Path) -> Iterator[Worker]:
    """A started worker; writes in the test enqueue real messages instead of running tasks in-process."""
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL:
        pytest.skip("needs PostgreSQL and CELERY_BROKER_URL (Redis)")
    celery_app.conf.task_always_eager = False
    cache.delete_many([PENDING_KEY, DISPATCH_PENDING_KEY])  # old flags would hold back messages
    running = Worker(directory)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(name="worker")
def worker_fixture(transactional_db, tmp_path) -> Iterator[Worker]:
    yield from running_worker(tmp_path)


@pytest.fixture(name="worker_on_own_broker")
def worker_on_own_broker_fixture(own_broker, transactional_db, tmp_path) -> Iterator[Worker]:
    """A worker on a throwaway Redis (`own_broker`), for tests that stop the broker."""
    yield from running_worker(tmp_path)


@contextmanager
def redis_outage(server: ThrowawayRedis) -> Iterator[None]:
    """The throwaway Redis `server` is down inside the block and started again after it, on the same port."""
    server.stop()
    try:
        yield
    finally:
        server.start()
        ResilientRedisCache._resting_until = 0.0  # this process may use the cache again at once
