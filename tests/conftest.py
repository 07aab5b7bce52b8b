import ipaddress
import socket

import pytest

from cxm.celery import app as celery_app

from .factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory

pytest_plugins = ["tests.browser"]


@pytest.fixture(autouse=True)
def tasks_in_process(settings):
    """Tasks run in-process unless a test starts a real worker (see tests/worker.py)."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


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
