"""The request of a page behind a login: `request.user` is a CXM user, never the anonymous one."""

from django.http import HttpRequest

from .models import User


class AuthenticatedRequest(HttpRequest):
    """For type checking only: `login_required` (or `manager_required`) has already turned anonymous visitors away."""

    user: User
