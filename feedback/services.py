"""Writes of the feedback app: invitations and answers, recovery cases, ladder suggestions."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from customers import ladder
from customers.models import Customer
from experiences.models import Experience, Source, Valence
from experiences.services import record_experiences
from touchpoints.models import Stage

from . import scales, sentiment
from .models import Case, CaseComment, CaseStatus, Invitation, LadderSuggestion, Response, SuggestionStatus, Survey

log = logging.getLogger(__name__)

TOKEN_SALT = "feedback.invitation"
MAX_COMMENT_LENGTH = 2000


class FeedbackError(ValueError):
    """A request the feedback app refuses, with a message that says why (shown to the user)."""


# Surveys ---------------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    """The invitation's link token: its id signed with SECRET_KEY, so it cannot be guessed or altered."""
    return signing.Signer(salt=TOKEN_SALT).sign(str(invitation.pk))


def invitation_url(invitation: Invitation) -> str:
    return settings.CXM_BASE_URL.rstrip("/") + reverse("survey-answer", args=[invitation_token(invitation)])


ALREADY_INVITED = "already_invited"
NO_EMAIL = "no_email"


@dataclass
class InvitationBatch:
    created: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # customer id -> ALREADY_INVITED or NO_EMAIL

    @property
    def already_invited(self) -> int:
        return list(self.skipped.values()).count(ALREADY_INVITED)

    @property
    def without_email(self) -> int:
        return list(self.skipped.values()).count(NO_EMAIL)


def create_invitations(
    *, survey: Survey, customers: Iterable[Customer], now: datetime | None = None
) -> InvitationBatch:
    """Invite each customer once and e-mail them after commit.

    A customer with an open invitation to the same survey (unanswered, not expired) is not
    invited again; one without an e-mail address cannot be reached and is counted apart.
    """
    if not survey.active:
        raise FeedbackError(f"survey {survey.slug!r} is not active; activate it before inviting customers")
    now = now or timezone.now()
    batch = InvitationBatch()
    customers = list(customers)
    with transaction.atomic():
        open_for = set(
            Invitation.objects.filter(
                survey=survey, customer__in=customers, answered_at__isnull=True, expires_at__gt=now
            ).values_list("customer_id", flat=True)
        )
        expires_at = now + timedelta(days=settings.CXM_SURVEY_TTL_DAYS)
        new = []
        for customer in customers:
            if customer.pk in open_for:
                batch.skipped[customer.pk] = ALREADY_INVITED
            elif not customer.email:
                batch.skipped[customer.pk] = NO_EMAIL
            else:
                open_for.add(customer.pk)
                new.append(Invitation(survey=survey, customer=customer, created_at=now, expires_at=expires_at))
        batch.created = [i.pk for i in Invitation.objects.bulk_create(new)]
        if batch.created:
            ids = list(batch.created)
            transaction.on_commit(lambda: _request_sending(ids))
    return batch


def _request_sending(invitation_ids: list[int]) -> None:
    from .tasks import send_invitations

    try:
        send_invitations.delay(invitation_ids)
    except Exception:  # the broker is down: `sweep_unsent_invitations` (beat) sends them later
        log.warning("could not enqueue sending of %d invitations", len(invitation_ids), exc_info=True)


def send_invitations(*, invitation_ids: Sequence[int], now: datetime | None = None) -> int:
    """E-mail the invitations not sent yet; safe to run twice (a sent invitation is skipped)."""
    now = now or timezone.now()
    with transaction.atomic():
        invitations = list(
            Invitation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=invitation_ids, sent_at__isnull=True, answered_at__isnull=True, expires_at__gt=now)
            .select_related("survey", "customer")
        )
        messages = [_invitation_message(i) for i in invitations if i.customer.email]
        if messages:
            get_connection().send_messages(messages)
        Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(sent_at=now)
    return len(messages)


