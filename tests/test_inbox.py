"""The inbox: everyone who must act on a case finds it there, hears of it, and the history keeps every step."""

from datetime import timedelta

import pytest
from django.utils import timezone

from experiences.services import record_experiences
from feedback.models import Case, CaseStatus, Notice

from .factories import CustomerFactory, DepartmentFactory, UserFactory
from .test_case_pages import open_case


@pytest.fixture
def production(db):
    return DepartmentFactory(code="production", name="Production")


@pytest.fixture
def people(department, production):
    return {
        "manager": UserFactory(username="mara", role="manager", departments=[department], email="mara@example.com"),
        "staff": UserFactory(username="ana", role="staff", departments=[department], email="ana@example.com"),
        "production_manager": UserFactory(
            username="pat", role="manager", departments=[production], email="pat@example.com"
        ),
        "production_staff": UserFactory(
            username="pia", role="staff", departments=[production], email="pia@example.com"
        ),
    }


@pytest.fixture
def case(customer, touchpoint):
    return open_case(customer, touchpoint, note="Truck came two days late")


def test_an_assigned_case_is_in_the_assignees_inbox_with_a_count_in_the_menu_and_an_email(
    client, people, case, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(people["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cases/{case.pk}/assign/", {"assignee": people["staff"].pk})

    assert [m.to for m in mailoutbox] == [["ana@example.com"]]
    assert f"/cases/{case.pk}/" in mailoutbox[0].body
    client.force_login(people["staff"])
    response = client.get("/inbox/")
    assert [row.case.pk for row in response.context["inbox"].mine] == [case.pk]
    body = response.content.decode()
    assert 'class="nav-count"' in body and "was assigned to you" in body
    assert Notice.objects.get(user=people["staff"]).read_at is not None, "the inbox has shown it"


def test_staff_comment_on_and_resolve_the_case_assigned_to_them(client, people, case):
    case.assignee = people["staff"]
    case.save()
    client.force_login(people["staff"])

    assert client.post(f"/cases/{case.pk}/comment/", {"body": "Called the customer"}).status_code == 302
    assert client.post(f"/cases/{case.pk}/resolve/", {"resolution": "Redelivered, apologised"}).status_code == 302

    case.refresh_from_db()
    assert (case.status, case.resolved_by) == (CaseStatus.RESOLVED, people["staff"])


def test_staff_cannot_assign_or_transfer(client, people, case, production):
    client.force_login(people["staff"])

    assert client.post(f"/cases/{case.pk}/assign/", {"assignee": people["staff"].pk}).status_code == 403
    transfer = client.post(f"/cases/{case.pk}/transfer/", {"department": production.pk, "reason": "theirs"})
    assert transfer.status_code == 403


def test_a_transfer_moves_the_case_tells_the_new_managers_and_keeps_the_reason(
    client, people, case, production, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(people["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/cases/{case.pk}/transfer/", {"department": production.pk, "reason": "Loaded late at the plant"}
        )

    assert response.status_code == 302 and response["Location"] == "/inbox/", "no longer Logistics's case"
    case.refresh_from_db()
    assert (case.department, case.assignee) == (production, None)
    assert [m.to for m in mailoutbox] == [["pat@example.com"]]
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    client.force_login(people["production_manager"])
    history = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Transferred from Logistics to Production" in history and "Loaded late at the plant" in history


def test_a_transfer_without_a_reason_says_what_to_fix(client, people, case, production):
    client.force_login(people["manager"])

    response = client.post(f"/cases/{case.pk}/transfer/", {"department": production.pk, "reason": " "})

    assert response.status_code == 400
    assert "Say why the case moves" in response.content.decode()
    assert Case.objects.get(pk=case.pk).department_id != production.pk


def test_a_manager_opens_a_case_by_hand_from_the_customer_page(
    client, people, customer, touchpoint, django_capture_on_commit_callbacks
):
    client.force_login(people["manager"])
    mild = {"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": "negative", "intensity": 2}
    with django_capture_on_commit_callbacks(execute=True):
        record_experiences(items=[mild], source="form")
    assert not Case.objects.exists()
    assert "Open a case for this customer" in client.get(f"/customers/{customer.external_id}/").content.decode()

    response = client.post("/cases/open/", {"customer": customer.external_id})

    case = Case.objects.get()
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.events.get().note == "opened by hand" and case.events.get().actor == people["manager"]
    assert client.post("/cases/open/", {"experience": case.experience_id})["Location"] == f"/cases/{case.pk}/"
    assert Case.objects.count() == 1


def test_opening_a_case_for_another_departments_customer_is_404(client, people, customer, touchpoint):
    client.force_login(people["production_manager"])
    record_experiences(
        items=[{"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": "negative"}], source="form"
    )
    assert client.post("/cases/open/", {"customer": customer.external_id}).status_code == 404


@pytest.mark.parametrize("scale", [1, 10])
def test_the_inbox_costs_the_same_queries_whatever_the_number_of_cases(
    client, people, touchpoint, django_assert_num_queries, scale
):
    for n in range(5 * scale):
        case = open_case(CustomerFactory(external_id=f"C-{n}"), touchpoint)
        if n % 2:
            past = timezone.now() - timedelta(hours=1)
            Case.objects.filter(pk=case.pk).update(
                assignee=people["staff"], opened_at=past - timedelta(hours=48), due_at=past
            )
    client.force_login(people["staff"])

    # session, user, departments (access gate), mine, others, notices, mark read, menu count
    with django_assert_num_queries(8):
        response = client.get("/inbox/")

    mine = response.context["inbox"].mine
    assert len(mine) == min(len(range(1, 5 * scale, 2)), 50) and all(row.overdue for row in mine)


def test_an_escalation_reaches_the_managers_inbox_and_the_history(people, case):
    from feedback.services import escalate_overdue_cases  # noqa: PLC0415

    escalate_overdue_cases(now=case.due_at + timedelta(minutes=1))

    notice = Notice.objects.get(user=people["manager"])
    assert (notice.case, notice.kind) == (case, "escalated")
    assert list(case.events.values_list("kind", flat=True)) == ["opened", "escalated"]
