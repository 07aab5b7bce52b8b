"""What the Makefile promises: `make run` installs only what runs the app, and links in e-mails follow
the host and port it serves on unless CXM_BASE_URL is set."""

import os
import subprocess

import pytest
from django.conf import settings
from django.core.management import call_command

from feedback.models import Survey

from .factories import CustomerFactory

# A target evaluated beside the Makefile's own: it prints what the app started by `make run` reads.
PRINT_BASE_URL = (
    'print-base-url: ; @$(PY) -c \'import django, os; os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings");'
    " django.setup(); from django.conf import settings; print(settings.CXM_BASE_URL)'"
)


def base_url_under_make(*args: str, env_base_url: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "CXM_BASE_URL"}
    if env_base_url is not None:
        env["CXM_BASE_URL"] = env_base_url
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", PRINT_BASE_URL, "print-base-url", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "http://127.0.0.1:8000"),
        (("PORT=8101",), "http://127.0.0.1:8101"),
        (("HOST=localhost", "PORT=9000"), "http://localhost:9000"),
    ],
)
def test_survey_links_point_where_make_run_serves(args, expected):
    assert base_url_under_make(*args) == expected


def test_an_explicit_base_url_wins_over_host_and_port():
    assert base_url_under_make("PORT=8101", env_base_url="https://cx.example.com") == "https://cx.example.com"


def test_the_invitation_e_mail_links_to_the_base_url(
    settings, touchpoint, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CXM_BASE_URL = "http://127.0.0.1:8101"
    Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint)
    CustomerFactory(segment="enterprise", email="a@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("invite", "--survey", "delivery-nps", "--customers", "enterprise")
    (mail,) = mailoutbox
    assert "http://127.0.0.1:8101/s/" in mail.body


def planned_pip_installs(target: str, venv) -> list[str]:
    """The pip commands `make <target>` would run on a machine without a virtualenv yet."""
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", f"VENV={venv}", target],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [line for line in result.stdout.splitlines() if "pip install" in line and " -r " in line]


def test_make_run_installs_only_the_runtime_requirements(tmp_path):
    installs = planned_pip_installs("run", tmp_path / "venv")
    assert [line.split(" -r ")[1] for line in installs] == ["requirements.txt"]


@pytest.mark.parametrize("target", ["test", "lint"])
def test_tests_and_lint_install_the_development_requirements(tmp_path, target):
    installs = planned_pip_installs(target, tmp_path / "venv")
    assert [line.split(" -r ")[1] for line in installs] == ["requirements.txt", "requirements-dev.txt"]


def test_make_lint_runs_ruff_and_mypy(tmp_path):
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", f"VENV={tmp_path / 'venv'}", "lint"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    tools = [
        line.split("/bin/")[1].split()[0]
        for line in result.stdout.splitlines()
        if "/bin/ruff" in line or "/bin/mypy" in line
    ]
    assert tools == ["ruff", "ruff", "mypy"]


def test_ci_lints_before_it_tests():
    steps = [
        line.strip()
        for line in (settings.BASE_DIR / ".ci" / "run").read_text().splitlines()
        if line.startswith("make ")
    ]
    assert steps[:2] == ["make lint", "make test"]
