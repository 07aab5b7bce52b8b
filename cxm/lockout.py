"""Login lock-out (django-axes) for every login that comes with a request."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LockoutBackend(AxesStandaloneBackend):
    """Counts failures and refuses locked-out logins on the login page and the admin.

    Code that authenticates without a request (scripts, the test client's `login()`) has no
    client to lock out; axes would raise there, so it is passed on to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def locked_out(request: HttpRequest, original_response: HttpResponse | None = None, credentials=None) -> HttpResponse:
    """429 with the wait in minutes and a Retry-After header (AXES_LOCKOUT_CALLABLE)."""
    seconds = int(get_cool_off(request).total_seconds())
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": max(1, -(-seconds // 60))}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
