import base64
import ipaddress
import json
import socket

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache

from cxm.celery import app as celery_app
from dashboards.cache import VERSION_KEY as FIGURES_VERSION_KEY
from outbox.services import DISPATCH_PENDING_KEY
from scoring.tasks import PENDING_KEY

from .factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory
from .servers import database_in_use, machine_servers, postgres_server, redis_in_use, redis_server

pytest_plugins = ["tests.browser", "tests.oidc_provider"]

# Every app's task module imported now, as a worker does when it starts. A test that points this
# process at another broker closes the Celery app (tests/servers.py, redis_in_use), and a closed
# app no longer registers the tasks of a module imported after: a later test would then fail
# with NotRegistered, depending on which tests ran before it.
celery_app.loader.import_default_modules()


@pytest.fixture(autouse=True)
def tasks_in_process(settings):
    """Tasks run in-process unless a test starts a real worker (see tests/worker.py)."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture(autouse=True)
def fresh_dashboard_figures(settings):
    """Each test starts with no cached dashboard figures: its database is not the previous test's.

    Pages show every rescore at once (no stale window) unless a test of the window sets one.
    """
    settings.CXM_DASHBOARD_STALE_SECONDS = 0
    cache.delete(FIGURES_VERSION_KEY)


@pytest.fixture(scope="session", autouse=True)
def machine_servers_keep_running():
    """The suite never stops, restarts or replaces the PostgreSQL and Redis it was given."""
    before = machine_servers()
    yield
    after = machine_servers()
    assert after == before, f"the machine's servers changed during the run: before {before}, after {after}"


@pytest.fixture(scope="session")
def own_redis():
    """A throwaway Redis for tests that stop or pause the broker (tests/servers.py)."""
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def own_postgres():
    """A throwaway, migrated PostgreSQL for tests that stop the database (tests/servers.py)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def own_broker(own_redis, settings):
    """This test, and the worker or stack it starts, use the throwaway Redis, emptied first."""
    if not own_redis.answers():
        own_redis.start()
    redis.Redis(port=own_redis.port).flushall()
    with redis_in_use(own_redis, settings):
        yield own_redis


class Queued:
    """The messages waiting in Redis, read without taking them: `broker(task)` counts a task's messages."""

    QUEUES = ("scoring", "events")

    def __init__(self, channel) -> None:
        self.channel = channel

    def _messages(self, task: str) -> list[dict]:
        raw = [json.loads(m) for queue in self.QUEUES for m in self.channel.client.lrange(queue, 0, -1)]
        return [m for m in raw if m["headers"]["task"] == task]

    def __call__(self, task: str) -> int:
        return len(self._messages(task))

    def etas(self, task: str) -> list[str | None]:
        """When each queued message of `task` may run (ISO 8601), None for at once."""
        return [m["headers"].get("eta") for m in self._messages(task)]

    def args(self, task: str) -> list[list]:
        """The positional arguments of each queued message of `task`, in the order a worker takes them."""
        bodies = [json.loads(base64.b64decode(m["body"])) for m in reversed(self._messages(task))]
        return [args for args, _kwargs, _embed in bodies]


@pytest.fixture
def broker(db):
    """Messages go to Redis and stay there: no worker runs in this test."""
    if not django_settings.CELERY_BROKER_URL:
        pytest.skip("needs CELERY_BROKER_URL (Redis)")
    celery_app.conf.task_always_eager = False
    cache.delete_many([PENDING_KEY, DISPATCH_PENDING_KEY])
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in Queued.QUEUES:
            channel.queue_purge(queue)
        yield Queued(channel)
        for queue in Queued.QUEUES:
            channel.queue_purge(queue)
    cache.delete_many([PENDING_KEY, DISPATCH_PENDING_KEY])


@pytest.fixture
def own_database(own_postgres, transactional_db):
    """This test, and the worker or stack it starts, use the throwaway PostgreSQL (emptied after)."""
    if not own_postgres.answers():
        own_postgres.start()
    with database_in_use(own_postgres):
        yield own_postgres


@pytest.fixture
def dns_of_this_machine_only(monkeypatch):
    """Host names do not resolve (a fuzzed webhook URL must not cause DNS lookups); addresses and localhost do."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name)
        except ValueError:
            if name != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, "name resolution is off in this test") from None
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def department(db):
    return DepartmentFactory(code="logistics", name="Logistics")


@pytest.fixture
def touchpoint(department):
    return TouchpointFactory(code="on-time-delivery", name="On-time delivery", owner=department)


@pytest.fixture
def customer(db):
    return CustomerFactory(external_id="ACME-1", name="Acme Ltd")


@pytest.fixture
def staff_user(department):
    return UserFactory(username="ana", role="staff", departments=[department])
