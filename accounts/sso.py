"""Company sign-in (OpenID Connect through django-allauth): who may arrive, and what the directory says.

The provider is configured from the environment (cxm/settings.py); with no provider nothing here
is reachable. People are matched by verified e-mail (allauth's e-mail authentication); a person
the company's directory knows but CXM does not is created, unless CXM_OIDC_CREATE_USERS is off.
Their role and departments follow the provider's claims on every sign-in when the claims are
sent; otherwise what an admin set stays.
"""

from __future__ import annotations

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter, _build_apps_from_settings
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse

from .models import User
from .second_factor import note_step_owed
from .services import UserRow, save_user

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    """No self-service sign-up with a password: admins create users, or the company's provider does."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return reverse("home")  # the page of the person's role

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return reverse("home")


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        return settings.CXM_OIDC_CREATE_USERS

    def list_apps(self, request: HttpRequest, provider=None, client_id=None) -> list:
        """The provider is configured from the environment only, so the log-in page costs no query."""
        apps = _build_apps_from_settings(provider=provider, client_id=client_id)
        return [app for provider_apps in apps.values() for app in provider_apps]


def directory_row(user: User, claims: dict) -> UserRow:
    """The role and departments that the provider's claims give `user` (None where a claim is absent)."""
    departments = claims.get(settings.CXM_OIDC_DEPARTMENTS_CLAIM)
    if isinstance(departments, str):
        departments = departments.replace(";", " ").split()
    role = claims.get(settings.CXM_OIDC_ROLE_CLAIM)
    return UserRow(
        username=user.username,
        role=role if isinstance(role, str) else None,
        department_codes=list(departments) if departments is not None else None,
    )


def apply_directory_claims(user: User, claims: dict) -> None:
    """Place the user as the company's directory says; a claim CXM cannot use is logged, not fatal."""
    row = directory_row(user, claims)
    if row.role is None and row.department_codes is None:
        return
    try:
        save_user(row=row)
    except ValidationError as error:
        logger.warning("sign-in of %s: directory claims not applied: %s", user.username, "; ".join(error.messages))


def apply_claims_at_sign_in(sender, request, user, sociallogin=None, **kwargs) -> None:
    """allauth's user_logged_in receiver: a sign-in through the provider refreshes role and departments."""
    if sociallogin is None:
        return
    data = sociallogin.account.extra_data or {}
    claims = {**data.get("id_token", {}), **data.get("userinfo", {})}
    apply_directory_claims(user, claims)
    user.refresh_from_db()
    note_step_owed(sender, request, user)  # a role the directory just gave may require a code
