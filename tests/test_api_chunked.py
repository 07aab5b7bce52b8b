"""A body sent with Transfer-Encoding: chunked (no Content-Length) is read whole by the real web server."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings

from experiences.models import Experience
from integrations.models import Scope
from integrations.services import create_api_key

from .stack import free_port
from .worker import database_url_of_tests, wait_for


@pytest.fixture
def web(transactional_db, tmp_path):
    """gunicorn on the project's WSGI application, one worker, on a free port."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url_of_tests(), "CELERY_BROKER_URL": "", "PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "cxm.wsgi:application", "--workers", "1",
         "--bind", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        """gunicorn answers"""
        try:
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(listening, timeout=60, interval=0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def chunks(body: bytes, size: int = 7):
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_chunked_batch_is_read_and_stored(web, touchpoint, customer):
    key = create_api_key(name="chunked", scopes=[Scope.EXPERIENCES_WRITE])[1]
    item = {"id": "c-1", "customer": "ACME-1", "touchpoint": "on-time-delivery", "valence": "positive"}
    body = json.dumps({"experiences": [item]}).encode()
    response = requests.post(
        f"{web}/api/v1/experiences/",
        data=chunks(body),
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
        timeout=20,
    )
    assert response.status_code == 201, response.text
    assert response.json()["accepted"] == 1
    assert Experience.objects.filter(external_id="c-1").exists()


def test_chunked_body_over_the_limit_is_a_json_413(web, touchpoint, customer):
    key = create_api_key(name="chunked", scopes=[Scope.EXPERIENCES_WRITE])[1]
    body = b'{"experiences": [{"note": "' + b"x" * 2_000_000 + b'"}]}'
    response = requests.post(
        f"{web}/api/v1/experiences/",
        data=chunks(body, 65536),
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
        timeout=20,
    )
    assert response.status_code == 413
    assert "1 MB" in response.json()["detail"]
