"""Writes of the feedback app: invitations and answers, recovery cases, ladder suggestions."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role, User
from customers import ladder
from customers.models import Customer
from experiences.models import Experience, Source, Valence
from experiences.services import record_experiences
from integrations.models import ApiKey
from integrations.services import publish_event
from outbox import services as outbox
from scoring.services import mark_for_rescore
from touchpoints.models import Department, Stage, TouchpointOwner

from . import rollups, sampling, scales, sentiment, themes
from .models import (
    FOLLOW_UP_SCALE,
    Case,
    CaseComment,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    Channel,
    FollowUpKind,
    Invitation,
    LadderSuggestion,
    Notice,
    Response,
    SuggestionStatus,
    Survey,
    SurveyRule,
    SurveyTrigger,
    TriggerOutcome,
)
from .tokens import invitation_token

log = logging.getLogger(__name__)

MAX_COMMENT_LENGTH = 2000
CASE_NOTE_LENGTH = 4000  # a comment on a case or its resolution note, on the case page and through the API


class FeedbackError(ValueError):
    """A request the feedback app refuses, with a message that says why (shown to the user)."""


class CaseClosed(FeedbackError):
    """The step needs an open case and this one is resolved: the request was fine, the case has moved on."""


# Surveys ---------------------------------------------------------------------------------


def invitation_url(invitation: Invitation, *, opt_out: bool = False) -> str:
    """The personal link (or its opt-out page), from the configured public base URL."""
    name = "survey-opt-out" if opt_out else "survey-answer"
    return settings.CXM_BASE_URL.rstrip("/") + reverse(name, args=[invitation_token(invitation)])


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
    *, survey: Survey, customers: Iterable[Customer], channel: str = Channel.EMAIL, now: datetime | None = None
) -> InvitationBatch:
    """Invite each customer once; e-mail invitations are sent after commit.

    A customer with an open invitation to the same survey (unanswered, not expired) is not
    invited again; by e-mail, one without an address cannot be reached and is counted apart.
    A `link` invitation is not e-mailed: the company sends its personal link through its own
    channel (SMS, helpdesk, receipt).
    """
    if not survey.active:
        raise FeedbackError(
            _("survey %(slug)s is not active; activate it before inviting customers") % {"slug": repr(survey.slug)}
        )
    now = now or timezone.now()
    batch = InvitationBatch()
    customers = list(customers)
    with transaction.atomic():
        open_for = set(
            Invitation.objects.filter(
                survey=survey, customer__in=customers, answered_at__isnull=True, expires_at__gt=now
            ).values_list("customer_id", flat=True)
        )
        owner = (
            TouchpointOwner.objects.filter(touchpoint_id=survey.touchpoint_id, primary=True)
            .values_list("department_id", flat=True)
            .first()
        )
        new = []
        for customer in customers:
            if customer.pk in open_for:
                batch.skipped[customer.pk] = ALREADY_INVITED
            elif channel == Channel.EMAIL and not customer.email:
                batch.skipped[customer.pk] = NO_EMAIL
            else:
                open_for.add(customer.pk)
                new.append(
                    _new_invitation(
                        survey=survey,
                        customer_id=customer.pk,
                        channel=channel,
                        now=now,
                        touchpoint_id=survey.touchpoint_id,
                        department_id=owner,
                    )
                )
        batch.created = [i.pk for i in Invitation.objects.bulk_create(new)]
        if batch.created and channel == Channel.EMAIL:
            _owe_sending(batch.created)
    return batch


def _new_invitation(*, survey: Survey, customer_id: int, now: datetime, **fields: Any) -> Invitation:
    return Invitation(
        survey=survey,
        customer_id=customer_id,
        created_at=now,
        expires_at=now + timedelta(days=settings.CXM_SURVEY_TTL_DAYS),
        **fields,
    )


def _owe_sending(invitation_ids: list[int]) -> None:
    """Owe the e-mails in the caller's transaction: a worker sends them after commit (the outbox)."""
    outbox.record(handler="feedback.services.send_invitations", invitation_ids=list(invitation_ids))


