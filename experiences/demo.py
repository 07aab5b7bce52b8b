"""Demo data: realistic customers and a year of experiences, written through the one write path.

Everything is drawn from a `random.Random` seeded by `--seed`, so a seed always tells the
same story relative to "now": billing and collections and logistics (worse in the year-end
peak) are clearly the weak departments, reception the strongest, customer service got better
four months ago, the website had a bad fortnight seven months ago, fewer experiences at weekends
and in August. The experiences carry idempotency keys `demo-<n>`, so a second run stores nothing.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from customers.models import Customer, RelationshipLevel
from touchpoints.demo_catalogue import TOUCHPOINTS, DemoTouchpoint, Tally, install_catalogue
from touchpoints.models import Department, Stage

from .models import Emotion, Expectation, Experience, Outcome, Source
from .services import record_experiences

BATCH_SIZE = 2500
DAYS = 365
KEY_PREFIX = "demo-"


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    departments: tuple[str, ...]
    first_name: str
    last_name: str
    superuser: bool = False


# Fixed and documented in docs/demo-data.md; they pass Django's password validators.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("demo-staff", "moments-of-truth", Role.STAFF, ("customer-service",), "Sara", "Molina"),
    DemoUser(
        "demo-manager", "five-positives-per-negative", Role.MANAGER, ("customer-service", "logistics"), "Marc", "Vidal"
    ),
    DemoUser("demo-admin", "every-department-counts", Role.ADMIN, (), "Alex", "Ortega", superuser=True),
    DemoUser("demo-driver", "late-trucks-hurt-twice", Role.STAFF, ("logistics",), "Luis", "Pardo"),
    DemoUser("demo-plant", "quality-starts-at-the-plant", Role.MANAGER, ("production",), "Paula", "Ruiz"),
)
REPORTER = "demo-staff"  # customer service hears about other departments' moments and logs them
REPORTED_SHARE = 3  # one negative in this many at other departments' touchpoints is logged by REPORTER


@dataclass(frozen=True)
class DemoCustomer:
    external_id: str
    name: str
    email: str
    segment: str
    relationship_level: str
    category_spend: Decimal | None
    our_revenue: Decimal | None
    activity: float  # relative number of experiences
    temper: float  # multiplies the odds of a negative experience: > 1 is a hard-to-please or ill-served account


@dataclass
class SeedReport:
    tallies: dict[str, Tally] = field(default_factory=dict)
    rejected: int = 0
    users: list[tuple[DemoUser, bool]] = field(default_factory=list)  # (user, created now)
    seconds: float = 0.0


# --- customers -----------------------------------------------------------------------------

NAME_STEMS = (
    "Alba", "Boreal", "Cedro", "Delta", "Estrella", "Faro", "Granito", "Horizonte", "Iris", "Jara",
    "Lince", "Marea", "Nogal", "Olivo", "Pinar", "Roble", "Sierra", "Tajo", "Vega", "Zafiro",
    "Northwind", "Bluefield", "Ironbridge", "Greenway", "Silverline", "Redwood", "Brightwater",
    "Kingsley", "Oakridge", "Summit", "Harbour", "Meridian", "Atlas", "Polaris", "Orion", "Quarry",
)  # fmt: skip
NAME_TRADES = (
    "Foods", "Logistics", "Textiles", "Motors", "Pharma", "Builders", "Plastics", "Labs", "Retail",
    "Hotels", "Farms", "Paper", "Metals", "Energy", "Clinics", "Printing", "Packaging", "Electronics",
)  # fmt: skip
NAME_FORMS = ("S.A.", "S.L.", "Ltd", "GmbH", "Group", "& Co.", "Industries")
SEGMENTS = {  # segment: (share of customers, activity factor, typical yearly category spend)
    "enterprise": (8, 4.0, 2_000_000),
    "mid-market": (22, 2.0, 400_000),
    "small-business": (50, 1.0, 60_000),
    "public-sector": (8, 1.5, 800_000),
    "distributor": (12, 3.0, 1_000_000),
}
LEVELS = list(RelationshipLevel.values)  # lowest rung first
WALLET_SHARE_BY_LEVEL = dict(zip(LEVELS, (0.10, 0.20, 0.35, 0.50, 0.65), strict=True))


def generate_customers(count: int, *, seed: int) -> list[DemoCustomer]:
    """Business customers with a heavy-tailed activity; better-served ones sit higher on the ladder."""
    rng = random.Random(f"{seed}-customers")
    names = [" ".join(parts) for parts in itertools.product(NAME_STEMS, NAME_TRADES, NAME_FORMS)]
    rng.shuffle(names)
    segments, segment_weights = list(SEGMENTS), [share for share, _, _ in SEGMENTS.values()]
    customers = []
    for n in range(count):
        name = names[n % len(names)] + (f" {n // len(names) + 1}" if n >= len(names) else "")
        segment = rng.choices(segments, weights=segment_weights)[0]
        _, activity_factor, typical_spend = SEGMENTS[segment]
        temper = rng.uniform(2.5, 3.5) if rng.random() < 0.08 else rng.lognormvariate(0, 0.3)
        level = rng.choices(LEVELS, weights=[40 * temper, 28, 18 / temper, 9 / temper**2, 5 / temper**3])[0]
        spend = revenue = None
        if rng.random() < 0.65:
            spend_value = round(typical_spend * rng.lognormvariate(0, 0.5), -2)
            share = min(0.95, WALLET_SHARE_BY_LEVEL[level] * rng.uniform(0.6, 1.3))
            spend, revenue = Decimal(f"{spend_value:.2f}"), Decimal(f"{round(spend_value * share, -2):.2f}")
        domain = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        customers.append(
            DemoCustomer(
                external_id=f"DEMO-{n + 1:05d}",
                name=name,
                email=f"purchasing@{domain}.example",
                segment=segment,
                relationship_level=level,
                category_spend=spend,
                our_revenue=revenue,
                activity=rng.paretovariate(1.6) * activity_factor,
                temper=temper,
            )
        )
    return customers


# --- experiences ---------------------------------------------------------------------------

BASE_NEGATIVE_SHARE = {Stage.PERCEPTION: 0.05, Stage.INTERACTION: 0.075, Stage.REMEMBRANCE: 0.06}
POSITIVE_SHARE_OF_REST = {Stage.PERCEPTION: 0.55, Stage.INTERACTION: 0.68, Stage.REMEMBRANCE: 0.65}
# Multipliers of the odds of a negative experience: the story the demo tells.
DEPARTMENT_TROUBLE = {
    "billing-collections": 2.2,
    "logistics": 1.5,
    "quality-assurance": 1.4,
    "systems": 1.3,
    "accounting": 1.2,
    "maintenance": 1.1,
    "sales": 0.8,
    "marketing": 0.8,
    "research-development": 0.7,
    "reception-security": 0.5,
}
TOUCHPOINT_TROUBLE = {
    "collection-call": 1.6,
    "invoice-clarity": 1.5,
    "claim-registration": 1.5,
    "claim-resolution": 1.6,
    "complete-delivery": 1.4,
    "order-status": 1.3,
    "website-speed": 1.2,
    "delivery-driver": 0.7,
    "reception-welcome": 0.6,
    "customer-community": 0.4,
    "thank-you-message": 0.4,
}
PEAK_MONTHS = (11, 12)  # the year-end peak strains logistics
PEAK_LOGISTICS_TROUBLE = 1.7
SERVICE_TRAINING_DAYS_AGO = 120  # customer service improved after a training course
SERVICE_TROUBLE_BEFORE, SERVICE_TROUBLE_AFTER = 1.5, 0.8
WEBSITE_OUTAGE_DAYS_AGO = range(200, 214)  # a bad fortnight for the website
WEBSITE_OUTAGE_TROUBLE = 3.5

WEEKDAY_RHYTHM = (1.0, 1.05, 1.05, 1.0, 0.9, 0.3, 0.12)  # Monday first
MONTH_RHYTHM = (0.9, 0.95, 1.05, 1.0, 1.05, 1.0, 0.85, 0.6, 1.05, 1.1, 1.25, 1.05)  # January first
HOUR_RHYTHM = (0, 0, 0, 0, 0, 0, 1, 3, 8, 10, 10, 9, 7, 5, 7, 8, 7, 5, 3, 2, 1, 1, 0, 0)
YEARLY_GROWTH = 0.15  # the business grew: today is 15 % busier than a year ago

INTENSITIES = (1, 2, 3, 4, 5)
INTENSITY_WEIGHTS = {-1: (5, 20, 40, 25, 10), 0: (35, 40, 20, 4, 1), 1: (10, 25, 35, 20, 10)}
EMOTIONS = {  # (valence, strong feeling): emotions and their weights
    (1, True): {Emotion.DELIGHTED: 5, Emotion.GRATEFUL: 3, Emotion.SURPRISED: 2},
    (1, False): {Emotion.TRUSTING: 4, Emotion.GRATEFUL: 3, Emotion.RELIEVED: 2, Emotion.SURPRISED: 1},
    (0, True): {Emotion.INDIFFERENT: 3, Emotion.CONFUSED: 1},
    (0, False): {Emotion.INDIFFERENT: 6, Emotion.CONFUSED: 1},
    (-1, True): {Emotion.ANGRY: 4, Emotion.FRUSTRATED: 4, Emotion.DISAPPOINTED: 2},
    (-1, False): {Emotion.DISAPPOINTED: 4, Emotion.FRUSTRATED: 2, Emotion.ANXIOUS: 2, Emotion.CONFUSED: 2},
}
EXPECTATIONS = {
    -1: {Expectation.MISSED: 8, Expectation.MET: 2},
    0: {Expectation.MET: 8, Expectation.MISSED: 1, Expectation.EXCEEDED: 1},
    1: {Expectation.MET: 55, Expectation.EXCEEDED: 45},
}
FAILED_SHARE = {-1: 0.55, 0: 0.1, 1: 0.03}
NOTE_SHARE = {-1: 0.2, 0: 0.04, 1: 0.06}
NOTES = {
    -1: (
        "Customer had to call twice before anyone answered.",
        "Promised a call back that never came.",
        "Nobody knew who was responsible; customer was passed around.",
        "Customer says this is not the first time.",
    ),
    0: ("Routine contact, nothing to remark.", "Customer asked for the usual; done."),
    1: (
        "Customer thanked us by name.",
        "Solved in the first contact.",
        "Customer said they will recommend us to a partner.",
    ),
}
TOUCHPOINT_NOTES = {
    ("on-time-delivery", -1): "Delivery arrived two days after the agreed date.",
    ("complete-delivery", -1): "Two pallets missing from the delivery.",
    ("invoice-clarity", -1): "Invoice price does not match the quotation.",
    ("collection-call", -1): "Collector was rude; the invoice had already been paid.",
    ("payment-reminder", -1): "Reminder sent for an invoice under claim.",
    ("website-speed", -1): "Website too slow to download the data sheet.",
    ("claim-resolution", -1): "Claim answered after three weeks with a template letter.",
    ("switchboard-call", 1): "Receptionist knew exactly whom to put the call through to.",
    ("field-service", 1): "Technician explained the fix and left the site clean.",
}


def generate_experiences(
    *, count: int, customers: Sequence[DemoCustomer], seed: int, now: datetime
) -> Iterator[dict[str, Any]]:
    """Experience items for `record_experiences`, deterministic for a seed and the day of `now`.

    The first items visit every touchpoint once, so that even a tiny demo gives every
    department something to look at.
    """
    rng = random.Random(f"{seed}-experiences")
    today = timezone.localdate(now)
    days = [today - timedelta(days=d) for d in range(DAYS)]
    day_cum = list(
        itertools.accumulate(
            WEEKDAY_RHYTHM[day.weekday()] * MONTH_RHYTHM[day.month - 1] * (1 + YEARLY_GROWTH * (1 - d / DAYS))
            for d, day in enumerate(days)
        )
    )
    touchpoint_cum = list(itertools.accumulate(t.volume for t in TOUCHPOINTS))
    customer_cum = list(itertools.accumulate(c.activity for c in customers))
    for n in range(count):
        touchpoint = TOUCHPOINTS[n] if n < len(TOUCHPOINTS) else TOUCHPOINTS[_pick(rng, touchpoint_cum)]
        customer = customers[_pick(rng, customer_cum)]
        department = touchpoint.owners[0]
        if len(touchpoint.owners) > 1 and rng.random() < 0.3:
            department = rng.choice(touchpoint.owners[1:])
        days_ago = _pick(rng, day_cum)
        hour = rng.choices(range(24), weights=HOUR_RHYTHM)[0]
        occurred_at = timezone.make_aware(
            datetime.combine(days[days_ago], datetime.min.time())
            + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
        )
        if occurred_at > now:  # later today: move it to yesterday
            occurred_at -= timedelta(days=1)
        trouble = _trouble(touchpoint, department, days[days_ago].month, days_ago) * customer.temper
        valence = _valence(rng, touchpoint.stage, trouble)
        yield {
            "id": f"{KEY_PREFIX}{n}",
            "customer": customer.external_id,
            "touchpoint": touchpoint.code,
            "department": department,
            "occurred_at": occurred_at,
            **_feelings(rng, touchpoint, valence),
        }


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    """Index of a weighted choice over cumulative weights."""
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1], hi=len(cumulative) - 1)


def _trouble(touchpoint: DemoTouchpoint, department: str, month: int, days_ago: int) -> float:
    trouble = DEPARTMENT_TROUBLE.get(department, 1.0) * TOUCHPOINT_TROUBLE.get(touchpoint.code, 1.0)
    if department == "logistics" and month in PEAK_MONTHS:
        trouble *= PEAK_LOGISTICS_TROUBLE
    if department == "customer-service":
        trouble *= SERVICE_TROUBLE_BEFORE if days_ago > SERVICE_TRAINING_DAYS_AGO else SERVICE_TROUBLE_AFTER
    if touchpoint.code == "website-speed" and days_ago in WEBSITE_OUTAGE_DAYS_AGO:
        trouble *= WEBSITE_OUTAGE_TROUBLE
    return trouble


def _valence(rng: random.Random, stage: str, trouble: float) -> int:
    base = BASE_NEGATIVE_SHARE[Stage(stage)]
    odds = base / (1 - base) * trouble
    negative = odds / (1 + odds)
    r = rng.random()
    if r < negative:
        return -1
    return 1 if r < negative + (1 - negative) * POSITIVE_SHARE_OF_REST[Stage(stage)] else 0


def _feelings(rng: random.Random, touchpoint: DemoTouchpoint, valence: int) -> dict[str, Any]:
    """Intensity, emotion, expectation, outcome and note consistent with the valence."""
    intensity = rng.choices(INTENSITIES, weights=INTENSITY_WEIGHTS[valence])[0]
    emotion = expectation = outcome = note = ""
    if rng.random() < 0.7:
        emotions = EMOTIONS[(valence, intensity >= 4)]
        emotion = rng.choices(list(emotions), weights=list(emotions.values()))[0]
    if rng.random() < 0.6:
        expectation = rng.choices(list(EXPECTATIONS[valence]), weights=list(EXPECTATIONS[valence].values()))[0]
    if rng.random() < (0.55 if touchpoint.stage == Stage.INTERACTION else 0.15):
        outcome = Outcome.FAILED if rng.random() < FAILED_SHARE[valence] else Outcome.OK
    if rng.random() < NOTE_SHARE[valence]:
        note = TOUCHPOINT_NOTES.get((touchpoint.code, valence)) or rng.choice(NOTES[valence])
    return {
        "valence": valence,
        "intensity": intensity,
        "emotion": emotion,
        "expectation": expectation,
        "outcome": outcome,
        "note": note,
    }


# --- writing it all ------------------------------------------------------------------------


def seed_demo(*, customers: int, experiences: int, seed: int, now: datetime | None = None) -> SeedReport:
    """Create what is missing of the demo, in one transaction; a second run changes nothing.

    Scores follow from the write path's after-commit hook, once, when the transaction commits.
    """
    started = time.monotonic()
    now = now or timezone.now()
    report = SeedReport()
    demo_customers = generate_customers(customers, seed=seed)
    with transaction.atomic():
        report.tallies.update(install_catalogue())
        report.tallies["customers"] = _install_customers(demo_customers)
        report.users = _install_users()
        report.tallies["users"] = Tally(
            created=sum(created for _, created in report.users),
            existing=sum(not created for _, created in report.users),
        )
        tally = report.tallies["experiences"] = Tally()
        seeded = Experience.objects.filter(source=Source.IMPORT, external_id__startswith=KEY_PREFIX).count()
        if seeded >= experiences:  # a rerun: every key would come back as a duplicate
            tally.existing = experiences
            experiences = 0
        items = generate_experiences(count=experiences, customers=demo_customers, seed=seed, now=now)
        reporter = User.objects.get(username=REPORTER)
        while batch := list(itertools.islice(items, BATCH_SIZE)):
            reported = [item for item in batch if _reported_by_customer_service(item)]
            for part, by in ((reported, reporter), ([i for i in batch if i not in reported], None)):
                if not part:
                    continue
                result = record_experiences(items=part, source=Source.IMPORT, recorded_by=by, now=now)
                tally.created += result.accepted
                tally.existing += result.duplicates
                report.rejected += result.rejected
    _seed_inbox(now=now)
    report.seconds = time.monotonic() - started
    return report


def _reported_by_customer_service(item: dict[str, Any]) -> bool:
    """Some negatives at other departments' touchpoints came to customer service first (DESIGN §1)."""
    number = int(item["id"].removeprefix(KEY_PREFIX))
    return item["valence"] == -1 and item["department"] != "customer-service" and number % REPORTED_SHARE == 0


