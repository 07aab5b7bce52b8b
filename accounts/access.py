"""Who may see and do what: the one access gate of CXM, for pages, API endpoints, exports and partials.

Every read of departments, customers, experiences, cases, survey answers, ladder suggestions and
journeys starts here, from a queryset already narrowed to what the reader may see (NetBox's
`RestrictedQuerySet.restrict(user, action)` is the model), so a view that forgets a check cannot
leak. A reader is a signed-in user or an API key:

- CX admins (and superusers) see every active department and everything in it.
- Managers see their own active departments and the customers who dealt with them.
- Staff see their own active departments' summaries, the cases assigned to them or open in their
  departments, and the experiences they logged themselves; never a customer list.
- API keys see the whole company, unless the key is limited to departments: then it reads (and,
  with cases:write, works cases) like a manager of those departments. The key's scopes still decide
  which endpoints it may call.

Another department's object is answered as if it did not exist (404), on every page and endpoint.
A role that may not use a page at all gets a 403 that says why. The rules are the table in
docs/security.md, which tests/test_access_matrix.py reads.

The module lives in `accounts` because it turns a person (or a key) into rights; every other app
calls it and it calls none of their views or services.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from customers.models import Customer
from experiences.models import Experience
from feedback.models import Case, CaseStatus, LadderSuggestion, Response
from integrations.models import ApiKey
from journeys.models import Journey
from touchpoints.models import Department, TouchpointOwner

from .models import Role, User


class Action(StrEnum):
    VIEW = "view"  # read it
    WORK = "work"  # comment on and resolve a case
    MANAGE = "manage"  # assign, transfer, open cases; decide ladder suggestions; change customers


@dataclass(frozen=True)
class Reader:
    """Who is asking, reduced to what decides access."""

    role: str  # Role value, or "key"
    department_ids: frozenset[int] | None  # None: every department
    user: User | None = None
    key: ApiKey | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def sees_customers(self) -> bool:
        """Customer pages, at-risk lists, timelines, journeys and staff activity: not for staff."""
        return self.role != Role.STAFF

    @property
    def manages(self) -> bool:
        """Cases of the departments, survey answers, the ladder and share of wallet."""
        return self.role in (Role.ADMIN, Role.MANAGER)

    def allows(self, department: Department) -> bool:
        return self.department_ids is None or department.pk in self.department_ids

    @property
    def is_empty(self) -> bool:
        return self.department_ids is not None and not self.department_ids


def reader_for(user: User | None = None, *, key: ApiKey | None = None) -> Reader:
    """The reader behind a user or an API key; active departments only, decided here once."""
    if key is not None:
        # One query: a key with any department (even an inactive one) is limited to its active ones.
        limited = list(key.departments.values_list("pk", "active"))
        ids = frozenset(pk for pk, active in limited if active) if limited else None
        return Reader(role="key", department_ids=ids, key=key)
    if user is None or not user.is_authenticated:
        return Reader(role="anonymous", department_ids=frozenset())
    if user.is_cx_admin:
        return Reader(role=Role.ADMIN, department_ids=None, user=user)
    ids = frozenset(user.departments.filter(active=True).values_list("pk", flat=True))
    return Reader(role=user.role, department_ids=ids, user=user)


def reader_of(request) -> Reader:
    """The reader of a page or API request (DRF puts an API key in `request.auth`)."""
    cached = getattr(request, "_cxm_reader", None)
    if cached is None:
        auth = getattr(request, "auth", None)
        cached = reader_for(key=auth) if isinstance(auth, ApiKey) else reader_for(request.user)
        request._cxm_reader = cached
    return cached


def _in_departments(reader: Reader, field: str = "department_id") -> Q:
    """Rows of the reader's departments: everything when unlimited, nothing when none."""
    if reader.department_ids is None:
        return Q()
    return Q(**{f"{field}__in": sorted(reader.department_ids)})


def departments(reader: Reader) -> QuerySet[Department]:
    """The active departments whose figures the reader may see, by name."""
    return Department.objects.filter(_in_departments(reader, "pk"), active=True).order_by("name")


def customers(reader: Reader, action: Action = Action.VIEW) -> QuerySet[Customer]:
    """Customers the reader may see (or change): everyone for admins and unlimited keys; for
    managers and limited keys the customers who had an experience with one of their departments
    (and then their whole continuum); none for staff, whose pages show no customer."""
    if not reader.sees_customers or reader.role == "anonymous":
        return Customer.objects.none()
    if reader.department_ids is None:
        return Customer.objects.all()
    dealt_with = Experience.objects.filter(customer_id=OuterRef("pk"), department_id__in=sorted(reader.department_ids))
    return Customer.objects.filter(Exists(dealt_with))


