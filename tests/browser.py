"""Shared Playwright fixtures: Debian's headless Chromium driving the app through `live_server`.

Registered in tests/conftest.py with `pytest_plugins = ["tests.browser"]`. Tests that use
them carry `@pytest.mark.browser` and need the `live_server` fixture (transactional).
"""

import os
from collections.abc import Callable, Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One Chromium for the whole run; a test gets its own context through `page`."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian package chromium)")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls that tests make
    # between browser steps are plain synchronous code, so Django's async guard is lifted.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh page (own cookies) on a desk-sized window; resize with `page.set_viewport_size`.

    Any JavaScript error on the page fails the test.
    """
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    yield new_page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def log_in(page) -> Callable[[str, str], None]:
    """Log in through the real login page by keyboard, and wait for the page it leads to."""

    def log_in_as(username: str, password: str) -> None:
        page.goto("/login/")
        assert page.evaluate("document.activeElement.name") == "username", "the login page must focus Username"
        page.keyboard.type(username)
        page.keyboard.press("Tab")
        page.keyboard.type(password)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/login/" not in url)

    return log_in_as
