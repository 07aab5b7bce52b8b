"""The demo catalogue: departments, moments of truth and journeys of a manufacturer that sells to businesses.

The touchpoints come from the everyday situations of the essay "Customer focus, everyone's
responsibility" (DESIGN §1): each names the departments answerable for it, the primary one
first. `install_catalogue` writes what is missing and never touches a row that is already
there, so an administrator's edits survive a second `seed_demo`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from journeys.models import Journey, JourneyStep

from .models import Channel, Department, Stage, Touchpoint, TouchpointOwner

PERCEPTION, INTERACTION, REMEMBRANCE = Stage.PERCEPTION, Stage.INTERACTION, Stage.REMEMBRANCE


@dataclass(frozen=True)
class DemoTouchpoint:
    code: str
    name: str
    channel: str
    stage: str
    owners: tuple[str, ...]  # department codes, the primary (answerable by default) first
    description: str
    volume: float = 2.0  # how often the demo generator lets customers live it, relative to the others


@dataclass(frozen=True)
class DemoJourney:
    slug: str
    name: str
    description: str
    steps: tuple[str, ...]  # touchpoint codes in the order the customer lives them


@dataclass
class Tally:
    """What a seeding step found: rows it created and rows that were already there."""

    created: int = 0
    existing: int = 0


DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("sales", "Sales"),
    ("marketing", "Marketing"),
    ("reception-security", "Reception and security"),
    ("systems", "Systems"),
    ("customer-service", "Customer service"),
    ("logistics", "Logistics"),
    ("billing-collections", "Billing and collections"),
    ("quality-assurance", "Quality assurance"),
    ("maintenance", "Maintenance and field work"),
    ("purchasing", "Purchasing"),
    ("production", "Production"),
    ("research-development", "Research and development"),
    ("accounting", "Accounting"),
    ("human-resources", "Human resources"),
)

T = DemoTouchpoint
TOUCHPOINTS: tuple[DemoTouchpoint, ...] = (
    # Perception: the ideas a customer forms before any contact.
    T("advertising", "Advertising campaign", Channel.MEDIA, PERCEPTION, ("marketing",),
      "Press, radio and online ads: the first promise the company makes.", 3),
    T("word-of-mouth", "Word of mouth and referrals", Channel.MEDIA, PERCEPTION, ("marketing", "sales"),
      "What other customers say about us before the first call.", 2),
    T("online-reviews", "Online reviews and social media", Channel.MEDIA, PERCEPTION, ("marketing", "customer-service"),
      "Ratings and comments the customer reads, and our answers to them.", 2),
    T("website-speed", "Website speed and ease of access", Channel.WEB, PERCEPTION, ("systems", "marketing"),
      "Ease of access, speed and clarity of the company's website.", 5),
    T("website-product-information", "Product information on the website", Channel.WEB, PERCEPTION,
      ("marketing", "research-development"), "Data sheets, photos and prices a buyer finds on the website.", 3),
    T("newsletter", "E-mail newsletter", Channel.EMAIL, PERCEPTION, ("marketing", "systems"),
      "News and offers by e-mail: useful, or one more message to delete.", 2),
    T("trade-fair", "Trade fair stand", Channel.IN_PERSON, PERCEPTION, ("marketing", "sales"),
      "The stand, the demo and the people a prospect meets at a fair.", 1),
    T("price-list", "Published prices, presentations and conditions", Channel.DOCUMENT, PERCEPTION,
      ("sales", "customer-service"), "Clarity and order of the price list, packaging options and terms.", 2),
    T("premises-appearance", "Outside of our premises", Channel.IN_PERSON, PERCEPTION,
      ("maintenance", "reception-security"),
      "Signs, parking, cleanliness: the image the premises give before the door opens.", 1),
    # Interaction: the moments of truth.
    T("switchboard-call", "Phone call to the switchboard", Channel.PHONE, INTERACTION, ("reception-security",),
      "Accurate information, agility and attention of receptionists and secretaries.", 6),
    T("email-enquiry", "Answer to an e-mail enquiry", Channel.EMAIL, INTERACTION,
      ("customer-service", "sales", "systems"),
      "Timeliness, clarity and quality of the answer to a customer's e-mail.", 6),
    T("customer-portal", "Customer portal self-service", Channel.WEB, INTERACTION, ("systems", "customer-service"),
      "Logging in, downloading documents and placing repeat orders without calling.", 4),
    T("gate-access", "Access at the gate", Channel.IN_PERSON, INTERACTION, ("reception-security",),
      "How guards and gatekeepers receive a visitor or a customer's truck.", 2),
    T("reception-welcome", "Welcome at reception", Channel.IN_PERSON, INTERACTION,
      ("reception-security", "human-resources"),
      "Organisation and attention of a physical visit from the front desk on.", 2),
    T("customer-visit", "Hosting a customer visit", Channel.IN_PERSON, INTERACTION,
      ("sales", "reception-security", "production"), "A customer's visit to our plant: agenda, tour, people met.", 1),
    T("sales-meeting", "Sales meeting", Channel.FIELD, INTERACTION, ("sales",),
      "A salesperson's visit: listening to needs before offering products.", 3),
    T("quotation", "Quotation and price information", Channel.DOCUMENT, INTERACTION, ("sales", "customer-service"),
      "A written offer with prices, presentations and conditions the customer can rely on.", 3),
    T("order-taking", "Order taking", Channel.PHONE, INTERACTION, ("customer-service", "sales"),
      "Never assume: agility, clarity and attention when the customer places an order.", 10),
    T("delivery-agreement", "Delivery date agreement", Channel.PHONE, INTERACTION, ("customer-service", "logistics"),
      "Agreeing a delivery date and conditions the company can keep.", 5),
    T("order-confirmation", "Order confirmation", Channel.EMAIL, INTERACTION, ("customer-service", "systems"),
      "The written confirmation of what was ordered, when and at what price.", 4),
    T("order-change", "Order change request", Channel.EMAIL, INTERACTION, ("customer-service", "production"),
      "The customer changes quantities or dates after ordering.", 2),
    T("order-status", "Order status enquiry", Channel.PHONE, INTERACTION, ("customer-service", "sales", "logistics"),
      "Accurate and timely answer about where the customer's order is.", 7),
    T("material-availability", "Availability of materials for an order", Channel.PHONE, INTERACTION,
      ("purchasing", "production"), "Whether purchasing secured what the customer's order needs in time.", 2),
    T("on-time-delivery", "On-time delivery", Channel.DELIVERY, INTERACTION, ("logistics",),
      "The delivery arrives on the agreed day and time window.", 8),
    T("complete-delivery", "Complete delivery within specification", Channel.DELIVERY, INTERACTION,
      ("logistics", "production", "quality-assurance"), "Everything ordered, in the agreed quantities and specs.", 7),
    T("delivery-driver", "Delivery driver's courtesy", Channel.DELIVERY, INTERACTION, ("logistics",),
      "How the driver behaves at the customer's dock.", 3),
    T("product-quality", "Product quality on arrival", Channel.DELIVERY, INTERACTION,
      ("production", "quality-assurance"),
      "The product works and looks as promised when it is unpacked.", 4),
    T("invoice-clarity", "Clear and correct invoice", Channel.DOCUMENT, INTERACTION,
      ("billing-collections", "customer-service", "systems", "sales"),
      "Prices, quantities and taxes match what was agreed; the invoice is easy to read.", 6),
    T("invoice-timeliness", "Invoice on time", Channel.DOCUMENT, INTERACTION, ("billing-collections", "logistics"),
      "The invoice arrives with the goods, not months later.", 3),
    T("payment-reminder", "Payment reminder", Channel.EMAIL, INTERACTION, ("billing-collections",),
      "A reminder that is correct, polite and sent to the right person.", 4),
    T("collection-call", "Collection call", Channel.PHONE, INTERACTION, ("billing-collections", "sales"),
      "Assertive, organised and respectful collection of the customer's portfolio.", 3),
    T("credit-note", "Credit note for a correction", Channel.DOCUMENT, INTERACTION,
      ("accounting", "billing-collections"),
      "Correcting an invoice quickly once an error is accepted.", 2),
    T("account-statement", "Account statement and balance confirmation", Channel.DOCUMENT, INTERACTION,
      ("accounting", "billing-collections"), "Statements and certificates the customer's auditors ask for.", 1),
    T("claim-registration", "Registering a claim", Channel.PHONE, INTERACTION,
      ("customer-service", "quality-assurance"),
      "Taking a claim down completely the first time, without making the customer repeat it.", 3),
    T("claim-resolution", "Claim investigation and answer", Channel.EMAIL, INTERACTION, ("quality-assurance", "sales"),
      "Complete information, agility and an effective answer to the claim.", 3),
    T("replacement-delivery", "Replacement or return", Channel.DELIVERY, INTERACTION,
      ("logistics", "quality-assurance"),
      "Collecting the faulty goods and delivering the replacement.", 2),
    T("consumption-report", "Consumption reports and commercial documents", Channel.DOCUMENT, INTERACTION,
      ("customer-service", "sales", "systems", "billing-collections"),
      "Reports, certificates and documents the customer needs from us, on time.", 2),
    T("field-service", "Field service visit", Channel.FIELD, INTERACTION, ("maintenance", "systems"),
      "Work done at the customer's site: quality, coordination and clear information.", 3),
    T("installation", "Installation and commissioning", Channel.FIELD, INTERACTION, ("maintenance", "production"),
      "Installing and starting up equipment at the customer's site.", 2),
    T("spare-parts", "Spare parts availability", Channel.PHONE, INTERACTION, ("purchasing", "maintenance"),
      "Getting the right spare part quickly.", 2),
    T("technical-question", "Answer to a technical question", Channel.EMAIL, INTERACTION,
      ("research-development", "sales", "systems"), "Questions not directly related to a sale, answered well.", 2),
    T("custom-development", "Custom product development", Channel.IN_PERSON, INTERACTION,
      ("research-development", "production", "sales"), "Developing a product variant with the customer.", 1),
    T("staff-courtesy", "Courtesy of any employee", Channel.IN_PERSON, INTERACTION, ("human-resources",),
      "Any bad attention or comment by anyone in the company can overshadow the whole process.", 2),
    # Remembrance: what the customer thinks and feels afterwards.
    T("post-delivery-survey", "Post-delivery satisfaction survey", Channel.SURVEY, REMEMBRANCE,
      ("customer-service", "logistics"), "A short CSAT question after each delivery.", 3),
    T("relationship-survey", "Yearly relationship survey (NPS)", Channel.SURVEY, REMEMBRANCE, ("marketing",),
      "Would the customer recommend us? Asked once a year to every account.", 2),
    T("claim-follow-up", "Follow-up after a claim", Channel.PHONE, REMEMBRANCE,
      ("quality-assurance", "customer-service"),
      "Calling back to check that the solution held.", 2),
    T("account-review", "Quarterly account review", Channel.IN_PERSON, REMEMBRANCE, ("sales", "customer-service"),
      "Looking back at the quarter together: what went well, what must change.", 2),
    T("thank-you-message", "Thank-you after the first order", Channel.EMAIL, REMEMBRANCE, ("sales", "marketing"),
      "A personal thank-you that makes the first order memorable.", 1),
    T("customer-community", "Customer community and co-creation workshop", Channel.IN_PERSON, REMEMBRANCE,
      ("marketing", "research-development"), "Customers shape the next product with us: the way to evangelists.", 1),
    T("field-service-follow-up", "Follow-up after a field visit", Channel.PHONE, REMEMBRANCE, ("maintenance",),
      "Checking after a field visit that everything still works.", 1),
)  # fmt: skip

JOURNEYS: tuple[DemoJourney, ...] = (
    DemoJourney(
        "first-contact-to-first-order",
        "First contact to first order",
        "How a prospect gets to know us, visits us and places a first order.",
        (
            "advertising",
            "website-product-information",
            "trade-fair",
            "switchboard-call",
            "gate-access",
            "reception-welcome",
            "sales-meeting",
            "quotation",
            "order-taking",
            "thank-you-message",
        ),
    ),
    DemoJourney(
        "order-to-delivery",
        "Order to delivery",
        "From the price list to the paid invoice: the journey every repeat order takes.",
        (
            "price-list",
            "customer-portal",
            "order-taking",
            "order-confirmation",
            "delivery-agreement",
            "order-status",
            "on-time-delivery",
            "complete-delivery",
            "invoice-clarity",
            "payment-reminder",
            "post-delivery-survey",
        ),
    ),
    DemoJourney(
        "claim-to-resolution",
        "Claim to resolution",
        "A negative moment answered: the claim, its investigation, the replacement and the follow-up.",
        (
            "online-reviews",
            "claim-registration",
            "claim-resolution",
            "replacement-delivery",
            "credit-note",
            "claim-follow-up",
            "relationship-survey",
        ),
    ),
)


def install_catalogue() -> dict[str, Tally]:
    """Create the departments, touchpoints with their owners, and journeys that are missing, by code."""
    tallies = {"departments": Tally(), "touchpoints": Tally(), "journeys": Tally()}
    with transaction.atomic():
        departments = _install_departments(tallies["departments"])
        touchpoints = _install_touchpoints(departments, tallies["touchpoints"])
        _install_journeys(touchpoints, tallies["journeys"])
    return tallies


def _install_departments(tally: Tally) -> dict[str, Department]:
    existing = {d.code: d for d in Department.objects.filter(code__in=[code for code, _ in DEPARTMENTS])}
    missing = [Department(code=code, name=name) for code, name in DEPARTMENTS if code not in existing]
    Department.objects.bulk_create(missing)
    tally.created, tally.existing = len(missing), len(existing)
    return {d.code: d for d in Department.objects.filter(code__in=[code for code, _ in DEPARTMENTS])}


def _install_touchpoints(departments: dict[str, Department], tally: Tally) -> dict[str, Touchpoint]:
    """A new touchpoint gets its owners; an existing one keeps whatever owners it has now."""
    codes = [t.code for t in TOUCHPOINTS]
    existing = set(Touchpoint.objects.filter(code__in=codes).values_list("code", flat=True))
    new = [t for t in TOUCHPOINTS if t.code not in existing]
    Touchpoint.objects.bulk_create(
        [Touchpoint(code=t.code, name=t.name, channel=t.channel, stage=t.stage, description=t.description) for t in new]
    )
    touchpoints = {tp.code: tp for tp in Touchpoint.objects.filter(code__in=codes)}
    TouchpointOwner.objects.bulk_create(
        [
            TouchpointOwner(touchpoint=touchpoints[t.code], department=departments[code], primary=position == 0)
            for t in new
            for position, code in enumerate(t.owners)
        ]
    )
    tally.created, tally.existing = len(new), len(existing)
    return touchpoints


def _install_journeys(touchpoints: dict[str, Touchpoint], tally: Tally) -> None:
    """A new journey gets its steps, each in the stage of its touchpoint."""
    for demo in JOURNEYS:
        journey, created = Journey.objects.get_or_create(
            slug=demo.slug, defaults={"name": demo.name, "description": demo.description}
        )
        if not created:
            tally.existing += 1
            continue
        tally.created += 1
        JourneyStep.objects.bulk_create(
            [
                JourneyStep(journey=journey, touchpoint=touchpoints[code], stage=touchpoints[code].stage, position=n)
                for n, code in enumerate(demo.steps, start=1)
            ]
        )
