"""The real stack of the Procfile (gunicorn, the Celery workers, Celery beat) run by honcho on a free port.

Used by tests/test_stack.py and tests/test_faults.py; the data a test writes must be committed
(`transactional_db`), since the stack's processes read the test database over their own connections.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from cxm.celery import app as celery_app
from outbox.services import DISPATCH_PENDING_KEY
from scoring.tasks import PENDING_KEY

from .servers import free_port
from .worker import database_url_of_tests, wait_for

READY_SECONDS = 90


class Stack:
    """`honcho start` on the project's Procfile, in its own process group."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_file = directory / "stack.log"

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def start(self) -> None:
        venv_bin = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
            "DATABASE_URL": database_url_of_tests(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "HOST": "127.0.0.1",
            "WEB_PORT": str(self.port),
            "WEB_CONCURRENCY": "2",
            "SCORING_CONCURRENCY": "1",
            "EVENTS_CONCURRENCY": "2",
            "BEAT_SCHEDULE": str(self.directory / "beat-schedule"),
            "CXM_HEARTBEAT_SECONDS": "1",
            # The tests' webhook receivers listen on this machine, which deliveries otherwise refuse.
            "CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        with open(self.log_file, "wb") as out:
            self.process = subprocess.Popen(
                [str(Path(venv_bin) / "honcho"), "start", "--no-colour", "-f", str(settings.BASE_DIR / "Procfile")],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self.is_ready, timeout=READY_SECONDS, interval=0.5)

    def is_ready(self) -> bool:
        """the stack answers /readyz (database, broker and a worker heartbeat)"""
        if self.process.poll() is not None:
            pytest.fail(f"the stack exited with {self.process.returncode}:\n{self.log}")
        try:
            return requests.get(f"{self.url}/readyz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or still importing Django
            return False

    def kill(self, name: str) -> None:
        """SIGKILL one Procfile process (e.g. "scoring-worker") and its children: no warm shutdown, no ack.

        Its respawn loop (scripts/respawn) starts it again, as it would after a crash.
        """
        import psutil

        words = procfile_commands()[name].removeprefix("scripts/respawn ").split()[:6]
        program = " ".join(w for w in words if "$" not in w)
        for process in psutil.Process(self.process.pid).children(recursive=True):
            command = " ".join(process.cmdline())
            if program in command and "respawn" not in command:
                process.kill()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def procfile_commands() -> dict[str, str]:
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def running_stack(directory: Path) -> Iterator[Stack]:
    """A started stack; the test's own writes go through Redis too, as in production."""
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL:
        pytest.skip("needs PostgreSQL and CELERY_BROKER_URL (Redis)")
    celery_app.conf.task_always_eager = False
    cache.delete_many([PENDING_KEY, DISPATCH_PENDING_KEY])
    running = Stack(directory)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(name="stack")
def stack_fixture(transactional_db, tmp_path) -> Iterator[Stack]:
    yield from running_stack(tmp_path)


def logged_in(stack: Stack, username: str, password: str) -> requests.Session:
    """A browser-like session that went through the real login form."""
    session = requests.Session()
    session.get(f"{stack.url}/login/", timeout=10)
    response = session.post(
        f"{stack.url}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    return session


def post_form(session: requests.Session, url: str, data: dict) -> requests.Response:
    return session.post(
        url, data={**data, "csrfmiddlewaretoken": session.cookies["csrftoken"]}, allow_redirects=False, timeout=10
    )


def api_key(*scopes: str) -> str:
    """A key made by `manage.py create_api_key`, as an operator would."""
    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "stack-test", "--scopes", ",".join(scopes) or "all"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url_of_tests()},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def until(condition, *, timeout: float = 30) -> None:
    wait_for(condition, timeout=timeout, interval=0.3)
