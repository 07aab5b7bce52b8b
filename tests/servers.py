"""Throwaway PostgreSQL and Redis servers for the tests that stop, pause or kill one.

Each server lives in its own temporary directory on a free port and is removed after the
session, so a fault test breaks only what it started; the machine's own servers (and every
other program using them) never notice. `machine_servers()` identifies those shared servers,
so the suite can check that they ran, unchanged, from its first test to its last.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg2
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from cxm.celery import app as celery_app

START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} after {timeout} s")
        time.sleep(0.05)


class ThrowawayRedis:
    """`redis-server` without persistence, in a temporary directory on a free port."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="cxm-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def start(self) -> None:
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                   "--appendonly", "no", "--dir", str(self.directory)]  # fmt: skip
        with open(self.directory / "redis.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait(self.answers, timeout=START_SECONDS, what="the throwaway Redis did not answer")

    def stop(self) -> None:
        """As a crash looks to clients: the process ends, every connection and key is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def pause(self, milliseconds: int) -> None:
        """`CLIENT PAUSE`: Redis stops answering every client, as a stalled server does."""
        redis.Redis(port=self.port).execute_command("CLIENT", "PAUSE", milliseconds)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else (shutil.which(name) or name)


class ThrowawayPostgres:
    """A cluster of its own (`initdb`, trust auth) in a temporary directory, run by `pg_ctl` on a free port.

    PostgreSQL refuses to run as root; under root the cluster belongs to the `postgres` user.
    Given a started `primary`, the cluster is its streaming replica instead: `pg_basebackup -R`
    copies the primary and writes the standby settings, so it replays the primary's WAL once started.
    """

    def __init__(self, primary: ThrowawayPostgres | None = None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="cxm-postgres-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.owner = "postgres" if os.geteuid() == 0 else None
        if self.owner:
            owner = pwd.getpwnam(self.owner)
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        if primary is None:
            self._run(_postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        else:
            self._run(_postgres_bin("pg_basebackup"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(primary.port),
                      "-U", "postgres", "-R", "-X", "stream", "-c", "fast")  # fmt: skip

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, cwd=self.directory)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def answers(self) -> bool:
        try:
            psycopg2.connect(self.url("postgres"), connect_timeout=1).close()
        except psycopg2.OperationalError:
            return False
        return True

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "postgres.log"),
                  "-o", options, "-w", "-t", str(START_SECONDS), "start")  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when an operator restarts the server."""
        if (self.data / "postmaster.pid").exists():
            self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> None:
        admin = psycopg2.connect(self.url("postgres"))
        try:
            admin.autocommit = True
            admin.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            admin.close()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@contextmanager
def postgres_server(database: str = "cxm_faults") -> Iterator[ThrowawayPostgres]:
    """A started cluster whose `database` has every migration applied, as `manage.py migrate` leaves it."""
    server = ThrowawayPostgres()
    try:
        server.start()
        server.create_database(database)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=settings.BASE_DIR,
            env={**os.environ, "DATABASE_URL": server.url(database), "CELERY_BROKER_URL": ""},
            check=True,
            capture_output=True,
            timeout=300,
        )
        yield server
    finally:
        server.remove()


@contextmanager
def postgres_with_replica(database: str = "cxm_replicated") -> Iterator[tuple[ThrowawayPostgres, ThrowawayPostgres]]:
    """A migrated primary (as `postgres_server`) and a started streaming replica of it, each on its own port."""
    with postgres_server(database) as primary:
        replica = ThrowawayPostgres(primary=primary)
        try:
            replica.start()
            yield primary, replica
        finally:
            replica.remove()


@contextmanager
def redis_in_use(server: ThrowawayRedis, django_settings) -> Iterator[None]:
    """This process, and every worker or stack it starts, use `server` as broker and cache.

    Celery reads the CELERY_BROKER_URL environment variable before its own settings.
    """
    previous = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = server.url()
    django_settings.CELERY_BROKER_URL = server.url()
    django_settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url()}}
    celery_app.close()  # drop pooled connections to the previous broker
    try:
        yield
    finally:
        celery_app.close()
        if previous is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous


@contextmanager
def database_in_use(server: ThrowawayPostgres, database: str = "cxm_faults") -> Iterator[None]:
    """This process's `default` connection, and every worker or stack it starts, use `server`.

    The database is emptied afterwards, as pytest-django empties its own after a transactional test.
    """
    keys = ("HOST", "PORT", "NAME")
    previous = {key: connection.settings_dict[key] for key in keys}
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(server.port), NAME=database)
    try:
        yield
    finally:
        connection.close()
        if server.answers():
            call_command("flush", interactive=False, verbosity=0)
            connection.close()
        connection.settings_dict.update(previous)


def machine_servers() -> dict[str, object]:
    """Who serves DATABASE_URL and CELERY_BROKER_URL now: the server processes' ids and start times."""
    found: dict[str, object] = {}
    if connection.vendor == "postgresql":
        found["postgresql"] = _postgres_identity(connection.settings_dict)
    if settings.CELERY_BROKER_URL:
        try:
            info = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=3).info("server")
            found["redis"] = (info["process_id"], info["run_id"])
        except redis.RedisError as exc:
            found["redis"] = f"not answering: {type(exc).__name__}"
    return found


def _postgres_identity(db: dict) -> object:
    try:
        shared = psycopg2.connect(
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"],
            password=db["PASSWORD"],
            dbname="postgres",
            connect_timeout=3,
        )
    except psycopg2.Error as exc:
        return f"not answering: {type(exc).__name__}"
    try:
        cursor = shared.cursor()
        cursor.execute("SELECT pg_backend_pid(), pg_postmaster_start_time()")
        backend, started = cursor.fetchone()
        return (_parent_pid(backend), started)  # while the backend still runs
    finally:
        shared.close()


def _parent_pid(pid: int) -> int | None:
    """The postmaster is the parent of our backend (when the server runs on this machine)."""
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None
