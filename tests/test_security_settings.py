"""Production mode (DEBUG=0) is strict: `check --deploy` is clean and every response carries the headers."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-" + "k3y-" * 10,
    "ALLOWED_HOSTS": "cxm.example.com",
}


# Set by the test run itself (tests/browser.py), never in a deployment.
NOT_IN_PRODUCTION = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in NOT_IN_PRODUCTION}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_check_without_a_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", **{k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"})

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_sends_hsts_and_redirects_plain_http(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000

    plain = client.get("/login/")
    secure = client.get("/login/", secure=True)

    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/login/"
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_probes_answer_over_plain_http_even_when_https_is_enforced(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200


def test_pages_forbid_framing_and_sniffing(client, db):
    response = client.get("/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_content_security_policy_allows_no_inline_script_or_style(client, db):
    policy = client.get("/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))

    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_the_api_docs_inline_setup_runs_only_with_its_per_request_nonce(client, staff_user):
    client.force_login(staff_user)

    first = client.get("/api/v1/docs/")
    second = client.get("/api/v1/docs/")

    nonce = first.wsgi_request.csp_nonce
    assert f"'nonce-{nonce}'" in first["Content-Security-Policy"]
    assert f'<script nonce="{nonce}">' in first.content.decode()
    assert nonce != second.wsgi_request.csp_nonce


def test_passwords_are_hashed_with_argon2(staff_user):
    staff_user.refresh_from_db()

    assert staff_user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
