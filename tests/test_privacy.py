"""A customer's data can be exported whole and erased while their anonymous experiences keep the scores true."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from customers.models import Customer
from cxm.log_redaction import RedactSecrets
from experiences.models import Experience
from feedback.models import Case, Invitation, Survey
from feedback.services import comment_on_case, create_invitations, record_response
from feedback.tokens import invitation_token
from integrations.services import create_api_key, new_webhook_secret
from privacy.models import AuditAction, AuditEntry
from scoring.models import CustomerScore
from tests.dashboard_data import experience, log
from tests.factories import CustomerFactory, UserFactory


@pytest.fixture
def history(django_capture_on_commit_callbacks, touchpoint, staff_user):
    """Acme Ltd with a noted negative experience (and its case, commented), and a commented survey answer."""
    acme = CustomerFactory(external_id="ACME-1", name="Acme Ltd", email="buyer@acme.example")
    log(
        django_capture_on_commit_callbacks,
        experience(acme, touchpoint, "negative", intensity=5, note="Driver was rude to Mrs Acme"),
        experience(acme, touchpoint, "positive", note="Lovely call with Mrs Acme"),
        user=staff_user,
    )
    case = Case.objects.get(customer=acme)
    comment_on_case(case=case, author=staff_user, body="Called Mrs Acme on her mobile")
    survey = Survey.objects.create(slug="delivery-nps", name="Delivery NPS", kind="nps", touchpoint=touchpoint)
    with django_capture_on_commit_callbacks(execute=True):
        create_invitations(survey=survey, customers=[acme])
        record_response(invitation=acme.invitations.get(), score=3, comment="Mrs Acme here: never again")
    return acme


def export(external_id: str) -> dict:
    out = io.StringIO()
    call_command("customer_export", external_id, "--by", "dpo@example.com", stdout=out)
    return json.loads(out.getvalue())


def test_export_holds_the_customer_and_everything_that_refers_to_them(history):
    data = export("ACME-1")

    assert data["customer"]["name"] == "Acme Ltd"
    assert data["customer"]["email"] == "buyer@acme.example"
    related = data["related"]
    assert sorted(e["note"] for e in related["experiences.experience"]) == [
        "Driver was rude to Mrs Acme",
        "Lovely call with Mrs Acme",
        "Mrs Acme here: never again",  # a survey answer's comment is its experience's note
    ]
    assert [r["comment"] for r in related["feedback.response"]] == ["Mrs Acme here: never again"]
    assert [c["body"] for c in related["feedback.casecomment"]] == ["Called Mrs Acme on her mobile"]
    assert len(related["feedback.invitation"]) == 1
    assert related["scoring.customerscore"][0]["negatives"] == 2


def test_export_is_recorded_with_who_and_when(history):
    export("ACME-1")

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.subject, entry.actor_label, entry.via) == (
        "export",
        "ACME-1",
        "dpo@example.com",
        "command",
    )
    assert entry.at is not None
    assert entry.detail["rows"]["experiences.experience"] == 3


def test_export_of_an_unknown_customer_says_so(db):
    with pytest.raises(CommandError, match="no customer with external id 'NOPE'"):
        call_command("customer_export", "NOPE")


def test_erase_removes_name_email_notes_and_comments(history):
    call_command("customer_erase", "ACME-1", "--noinput", stdout=io.StringIO())

    erased = Customer.objects.get(pk=history.pk)
    text = json.dumps(export(erased.external_id))
    assert erased.name == "Erased customer"
    assert erased.email == ""
    assert erased.external_id == f"erased-{history.pk}"
    assert "Acme" not in text
    assert "acme" not in text.lower().replace(f"erased-{history.pk}", "")


def test_erase_keeps_the_anonymous_experiences_and_the_scores(history):
    before = CustomerScore.objects.values("index", "recovery_debt", "negatives").get(customer=history)
    experiences = Experience.objects.filter(customer=history).count()

    call_command("customer_erase", "ACME-1", "--noinput", stdout=io.StringIO())

    assert Experience.objects.filter(customer=history).count() == experiences
    assert CustomerScore.objects.values("index", "recovery_debt", "negatives").get(customer=history) == before


def test_erase_is_recorded_with_who_and_when_and_the_old_id(history):
    call_command("customer_erase", "ACME-1", "--noinput", "--by", "dpo@example.com", stdout=io.StringIO())

    entry = AuditEntry.objects.get(action=AuditAction.ERASE)
    assert (entry.subject, entry.actor_label) == ("ACME-1", "dpo@example.com")
    assert entry.detail["scrubbed"]["experience_notes"] == 3
    assert entry.detail["scrubbed"]["survey_comments"] == 1
    assert entry.detail["scrubbed"]["case_comments"] == 1


def test_the_audit_log_no_longer_links_the_old_id_to_the_anonymous_customer(history):
    export("ACME-1")

    call_command("customer_erase", "ACME-1", "--noinput", stdout=io.StringIO())

    assert not AuditEntry.objects.filter(customer=history).exists()
    assert "ACME" not in json.dumps(export(f"erased-{history.pk}")).upper()


def test_the_erased_id_is_answered_with_when_it_was_erased(history):
    call_command("customer_erase", "ACME-1", "--noinput", "--by", "dpo", stdout=io.StringIO())

    with pytest.raises(CommandError, match="customer 'ACME-1' was erased on .* by dpo"):
        call_command("customer_erase", "ACME-1", "--noinput")


def test_erase_asks_for_confirmation_and_does_nothing_without_it(history, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")

    with pytest.raises(CommandError, match="not erased"):
        call_command("customer_erase", "ACME-1")

    assert Customer.objects.get(pk=history.pk).name == "Acme Ltd"
    assert not AuditEntry.objects.exists()


def test_admin_action_downloads_the_json_and_audits_the_admin(client, history):
    admin = UserFactory(username="root", role="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)

    response = client.post(
        "/admin/customers/customer/",
        {"action": "export_customer_data", "_selected_action": [history.pk]},
    )

    assert response["Content-Disposition"] == 'attachment; filename="customer-data.json"'
    assert json.loads(response.content)[0]["customer"]["external_id"] == "ACME-1"
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_label, entry.via) == (admin, "root", "admin")


@pytest.fixture
def log_output():
    """What the configured console handler (settings.LOGGING) writes, captured for the test."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactSecrets) for f in h.filters))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_api_keys_never_reach_the_logs(db, log_output):
    _, key = create_api_key(name="crm", scopes=["experiences:write"])

    logging.getLogger("integrations").warning("request with Authorization: Api-Key %s failed", key)
    logging.getLogger("integrations").warning("key %s rejected", key)

    assert key not in log_output.getvalue()
    assert key.split(".")[1] not in log_output.getvalue()
    assert "request with Authorization: Api-Key [redacted] failed" in log_output.getvalue()


