"""The customer page: the score card and the continuum of every experience, paginated."""

import pytest

from customers.queries import PAGE_SIZE
from tests.dashboard_data import experience, log, two_departments
from tests.factories import CustomerFactory, TouchpointFactory
from touchpoints.models import Touchpoint


@pytest.fixture
def acme(db, django_capture_on_commit_callbacks):
    logistics, billing, delivery, invoice, users = two_departments()
    advert = TouchpointFactory(code="advert", name="Advert", owner=billing, stage="perception")
    customer = CustomerFactory(external_id="ACME-1", name="Acme Ltd")
    log(
        django_capture_on_commit_callbacks,
        experience(customer, advert, "positive", days_ago=30, emotion="surprised"),
        experience(customer, delivery, "negative", days_ago=3, note="Parcel arrived crushed"),
        experience(customer, invoice, "neutral", days_ago=1, stage="remembrance"),
        user=users["admin"],
    )
    return customer, users


def test_timeline_lists_every_stage_and_department_newest_first(client, acme):
    customer, users = acme
    client.force_login(users["manager"])
    entries = client.get("/customers/ACME-1/").context["page"].entries
    assert [(e["touchpoint__name"], e["stage"]) for e in entries] == [
        ("Clear invoice", "remembrance"),
        ("On-time delivery", "interaction"),
        ("Advert", "perception"),
    ]


def test_score_card_shows_the_debt_with_what_it_means(client, acme):
    _customer, users = acme
    client.force_login(users["manager"])
    page = client.get("/customers/ACME-1/").content.decode()
    assert "Recovery debt" in page
    assert "standard positive experiences (intensity 3) still owed" in page


def test_notes_are_escaped(client, acme, django_capture_on_commit_callbacks):
    customer, users = acme
    log(
        django_capture_on_commit_callbacks,
        experience(customer, Touchpoint.objects.get(code="on-time-delivery"), "negative", note="<script>x()</script>"),
    )
    client.force_login(users["admin"])
    page = client.get("/customers/ACME-1/").content.decode()
    assert "<script>x()</script>" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page


def test_period_narrows_the_timeline(client, acme):
    _customer, users = acme
    client.force_login(users["admin"])
    entries = client.get("/customers/ACME-1/?period=7").context["page"].entries
    assert len(entries) == 2


def test_long_history_is_paginated_without_gaps(client, acme, django_capture_on_commit_callbacks):
    customer, users = acme
    delivery = Touchpoint.objects.get(code="on-time-delivery")
    log(
        django_capture_on_commit_callbacks,
        *[experience(customer, delivery, "positive", days_ago=5 + i / 24) for i in range(PAGE_SIZE)],
    )
    client.force_login(users["admin"])
    first = client.get("/customers/ACME-1/").context["page"]
    second = client.get("/customers/ACME-1/", {"before": first.next_cursor}).context["page"]
    seen = [e["id"] for e in first.entries + second.entries]
    assert len(seen) == len(set(seen)) == PAGE_SIZE + 3
    assert second.next_cursor is None


def test_a_cursor_that_is_not_one_shows_the_newest_page(client, acme):
    _customer, users = acme
    client.force_login(users["admin"])
    response = client.get("/customers/ACME-1/", {"before": "nonsense"})
    assert response.status_code == 200
    assert len(response.context["page"].entries) == 3


def test_unknown_customer_is_not_found(client, acme):
    _customer, users = acme
    client.force_login(users["admin"])
    assert client.get("/customers/NOPE/").status_code == 404


def test_export_holds_every_experience_of_the_customer(client, acme):
    _customer, users = acme
    client.force_login(users["admin"])
    body = b"".join(client.get("/customers/ACME-1/?export=experiences").streaming_content).decode()
    assert body.count("\n") == 4
    assert "Parcel arrived crushed" in body


def test_customer_page_needs_few_queries(client, acme, django_assert_max_num_queries):
    _customer, users = acme
    client.force_login(users["manager"])
    with django_assert_max_num_queries(20):
        assert client.get("/customers/ACME-1/").status_code == 200


def test_an_unknown_export_names_the_one_there_is(client, acme):
    _customer, users = acme
    client.force_login(users["admin"])
    response = client.get("/customers/ACME-1/?export=scores")
    assert response.status_code == 400
    assert "choose export=experiences" in response.content.decode()


def test_timeline_has_no_segment_filter(client, acme):
    _customer, users = acme
    client.force_login(users["manager"])
    response = client.get("/customers/ACME-1/?segment=anything")
    assert response.status_code == 200
    assert len(response.context["page"].entries) == 3
    assert 'name="segment"' not in response.content.decode()
