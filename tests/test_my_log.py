"""My log: staff see what they logged and correct or void it within the window; the history keeps it."""

from datetime import timedelta

import pytest

from experiences.models import ChangeKind, Experience, ExperienceChange
from feedback.models import Case
from scoring.models import CustomerScore

from .dashboard_data import experience, log
from .factories import TouchpointFactory, UserFactory


@pytest.fixture
def logged(customer, touchpoint, staff_user, django_capture_on_commit_callbacks):
    """The staff member logged a strong negative at the wrong touchpoint; it opened a case."""
    log(django_capture_on_commit_callbacks, experience(customer, touchpoint, "negative", intensity=5), user=staff_user)
    return Experience.objects.get()


def test_my_log_lists_only_what_i_logged(client, staff_user, logged, customer, touchpoint, department):
    other = UserFactory(username="ole", departments=[department])
    client.force_login(other)
    assert client.get("/log/mine/").context["rows"] == []
    client.force_login(staff_user)
    rows = client.get("/log/mine/").context["rows"]
    assert [(x.pk, changeable) for x, changeable in rows] == [(logged.pk, True)]


def test_a_correction_goes_through_the_write_path_rescored_and_kept_in_history(
    client, staff_user, logged, department, customer, django_capture_on_commit_callbacks
):
    TouchpointFactory(code="parcel-tracking", name="Parcel tracking", owner=department)
    client.force_login(staff_user)
    debt_before = CustomerScore.objects.get(customer=customer).recovery_debt

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/log/mine/{logged.pk}/correct/",
            {"touchpoint": "parcel-tracking", "valence": "negative", "intensity": "2", "note": "tracking page down"},
        )

    assert response.status_code == 302
    logged.refresh_from_db()
    assert (logged.touchpoint.code, logged.intensity, logged.note) == ("parcel-tracking", 2, "tracking page down")
    change = ExperienceChange.objects.get()
    assert (change.kind, change.by, change.before["intensity"], change.after["intensity"]) == (
        ChangeKind.CORRECTED,
        staff_user,
        5,
        2,
    )
    assert CustomerScore.objects.get(customer=customer).recovery_debt < debt_before


def test_past_the_window_the_logger_may_no_longer_correct(client, staff_user, logged, settings):
    Experience.objects.filter(pk=logged.pk).update(created_at=logged.created_at - timedelta(hours=25))
    client.force_login(staff_user)

    response = client.post(f"/log/mine/{logged.pk}/correct/", {"touchpoint": "on-time-delivery", "valence": "positive"})

    assert response.status_code == 403
    assert Experience.objects.get().valence == -1


def test_a_void_removes_the_moment_from_the_score_and_its_case_and_keeps_the_history(
    client, staff_user, logged, customer, django_capture_on_commit_callbacks
):
    assert Case.objects.filter(experience=logged).exists()
    client.force_login(staff_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/log/mine/{logged.pk}/void/")

    assert response.status_code == 302
    assert not Experience.objects.exists() and not Case.objects.exists()
    assert not CustomerScore.objects.filter(customer=customer).exists(), "no experience left: no score"
    change = ExperienceChange.objects.get()
    assert (change.kind, change.experience_id_then, change.before["valence"]) == (ChangeKind.VOIDED, logged.pk, -1)


def test_an_admin_voids_anyones_experience_but_only_with_a_reason(client, logged):
    client.force_login(UserFactory(username="root", role="admin"))

    refused = client.post(f"/log/mine/{logged.pk}/void/", follow=True)
    assert "Say why you void someone else" in refused.content.decode()
    assert Experience.objects.exists()

    client.post(f"/log/mine/{logged.pk}/void/", {"reason": "Logged for the wrong customer"})
    assert not Experience.objects.exists()
    assert ExperienceChange.objects.get().reason == "Logged for the wrong customer"
