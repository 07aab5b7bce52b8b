"""Bulk invitations: `manage.py invite` from a file or a segment, and the admin action."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from feedback import services
from feedback.models import Invitation, Survey

from .factories import CustomerFactory, UserFactory


@pytest.fixture
def survey(touchpoint):
    return Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint)


def test_command_invites_a_segment_and_emails_them(survey, mailoutbox, capsys, django_capture_on_commit_callbacks):
    CustomerFactory(segment="enterprise", email="a@example.com")
    CustomerFactory(segment="enterprise", email="b@example.com")
    CustomerFactory(segment="smb", email="c@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("invite", "--survey", "delivery-nps", "--customers", "enterprise")
    assert sorted(m.to[0] for m in mailoutbox) == ["a@example.com", "b@example.com"]
    assert "2 invitations created" in capsys.readouterr().out


def test_command_reads_external_ids_from_a_csv_file(survey, tmp_path):
    CustomerFactory(external_id="C-1", email="one@example.com")
    CustomerFactory(external_id="C-2", email="two@example.com")
    ids = tmp_path / "ids.csv"
    ids.write_text("external_id,name\nC-1,One\nC-2,Two\n")
    call_command("invite", "--survey", "delivery-nps", "--customers", str(ids))
    assert Invitation.objects.count() == 2


def test_command_names_unknown_ids_and_invites_nobody(survey, tmp_path):
    CustomerFactory(external_id="C-1")
    ids = tmp_path / "ids.txt"
    ids.write_text("C-1\nNOPE-7\n")
    with pytest.raises(CommandError, match="NOPE-7"):
        call_command("invite", "--survey", "delivery-nps", "--customers", str(ids))
    assert not Invitation.objects.exists()


def test_command_lists_the_surveys_for_an_unknown_slug(survey):
    with pytest.raises(CommandError, match="delivery-nps"):
        call_command("invite", "--survey", "nope", "--customers", "smb")


def test_admin_action_invites_a_segment(admin_client, survey, mailoutbox, django_capture_on_commit_callbacks):
    CustomerFactory(segment="enterprise", email="a@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/feedback/survey/",
            {"action": "invite_customers", "_selected_action": [survey.pk], "apply": "1", "segment": "enterprise"},
            follow=True,
        )
    assert "1 invitation created" in response.content.decode()
    assert [m.to for m in mailoutbox] == [["a@example.com"]]


def test_admin_action_asks_again_for_an_unknown_id(admin_client, survey):
    response = admin_client.post(
        "/admin/feedback/survey/",
        {"action": "invite_customers", "_selected_action": [survey.pk], "apply": "1", "external_ids": "NOPE-1"},
    )
    assert "Unknown customer ids: NOPE-1" in response.content.decode()
    assert not Invitation.objects.exists()


def test_staff_cannot_reach_the_admin_action(client, staff_user, survey):
    client.force_login(staff_user)
    response = client.post("/admin/feedback/survey/", {"action": "invite_customers", "_selected_action": [survey.pk]})
    assert response.status_code == 302
    assert not Invitation.objects.exists()


def test_manager_is_not_an_admin(client, department, survey):
    client.force_login(UserFactory(role="manager", departments=[department]))
    assert client.get("/admin/feedback/survey/").status_code == 302


def test_invitations_left_unsent_by_a_lost_message_are_sent_by_the_sweep(survey, mailoutbox):
    # Created, and its after-commit message never ran (as when the broker is down): nothing was sent.
    customer = CustomerFactory(segment="enterprise", email="late@example.com")
    services.create_invitations(survey=survey, customers=[customer])
    assert mailoutbox == []

    assert services.sweep_unsent_invitations() == 0  # still within the grace period: its message may come
    later = timezone.now() + timedelta(minutes=3)
    assert services.sweep_unsent_invitations(now=later) == 1
    assert [m.to for m in mailoutbox] == [["late@example.com"]]
    assert Invitation.objects.get().sent_at is not None
    assert services.sweep_unsent_invitations(now=later) == 0
