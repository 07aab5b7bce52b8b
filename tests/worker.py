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

from cxm.celery import app as celery_app
from scoring.tasks import PENDING_KEY

READY_SECONDS = 60
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
    "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip
REDIS_STOP = ["redis-cli", "-p", "6379", "shutdown", "nosave"]


def wait_for(condition: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> float:
    """Seconds until `condition()` held; fails the test after `timeout`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"still not true after {timeout} s: {condition.__doc__ or condition.__name__}")
        time.sleep(interval)
    return time.monotonic() - start


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
            "--without-gossip", "--without-mingle",
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


@pytest.fixture(name="worker")
def worker_fixture(transactional_db, tmp_path) -> Iterator[Worker]:
    """A started worker; writes in the test enqueue real messages instead of running tasks in-process."""
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL:
        pytest.skip("needs PostgreSQL and CELERY_BROKER_URL (Redis)")
    celery_app.conf.task_always_eager = False
    cache.delete(PENDING_KEY)  # a flag left by an earlier run would hold back the first message
    running = Worker(tmp_path)
    running.start()
    yield running
    running.stop()


def redis_is_up() -> bool:
    """Redis answers"""
    return subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True, text=True).stdout.strip() == "PONG"


@contextmanager
def redis_outage() -> Iterator[None]:
    """Redis on 127.0.0.1:6379 is stopped inside the block and always started again after it.

    Other people's processes share this Redis: keep the block to a few seconds.
    """
    subprocess.run(REDIS_STOP, capture_output=True)
    wait_for(lambda: not redis_is_up(), timeout=5)
    try:
        yield
    finally:
        subprocess.run(REDIS_START, check=True, capture_output=True)
        wait_for(redis_is_up, timeout=10)