def _seed_inbox(*, now: datetime) -> None:
    """Open the recent cases and put some in the demo people's inboxes, once: a transfer with its
    reason, and assignments; a second run finds them there and does nothing."""
    from feedback import services as feedback  # feedback builds on experiences: import late
    from feedback.models import Case, CaseStatus

    recent = Experience.objects.filter(valence=-1, occurred_at__gte=now - timedelta(days=7)).values_list(
        "pk", flat=True
    )
    feedback.open_cases(experience_ids=list(recent), now=now)
    driver = User.objects.filter(username="demo-driver").first()
    plant = User.objects.filter(username="demo-plant").first()
    manager = User.objects.filter(username="demo-manager").first()
    if driver is None or plant is None or manager is None or Case.objects.filter(assignee=driver).exists():
        return
    # The latest negatives at logistics, with a case by hand where the rules opened none (a small
    # demo has few recent ones): three for the driver's inbox, one that belongs to production.
    latest = Experience.objects.filter(valence=-1, department__code="logistics").order_by("-occurred_at", "-pk")
    cases = [feedback.open_case_by_hand(experience=x, by=manager, now=now)[0] for x in latest[:4]]
    cases = [c for c in cases if c.status == CaseStatus.OPEN]
    for case in cases[:3]:
        feedback.assign_case(case=case, assignee=driver, by=manager, now=now)
    production = Department.objects.filter(code="production").first()
    if len(cases) == 4 and production is not None:
        feedback.transfer_case(
            case=cases[3], department=production, reason="The order left the plant two days late.", by=manager, now=now
        )


