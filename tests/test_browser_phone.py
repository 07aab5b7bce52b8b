"""On a phone the menu and the dashboard filters fold away; on a desk they are simply there."""

import pytest

from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def manager(transactional_db):
    logistics = DepartmentFactory(code="logistics", name="Logistics")
    return UserFactory(username="mia", role="manager", departments=[logistics])


def test_on_a_phone_the_menu_folds_behind_one_button(manager, page, log_in):
    page.set_viewport_size({"width": 375, "height": 800})
    log_in("mia", "correct-horse-battery")

    menu_button = page.get_by_role("button", name="Menu")
    assert not page.get_by_role("link", name="Your settings").is_visible()
    assert page.locator(".site-header").bounding_box()["height"] < 80, "the closed menu takes one line"
    menu_button.focus()
    page.keyboard.press("Enter")

    assert menu_button.get_attribute("aria-expanded") == "true"
    assert page.get_by_role("link", name="Your settings").is_visible()


def test_on_a_desk_the_menu_is_open_and_has_no_button(manager, page, log_in):
    log_in("mia", "correct-horse-battery")

    assert not page.get_by_role("button", name="Menu").is_visible()
    assert page.get_by_role("link", name="Your settings").is_visible()


def test_on_a_phone_the_filters_fold_behind_a_line_that_names_the_active_filter(manager, page, log_in):
    page.set_viewport_size({"width": 375, "height": 800})
    log_in("mia", "correct-horse-battery")
    page.goto("/dashboards/logistics/?period=custom&start=2026-01-05&end=2026-01-11&stage=remembrance")

    summary = page.locator(".dash-filter-fold summary")
    assert "5 January 2026 to 11 January 2026 (7 days) · Remembrance" in summary.inner_text()
    assert not page.locator(".dash-filters").is_visible()
    summary.click()
    page.select_option("select[name=stage]", "perception")

    page.wait_for_function("() => document.getElementById('dash-filter-summary').innerText.includes('Perception')")
