"""A clerk logs an experience with the keyboard alone, on a desk and on a 375 px phone."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from customers.models import Customer
from experiences.demo import DEMO_USERS
from experiences.models import Experience

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "log-form.png"
POSITIVE_GREEN = "rgb(27, 127, 59)"  # --cxm-positive in static/css/cxm.css


@pytest.fixture
def demo_staff(live_server):
    """The demo data set, small; returns demo-staff's username and password."""
    call_command("seed_demo", customers=30, experiences=100, stdout=io.StringIO())
    staff = next(user for user in DEMO_USERS if user.username == "demo-staff")
    return staff.username, staff.password


@pytest.mark.parametrize("width", [1280, 375])
def test_staff_logs_an_experience_by_keyboard(page, log_in, demo_staff, width, tmp_path):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(*demo_staff)
    customer = Customer.objects.order_by("external_id").first()

    page.goto("/log/")
    keyboard = page.keyboard
    assert page.evaluate("document.activeElement.id") == "id_customer"
    keyboard.type(customer.name[:5], delay=30)
    page.locator(f'#customer-options option[value="{customer.external_id}"]').wait_for(state="attached")
    keyboard.press("Control+A")
    keyboard.type(customer.external_id)
    page.get_by_text(f"({customer.external_id})").wait_for()
    keyboard.press("Tab")  # "New customer?" stays folded
    keyboard.press("Tab")
    keyboard.press("ArrowDown")  # the first of the user's touchpoints
    touchpoint = page.locator("#id_touchpoint").input_value()
    keyboard.press("Tab")
    keyboard.press("ArrowRight")  # from positive to neutral
    keyboard.press("ArrowRight")  # negative
    keyboard.press("Tab")
    keyboard.press("ArrowRight")  # intensity from 3 to 4
    keyboard.press("Tab")
    keyboard.press("Tab")
    keyboard.press("ArrowRight")  # expectation: missed
    keyboard.press("Tab")
    keyboard.press("Tab")
    keyboard.type("Waited 40 minutes on the phone")
    keyboard.press("Tab")
    keyboard.press("Enter")

    page.wait_for_url("**/log/?recorded=*")
    stored = Experience.objects.get(note="Waited 40 minutes on the phone")
    assert (stored.customer, stored.touchpoint.code) == (customer, touchpoint)
    assert (stored.valence, stored.intensity, stored.expectation) == (-1, 4, "missed")
    assert stored.recorded_by.username == "demo-staff"
    assert page.get_by_role("status").filter(has_text="Recorded").is_visible()
    assert page.get_by_text("Recovery debt").is_visible()
    assert page.evaluate("document.activeElement.id") == "id_customer"
    assert page.locator("#id_customer").input_value() == ""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.locator(".choice-positive span").evaluate("e => getComputedStyle(e).color") == POSITIVE_GREEN
    page.screenshot(path=str(SCREENSHOT if width == 1280 else tmp_path / "log-form-375.png"), full_page=True)