def test_webhook_secrets_never_reach_the_logs_even_in_a_traceback(db, log_output):
    secret = new_webhook_secret()

    try:
        raise ValueError(f"bad subscription {{'url': 'http://127.0.0.1:9/', 'secret': '{secret}'}}")
    except ValueError:
        logging.getLogger("integrations").exception("could not deliver (secret=%s)", secret)

    assert secret not in log_output.getvalue()
    assert "could not deliver (secret=[redacted])" in log_output.getvalue()
    assert "ValueError: bad subscription" in log_output.getvalue()


def test_survey_link_tokens_never_reach_the_logs(client, history, log_output):
    invitation = history.invitations.get()
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - timedelta(days=30), expires_at=timezone.now() - timedelta(days=1), answered_at=None
    )
    token = invitation_token(invitation)

    response = client.get(f"/s/{token}/")

    assert response.status_code >= 400  # an expired link is logged by django.request as a client error
    assert token not in log_output.getvalue()
    assert "/s/[redacted]/" in log_output.getvalue()


def test_erase_also_scrubs_case_notices_transfer_reasons_and_corrected_notes(history, staff_user):
    from experiences.models import Experience
    from experiences.services import correct_experience
    from feedback.services import assign_case, transfer_case
    from tests.factories import DepartmentFactory, UserFactory

    case = Case.objects.get(customer=history, experience__source="form")
    assign_case(case=case, assignee=staff_user, by=UserFactory(username="boss", role="admin"))
    noted = Experience.objects.get(customer=history, valence=1)
    correct_experience(experience=noted, by=staff_user, changes={"note": "Mrs Acme again, lovely"})
    transfer_case(case=case, department=DepartmentFactory(code="plant"), reason="Mrs Acme's order", by=staff_user)

    call_command("customer_erase", "ACME-1", "--noinput", stdout=io.StringIO())

    text = json.dumps(export(Customer.objects.get(pk=history.pk).external_id))
    assert "Acme" not in text
