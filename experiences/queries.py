"""Reads behind the staff logging form: customer search, the touchpoints a user may log, confirmations."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When

from accounts.models import User
from customers.models import Customer
from touchpoints.models import Touchpoint, TouchpointOwner

from .models import VALENCE_BY_NAME, Experience

SEARCH_LIMIT = 10
SEARCH_MIN_LENGTH = 2
VALENCE_NAMES = {number: name for name, number in VALENCE_BY_NAME.items()}


def search_customers(text: str, *, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """Customers matching `text` by external id, name or whole e-mail address, best matches first.

    An exact customer number ranks first, then prefixes, then matches anywhere, so that a
    clerk typing either a number or a few letters of a name finds the customer quickly.
    Anyone signed in may log for any customer, so the suggestions show only the name and the
    number: an e-mail address is matched only when typed in full, and never shown.
    """
    text = text.strip()
    if len(text) < SEARCH_MIN_LENGTH:
        return []
    rank = Case(
        When(external_id__iexact=text, then=Value(0)),
        When(external_id__istartswith=text, then=Value(1)),
        When(name__istartswith=text, then=Value(2)),
        When(email__iexact=text, then=Value(3)),
        When(name__icontains=text, then=Value(4)),
        default=Value(5),
        output_field=IntegerField(),
    )
    matches = Customer.objects.filter(
        Q(external_id__istartswith=text) | Q(name__icontains=text) | Q(email__iexact=text)
    )
    return list(matches.annotate(rank=rank).order_by("rank", "name", "external_id")[:limit])


def find_customer(text: str) -> tuple[Customer | None, int]:
    """The one customer `text` names (external id, else an exact name or e-mail), and how many matched.

    Returns `(None, 0)` when nobody matches and `(None, n)` when `n > 1` customers share the
    name or e-mail, so the form can ask the user to pick one.
    """
    text = text.strip()
    by_id = Customer.objects.filter(external_id=text).first()
    if by_id is not None:
        return by_id, 1
    candidates = list(Customer.objects.filter(Q(name__iexact=text) | Q(email__iexact=text))[:2])
    if len(candidates) == 1:
        return candidates[0], 1
    return None, len(candidates)


def loggable_touchpoints(user: User) -> QuerySet[Touchpoint]:
    """Every active touchpoint: whoever hears of a moment reports it, and its owner answers for it.

    The user's departments' touchpoints come first (`own` = 1), then the others grouped by the
    department that answers for them (`owner_name`, the primary owner), each by name. One query.
    """
    own_ids = Touchpoint.objects.filter(owners__department__members=user, owners__department__active=True).values("pk")
    primary_owner = TouchpointOwner.objects.filter(touchpoint=OuterRef("pk"), primary=True).values("department__name")
    return (
        Touchpoint.objects.filter(active=True)
        .annotate(
            own=Case(When(pk__in=own_ids, then=Value(1)), default=Value(0), output_field=IntegerField()),
            owner_name=Subquery(primary_owner[:1]),
        )
        .order_by("-own", "owner_name", "name")
    )


@dataclass
class Confirmation:
    """What the form shows after a successful entry: the experience and the customer's score."""

    experience: Experience
    index: float | None = None
    recovery_debt: int | None = None
    computing: bool = True

    @property
    def valence(self) -> str:
        """positive / neutral / negative: the class name of the valence colour."""
        return VALENCE_NAMES[self.experience.valence]


def confirmation(
    experience_id: str | int | None, *, experiences: QuerySet[Experience], user: User
) -> Confirmation | None:
    """The experience `user` just recorded, with the customer's score if it already includes it.

    The score is "being computed" while there is no score row yet or the row is older than
    the experience. Other users' experiences are never shown.
    """
    try:
        pk = int(experience_id)  # type: ignore[arg-type]  # None and junk are answered below
    except (TypeError, ValueError):
        return None
    experience = (
        experiences.filter(pk=pk, recorded_by=user)
        .select_related("customer__score", "touchpoint", "department")
        .first()
    )
    if experience is None:
        return None
    score = getattr(experience.customer, "score", None)
    if score is None or score.scored_at < experience.created_at:
        return Confirmation(experience=experience)
    return Confirmation(experience=experience, index=score.index, recovery_debt=score.recovery_debt, computing=False)
