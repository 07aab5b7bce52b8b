import pytest

from cxm.celery import app as celery_app

from .factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory

pytest_plugins = ["tests.browser", "tests.oidc_provider"]


@pytest.fixture(autouse=True)
def tasks_in_process(settings):
    """Tasks run in-process unless a test starts a real worker (see tests/worker.py)."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


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