def sweep_unsent_invitations(*, now: datetime | None = None, grace: timedelta = timedelta(minutes=2)) -> int:
    """Beat: send the invitations a lost message (or a broker outage) left unsent; the rows say what is owed."""
    now = now or timezone.now()
    owed = Invitation.objects.filter(
        sent_at__isnull=True, answered_at__isnull=True, expires_at__gt=now, created_at__lt=now - grace
    ).values_list("pk", flat=True)
    return send_invitations(invitation_ids=list(owed[:1000]), now=now)


def _invitation_message(invitation: Invitation) -> EmailMessage:
    context = {"invitation": invitation, "url": invitation_url(invitation)}
    subject = render_to_string("feedback/email/invitation_subject.txt", context).strip()
    body = render_to_string("feedback/email/invitation_body.txt", context)
    return EmailMessage(subject=subject, body=body, to=[invitation.customer.email])


def record_response(*, invitation: Invitation, score: Any, comment: str = "", now: datetime | None = None) -> Response:
    """Store a customer's answer once and turn it into a remembrance-stage experience.

    The experience goes through the one write path with the key `response-<id>`: valence by the
    standard bands, intensity by the distance from neutral, the comment as its note.
    """
    kind = invitation.survey.kind
    scale = scales.SCALES[kind]
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise FeedbackError(f"choose a score from {scale.low} to {scale.high}") from None
    if score not in scale.scores:
        raise FeedbackError(f"choose a score from {scale.low} to {scale.high}, not {score}")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        raise FeedbackError(f"keep the comment under {MAX_COMMENT_LENGTH} characters (it has {len(comment)})")
    now = now or timezone.now()
    valence = scales.valence(kind, score)
    mood = sentiment.compound(comment)
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.answered_at is not None:
            raise FeedbackError("this survey has already been answered")
        response = Response.objects.create(
            invitation=locked,
            survey=invitation.survey,
            customer_id=locked.customer_id,
            score=score,
            comment=comment,
            sentiment=mood,
            flagged=sentiment.contradicts(valence, mood),
            created_at=now,
        )
        Invitation.objects.filter(pk=locked.pk).update(answered_at=now)
        result = record_experiences(
            items=[
                {
                    "id": f"response-{response.pk}",
                    "customer": locked.customer.external_id,
                    "touchpoint": invitation.survey.touchpoint.code,
                    "stage": Stage.REMEMBRANCE,
                    "valence": valence,
                    "intensity": scales.intensity(kind, score),
                    "occurred_at": now,
                    "note": comment,
                }
            ],
            source=Source.SURVEY,
            now=now,
        )
        outcome = result.results[0]
        if outcome.id is not None:
            response.experience_id = outcome.id
            response.save(update_fields=["experience"])
        else:  # e.g. the touchpoint was retired since the survey was made: keep the answer all the same
            log.warning("response %s was not recorded as an experience: %s", response.pk, outcome.errors)
        _publish_answer(response)
    return response


def _publish_answer(response: Response) -> None:
    """Tell webhook subscribers (survey.answered), in the answer's own transaction."""
    from integrations.services import publish_event

    from .serializers import SurveyResponseSerializer

    publish_event(event="survey.answered", payloads=[SurveyResponseSerializer(response).data])


def mark_response_reviewed(*, response: Response, now: datetime | None = None) -> None:
    Response.objects.filter(pk=response.pk, reviewed_at__isnull=True).update(reviewed_at=now or timezone.now())


# Recovery cases --------------------------------------------------------------------------


def request_cases(*, experience_ids: Sequence[int]) -> None:
    """Called after commit by the write path with the new negative experiences; never fails it."""
    from .tasks import open_cases

    try:
        open_cases.delay(list(experience_ids))
    except Exception:  # the broker is down: `sweep_missing_cases` opens them within the hour
        log.warning("could not enqueue opening cases; the periodic sweep will open them", exc_info=True)


def _case_worthy(now: datetime) -> Q:
    """Negative, recent enough to answer, and strong enough (or a negative survey answer: always)."""
    return Q(
        valence=Valence.NEGATIVE,
        occurred_at__gte=now - timedelta(days=settings.CXM_CASE_LOOKBACK_DAYS),
        case__isnull=True,
    ) & (Q(intensity__gte=settings.CXM_CASE_MIN_INTENSITY) | Q(source=Source.SURVEY))


