"""The full stack: the Procfile and docker-compose.yml describe the same processes, and the real
stack (gunicorn + Celery worker + beat against PostgreSQL and Redis) works end to end over HTTP."""

import re
import shlex

import pytest
import requests
import yaml
from django.conf import settings

from feedback.models import Case
from tests.factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory

from .stack import api_key, logged_in, post_form, stack_fixture, until  # noqa: F401

PASSWORD = "correct-horse-battery"


def procfile() -> dict[str, str]:
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def compose() -> dict:
    return yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())


def expand(command: str, environment: dict[str, str]) -> list[str]:
    """A Procfile command with ${VAR:-default} filled from a compose service's environment."""

    def value(match: re.Match) -> str:
        return str(environment.get(match["name"], match["default"]))

    words = shlex.split(re.sub(r"\$\{(?P<name>\w+):-(?P<default>[^}]*)\}", value, command))
    return words[1:] if words[0] == "scripts/respawn" else words  # compose restarts by its own policy


def started_process(command: str | list[str]) -> list[str]:
    """What a compose command finally runs: the last step of `sh -c "... && exec X"`, or the list itself."""
    words = shlex.split(command) if isinstance(command, str) else command
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2].split("&&")[-1])
    return words[1:] if words[0] == "exec" else words


def test_compose_runs_the_procfile_processes_plus_database_and_broker():
    assert set(compose()["services"]) == {"db", "redis", *procfile()}


@pytest.mark.parametrize("name", ["web", "scoring-worker", "events-worker", "beat"])
def test_each_compose_service_runs_the_same_command_as_the_procfile(name):
    service = compose()["services"][name]

    assert started_process(service["command"]) == expand(procfile()[name], service["environment"])


def test_compose_web_migrates_before_it_starts():
    command = compose()["services"]["web"]["command"]

    assert command.index("manage.py migrate --noinput") < command.index("gunicorn")


def test_compose_services_restart_and_are_health_checked():
    services = compose()["services"]

    assert all(s["restart"] == "unless-stopped" for s in services.values())
    assert {name for name, s in services.items() if "healthcheck" in s} == {
        "db",
        "redis",
        "web",
        "scoring-worker",
        "events-worker",
    }
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]


def test_compose_and_the_stack_read_the_same_settings():
    environment = compose()["services"]["web"]["environment"]

    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"} <= set(environment)
    assert environment["DEBUG"] == "0"


@pytest.mark.stack
def test_the_stack_records_and_scores_form_and_api_experiences_and_opens_a_case(stack):
    logistics = DepartmentFactory(code="logistics", name="Logistics")
    TouchpointFactory(code="on-time-delivery", name="On-time delivery", owner=logistics)
    CustomerFactory(external_id="ACME-1", name="Acme Ltd")
    UserFactory(username="ana", role="staff", departments=[logistics], password=PASSWORD)
    UserFactory(username="mia", role="manager", departments=[logistics], password=PASSWORD)

    staff = logged_in(stack, "ana", PASSWORD)
    form = post_form(
        staff,
        f"{stack.url}/log/",
        {"customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "negative", "intensity": "5"},
    )
    assert form.status_code == 302 and "recorded=" in form.headers["Location"], form.text

    key = api_key("experiences:write", "customers:read")
    headers = {"Authorization": f"Api-Key {key}"}
    batch = [
        {"id": f"crm-{n}", "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "positive"}
        for n in range(3)
    ]
    sent = requests.post(f"{stack.url}/api/v1/experiences/", json={"experiences": batch}, headers=headers, timeout=10)
    assert sent.status_code == 201 and sent.json()["accepted"] == 3, sent.text

    def score() -> dict:
        return requests.get(f"{stack.url}/api/v1/customers/ACME-1/", headers=headers, timeout=10).json()["score"]

    until(lambda: score()["counts"] == {"positive": 3, "neutral": 0, "negative": 1})
    assert score()["recovery_debt"] > 0
    assert score()["index"] < 50

    manager = logged_in(stack, "mia", PASSWORD)
    until(lambda: "Acme Ltd" in manager.get(f"{stack.url}/cases/", timeout=10).text)
    assert Case.objects.get().department == logistics
    assert key not in stack.log
