"""Every department answers for its moments: a late truck reported by customer service reaches
logistics, moves to production, and is resolved there, every step in the case history."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from customers.models import Customer
from experiences.demo import DEMO_USERS
from experiences.models import Experience
from feedback.models import Case
from touchpoints.models import Department

from .factories import UserFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORDS = {user.username: user.password for user in DEMO_USERS}


@pytest.fixture
def demo(live_server):
    """The small demo, and a production staff member who will be given the case."""
    call_command("seed_demo", customers=30, experiences=100, stdout=io.StringIO())
    worker = UserFactory(username="pia", role="staff", departments=[Department.objects.get(code="production")])
    worker.set_password("builds-the-orders-right")
    worker.save()
    PASSWORDS["pia"] = "builds-the-orders-right"
    return live_server


def as_user(browser, live_server, username: str, width: int):
    """A fresh browser context signed in as `username` through the real log-in page."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORDS[username])
    page.press("#id_password", "Enter")
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


@pytest.mark.parametrize("width", [1280, 375])
def test_a_late_truck_reported_by_customer_service_is_resolved_by_production(browser, demo, width):
    customer = Customer.objects.order_by("external_id").first()

    agent = as_user(browser, demo, "demo-staff", width)
    assert agent.url.endswith("/inbox/"), "staff land on their inbox"
    agent.goto("/log/")
    agent.fill("#id_customer", customer.external_id)
    agent.get_by_text(f"({customer.external_id})").wait_for()  # the form has recognised the customer
    agent.select_option("#id_touchpoint", "on-time-delivery")
    for name, value in (("valence", "negative"), ("intensity", "4")):
        button = agent.locator(f'label.choice:has(input[name="{name}"][value="{value}"])')
        button.click()
        expect(button.locator("input")).to_be_checked()
    agent.fill("#id_note", "Truck came two days late")
    agent.click("form.log-form button[type=submit]")
    agent.wait_for_url("**/log/?recorded=*")
    logged = Experience.objects.get(note="Truck came two days late")
    assert (logged.department.code, logged.reported_from_department.code) == ("logistics", "customer-service")
    case = Case.objects.get(experience=logged)

    manager = as_user(browser, demo, "demo-manager", width)
    manager.goto("/dashboards/logistics/?period=7")
    assert manager.get_by_text("Reported by other departments").is_visible()
    assert "Customer service" in manager.locator(".dash-tiles").inner_text()
    manager.goto("/inbox/")
    manager.click(f'a[href="/cases/{case.pk}/"]')
    manager.select_option("#id_department", label="Production")
    manager.fill("#id_reason", "The order left the plant two days late")
    manager.click("text=Transfer case")
    manager.wait_for_url("**/inbox/")

    plant = as_user(browser, demo, "demo-plant", width)
    plant.goto("/inbox/")
    assert plant.get_by_text("was transferred to Production").first.is_visible()
    plant.click(f'a[href="/cases/{case.pk}/"] >> nth=0')
    plant.select_option("#id_assignee", label="pia")
    plant.click("form[action$='/assign/'] button")
    plant.get_by_text("Case assigned.").wait_for()

    worker = as_user(browser, demo, "pia", width)
    assert worker.url.endswith("/inbox/")
    mine = worker.locator("section[aria-labelledby=mine-heading]")
    assert mine.locator(f'a[href="/cases/{case.pk}/"]').is_visible()
    worker.screenshot(path=str(SCREENSHOTS / f"inbox-{width}.png"), full_page=True)
    mine.locator(f'a[href="/cases/{case.pk}/"]').click()
    worker.fill("#id_body", "Called the customer, new slot tomorrow")
    worker.click("text=Add comment")
    worker.fill("#id_resolution", "Redelivered with an apology; plant loading moved earlier")
    worker.click("text=Resolve case")
    worker.get_by_text("Case resolved.").wait_for()

    history = worker.locator("ol.case-history").inner_text()
    steps = ["Opened for Logistics", "Transferred from Logistics to Production", "Assigned to pia", "Resolved"]
    positions = [history.index(step) for step in steps]
    assert positions == sorted(positions), history
    assert "The order left the plant two days late" in history
    worker.screenshot(path=str(SCREENSHOTS / f"case-history-{width}.png"), full_page=True)
    for page in (agent, manager, plant, worker):
        page.context.close()