def _sendable(now: datetime) -> Q:
    """Still worth a message: unanswered, not expired, e-mailed by us, and the customer has not opted out."""
    return Q(answered_at__isnull=True, expires_at__gt=now, channel=Channel.EMAIL, customer__surveys_opt_out=False) & ~Q(
        customer__email=""
    )


def send_invitations(*, invitation_ids: Sequence[int], now: datetime | None = None) -> int:
    """E-mail the invitations not sent yet; safe to run twice (a sent invitation is skipped)."""
    now = now or timezone.now()
    with transaction.atomic():
        invitations = list(
            Invitation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_sendable(now), pk__in=invitation_ids, sent_at__isnull=True)
            .select_related("survey", "customer", "experience__touchpoint")
        )
        messages = [_invitation_message(i, reminder=False) for i in invitations]
        if messages:
            get_connection().send_messages(messages)
        Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(sent_at=now)
        if invitations:  # the day's response rates change (feedback/rollups.py)
            mark_for_rescore(customer_ids=[], days=[rollups.sent_day(now)])
    return len(messages)


def sweep_unsent_invitations(*, now: datetime | None = None, grace: timedelta = timedelta(minutes=2)) -> int:
    """Beat: send the invitations a lost message (or a broker outage) left unsent; the rows say what is owed."""
    now = now or timezone.now()
    owed = Invitation.objects.filter(_sendable(now), sent_at__isnull=True, created_at__lt=now - grace).values_list(
        "pk", flat=True
    )
    return send_invitations(invitation_ids=list(owed[:1000]), now=now)


def send_reminders(*, now: datetime | None = None) -> int:
    """Beat: one reminder per unanswered invitation, `reminder_days` after it was sent; then nothing.

    `reminded_at` is set in the transaction that sends, so a reminder is never sent twice.
    """
    now = now or timezone.now()
    due = Q()
    for days in Survey.objects.filter(reminder_days__isnull=False).values_list("reminder_days", flat=True).distinct():
        due |= Q(survey__reminder_days=days, sent_at__lte=now - timedelta(days=days or 0))
    if not due:
        return 0
    with transaction.atomic():
        invitations = list(
            Invitation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_sendable(now), due, sent_at__isnull=False, reminded_at__isnull=True)
            .select_related("survey", "customer", "experience__touchpoint")[:1000]
        )
        messages = [_invitation_message(i, reminder=True) for i in invitations]
        if messages:
            get_connection().send_messages(messages)
        Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(reminded_at=now)
    return len(messages)


