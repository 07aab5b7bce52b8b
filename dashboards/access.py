"""Who may see which figures: the one place where a user's role becomes a set of departments.

Admins see every department; managers the departments they belong to; staff only the summary
of their own departments (no customer names, no colleagues' activity). Views check the scope
to answer 403/404, and every query takes the scope's department ids, so a forgotten check in a
view still cannot leak another department's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from touchpoints.models import Department


@dataclass(frozen=True)
class Scope:
    department_ids: frozenset[int] | None  # None: every department (admins)
    sees_customers: bool  # customers at risk, timelines, journeys and staff activity

    def allows(self, department: Department) -> bool:
        return self.department_ids is None or department.pk in self.department_ids

    @property
    def is_empty(self) -> bool:
        return self.department_ids is not None and not self.department_ids


def scope_for(user: User) -> Scope:
    """The departments a signed-in user may read, and whether they may see customers."""
    if user.is_cx_admin:
        return Scope(department_ids=None, sees_customers=True)
    ids = frozenset(user.departments.filter(active=True).values_list("pk", flat=True))
    return Scope(department_ids=ids, sees_customers=user.is_manager)
