"""demo-manager opens every dashboard page in headless Chromium: charts draw, filters work, nothing leaves the app."""

import io
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core.management import call_command

from accounts import access
from experiences.demo import DEMO_USERS
from scoring.queries import customers_at_risk
from touchpoints.models import Department

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CANVAS_DREW = """canvas => {
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] !== 0) return true; }
    return false;
}"""


@pytest.fixture
def manager(live_server, page, log_in):
    """The demo data set (small) and demo-manager logged in; every request and console error is recorded."""
    call_command("seed_demo", customers=150, experiences=2500, stdout=io.StringIO())
    demo = next(user for user in DEMO_USERS if user.username == "demo-manager")
    seen = {"hosts": set(), "errors": []}
    page.on("request", lambda request: seen["hosts"].add(urlparse(request.url).netloc))
    page.on("console", lambda message: message.type == "error" and seen["errors"].append(message.location["url"]))
    log_in(demo.username, demo.password)
    seen["errors"].clear()  # the login page is not under test here
    return seen


def pages_of_demo_manager() -> dict[str, str]:
    logistics = Department.objects.get(code="logistics")
    customer = customers_at_risk(limit=1, department_ids=[logistics.pk])[0].customer
    journey = access.journeys(access.Reader(role="manager", department_ids=frozenset({logistics.pk}))).first()
    return {
        "dashboard-company": "/dashboards/?period=365",
        "dashboard-department": "/dashboards/logistics/?period=90",
        "customer-timeline": f"/customers/{customer.external_id}/",
        "journey-map": f"/journeys/{journey.slug}/?period=90",
    }


# What sticks out of the page (outside any scroll box), to say what to fix when something does.
WIDER_THAN_THE_PAGE = """() => {
    const width = document.documentElement.clientWidth + 1;
    const clipped = e => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
        if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
    return [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > width && !clipped(e))
        .map(e => e.tagName + '.' + e.className + ':' + (e.textContent || '').trim().slice(0, 40)).slice(-5);
}"""


def assert_charts_drew(page) -> None:
    canvases = page.locator("canvas[data-chart]")
    assert canvases.count() >= 1
    for i in range(canvases.count()):
        assert canvases.nth(i).evaluate(CANVAS_DREW), f"chart {i} is blank"


@pytest.mark.parametrize("width", [1280, 375])
def test_every_page_draws_its_charts_and_stays_on_the_app(page, manager, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    for name, url in pages_of_demo_manager().items():
        page.goto(url)
        page.wait_for_function("() => window.Chart && document.querySelector('canvas[data-chart]')")
        assert_charts_drew(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        wide = page.evaluate(WIDER_THAN_THE_PAGE)
        assert overflow <= 1, f"{name} scrolls sideways at {width} px: {wide}"
        phone = width <= 375  # the phone shot shows the first screen, as a phone user sees it
        page.screenshot(path=str(SCREENSHOTS / f"{name}{'-375' if phone else ''}.png"), full_page=not phone)
    assert manager["hosts"] == {urlparse(live_server.url).netloc}
    assert manager["errors"] == []


def test_changing_the_period_changes_the_numbers_without_reloading(page, manager):
    page.goto("/dashboards/logistics/?period=7")
    tile = page.locator(".dash-tile").nth(1).locator(".dash-tile-value")
    week = tile.inner_text()
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Period", exact=True).select_option("365")
    page.wait_for_url("**/dashboards/logistics/?period=365*")
    page.wait_for_function(f"() => document.querySelectorAll('.dash-tile-value')[1].innerText !== {week!r}")
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the figures in place
    assert int(tile.inner_text().replace(",", "")) > int(week.replace(",", ""))
    assert_charts_drew(page)
    assert manager["errors"] == []


def test_a_shared_link_opens_the_same_filtered_view(page, manager):
    page.goto("/dashboards/logistics/?period=custom&start=2026-01-01&end=2026-01-31&stage=interaction")
    assert page.get_by_label("Period", exact=True).input_value() == "custom"
    assert page.get_by_label("Stage", exact=True).input_value() == "interaction"
    assert "(31 days)" in page.locator(".dash-period").first.inner_text()


def test_changing_the_segment_changes_the_numbers_and_the_exports(page, manager):
    page.goto("/dashboards/logistics/?period=365")
    tile = page.locator(".dash-tile").nth(1).locator(".dash-tile-value")
    everyone = tile.inner_text()
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Segment", exact=True).select_option("enterprise")
    page.wait_for_url("**/dashboards/logistics/?period=365*segment=enterprise*")
    page.wait_for_function(f"() => document.querySelectorAll('.dash-tile-value')[1].innerText !== {everyone!r}")
    assert page.evaluate("window.notReloaded") is True
    assert 0 < int(tile.inner_text().replace(",", "")) < int(everyone.replace(",", ""))
    assert "segment=enterprise" in page.locator("a.dash-export").first.get_attribute("href")
    assert_charts_drew(page)
    assert manager["errors"] == []