def open_cases(*, experience_ids: Iterable[int], now: datetime | None = None) -> list[int]:
    """Open a case per qualifying experience, due after its department's SLA; safe to run twice.

    Returns the ids of the cases this call opened (a racing run's cases are not counted twice:
    the unique experience makes the loser's rows disappear, and its `opened_at` differs).
    """
    now = now or timezone.now()
    experiences = list(
        Experience.objects.filter(_case_worthy(now), pk__in=list(experience_ids)).select_related("department")
    )
    if not experiences:
        return []
    with transaction.atomic():
        Case.objects.bulk_create(
            [
                Case(
                    experience=x,
                    customer_id=x.customer_id,
                    department=x.department,
                    opened_at=now,
                    due_at=now + timedelta(hours=x.department.case_sla_hours),
                )
                for x in experiences
            ],
            ignore_conflicts=True,
        )
        opened = list(Case.objects.filter(experience__in=experiences, opened_at=now).values_list("pk", flat=True))
        _publish("case.opened", opened)
    return opened


def sweep_missing_cases(*, now: datetime | None = None) -> list[int]:
    """Open the cases a lost message missed (the broker was down when the experience came in)."""
    now = now or timezone.now()
    missing = Experience.objects.filter(_case_worthy(now)).values_list("pk", flat=True)
    return open_cases(experience_ids=list(missing), now=now)


def _publish(event: str, case_ids: Sequence[int]) -> None:
    """Tell webhook subscribers (case.opened, case.assigned, case.resolved, case.overdue)."""
    from integrations.services import publish_event

    if not case_ids:
        return
    cases = Case.objects.filter(pk__in=case_ids).select_related("customer", "department", "assignee")
    publish_event(event=event, payloads=[case_payload(c) for c in cases])


def case_payload(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "status": case.status,
        "experience": case.experience_id,
        "customer": case.customer.external_id,
        "department": case.department.code,
        "assignee": case.assignee.get_username() if case.assignee else None,
        "opened_at": case.opened_at.isoformat(),
        "due_at": case.due_at.isoformat(),
        "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
        "resolution": case.resolution,
        "url": settings.CXM_BASE_URL.rstrip("/") + reverse("case-detail", args=[case.pk]),
    }


def assign_case(*, case: Case, assignee: User | None) -> None:
    """Give the case to a member of its department, or to nobody."""
    if assignee is not None and not assignee.departments.filter(pk=case.department_id).exists():
        raise FeedbackError(f"{assignee.get_username()} is not a member of {case.department}")
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(assignee=assignee)
        _publish("case.assigned", [case.pk])


def comment_on_case(*, case: Case, author: User, body: str, now: datetime | None = None) -> CaseComment:
    body = (body or "").strip()
    if not body:
        raise FeedbackError("write a comment first")
    return CaseComment.objects.create(
        case=case, author=author, body=body, sentiment=sentiment.compound(body), created_at=now or timezone.now()
    )


