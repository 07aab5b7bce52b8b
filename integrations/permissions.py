"""Who may call what: API keys by scope, logged-in users by role and departments."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from accounts.access import reader_of
from accounts.models import Role

from .models import ApiKey, Scope

# The roles whose session may use a scope in the browsable API. Staff and managers log
# experiences through the staff form. Staff read only what their pages show them: the
# catalogue and the experiences they logged, no customers.
SESSION_ROLES = {
    Scope.CATALOGUE_READ: {Role.STAFF, Role.MANAGER, Role.ADMIN},
    Scope.CUSTOMERS_READ: {Role.MANAGER, Role.ADMIN},
    Scope.EXPERIENCES_READ: {Role.STAFF, Role.MANAGER, Role.ADMIN},
    Scope.CUSTOMERS_WRITE: {Role.MANAGER, Role.ADMIN},
    Scope.REPORTS_READ: {Role.MANAGER, Role.ADMIN},
    Scope.EXPERIENCES_WRITE: {Role.ADMIN},
    Scope.WEBHOOKS_MANAGE: {Role.ADMIN},
    Scope.SURVEYS_WRITE: {Role.MANAGER, Role.ADMIN},  # managers: surveys of their departments' touchpoints
    Scope.CASES_READ: {Role.MANAGER, Role.ADMIN},  # as the case pages: managers see their departments' cases
    Scope.CASES_WRITE: {Role.MANAGER, Role.ADMIN},  # and work and manage them
    Scope.RESPONSES_READ: {Role.MANAGER, Role.ADMIN},  # managers: answers to their departments' surveys
}


def required_scope(request, view) -> str:
    """The view declares `scopes = {"GET": ..., "POST": ...}`; HEAD and OPTIONS read like GET."""
    method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
    return view.scopes.get(method) or view.scopes["GET"]


class HasScope(BasePermission):
    """An API key needs the endpoint's scope; a session user needs a role that may use it."""

    def has_permission(self, request, view) -> bool:
        scope = required_scope(request, view)
        if isinstance(request.auth, ApiKey):
            if request.auth.has_scope(scope):
                return True
            self.message = _("This API key lacks the scope %(scope)s needed here.") % {"scope": scope}
            return False
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if reader_of(request).role in SESSION_ROLES[Scope(scope)]:
            return True
        self.message = _("Your role may not do this (%(scope)s).") % {"scope": scope}
        return False
