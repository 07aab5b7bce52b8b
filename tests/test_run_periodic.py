"""`manage.py run_periodic`: the beat schedule run in-process, so `make run` invites, reminds and learns themes."""

from datetime import timedelta

from celery.schedules import schedule
from django.core.management import call_command
from django.utils import timezone

from experiences.services import record_experiences
from feedback.management.commands.run_periodic import due_entries
from feedback.models import Invitation, Survey, SurveyRule

from .factories import CustomerFactory


def test_once_runs_every_periodic_job_so_a_due_survey_invitation_goes_out(
    touchpoint, mailoutbox, django_capture_on_commit_callbacks
):
    survey = Survey.objects.create(slug="delivery-nps", name="Delivery", kind="nps", touchpoint=touchpoint)
    SurveyRule.objects.create(touchpoint=touchpoint, survey=survey, delay_minutes=60)
    customer = CustomerFactory(email="lucia@example.com")
    item = {"customer": customer.external_id, "touchpoint": touchpoint.code, "valence": 1}
    with django_capture_on_commit_callbacks(execute=True):
        record_experiences(items=[{**item, "occurred_at": timezone.now() - timedelta(hours=2)}], source="api")

    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_periodic", "--once")

    assert Invitation.objects.get().customer == customer
    assert [m.to for m in mailoutbox] == [["lucia@example.com"]]


def test_an_entry_is_due_once_its_interval_has_passed():
    now = timezone.now()
    schedules = {"often": schedule(timedelta(seconds=60)), "rarely": schedule(timedelta(hours=1))}
    due, wait = due_entries(schedules, {"often": now - timedelta(seconds=61), "rarely": now})
    assert due == ["often"]
    assert 1.0 <= wait <= 60.0