def resolve_case(*, case: Case, by: User, resolution: str, now: datetime | None = None) -> None:
    """Close the loop with a note on what was done; recovery is judged by the customer's next experience."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise FeedbackError("say what was done for the customer in the resolution note")
    with transaction.atomic():
        updated = Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
            status=CaseStatus.RESOLVED, resolved_at=now or timezone.now(), resolved_by=by, resolution=resolution
        )
        if not updated:
            raise FeedbackError("this case is already resolved")
        _publish("case.resolved", [case.pk])


def escalate_overdue_cases(*, now: datetime | None = None) -> int:
    """E-mail each overdue case once to its department's managers and tell webhook subscribers.

    The case is marked escalated in the same transaction that sends, so a failed send is retried
    by the next beat and two workers never send the same case.
    """
    now = now or timezone.now()
    with transaction.atomic():
        cases = list(
            Case.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=CaseStatus.OPEN, due_at__lt=now, escalated_at__isnull=True)
            .select_related("customer", "department", "assignee", "experience__touchpoint")
        )
        if not cases:
            return 0
        managers = _managers_by_department({c.department_id for c in cases})
        messages = []
        for case in cases:
            recipients = managers.get(case.department_id, [])
            if recipients:
                messages.append(_escalation_message(case, recipients))
            else:
                log.warning("overdue case %s: department %s has no manager with an e-mail", case.pk, case.department)
        if messages:
            get_connection().send_messages(messages)
        Case.objects.filter(pk__in=[c.pk for c in cases]).update(escalated_at=now)
        _publish("case.overdue", [c.pk for c in cases])
    return len(cases)


def _managers_by_department(department_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = User.objects.filter(
        role=Role.MANAGER, is_active=True, departments__in=department_ids, email__gt=""
    ).values_list("departments", "email")
    for department_id, email in rows:
        if department_id in department_ids:
            found.setdefault(department_id, []).append(email)
    return found


def _escalation_message(case: Case, recipients: list[str]) -> EmailMessage:
    context = {"case": case, "url": case_payload(case)["url"]}
    subject = render_to_string("feedback/email/escalation_subject.txt", context).strip()
    body = render_to_string("feedback/email/escalation_body.txt", context)
    return EmailMessage(subject=subject, body=body, to=sorted(set(recipients)))


# Relationship ladder ---------------------------------------------------------------------


def ladder_rules() -> ladder.Rules:
    return ladder.Rules(
        window_days=settings.CXM_LADDER_WINDOW_DAYS,
        up_positives=settings.CXM_LADDER_UP_POSITIVES,
        down_negatives=settings.CXM_LADDER_DOWN_NEGATIVES,
    )


def suggest_ladder_moves(*, now: datetime | None = None) -> int:
    """Refresh the pending suggestions from the ladder rules; returns how many are pending.

    A pending suggestion that no longer follows from the facts is withdrawn; a move a manager
    dismissed is not suggested again within the rules' window.
    """
    from .queries import ladder_facts

    now = now or timezone.now()
    rules = ladder_rules()
    since = now - timedelta(days=rules.window_days)
    moves = {pk: move for pk, facts in ladder_facts(since=since).items() if (move := ladder.suggest(facts, rules))}
    levels = dict(Customer.objects.filter(pk__in=moves).values_list("pk", "relationship_level"))
    dismissed = set(
        LadderSuggestion.objects.filter(status=SuggestionStatus.DISMISSED, decided_at__gte=since).values_list(
            "customer_id", "to_level"
        )
    )
    moves = {pk: m for pk, m in moves.items() if (pk, m.to_level) not in dismissed}
    with transaction.atomic():
        pending = {
            s.customer_id: s
            for s in LadderSuggestion.objects.select_for_update().filter(status=SuggestionStatus.PENDING)
        }
        stale = [s.pk for pk, s in pending.items() if pk not in moves or moves[pk].to_level != s.to_level]
        LadderSuggestion.objects.filter(pk__in=stale).delete()
        LadderSuggestion.objects.bulk_create(
            [
                LadderSuggestion(
                    customer_id=pk, from_level=levels[pk], to_level=m.to_level, reason=m.reason, created_at=now
                )
                for pk, m in moves.items()
                if pk not in pending or pending[pk].pk in stale
            ],
            ignore_conflicts=True,
        )
    return len(moves)


def decide_suggestion(*, suggestion: LadderSuggestion, accept: bool, by: User, now: datetime | None = None) -> None:
    """Accept (move the customer one rung) or dismiss; a customer moved meanwhile makes it stale."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = LadderSuggestion.objects.select_for_update().get(pk=suggestion.pk)
        if locked.status != SuggestionStatus.PENDING:
            raise FeedbackError("this suggestion has already been decided")
        if accept:
            moved = Customer.objects.filter(pk=locked.customer_id, relationship_level=locked.from_level).update(
                relationship_level=locked.to_level
            )
            if not moved:
                raise FeedbackError("the customer's level changed since this was suggested; dismiss it")
        locked.status = SuggestionStatus.ACCEPTED if accept else SuggestionStatus.DISMISSED
        locked.decided_at = now
        locked.decided_by = by
        locked.save(update_fields=["status", "decided_at", "decided_by"])
