"""The department dashboard: figures from the rollups, period and stage filters, exports, bounded queries."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, TouchpointFactory


@pytest.fixture
def logistics(db, django_capture_on_commit_callbacks):
    """Logistics: a bad delivery yesterday, a good one and a failed one 60 days ago."""
    department, billing, delivery, invoice, users = two_departments()
    tracking = TouchpointFactory(code="parcel-tracking", name="Parcel tracking", owner=department, stage="perception")
    customer = CustomerFactory(external_id="ACME-1", name="Acme Ltd")
    log(
        django_capture_on_commit_callbacks,
        experience(customer, delivery, "negative", days_ago=1, intensity=4, emotion="angry", expectation="missed"),
        experience(customer, tracking, "positive", days_ago=2, expectation="met"),
        experience(customer, delivery, "positive", days_ago=60, intensity=5),
        experience(customer, delivery, "neutral", days_ago=61, outcome="failed"),
        experience(customer, invoice, "negative", days_ago=1),
        user=users["manager"],
    )
    return users


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_tiles_count_the_department_experiences_of_the_period(client, logistics):
    client.force_login(logistics["manager"])
    response = client.get("/dashboards/logistics/?period=7")
    assert response.context["report"].experiences == 2
    assert response.context["report"].negatives == 1
    assert "Recovery debt" in response.content.decode()


def test_a_longer_period_changes_the_numbers(client, logistics):
    client.force_login(logistics["manager"])
    week = client.get("/dashboards/logistics/?period=7").context["report"]
    quarter = client.get("/dashboards/logistics/?period=90").context["report"]
    assert (week.experiences, quarter.experiences) == (2, 4)
    assert quarter.index > week.index


def test_custom_period_covers_exactly_its_days(client, logistics):
    client.force_login(logistics["manager"])
    today = timezone.localdate()
    start, end = today - timedelta(days=61), today - timedelta(days=59)
    report = client.get(f"/dashboards/logistics/?period=custom&start={start}&end={end}").context["report"]
    assert (report.experiences, report.failed) == (2, 1)


def test_stage_filter_keeps_only_that_stage(client, logistics):
    client.force_login(logistics["manager"])
    report = client.get("/dashboards/logistics/?period=7&stage=perception").context["report"]
    assert (report.experiences, report.positives) == (1, 1)


def test_an_impossible_period_says_what_to_fix_and_keeps_what_was_typed(client, logistics):
    client.force_login(logistics["manager"])
    response = client.get("/dashboards/logistics/?period=custom&start=2026-03-10&end=2026-03-01")
    page = response.content.decode()
    assert response.status_code == 400
    assert "The From date must be on or before the To date." in page
    assert 'value="2026-03-10"' in page


def test_a_date_that_is_not_one_is_refused_with_its_format(client, logistics):
    client.force_login(logistics["manager"])
    response = client.get("/dashboards/logistics/?period=custom&start=yesterday&end=2026-03-01")
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_filter_change_through_htmx_returns_only_the_figures(client, logistics):
    client.force_login(logistics["manager"])
    response = client.get("/dashboards/logistics/?period=90", headers={"HX-Request": "true"})
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="dash-content">')
    assert "<html" not in page


def test_worst_moments_rank_touchpoints_by_negative_mass(client, logistics):
    client.force_login(logistics["manager"])
    worst = client.get("/dashboards/logistics/?period=7").context["worst"]
    assert [row.name for row in worst] == ["On-time delivery"]


def test_heat_map_places_each_touchpoint_at_its_stage(client, logistics):
    client.force_login(logistics["manager"])
    heat_map = client.get("/dashboards/logistics/?period=7").context["heat_map"]
    cells = {row.name: [cell.experiences if cell else 0 for cell in cells] for row, cells in heat_map}
    assert cells == {"On-time delivery": [0, 1, 0], "Parcel tracking": [1, 0, 0]}


def test_failed_outcomes_list_the_touchpoint_that_failed(client, logistics):
    client.force_login(logistics["manager"])
    failed = client.get("/dashboards/logistics/?period=90").context["failed"]
    assert [(row.name, row.report.failed) for row in failed] == [("On-time delivery", 1)]


def test_at_risk_customers_link_to_their_timeline(client, logistics):
    client.force_login(logistics["manager"])
    page = client.get("/dashboards/logistics/").content.decode()
    assert 'href="/customers/ACME-1/"' in page


def test_staff_activity_names_who_logged_what(client, logistics):
    client.force_login(logistics["manager"])
    activity = client.get("/dashboards/logistics/?period=7").context["activity"]
    assert [(e.who, e.touchpoint) for e in activity] == [("mia", "On-time delivery"), ("mia", "Parcel tracking")]


def test_table_export_holds_the_rows_of_the_table(client, logistics):
    client.force_login(logistics["manager"])
    rows = csv_rows(client.get("/dashboards/logistics/?period=7&export=moments"))
    assert rows[0][0] == "touchpoint"
    assert [r[0] for r in rows[1:]] == ["On-time delivery"]


def test_experience_export_streams_the_experiences_behind_the_filter(client, logistics):
    client.force_login(logistics["manager"])
    response = client.get("/dashboards/logistics/?period=7&export=experiences")
    rows = csv_rows(response)
    assert response["Content-Disposition"].startswith('attachment; filename="cxm-logistics-experiences-')
    assert len(rows) == 3  # header + the two logistics experiences of the week, not billing's
    assert {r[4] for r in rows[1:]} == {"on-time-delivery", "parcel-tracking"}


@pytest.mark.parametrize("period", ["7", "365"])
def test_department_page_needs_few_queries(client, logistics, django_assert_max_num_queries, period):
    client.force_login(logistics["manager"])
    with django_assert_max_num_queries(20):
        assert client.get(f"/dashboards/logistics/?period={period}").status_code == 200


def test_company_page_needs_few_queries(client, logistics, django_assert_max_num_queries):
    client.force_login(logistics["admin"])
    with django_assert_max_num_queries(20):
        assert client.get("/dashboards/?period=365").status_code == 200


def test_company_ranks_departments_by_index(client, logistics):
    client.force_login(logistics["admin"])
    ranking = client.get("/dashboards/?period=7").context["ranking"]
    assert [row.department.code for row, *_ in ranking] == ["logistics", "billing"]


def test_company_shows_the_share_of_each_departments_negatives_reported_by_others(client, logistics):
    client.force_login(logistics["admin"])
    response = client.get("/dashboards/?period=7")
    # The Logistics manager logged the invoice negative: Billing's, reported by Logistics.
    assert {row.department.code: reported for row, _debt, reported in response.context["ranking"]} == {
        "logistics": 0.0,
        "billing": 1.0,
    }
    assert "Negatives reported by others" in response.content.decode()


def test_company_shows_each_department_trend_against_the_previous_period(client, logistics):
    client.force_login(logistics["admin"])
    start = timezone.localdate() - timedelta(days=40)  # the previous 41 days hold the two old experiences
    ranking = client.get(f"/dashboards/?period=custom&start={start}&end={timezone.localdate()}").context["ranking"]
    logistics_row = next(row for row, *_ in ranking if row.department.code == "logistics")
    assert logistics_row.previous.experiences == 2
    assert logistics_row.change is not None


def test_empty_period_says_what_to_do_next(client, logistics):
    client.force_login(logistics["manager"])
    page = client.get("/dashboards/logistics/?period=custom&start=2025-01-01&end=2025-01-31").content.decode()
    assert "No experiences at Logistics" in page
    assert "log one" in page


def test_an_unknown_export_lists_the_tables_there_are(client, logistics):
    client.force_login(logistics["manager"])
    response = client.get("/dashboards/logistics/?export=everything")
    assert response.status_code == 400
    assert "choose export=trend | heat-map | moments" in response.content.decode()
