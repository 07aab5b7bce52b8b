"""Demo surveys: rules, invitations after real demo experiences, answers in English and Spanish.

Built on top of `experiences.demo.seed_demo` by the same command, so every survey page has
content on first start. Answers go through the real services (`record_response`), so they
become remembrance-stage experiences, open cases and carry themes like real ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from experiences.models import Experience, Source
from touchpoints.models import Touchpoint

from . import scales, services, themes
from .models import Invitation, Survey, SurveyRule, SurveyTrigger, TriggerOutcome

SPANISH_SHARE = 0.3  # demo customers who read surveys in Spanish
DAYS = 75  # the answers cover the last weeks, so the default 30-day dashboards have figures
ANSWER_SHARE = 0.6


@dataclass(frozen=True)
class DemoSurvey:
    slug: str
    name: str
    kind: str
    touchpoint: str
    delay_minutes: int
    sample_percent: int
    question: str = ""
    question_es: str = ""
    follow_up_kind: str = ""
    follow_up_question: str = ""
    follow_up_question_es: str = ""
    follow_up_choices: str = ""
    follow_up_choices_es: str = ""


SURVEYS = (
    DemoSurvey(
        "delivery-nps",
        "Your delivery",
        "nps",
        "on-time-delivery",
        120,
        60,
        follow_up_kind="scale",
        follow_up_question="How would you rate the driver, from 1 to 5?",
        follow_up_question_es="¿Cómo valora al conductor, del 1 al 5?",
    ),
    DemoSurvey(
        "invoice-csat",
        "Your invoice",
        "csat",
        "invoice-clarity",
        24 * 60,
        100,
        question="How satisfied are you with how clear your invoice is?",
        question_es="¿Qué tan satisfecho está con la claridad de su factura?",
    ),
    DemoSurvey(
        "order-status-ces",
        "Finding your order",
        "ces",
        "order-status",
        60,
        100,
        follow_up_kind="choice",
        follow_up_question="What would have made it easier?",
        follow_up_question_es="¿Qué lo habría hecho más fácil?",
        follow_up_choices="Tracking link\nA phone call\nA clearer e-mail\nNothing, it was fine",
        follow_up_choices_es="Enlace de seguimiento\nUna llamada\nUn correo más claro\nNada, estuvo bien",
    ),
)

# (valence, language): comments customers write, by touchpoint
COMMENTS = {
    "on-time-delivery": {
        (-1, "en"): (
            "Late delivery again, nobody warned me.",
            "The late delivery cost us a day of production.",
            "Late delivery and the driver was rude.",
            "Two boxes missing and a late delivery.",
        ),
        (-1, "es"): (
            "La entrega llegó tarde y nadie avisó.",
            "Otra vez la entrega tarde, necesitamos el material a tiempo.",
            "La entrega llegó incompleta y tarde.",
        ),
        (0, "en"): ("Delivery was fine.", "Arrived on the agreed day, nothing special."),
        (0, "es"): ("La entrega fue correcta.", "Llegó el día acordado."),
        (1, "en"): (
            "Friendly driver, right on time.",
            "The friendly driver carried everything inside. Great service.",
            "On time and complete, thank you.",
        ),
        (1, "es"): (
            "El repartidor fue muy amable y puntual.",
            "Entrega perfecta, el repartidor llamó antes de venir.",
            "Todo llegó completo y a tiempo, gracias.",
        ),
    },
    "invoice-clarity": {
        (-1, "en"): (
            "The invoice was confusing and I was overcharged.",
            "Could not match the invoice to our order.",
            "The invoice had the wrong prices again.",
        ),
        (-1, "es"): ("La factura es confusa y me cobraron de más.", "La factura no coincide con el pedido."),
        (0, "en"): ("Invoice was OK.",),
        (0, "es"): ("La factura está bien.",),
        (1, "en"): ("Clear invoice, easy to check.", "The invoice was clear and on time."),
        (1, "es"): ("Factura clara y fácil de revisar.", "La factura por fin es clara, gracias."),
    },
    "order-status": {
        (-1, "en"): (
            "Customer service never called back about my order.",
            "I waited an hour for customer service to find my order.",
        ),
        (-1, "es"): (
            "La atención al cliente nunca contestó sobre mi pedido.",
            "Esperé una hora a la atención al cliente.",
        ),
        (0, "en"): ("Found the order status after a while.",),
        (0, "es"): ("Encontré el estado del pedido al final.",),
        (1, "en"): ("Customer service found my order in a minute.", "Excellent customer service, very clear."),
        (1, "es"): ("La atención al cliente fue excelente.", "Buena atención al cliente, resolvieron todo."),
    },
}
SCORES = {  # (kind, valence of the moment) -> scores a customer tends to give
    ("nps", -1): (0, 2, 3, 4, 5, 6, 6, 7),
    ("nps", 0): (6, 7, 7, 8, 8, 9),
    ("nps", 1): (8, 9, 9, 10, 10, 10),
    ("csat", -1): (1, 1, 2, 2, 3),
    ("csat", 0): (3, 3, 4),
    ("csat", 1): (4, 5, 5),
    ("ces", -1): (1, 2, 2, 3, 4),
    ("ces", 0): (4, 5, 5),
    ("ces", 1): (6, 6, 7, 7),
}


def seed_feedback(*, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Surveys, rules, triggered invitations and answers; nothing when the demo surveys already exist."""
    now = now or timezone.now()
    if Survey.objects.filter(slug__in=[s.slug for s in SURVEYS]).exists():
        return {}
    rng = random.Random(seed)
    touchpoints = {t.code: t for t in Touchpoint.objects.filter(code__in=[s.touchpoint for s in SURVEYS])}
    counts = {"surveys": 0, "invitations": 0, "answers": 0}
    with transaction.atomic():
        _spanish_customers(rng)
        for demo in SURVEYS:
            touchpoint = touchpoints.get(demo.touchpoint)
            if touchpoint is None:
                continue
            survey = Survey.objects.create(
                slug=demo.slug,
                name=demo.name,
                kind=demo.kind,
                touchpoint=touchpoint,
                question=demo.question,
                question_es=demo.question_es,
                follow_up_kind=demo.follow_up_kind,
                follow_up_question=demo.follow_up_question,
                follow_up_question_es=demo.follow_up_question_es,
                follow_up_choices=demo.follow_up_choices,
                follow_up_choices_es=demo.follow_up_choices_es,
            )
            rule = SurveyRule.objects.create(
                touchpoint=touchpoint,
                survey=survey,
                delay_minutes=demo.delay_minutes,
                sample_percent=demo.sample_percent,
                seed=f"demo-{seed}",
                created_at=now - timedelta(days=DAYS + 1),
            )
            counts["surveys"] += 1
            invited, answered = _invite_and_answer(rng, survey, rule, now)
            counts["invitations"] += invited
            counts["answers"] += answered
    themes.refresh_themes(now=now)
    counts["ladder suggestions"] = services.suggest_ladder_moves(now=now)  # "every night" has happened once
    return counts


