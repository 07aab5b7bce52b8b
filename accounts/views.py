"""Where a person lands: the page their role works in."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect

from .models import Role
from .requests import AuthenticatedRequest


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    """Staff work their inbox (and log from there); managers and admins watch the dashboards."""
    user = request.user
    return redirect("inbox" if user.role == Role.STAFF and not user.is_cx_admin else "dashboards:company")
