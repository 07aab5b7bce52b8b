"""The daily rollups follow a customer's current segment: every way of changing it re-rolls their days."""

import pytest
from django.db.models import Sum

from customers.services import save_customer, upsert_customer
from integrations.models import Scope
from scoring.models import DailyRollup, DayMark
from tests.api import key_client
from tests.dashboard_data import experience, log
from tests.factories import CustomerFactory, UserFactory


@pytest.fixture
def history(customer, touchpoint, django_capture_on_commit_callbacks):
    """ACME-1 (segment smb): a negative 3 days ago and a positive 40 days ago, already rolled up."""
    log(
        django_capture_on_commit_callbacks,
        experience(customer, touchpoint, "negative", days_ago=3),
        experience(customer, touchpoint, "positive", days_ago=40),
    )
    return customer


def experiences_by_segment() -> dict[str, int]:
    rows = DailyRollup.objects.values("segment").annotate(n=Sum("experiences"))
    return {row["segment"]: row["n"] for row in rows}


def test_the_rollups_count_each_experience_under_its_customer_segment(history):
    assert experiences_by_segment() == {"smb": 2}


def test_an_api_upsert_moves_the_customer_history_to_the_new_segment(history, django_capture_on_commit_callbacks):
    api = key_client(Scope.CUSTOMERS_WRITE)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch("/api/v1/customers/ACME-1/", {"segment": "enterprise"}, format="json")
    assert response.status_code == 200
    assert experiences_by_segment() == {"enterprise": 2}


def test_a_customer_sent_with_an_experience_moves_their_history_too(
    history, touchpoint, django_capture_on_commit_callbacks
):
    moved = {"external_id": "ACME-1", "name": "Acme Ltd", "segment": "enterprise"}
    log(
        django_capture_on_commit_callbacks, experience(history, touchpoint, "neutral", days_ago=1) | {"customer": moved}
    )
    assert experiences_by_segment() == {"enterprise": 3}


def test_an_edit_by_hand_moves_the_history_too(history, django_capture_on_commit_callbacks):
    history.segment = ""
    with django_capture_on_commit_callbacks(execute=True):
        save_customer(customer=history)
    assert experiences_by_segment() == {"": 2}


def test_an_edit_in_the_admin_moves_the_history_too(history, client, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(username="root", role="admin", is_staff=True, is_superuser=True))
    form = {
        "external_id": "ACME-1",
        "name": "Acme Ltd",
        "email": "",
        "segment": "public",
        "relationship_level": "communication",
        "language": "en",
        "category_spend": "",
        "our_revenue": "",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/customers/customer/{history.pk}/change/", form)
    assert response.status_code == 302
    assert experiences_by_segment() == {"public": 2}


def test_a_new_segment_marks_exactly_the_days_of_that_customer(history, touchpoint, django_capture_on_commit_callbacks):
    other = CustomerFactory(external_id="OTHER-1", segment="smb")
    log(django_capture_on_commit_callbacks, experience(other, touchpoint, "positive", days_ago=10))
    with django_capture_on_commit_callbacks(execute=False):  # no rescore: look at the marks it would work off
        upsert_customer(external_id="ACME-1", values={"segment": "enterprise"})
    assert set(DayMark.objects.values_list("day", flat=True)) == set(
        history.experiences.values_list("occurred_on", flat=True)
    )


def test_an_unchanged_segment_marks_nothing(history, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        upsert_customer(external_id="ACME-1", values={"name": "Acme Group", "segment": "smb"})
    assert not DayMark.objects.exists()


def test_the_department_page_follows_a_segment_change(client, history, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(username="ada", role="admin"))
    with django_capture_on_commit_callbacks(execute=True):
        upsert_customer(external_id="ACME-1", values={"segment": "enterprise"})
    report = client.get("/dashboards/logistics/?period=7&segment=enterprise").context["report"]
    assert (report.experiences, report.negatives) == (1, 1)
