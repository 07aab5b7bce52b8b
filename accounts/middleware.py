"""Hold back every page until the second factor owed at sign-in has been shown."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import SESSION_KEY as SESSION_USER_KEY
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode

from .second_factor import SESSION_KEY, SET_UP

# Pages a person between password and code may still open: the code pages themselves, log-out,
# the provider's callbacks, the language switch, static files and the probes.
OPEN_PREFIXES = ("/login/", "/logout/", "/accounts/", "/i18n/", "/static/", "/healthz", "/readyz", "/favicon.ico")


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        step = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if step and not request.path.startswith(OPEN_PREFIXES):
            target = reverse("second-factor-setup" if step == SET_UP else "second-factor")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class UserLanguageMiddleware:
    """A signed-in person's own language wins over the browser's (after LocaleMiddleware and auth)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and SESSION_USER_KEY in getattr(request, "session", {})
            and user.is_authenticated
            and user.language
        ):
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)