def _spanish_customers(rng: random.Random) -> None:
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    Customer.objects.filter(pk__in=[pk for pk in ids if rng.random() < SPANISH_SHARE]).update(language="es")


def _invite_and_answer(rng: random.Random, survey: Survey, rule: SurveyRule, now: datetime) -> tuple[int, int]:
    """Invite after the demo experiences of the last weeks, one per customer, and answer most of them."""
    moments = list(
        Experience.objects.filter(
            touchpoint=survey.touchpoint, occurred_at__gte=now - timedelta(days=DAYS), occurred_at__lt=now
        )
        .exclude(source=Source.SURVEY)
        .select_related("customer", "touchpoint")
        .order_by("occurred_at", "pk")
    )
    invited: set[int] = set()
    answered = 0
    for moment in moments:
        customer = moment.customer
        if customer.pk in invited or not customer.email:
            continue
        invited.add(customer.pk)
        sent = moment.occurred_at + timedelta(minutes=rule.delay_minutes)
        if sent >= now:
            continue
        invitation = Invitation.objects.create(
            survey=survey,
            customer=customer,
            experience=moment,
            rule=rule,
            touchpoint_id=moment.touchpoint_id,
            department_id=moment.department_id,
            created_at=sent,
            sent_at=sent,
            expires_at=sent + timedelta(days=14),
        )
        SurveyTrigger.objects.create(
            experience=moment, rule=rule, outcome=TriggerOutcome.INVITED, invitation=invitation, decided_at=sent
        )
        answer_at = sent + timedelta(hours=rng.randint(1, 72))
        if rng.random() > ANSWER_SHARE or answer_at >= now:
            continue
        score = rng.choice(SCORES[(survey.kind, moment.valence)])
        language = customer.language if customer.language in ("en", "es") else "en"
        options = COMMENTS[survey.touchpoint.code].get((scales.valence(survey.kind, score), language), ())
        comment = rng.choice(options) if options and rng.random() < 0.7 else ""
        follow_up = ""
        if survey.follow_up_kind == "scale" and rng.random() < 0.5:
            follow_up = str(rng.randint(3, 5) if score >= 7 else rng.randint(1, 3))
        elif survey.follow_up_kind == "choice" and rng.random() < 0.5:
            follow_up = rng.choice(survey.choices)
        services.record_response(
            invitation=invitation, score=score, comment=comment, follow_up_answer=follow_up, now=answer_at
        )
        answered += 1
    return len(invited), answered
