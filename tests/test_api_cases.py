"""GET /api/v1/cases/: recovery cases for integrations, limited like the case pages."""

from rest_framework.test import APIClient

from integrations.models import Scope

from .api import key_client
from .test_case_pages import case, manager, other_case  # noqa: F401 - fixtures

URL = "/api/v1/cases/"


def test_key_with_cases_read_lists_every_case_newest_first(case, other_case):  # noqa: F811
    body = key_client(Scope.CASES_READ).get(URL).json()
    assert [c["id"] for c in body["results"]] == [other_case.pk, case.pk]
    first = body["results"][1]
    assert (first["customer"], first["department"], first["status"], first["overdue"]) == (
        "ACME-1",
        "logistics",
        "open",
        False,
    )
    assert first["experience"] == case.experience_id


def test_cases_filter_by_department_and_status(case, other_case):  # noqa: F811
    client = key_client(Scope.CASES_READ)
    assert [c["id"] for c in client.get(URL, {"department": "billing"}).json()["results"]] == [other_case.pk]
    assert client.get(URL, {"status": "resolved"}).json()["results"] == []
    assert client.get(URL, {"status": "maybe"}).status_code == 400


def test_a_manager_reads_only_the_cases_of_their_departments(manager, case, other_case):  # noqa: F811
    client = APIClient()
    client.force_login(manager)
    assert [c["id"] for c in client.get(URL).json()["results"]] == [case.pk]
    assert client.get(f"{URL}{other_case.pk}/").status_code == 404
    assert client.get(f"{URL}{case.pk}/").json()["id"] == case.pk


def test_a_key_without_cases_read_is_refused(case):  # noqa: F811
    response = key_client(Scope.EXPERIENCES_READ).get(URL)
    assert response.status_code == 403
    assert "cases:read" in response.json()["detail"]


def test_case_list_takes_three_queries(case, other_case, django_assert_num_queries):  # noqa: F811
    client = key_client(Scope.CASES_READ)
    with django_assert_num_queries(3):  # the key, the key's departments (the access gate), the page
        assert len(client.get(URL).json()["results"]) == 2