def experiences(reader: Reader) -> QuerySet[Experience]:
    """Experiences charged to the reader's departments, and those the reader logged ("my log");
    for staff only the ones they logged."""
    if reader.role == "anonymous":
        return Experience.objects.none()
    if reader.role == Role.STAFF:
        return Experience.objects.filter(recorded_by=reader.user)
    if reader.user is not None and reader.department_ids is not None:
        return Experience.objects.filter(_in_departments(reader) | Q(recorded_by=reader.user))
    return Experience.objects.filter(_in_departments(reader))


def cases(reader: Reader, action: Action = Action.VIEW) -> QuerySet[Case]:
    """Recovery cases: managers and admins see and manage their departments' cases; staff see the
    cases assigned to them and the open cases of their departments, and work the ones assigned to them;
    API keys read, work and manage the cases of their departments, all of them when unlimited, as far
    as their scopes let them (cases:read, cases:write)."""
    if reader.role == "anonymous":
        return Case.objects.none()
    if reader.role != Role.STAFF:
        return Case.objects.filter(_in_departments(reader))
    mine = Q(assignee=reader.user)
    if action == Action.MANAGE:
        return Case.objects.none()
    if action == Action.WORK:
        return Case.objects.filter(mine)
    return Case.objects.filter(mine | (_in_departments(reader) & Q(status=CaseStatus.OPEN)))


def case_actions(reader: Reader, case: Case) -> frozenset[Action]:
    """What the reader may do with a case already read through `cases(reader)`; no query.

    The same rules as `cases`, for showing only the buttons that will work.
    """
    if reader.manages or reader.role == "key":
        return frozenset(Action)
    if reader.user is not None and case.assignee_id == reader.user.pk:
        return frozenset({Action.VIEW, Action.WORK})
    return frozenset({Action.VIEW})


def require_case_action(reader: Reader, case: Case, action: Action) -> None:
    """A 403 that says why, for a case the reader sees but may not work or manage."""
    if action in case_actions(reader, case):
        return
    if action == Action.MANAGE:
        raise PermissionDenied(_("Only the department's managers can assign or transfer this case."))
    raise PermissionDenied(_("Only the person the case is assigned to, or a manager, can work on it."))


def responses(reader: Reader) -> QuerySet[Response]:
    """Survey answers about the reader's departments' touchpoints; managers, admins and API keys."""
    if not (reader.manages or reader.role == "key"):
        return Response.objects.none()
    return Response.objects.filter(_in_departments(reader, "department_id"))


def suggestions(reader: Reader) -> QuerySet[LadderSuggestion]:
    """Ladder suggestions about customers the reader may see; managers and admins only."""
    if not reader.manages:
        return LadderSuggestion.objects.none()
    return LadderSuggestion.objects.filter(customer__in=customers(reader))


def journeys(reader: Reader) -> QuerySet[Journey]:
    """Journeys with a step owned by one of the reader's departments (all for admins); not for staff."""
    if not reader.sees_customers or reader.role == "anonymous":
        return Journey.objects.none()
    if reader.department_ids is None:
        return Journey.objects.all()
    owned = TouchpointOwner.objects.filter(
        touchpoint__journey_steps__journey=OuterRef("pk"), department_id__in=sorted(reader.department_ids)
    )
    return Journey.objects.filter(Exists(owned))


def get_or_404(queryset: QuerySet, **lookup):
    """The one object of a restricted queryset, or 404: "not yours" and "not there" look the same."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404(_("Nothing here matches; it may belong to a department that is not yours."))
    return found


def department_or_403(reader: Reader, code: str) -> Department:
    """A department dashboard: 404 for an unknown or inactive code, 403 naming why for another department.

    Departments are the public catalogue (anyone may list them), so saying that the dashboard is
    not theirs tells a manager nothing they could not read elsewhere.
    """
    department = Department.objects.filter(code=code, active=True).first()
    if department is None:
        raise Http404(_("There is no active department with the code %(code)s.") % {"code": code})
    if not reader.allows(department):
        raise PermissionDenied(_("%(name)s is not one of your departments.") % {"name": department.name})
    return department


def require_customers(reader: Reader) -> None:
    """Pages about individual customers are for managers and admins: staff get a 403 that says so."""
    if not reader.sees_customers:
        raise PermissionDenied(_("Customer pages, journeys and at-risk lists are for managers and admins."))


def require_manager(reader: Reader) -> None:
    if not reader.manages:
        raise PermissionDenied(_("Only managers and CX admins can open this page."))
