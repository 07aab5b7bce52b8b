"""The customer-segment filter of the company and department pages and their CSV exports."""

import csv
import io

import pytest

from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory


@pytest.fixture
def segments(db, django_capture_on_commit_callbacks):
    """Yesterday at Logistics: a small business hurt once, an enterprise pleased twice; Billing hurt the enterprise."""
    logistics, billing, delivery, invoice, users = two_departments()
    small = CustomerFactory(external_id="SMB-1", name="Corner Shop", segment="small-business")
    big = CustomerFactory(external_id="ENT-1", name="Big Corp", segment="enterprise")
    log(
        django_capture_on_commit_callbacks,
        experience(small, delivery, "negative", intensity=4),
        experience(big, delivery, "positive"),
        experience(big, delivery, "positive", intensity=5),
        experience(big, invoice, "negative"),
        user=users["manager"],
    )
    return users


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_department_figures_count_only_the_chosen_segment(client, segments):
    client.force_login(segments["manager"])
    every = client.get("/dashboards/logistics/?period=7").context["report"]
    enterprise = client.get("/dashboards/logistics/?period=7&segment=enterprise").context["report"]
    small = client.get("/dashboards/logistics/?period=7&segment=small-business").context["report"]
    assert (every.experiences, enterprise.experiences, small.experiences) == (3, 2, 1)
    assert (enterprise.index, small.index) == (100, 0)


def test_segment_and_stage_filters_combine(client, segments):
    client.force_login(segments["manager"])
    report = client.get("/dashboards/logistics/?period=7&segment=enterprise&stage=perception").context["report"]
    assert report.experiences == 0


def test_customers_at_risk_are_those_of_the_chosen_segment(client, segments):
    client.force_login(segments["admin"])
    small = client.get("/dashboards/logistics/?segment=small-business").context["at_risk"]
    enterprise = client.get("/dashboards/logistics/?segment=enterprise").context["at_risk"]
    assert [s.customer.external_id for s in small] == ["SMB-1"]
    assert enterprise == []


def test_company_ranking_follows_the_segment(client, segments):
    client.force_login(segments["admin"])
    ranking = client.get("/dashboards/?period=7&segment=enterprise").context["ranking"]
    figures = {row.department.code: (row.report.experiences, row.report.negatives) for row, *_ in ranking}
    assert figures == {"logistics": (2, 0), "billing": (1, 1)}


def test_company_total_follows_the_segment(client, segments):
    client.force_login(segments["admin"])
    total = client.get("/dashboards/?period=7&segment=small-business").context["total"]
    assert (total.experiences, total.negatives) == (1, 1)


def test_the_segment_select_offers_every_existing_segment_and_keeps_the_choice(client, segments):
    client.force_login(segments["manager"])
    page = client.get("/dashboards/logistics/?segment=enterprise").content.decode()
    assert '<option value="">All segments</option>' in page
    assert '<option value="enterprise" selected>enterprise</option>' in page
    assert '<option value="small-business">small-business</option>' in page
    assert "customers of segment enterprise" in page


def test_links_to_other_pages_keep_the_segment(client, segments):
    client.force_login(segments["admin"])
    page = client.get("/dashboards/?period=7&segment=enterprise").content.decode()
    assert 'href="/dashboards/logistics/?period=7&amp;segment=enterprise"' in page


def test_an_unknown_segment_says_what_to_fix(client, segments):
    client.force_login(segments["manager"])
    response = client.get("/dashboards/logistics/?segment=nobody")
    assert response.status_code == 400
    assert "No customer is in the segment nobody; choose one from the list." in response.content.decode()


def test_experience_export_holds_only_the_segment_customers(client, segments):
    client.force_login(segments["manager"])
    response = client.get("/dashboards/logistics/?period=7&segment=enterprise&export=experiences")
    rows = csv_rows(response)
    assert [r[1] for r in rows[1:]] == ["ENT-1", "ENT-1"]
    assert response["Content-Disposition"].endswith('-enterprise.csv"')


def test_table_export_follows_the_segment(client, segments):
    client.force_login(segments["manager"])
    small = csv_rows(client.get("/dashboards/logistics/?period=7&segment=small-business&export=moments"))
    enterprise = csv_rows(client.get("/dashboards/logistics/?period=7&segment=enterprise&export=moments"))
    assert [r[0] for r in small[1:]] == ["On-time delivery"]
    assert enterprise[1:] == []


def test_company_export_follows_the_segment(client, segments):
    client.force_login(segments["admin"])
    rows = csv_rows(client.get("/dashboards/?period=7&segment=small-business&export=experiences"))
    assert {r[1] for r in rows[1:]} == {"SMB-1"}


@pytest.mark.parametrize(
    "url", ["/dashboards/?period=365&segment=enterprise", "/dashboards/logistics/?segment=enterprise"]
)
def test_a_segment_keeps_the_pages_to_few_queries(client, segments, django_assert_max_num_queries, url):
    client.force_login(segments["admin"])
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200


def test_a_segment_name_is_shown_as_text(client, segments):
    CustomerFactory(external_id="VIP-1", segment="<b>vip</b>")
    client.force_login(segments["manager"])
    page = client.get("/dashboards/logistics/", {"segment": "<b>vip</b>"}).content.decode()
    assert "customers of segment &lt;b&gt;vip&lt;/b&gt;" in page
    assert "<b>vip</b>" not in page
