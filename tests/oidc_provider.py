"""A real OpenID Connect provider for the sign-in tests: tests/oidc/provider.mjs on a free local port.

`oidc_provider(accounts, redirect_uri)` starts it with the people it knows (login → claims),
points CXM's company sign-in at it, and stops it after the test. `provider_sign_in` walks the
provider's own login page with plain HTTP, as a browser would, and returns the redirect back
to CXM (the callback URL with the authorization code).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

SCRIPT = Path(__file__).parent / "oidc" / "provider.mjs"
CLIENT_ID = "cxm"
CLIENT_SECRET = "cxm-test-client-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def oidc_provider(settings) -> Iterator[Callable[[dict, str], str]]:
    processes: list[subprocess.Popen] = []
    node = shutil.which("node")
    if node is None or not (SCRIPT.parent.parent.parent / "node_modules" / "oidc-provider").exists():
        pytest.fail("the sign-in tests need node and the npm package oidc-provider (make assets)")

    def start(accounts: dict, redirect_uri: str) -> str:
        port = free_port()
        config = {
            "port": port,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "redirectUris": [redirect_uri],
            "accounts": accounts,
        }
        process = subprocess.Popen(
            [node, str(SCRIPT), json.dumps(config)],
            cwd=SCRIPT.parent.parent.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        processes.append(process)
        line = process.stdout.readline()
        assert line.startswith("ready "), f"the OpenID provider did not start: {line!r}"
        issuer = line.split()[1]
        settings.SOCIALACCOUNT_PROVIDERS = {
            "openid_connect": {
                "OAUTH_PKCE_ENABLED": True,
                "SCOPE": ["openid", "profile", "email", "cxm"],
                "APPS": [
                    {
                        "provider_id": settings.CXM_OIDC_PROVIDER_ID,
                        "name": "Acme account",
                        "client_id": CLIENT_ID,
                        "secret": CLIENT_SECRET,
                        "settings": {"server_url": issuer},
                    }
                ],
            }
        }
        policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)  # as cxm/settings.py does for CXM_OIDC_SERVER_URL
        policy["DIRECTIVES"]["form-action"].append(issuer)
        settings.CONTENT_SECURITY_POLICY = policy
        return issuer

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def provider_sign_in(authorize_url: str, login: str) -> str:
    """Sign in on the provider's page as `login`; return where the provider sends the browser back."""
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=10)
    action = unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
    response = browser.post(
        urljoin(page.url, action), data={"prompt": "login", "login": login, "password": "any"}, allow_redirects=False
    )
    while response.is_redirect:
        location = urljoin(response.url, response.headers["Location"])
        if not location.startswith("http://127.0.0.1"):
            return location
        response = browser.get(location, allow_redirects=False, timeout=10)
    raise AssertionError(f"the provider did not send the browser back: {response.status_code} {response.text[:300]}")
