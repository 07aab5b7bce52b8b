"""/cases/: managers of the department filter, assign, comment and resolve; nobody else gets in."""

import pytest

from experiences.services import record_experiences
from feedback import services
from feedback.models import Case, CaseComment

from .factories import DepartmentFactory, TouchpointFactory, UserFactory


def open_case(customer, touchpoint, note="Parcel arrived broken"):
    result = record_experiences(
        items=[
            {
                "customer": customer.external_id,
                "touchpoint": touchpoint.code,
                "valence": "negative",
                "intensity": 5,
                "note": note,
            }
        ],
        source="form",
    )
    services.open_cases(experience_ids=[result.results[0].id])
    return Case.objects.get(experience_id=result.results[0].id)


@pytest.fixture
def case(customer, touchpoint):
    return open_case(customer, touchpoint)


@pytest.fixture
def manager(department):
    return UserFactory(username="mara", role="manager", departments=[department])


@pytest.fixture
def other_case(customer):
    billing = DepartmentFactory(code="billing", name="Billing")
    return open_case(customer, TouchpointFactory(code="invoice", owner=billing), note="Wrong invoice")


def test_anonymous_visitor_is_sent_to_login(client, case):
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.parametrize("path", ["/cases/", "/cases/answers/", "/ladder/", "/ladder/share-of-wallet/"])
def test_staff_cannot_open_manager_pages(client, staff_user, path):
    client.force_login(staff_user)
    assert client.get(path).status_code == 403


def test_staff_read_an_open_case_of_their_department_but_work_only_their_own(client, staff_user, case):
    client.force_login(staff_user)
    body = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Resolve case" not in body and "Add comment" not in body
    assert client.post(f"/cases/{case.pk}/resolve/", {"resolution": "Called back"}).status_code == 403


def test_manager_sees_the_cases_of_their_department_only(client, manager, case, other_case):
    client.force_login(manager)
    body = client.get("/cases/").content.decode()
    assert f"/cases/{case.pk}/" in body
    assert f"/cases/{other_case.pk}/" not in body


def test_manager_cannot_open_another_departments_case(client, manager, other_case):
    client.force_login(manager)
    assert client.get(f"/cases/{other_case.pk}/").status_code == 404


def test_admin_sees_every_department(client, case, other_case):
    client.force_login(UserFactory(username="root", role="admin"))
    body = client.get("/cases/").content.decode()
    assert f"/cases/{case.pk}/" in body and f"/cases/{other_case.pk}/" in body


def test_filter_by_department(client, case, other_case):
    client.force_login(UserFactory(username="root", role="admin"))
    body = client.get(f"/cases/?department={other_case.department_id}").content.decode()
    assert f"/cases/{other_case.pk}/" in body
    assert f"/cases/{case.pk}/" not in body


def test_filter_resolved_hides_open_cases(client, manager, case):
    client.force_login(manager)
    assert f"/cases/{case.pk}/" not in client.get("/cases/?status=resolved").content.decode()


def test_case_page_shows_the_note_with_its_sentiment(client, manager, case):
    client.force_login(manager)
    body = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Parcel arrived broken" in body
    assert "sentiment valence-negative" in body


def test_manager_assigns_a_member_of_the_department(client, manager, staff_user, case):
    client.force_login(manager)
    client.post(f"/cases/{case.pk}/assign/", {"assignee": staff_user.pk})
    case.refresh_from_db()
    assert case.assignee == staff_user


def test_filter_unassigned_hides_assigned_cases(client, manager, staff_user, case):
    services.assign_case(case=case, assignee=staff_user)
    client.force_login(manager)
    assert f"/cases/{case.pk}/" not in client.get("/cases/?assignee=nobody").content.decode()
    assert f"/cases/{case.pk}/" in client.get("/cases/?assignee=").content.decode()


def test_assigning_someone_outside_the_department_is_refused(client, manager, case):
    outsider = UserFactory(username="otto", role="staff", departments=[DepartmentFactory()])
    client.force_login(manager)
    response = client.post(f"/cases/{case.pk}/assign/", {"assignee": outsider.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    case.refresh_from_db()
    assert case.assignee is None


def test_comment_is_stored_with_author_and_sentiment(client, manager, case):
    client.force_login(manager)
    client.post(f"/cases/{case.pk}/comment/", {"body": "Customer was happy with the refund, great outcome"})
    comment = CaseComment.objects.get()
    assert (comment.author, comment.case) == (manager, case)
    assert comment.sentiment > 0
    assert "sentiment valence-positive" in client.get(f"/cases/{case.pk}/").content.decode()


def test_blank_comment_says_what_to_fix(client, manager, case):
    client.force_login(manager)
    response = client.post(f"/cases/{case.pk}/comment/", {"body": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not CaseComment.objects.exists()


def test_resolve_with_a_note_closes_the_case(client, manager, case):
    client.force_login(manager)
    client.post(f"/cases/{case.pk}/resolve/", {"resolution": "Replaced the parcel and apologised"})
    case.refresh_from_db()
    assert (case.status, case.resolved_by, case.resolution) == (
        "resolved",
        manager,
        "Replaced the parcel and apologised",
    )
    assert case.resolved_at is not None


def test_resolve_without_a_note_is_refused_and_keeps_the_case_open(client, manager, case):
    client.force_login(manager)
    response = client.post(f"/cases/{case.pk}/resolve/", {"resolution": ""})
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status == "open"


def test_resolving_twice_says_it_is_already_resolved(client, manager, case):
    client.force_login(manager)
    client.post(f"/cases/{case.pk}/resolve/", {"resolution": "Done"})
    response = client.post(f"/cases/{case.pk}/resolve/", {"resolution": "Again"})
    assert response.status_code == 400
    assert "already resolved" in response.content.decode()


def test_manager_of_another_department_cannot_resolve(client, manager, other_case):
    client.force_login(manager)
    assert client.post(f"/cases/{other_case.pk}/resolve/", {"resolution": "x"}).status_code == 404
    other_case.refresh_from_db()
    assert other_case.status == "open"


def test_assignee_list_shows_full_names_with_the_username_beside(client, manager, staff_user, case):
    staff_user.first_name, staff_user.last_name = "Ana", "Ruiz"
    staff_user.save()
    client.force_login(manager)

    body = client.get(f"/cases/{case.pk}/").content.decode()

    assert f'<option value="{staff_user.pk}">Ana Ruiz (ana)</option>' in body