def _install_customers(demo_customers: list[DemoCustomer]) -> Tally:
    """Create the customers missing by external id; existing ones are left as they are."""
    ids = [c.external_id for c in demo_customers]
    existing = set(Customer.objects.filter(external_id__in=ids).values_list("external_id", flat=True))
    fields = ("external_id", "name", "email", "segment", "relationship_level", "category_spend", "our_revenue")
    missing = [Customer(**{f: getattr(c, f) for f in fields}) for c in demo_customers if c.external_id not in existing]
    Customer.objects.bulk_create(missing, batch_size=500)
    return Tally(created=len(missing), existing=len(existing))


def _install_users() -> list[tuple[DemoUser, bool]]:
    """Create the demo users that are missing; an existing user keeps its password and departments."""
    users = []
    for demo in DEMO_USERS:
        user = User.objects.filter(username=demo.username).first()
        if user is not None:
            users.append((demo, False))
            continue
        user = User(
            username=demo.username,
            first_name=demo.first_name,
            last_name=demo.last_name,
            email=f"{demo.username}@example.com",
            role=demo.role,
            is_staff=demo.superuser,
            is_superuser=demo.superuser,
        )
        validate_password(demo.password, user)
        user.set_password(demo.password)
        user.save()
        user.departments.set(Department.objects.filter(code__in=demo.departments))
        users.append((demo, True))
    return users
