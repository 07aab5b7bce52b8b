"""What the menu shows on every page: the number of open cases waiting in the person's inbox."""

from __future__ import annotations

from django.http import HttpRequest

from . import queries


def inbox_count(request: HttpRequest) -> dict:
    """A callable, so the count is queried only on pages that render the menu of a signed-in person."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_count": lambda: queries.open_cases_assigned(user)}
