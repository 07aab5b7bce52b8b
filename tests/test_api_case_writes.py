"""POST /api/v1/cases/{id}/assign/, comments/ and resolve/: integrations work cases as the case page does."""

import pytest
from rest_framework.test import APIClient

from feedback.models import Case, CaseStatus
from integrations.models import Scope, WebhookSubscription
from integrations.services import create_api_key

from .api import key_client
from .factories import DepartmentFactory, UserFactory
from .test_case_pages import case, manager, other_case  # noqa: F401 - fixtures
from .test_webhooks import SECRET, Receiver

pytestmark = pytest.mark.usefixtures("staff_user")


def url(case, step):  # noqa: F811 - a case, not the fixture
    return f"/api/v1/cases/{case.pk}/{step}/"


def billing_key(*scopes) -> APIClient:
    """A key limited to the Billing department, like a manager of Billing."""
    _key, secret = create_api_key(name="billing crm", scopes=scopes, departments=["billing"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def crm():
    _key, secret = create_api_key(name="crm", scopes=[Scope.CASES_WRITE])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def hook(settings):
    settings.CXM_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    WebhookSubscription.objects.create(url=receiver.url, events=["case.assigned", "case.resolved"], secret=SECRET)
    yield receiver
    receiver.close()


def test_a_key_assigns_comments_and_resolves_and_the_case_page_says_the_key_did(
    crm,
    case,  # noqa: F811 - the fixture
    manager,  # noqa: F811 - the fixture
    client,
):
    assigned = crm.post(url(case, "assign"), {"assignee": "ana"}, format="json")
    assert assigned.status_code == 200, assigned.json()
    assert (assigned.json()["id"], assigned.json()["assignee"]) == (case.pk, "ana")
    commented = crm.post(url(case, "comments"), {"text": "Called Mrs Acme, a new parcel leaves today"}, format="json")
    assert commented.status_code == 201, commented.json()
    assert commented.json()["status"] == "open"
    resolved = crm.post(url(case, "resolve"), {"resolution": "Replaced the parcel"}, format="json")
    assert resolved.status_code == 200, resolved.json()
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "Replaced the parcel")
    assert resolved.json()["resolved_at"] is not None

    client.force_login(manager)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Assigned to ana" in page
    assert "Called Mrs Acme, a new parcel leaves today" in page
    assert "Replaced the parcel" in page
    assert page.count("API key crm") == 4  # assigned and resolved in the history, the comment, "Resolved"


def test_assigning_and_resolving_through_the_api_are_announced(
    crm,
    case,  # noqa: F811 - the fixture
    hook,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        crm.post(url(case, "assign"), {"assignee": "ana"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        crm.post(url(case, "resolve"), {"resolution": "Refunded the delivery fee"}, format="json")
    assigned, resolved = hook.verified_bodies()
    assert (assigned["event"], assigned["data"]["id"]) == ("case.assigned", case.pk)
    assert assigned["data"]["assignee"] == "ana"
    assert (resolved["event"], resolved["data"]["resolution"]) == ("case.resolved", "Refunded the delivery fee")


def test_the_assignee_hears_of_a_case_an_integration_gave_them(crm, case, staff_user):  # noqa: F811
    crm.post(url(case, "assign"), {"assignee": "ana"}, format="json")
    assert staff_user.notices.get().case_id == case.pk


def test_unassigning_leaves_the_case_to_nobody(crm, case, staff_user):  # noqa: F811
    crm.post(url(case, "assign"), {"assignee": "ana"}, format="json")
    response = crm.post(url(case, "assign"), {"assignee": None}, format="json")
    assert (response.status_code, response.json()["assignee"]) == (200, None)


@pytest.mark.parametrize(
    ("step", "body"),
    [("assign", {"assignee": "ana"}), ("comments", {"text": "Called"}), ("resolve", {"resolution": "Called"})],
)
def test_a_key_that_only_reads_cases_may_not_work_them(case, step, body):  # noqa: F811
    response = key_client(Scope.CASES_READ).post(url(case, step), body, format="json")
    assert response.status_code == 403
    assert "cases:write" in response.json()["detail"]
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN and not case.comments.exists()


@pytest.mark.parametrize(
    ("step", "body"),
    [("assign", {"assignee": None}), ("comments", {"text": "Called"}), ("resolve", {"resolution": "Called"})],
)
def test_a_key_limited_to_billing_works_billing_cases_only(case, other_case, step, body):  # noqa: F811
    client = billing_key(Scope.CASES_WRITE)
    assert client.post(url(case, step), body, format="json").status_code == 404
    assert client.post(url(other_case, step), body, format="json").status_code in (200, 201)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN and not case.comments.exists()


def test_the_assignee_must_work_in_the_cases_department(crm, case):  # noqa: F811
    UserFactory(username="bill", role="staff", departments=[DepartmentFactory(code="billing", name="Billing")])
    UserFactory(username="gone", role="staff", departments=[case.department], is_active=False)
    for username in ("bill", "gone", "nobody-here"):
        response = crm.post(url(case, "assign"), {"assignee": username}, format="json")
        assert response.status_code == 400
        assert response.json()["errors"]["assignee"] == [f"no active member of Logistics has the username '{username}'"]
    assert Case.objects.get(pk=case.pk).assignee is None


def test_a_resolved_case_is_a_conflict_for_resolve_and_assign(crm, case):  # noqa: F811
    crm.post(url(case, "resolve"), {"resolution": "Called back"}, format="json")
    again = crm.post(url(case, "resolve"), {"resolution": "Called again"}, format="json")
    assert (again.status_code, again.json()["detail"]) == (409, "this case is already resolved")
    assigned = crm.post(url(case, "assign"), {"assignee": "ana"}, format="json")
    assert assigned.status_code == 409
    case.refresh_from_db()
    assert (case.resolution, case.assignee) == ("Called back", None)
    assert crm.post(url(case, "comments"), {"text": "Customer thanked us"}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("step", "body", "field"),
    [
        ("assign", {"assignee": 7}, "assignee"),
        ("assign", {}, "assignee"),
        ("assign", {"assignee": ["ana"]}, "assignee"),
        ("comments", {"text": ""}, "text"),
        ("comments", {"text": "   "}, "text"),
        ("comments", {"text": "a\u0000b"}, "text"),
        ("comments", {"text": {"en": "hi"}}, "text"),
        ("comments", {"body": "the page's field name"}, "text"),
        ("resolve", {"resolution": "x" * 4001}, "resolution"),
        ("resolve", {"resolution": None}, "resolution"),
        ("resolve", {"resolution": True}, "resolution"),
        ("resolve", ["Called"], "non_field_errors"),
    ],
)
def test_bad_input_is_a_json_400_naming_the_field(crm, case, step, body, field):  # noqa: F811
    response = crm.post(url(case, step), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert response.json()["detail"]
    case.refresh_from_db()
    assert (case.status, case.assignee, case.comments.count()) == ("open", None, 0)


def test_a_body_that_is_not_json_is_refused_as_json(crm, case):  # noqa: F811
    malformed = crm.post(url(case, "resolve"), b"{resolution", content_type="application/json")
    assert malformed.status_code == 400 and "detail" in malformed.json()
    form = crm.post(url(case, "resolve"), {"resolution": "Called"})  # a form, not JSON
    assert form.status_code == 415 and "detail" in form.json()


def test_the_case_page_refuses_to_assign_a_resolved_case_and_says_why(client, manager, case):  # noqa: F811
    client.force_login(manager)
    client.post(f"/cases/{case.pk}/resolve/", {"resolution": "Called back"})
    response = client.post(f"/cases/{case.pk}/assign/", {"assignee": manager.pk})
    assert response.status_code == 400
    assert "this case is already resolved" in response.content.decode()


def test_a_manager_on_the_browsable_api_comments_as_themselves(case, manager):  # noqa: F811
    client = APIClient()
    client.force_login(manager)
    assert client.post(url(case, "comments"), {"text": "Spoke to the driver"}, format="json").status_code == 201
    comment = case.comments.get()
    assert (comment.author, comment.api_key) == (manager, None)