def _invitation_message(invitation: Invitation, *, reminder: bool) -> EmailMultiAlternatives:
    """The invitation (or its one reminder) in the customer's language, as text and HTML."""
    context = {
        "invitation": invitation,
        "customer": invitation.customer,
        "survey": invitation.survey,
        "moment": invitation.experience,
        "url": invitation_url(invitation),
        "opt_out_url": invitation_url(invitation, opt_out=True),
        "reminder": reminder,
    }
    with translation.override(invitation.customer.language or settings.LANGUAGE_CODE):
        subject = render_to_string("feedback/email/invitation_subject.txt", context).strip()
        text = render_to_string("feedback/email/invitation_body.txt", context)
        html = render_to_string("feedback/email/invitation_body.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[invitation.customer.email])
    message.attach_alternative(html, "text/html")
    return message


# Triggered surveys -------------------------------------------------------------------------


def trigger_surveys(*, now: datetime | None = None) -> dict[str, int]:
    """Beat: decide, once, for each experience at a touchpoint with an active rule whose delay has passed.

    Only experiences stored after the rule was made and dated within `CXM_SURVEY_TRIGGER_WINDOW_HOURS`
    before their due time are considered, so importing history asks nobody. Survey answers never
    trigger surveys. Decisions are taken oldest experience first; a customer invited by one of them
    is in the quiet period for the rest. Returns the count of each outcome.
    """
    now = now or timezone.now()
    window = timedelta(hours=settings.CXM_SURVEY_TRIGGER_WINDOW_HOURS)
    quiet_since = now - timedelta(days=settings.CXM_SURVEY_QUIET_DAYS)
    counts: dict[str, int] = {}
    rules = list(SurveyRule.objects.filter(active=True, survey__active=True).select_related("survey"))
    with transaction.atomic():
        candidates = []
        for rule in rules:
            due_by = now - timedelta(minutes=rule.delay_minutes)
            candidates += [
                (rule, x)
                for x in Experience.objects.filter(
                    touchpoint_id=rule.touchpoint_id,
                    occurred_at__lte=due_by,
                    occurred_at__gt=due_by - window,
                    created_at__gte=rule.created_at,
                    survey_trigger__isnull=True,
                )
                .exclude(source=Source.SURVEY)
                .select_for_update(skip_locked=True, of=("self",))  # a concurrent run skips these
                .select_related("customer")
                .order_by("occurred_at", "pk")[:1000]
            ]
        candidates.sort(key=lambda pair: (pair[1].occurred_at, pair[1].pk))
        recently_invited = set(
            Invitation.objects.filter(
                customer__in={x.customer_id for _, x in candidates}, created_at__gt=quiet_since
            ).values_list("customer_id", flat=True)
        )
        triggers = []
        for rule, experience in candidates:
            outcome = _decide(rule, experience.customer, recently_invited)
            trigger = SurveyTrigger(experience=experience, rule=rule, outcome=outcome, decided_at=now)
            if outcome == TriggerOutcome.INVITED:
                recently_invited.add(experience.customer_id)
                trigger.invitation = _new_invitation(
                    survey=rule.survey,
                    customer_id=experience.customer_id,
                    now=now,
                    experience=experience,
                    rule=rule,
                    touchpoint_id=experience.touchpoint_id,
                    department_id=experience.department_id,
                )
            triggers.append(trigger)
            counts[outcome] = counts.get(outcome, 0) + 1
        invitations = Invitation.objects.bulk_create([t.invitation for t in triggers if t.invitation])
        SurveyTrigger.objects.bulk_create(triggers)  # their invitations have ids now: bulk_create reads them
        if invitations:
            _owe_sending([i.pk for i in invitations])
    return counts


def _decide(rule: SurveyRule, customer: Customer, recently_invited: set[int]) -> str:
    if customer.surveys_opt_out:
        return TriggerOutcome.OPTED_OUT
    if not sampling.in_sample(seed=rule.seed, customer_ref=customer.external_id, percent=rule.sample_percent):
        return TriggerOutcome.SAMPLED_OUT
    if customer.pk in recently_invited:
        return TriggerOutcome.QUIET
    if not customer.email:
        return TriggerOutcome.NO_EMAIL
    return TriggerOutcome.INVITED


def opt_out(*, invitation: Invitation) -> None:
    """The customer asked for no more surveys: honoured for every survey, reminders included."""
    Customer.objects.filter(pk=invitation.customer_id).update(surveys_opt_out=True)


def record_response(
    *,
    invitation: Invitation,
    score: Any,
    comment: str = "",
    follow_up_answer: Any = "",
    now: datetime | None = None,
) -> Response:
    """Store a customer's answer once and turn it into a remembrance-stage experience.

    The experience goes through the one write path with the key `response-<id>`: valence by the
    standard bands, intensity by the distance from neutral, the comment as its note. An answer
    to a triggered invitation is recorded at the touchpoint of the moment it recalls, so each
    touchpoint's remembrance stage holds how its interactions are remembered.
    """
    survey = invitation.survey
    kind = survey.kind
    scale = scales.SCALES[kind]
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise FeedbackError(
            _("choose a score from %(low)d to %(high)d") % {"low": scale.low, "high": scale.high}
        ) from None
    if score not in scale.scores:
        raise FeedbackError(
            _("choose a score from %(low)d to %(high)d, not %(score)d")
            % {"low": scale.low, "high": scale.high, "score": score}
        )
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        raise FeedbackError(
            _("keep the comment under %(limit)d characters (it has %(length)d)")
            % {"limit": MAX_COMMENT_LENGTH, "length": len(comment)}
        )
    follow_up_answer = _follow_up_answer(survey, follow_up_answer)
    now = now or timezone.now()
    valence = scales.valence(kind, score)
    language = invitation.customer.language or settings.LANGUAGE_CODE
    mood = sentiment.compound(comment, language=language)
    moment = invitation.experience
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.answered_at is not None:
            raise FeedbackError(_("this survey has already been answered"))
        response = Response.objects.create(
            invitation=locked,
            survey=survey,
            customer_id=locked.customer_id,
            score=score,
            comment=comment,
            follow_up_answer=follow_up_answer,
            language=language,
            sentiment=mood,
            flagged=sentiment.contradicts(valence, mood),
            created_at=now,
        )
        Invitation.objects.filter(pk=locked.pk).update(answered_at=now)
        if locked.sent_at is not None:  # the response rate of the day it was sent changes (feedback/rollups.py)
            mark_for_rescore(customer_ids=[], days=[rollups.sent_day(locked.sent_at)])
        result = record_experiences(
            items=[
                {
                    "id": f"response-{response.pk}",
                    "customer": locked.customer.external_id,
                    "touchpoint": moment.touchpoint.code if moment else survey.touchpoint.code,
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
            response.department_id = Experience.objects.values_list("department_id", flat=True).get(pk=outcome.id)
            response.save(update_fields=["experience", "department"])
            if comment:
                themes.match_notes([(outcome.id, timezone.localdate(now), comment, language)])
        else:  # e.g. the touchpoint was retired since the survey was made: keep the answer all the same
            log.warning("response %s was not recorded as an experience: %s", response.pk, outcome.errors)
        publish_event(event="survey.answered", payloads=[response_payload(response, locked)])
    return response


def response_payload(response: Response, invitation: Invitation) -> dict[str, Any]:
    """`survey.answered`: the answer, the survey, the customer, and the moment it recalls if triggered."""
    return {
        "id": response.pk,
        "survey": response.survey.slug,
        "kind": response.survey.kind,
        "score": response.score,
        "comment": response.comment,
        "follow_up_answer": response.follow_up_answer,
        "language": response.language,
        "sentiment": response.sentiment,
        "customer": invitation.customer.external_id,
        "experience": response.experience_id,
        "recalls_experience": invitation.experience_id,
        "answered_at": response.created_at.isoformat(),
    }


def _follow_up_answer(survey: Survey, answer: Any) -> str:
    """The second question's answer, checked against its kind; it is optional, so empty is fine."""
    answer = str(answer or "").strip()
    if not answer or not survey.follow_up_kind:
        return ""
    if survey.follow_up_kind == FollowUpKind.SCALE:
        if answer not in {str(n) for n in FOLLOW_UP_SCALE}:
            raise FeedbackError(_("answer the second question from 1 to 5, not %(answer)r") % {"answer": answer})
    elif answer not in survey.choices:
        raise FeedbackError(
            _("choose one of the offered answers to the second question, not %(answer)r") % {"answer": answer}
        )
    return answer


def mark_response_reviewed(*, response: Response, now: datetime | None = None) -> None:
    Response.objects.filter(pk=response.pk, reviewed_at__isnull=True).update(reviewed_at=now or timezone.now())


# Recovery cases --------------------------------------------------------------------------


def _case_worthy(now: datetime) -> Q:
    """Negative, recent enough to answer, and caught by one of its department's case rules:
    strong enough, a detractor's answer, or a customer who now owes many positives (and has no
    open case with the department yet)."""
    open_case_here = Case.objects.filter(
        customer_id=OuterRef("customer_id"), department_id=OuterRef("department_id"), status=CaseStatus.OPEN
    )
    return Q(
        valence=Valence.NEGATIVE,
        occurred_at__gte=now - timedelta(days=settings.CXM_CASE_LOOKBACK_DAYS),
        case__isnull=True,
    ) & (
        Q(intensity__gte=F("department__case_min_intensity"))
        | Q(source=Source.SURVEY, department__case_on_detractor=True)
        | Q(
            Q(department__case_debt_threshold__gt=0),
            Q(customer__score__recovery_debt__gte=F("department__case_debt_threshold")),
            ~Exists(open_case_here),
        )
    )


def open_cases(*, experience_ids: Iterable[int], now: datetime | None = None) -> list[int]:
    """Open a case per qualifying experience, due after its department's SLA; safe to run twice.

    Returns the ids of the cases this call opened (a racing run's cases are not counted twice:
    the unique experience makes the loser's rows disappear, and its `opened_at` differs).
    """
    now = now or timezone.now()
    found = Experience.objects.filter(_case_worthy(now), pk__in=list(experience_ids)).select_related("department")
    # The debt rule opens one case per customer and department: keep the latest negative of each.
    latest: dict[tuple[int, int], Experience] = {}
    for x in found.order_by("occurred_at", "pk"):
        if x.intensity >= x.department.case_min_intensity or x.source == Source.SURVEY:
            latest[(x.pk, 0)] = x
        else:
            latest[(x.customer_id, x.department_id)] = x
    experiences = list(latest.values())
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
        opened = list(Case.objects.filter(experience__in=experiences, opened_at=now).values_list("pk", "department_id"))
        CaseEvent.objects.bulk_create(
            [
                CaseEvent(
                    case_id=pk, kind=CaseEventKind.OPENED, at=now, department_id=department_id, note=_("case rules")
                )
                for pk, department_id in opened
            ]
        )
        _publish("case.opened", [pk for pk, _department in opened])
    return [pk for pk, _department in opened]


def open_case_by_hand(*, experience: Experience, by: User, now: datetime | None = None) -> tuple[Case, bool]:
    """A manager opens a case for a negative moment the rules let pass; (case, created).

    The experience already has a case: that one is returned, so clicking twice opens one case.
    """
    if experience.valence != Valence.NEGATIVE:
        raise FeedbackError(_("Cases follow negative experiences; this one is not negative."))
    now = now or timezone.now()
    with transaction.atomic():
        department = Department.objects.get(pk=experience.department_id)
        case, created = Case.objects.get_or_create(
            experience=experience,
            defaults={
                "customer_id": experience.customer_id,
                "department": department,
                "opened_at": now,
                "due_at": now + timedelta(hours=department.case_sla_hours),
            },
        )
        if created:
            CaseEvent.objects.create(
                case=case, kind=CaseEventKind.OPENED, actor=by, at=now, department=department, note=_("opened by hand")
            )
            _publish("case.opened", [case.pk])
    return case, created


def sweep_missing_cases(*, now: datetime | None = None) -> list[int]:
    """Open the cases a lost message missed (the broker was down when the experience came in)."""
    now = now or timezone.now()
    missing = Experience.objects.filter(_case_worthy(now)).values_list("pk", flat=True)
    return open_cases(experience_ids=list(missing), now=now)


def _publish(event: str, case_ids: Sequence[int]) -> None:
    """Tell webhook subscribers (case.opened, case.assigned, case.resolved, case.overdue)."""
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


def assign_case(
    *,
    case: Case,
    assignee: User | None,
    by: User | None = None,
    by_key: ApiKey | None = None,
    now: datetime | None = None,
) -> None:
    """Give an open case to a member of its department, or to nobody; the assignee hears of it.

    `by` is the person who decided, `by_key` the API key when an integration did.
    """
    if assignee is not None and not assignee.departments.filter(pk=case.department_id).exists():
        raise FeedbackError(
            _("%(user)s is not a member of %(department)s")
            % {"user": assignee.get_username(), "department": case.department}
        )
    now = now or timezone.now()
    with transaction.atomic():
        if not Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(assignee=assignee):
            raise CaseClosed(_("this case is already resolved; a resolved case is not assigned"))
        case.assignee = assignee
        CaseEvent.objects.create(
            case=case,
            kind=CaseEventKind.ASSIGNED,
            actor=by,
            api_key=by_key,
            at=now,
            department_id=case.department_id,
            assignee=assignee,
        )
        if assignee is not None and assignee != by:
            message = _("Case %(pk)s (%(customer)s) was assigned to you.") % {
                "pk": case.pk,
                "customer": case.customer.name,
            }
            _notify(case=case, kind=CaseEventKind.ASSIGNED, users=[assignee], message=message, now=now)
        _publish("case.assigned", [case.pk])


def transfer_case(*, case: Case, department: Department, reason: str, by: User, now: datetime | None = None) -> None:
    """Move an open case to the department that answers for it; the reason stays in the history.

    The case leaves its assignee (a member of the old department) and the new department's
    managers hear of it, in the inbox and by e-mail.
    """
    reason = (reason or "").strip()
    if not reason:
        raise FeedbackError(_("Say why the case moves, so the other department knows what to do."))
    if not department.active:
        raise FeedbackError(_("%(name)s is not an active department.") % {"name": department.name})
    if department.pk == case.department_id:
        raise FeedbackError(_("The case is already with %(name)s.") % {"name": department.name})
    now = now or timezone.now()
    with transaction.atomic():
        moved = Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(department=department, assignee=None)
        if not moved:
            raise FeedbackError(_("Only an open case can be transferred."))
        CaseEvent.objects.create(
            case=case,
            kind=CaseEventKind.TRANSFERRED,
            actor=by,
            at=now,
            department=department,
            from_department_id=case.department_id,
            note=reason,
        )
        message = _("Case %(pk)s (%(customer)s) was transferred to %(department)s: %(reason)s") % {
            "pk": case.pk,
            "customer": case.customer.name,
            "department": department.name,
            "reason": reason,
        }
        managers = User.objects.filter(role=Role.MANAGER, is_active=True, departments=department).exclude(pk=by.pk)
        case.department, case.assignee = department, None
        _notify(case=case, kind=CaseEventKind.TRANSFERRED, users=list(managers), message=message[:300], now=now)


def mark_notices_read(*, user: User, now: datetime | None = None) -> None:
    """The inbox has shown the news: it is no longer new."""
    Notice.objects.filter(user=user, read_at__isnull=True).update(read_at=now or timezone.now())


def _notify(*, case: Case, kind: str, users: Sequence[User], message: str, now: datetime) -> None:
    """Tell people about a case: a notice in their inbox now, an e-mail once the change is committed."""
    if not users:
        return
    Notice.objects.bulk_create([Notice(user=u, case=case, kind=kind, message=message, created_at=now) for u in users])
    url = settings.CXM_BASE_URL.rstrip("/") + reverse("case-detail", args=[case.pk])
    emails = [EmailMessage(subject=message[:120], body=f"{message}\n\n{url}\n", to=[u.email]) for u in users if u.email]
    if emails:
        transaction.on_commit(lambda: _send(emails))


def _send(messages: list[EmailMessage]) -> None:
    """After commit: a mail server that is down never undoes the change; the notice is in the inbox."""
    try:
        get_connection().send_messages(messages)
    except Exception:
        log.warning(
            "could not send %d case notice e-mails; the notices are in the inboxes", len(messages), exc_info=True
        )


def comment_on_case(
    *,
    case: Case,
    body: str,
    author: User | None = None,
    by_key: ApiKey | None = None,
    now: datetime | None = None,
) -> CaseComment:
    """A note on the case for colleagues, by a person (`author`) or an integration (`by_key`)."""
    body = (body or "").strip()
    if not body:
        raise FeedbackError(_("write a comment first"))
    return CaseComment.objects.create(
        case=case,
        author=author,
        api_key=by_key,
        body=body,
        sentiment=sentiment.compound(body),
        created_at=now or timezone.now(),
    )


def resolve_case(
    *,
    case: Case,
    resolution: str,
    by: User | None = None,
    by_key: ApiKey | None = None,
    now: datetime | None = None,
) -> None:
    """Close the loop with a note on what was done; recovery is judged by the customer's next experience."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise FeedbackError(_("say what was done for the customer in the resolution note"))
    now = now or timezone.now()
    with transaction.atomic():
        updated = Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
            status=CaseStatus.RESOLVED, resolved_at=now, resolved_by=by, resolved_by_key=by_key, resolution=resolution
        )
        if not updated:
            raise CaseClosed(_("this case is already resolved"))
        CaseEvent.objects.create(
            case=case, kind=CaseEventKind.RESOLVED, actor=by, api_key=by_key, at=now, department_id=case.department_id
        )
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
                messages += _escalation_messages(case, recipients)
            else:
                log.warning("overdue case %s: department %s has no manager with an e-mail", case.pk, case.department)
        if messages:
            get_connection().send_messages(messages)
        Case.objects.filter(pk__in=[c.pk for c in cases]).update(escalated_at=now)
        CaseEvent.objects.bulk_create(
            [CaseEvent(case=c, kind=CaseEventKind.ESCALATED, at=now, department_id=c.department_id) for c in cases]
        )
        _notice_escalations(cases, now)
        _publish("case.overdue", [c.pk for c in cases])
    return len(cases)


def _notice_escalations(cases: list[Case], now: datetime) -> None:
    """Escalation notices in the managers' inboxes (the e-mail went out above)."""
    managers: dict[int, list[int]] = {}
    rows = User.objects.filter(
        role=Role.MANAGER, is_active=True, departments__in={c.department_id for c in cases}
    ).values_list("departments", "pk")
    for department_id, user_id in rows:
        managers.setdefault(department_id, []).append(user_id)
    Notice.objects.bulk_create(
        [
            Notice(
                user_id=user_id,
                case=case,
                kind=CaseEventKind.ESCALATED,
                message=(_("Case %(pk)s is overdue and was escalated.") % {"pk": case.pk}),
                created_at=now,
            )
            for case in cases
            for user_id in managers.get(case.department_id, [])
        ]
    )


def _managers_by_department(department_ids: set[int]) -> dict[int, list[tuple[str, str]]]:
    """Per department, its managers' (e-mail, language) pairs."""
    found: dict[int, list[tuple[str, str]]] = {}
    rows = User.objects.filter(
        role=Role.MANAGER, is_active=True, departments__in=department_ids, email__gt=""
    ).values_list("departments", "email", "language")
    for department_id, email, language in rows:
        if department_id in department_ids:
            found.setdefault(department_id, []).append((email, language or settings.LANGUAGE_CODE))
    return found


def _escalation_messages(case: Case, recipients: list[tuple[str, str]]) -> list[EmailMessage]:
    """One message per language, each manager reading it in the language of their profile."""
    context = {"case": case, "url": case_payload(case)["url"]}
    messages = []
    for language in sorted({language for _email, language in recipients}):
        with translation.override(language):
            subject = render_to_string("feedback/email/escalation_subject.txt", context).strip()
            body = render_to_string("feedback/email/escalation_body.txt", context)
        to = sorted({email for email, lang in recipients if lang == language})
        messages.append(EmailMessage(subject=subject, body=body, to=to))
    return messages


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
            raise FeedbackError(_("this suggestion has already been decided"))
        if accept:
            moved = Customer.objects.filter(pk=locked.customer_id, relationship_level=locked.from_level).update(
                relationship_level=locked.to_level
            )
            if not moved:
                raise FeedbackError(_("the customer's level changed since this was suggested; dismiss it"))
        locked.status = SuggestionStatus.ACCEPTED if accept else SuggestionStatus.DISMISSED
        locked.decided_at = now
        locked.decided_by = by
        locked.save(update_fields=["status", "decided_at", "decided_by"])
