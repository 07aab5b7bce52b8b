"""Staff pages: log an experience in a few seconds, find the customer as you type."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import access
from accounts.requests import AuthenticatedRequest

from .forms import CorrectionForm, ExperienceForm
from .models import Experience, ExperienceChange
from .queries import confirmation, search_customers
from .services import ChangeRefused, correct_experience, may_change, record_experiences, void_experience

POLLS = 15  # the confirmation asks for the score every 2 s for at most 30 s, then suggests a refresh


@login_required
@require_http_methods(["GET", "POST"])
def log_experience(request: AuthenticatedRequest) -> HttpResponse:
    """The staff logging form; after a successful entry, redirect (PRG) to a confirmation and an empty form."""
    if request.method == "POST":
        form = ExperienceForm(request.POST, user=request.user)
        if form.is_valid():
            result = record_experiences(items=[form.item()], source="form", recorded_by=request.user)
            outcome = result.results[0]
            if outcome.status in ("accepted", "duplicate"):  # a double submit shows the one experience
                return redirect(f"{reverse('log-experience')}?recorded={outcome.id}")
            if outcome.status == "conflict":
                form.renew_submission()
                form.add_error(None, _("This page was already sent with other values; check them and send again."))
            else:
                form.add_service_errors(outcome.errors or {})
        recorded = None
    else:
        recorded = confirmation(
            request.GET.get("recorded"), experiences=access.experiences(access.reader_of(request)), user=request.user
        )
        initial = {"touchpoint": recorded.experience.touchpoint.code} if recorded else {}
        form = ExperienceForm(user=request.user, initial=initial)
    return render(request, "experiences/log.html", {"form": form, "recorded": recorded})


@login_required
@require_GET
def recorded_score(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The customer's score after an entry; polled by the confirmation while it is being computed."""
    recorded = confirmation(pk, experiences=access.experiences(access.reader_of(request)), user=request.user)
    if recorded is None:
        raise Http404
    sent = request.GET.get("attempt", "")
    attempt = int(sent) if sent.isdigit() else 0
    context = {"recorded": recorded, "next_attempt": attempt + 1 if attempt < POLLS else None}
    return render(request, "experiences/includes/score.html", context)


@login_required
@require_GET
def customer_search(request: AuthenticatedRequest) -> HttpResponse:
    """Suggestions for the customer field, as a <datalist> plus a one-line hint (htmx)."""
    text = request.GET.get("customer", "")
    customers = search_customers(text)
    return render(request, "experiences/includes/customer_options.html", {"customers": customers, "text": text.strip()})


@login_required
@require_GET
def my_log(request: AuthenticatedRequest) -> HttpResponse:
    """What I logged, newest first, with what I may still correct or void, and my changes."""
    mine = (
        access.experiences(access.reader_of(request))
        .filter(recorded_by=request.user)
        .select_related("customer", "touchpoint", "department")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(mine, 50).get_page(request.GET.get("page"))
    rows = [(x, may_change(experience=x, by=request.user)) for x in page.object_list]
    changes = ExperienceChange.objects.filter(by=request.user).select_related("customer")[:20]
    context = {"page": page, "rows": rows, "changes": changes, "correction_hours": settings.CXM_CORRECTION_WINDOW_HOURS}
    return render(request, "experiences/my_log.html", context)


def _changeable(request: HttpRequest, pk: int) -> Experience:
    """An experience the user may see (else 404) and change (else a 403 that says why)."""
    experience = access.get_or_404(
        access.experiences(access.reader_of(request)).select_related("customer", "touchpoint"), pk=pk
    )
    if not may_change(experience=experience, by=request.user):
        raise PermissionDenied(_("Only the person who logged it may change it, within the correction window."))
    return experience


@login_required
@require_http_methods(["GET", "POST"])
def correct(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    experience = _changeable(request, pk)
    form = CorrectionForm(request.POST or None, user=request.user, experience=experience)
    if request.method == "POST" and form.is_valid():
        try:
            errors = correct_experience(experience=experience, by=request.user, changes=form.changes())
        except ChangeRefused as refusal:
            raise PermissionDenied(str(refusal)) from None
        if not errors:
            messages.success(request, _("Corrected. The customer's score is being recomputed."))
            return redirect("my-log")
        form.add_service_errors(errors)
    status = 400 if form.errors else 200
    return render(request, "experiences/correct.html", {"form": form, "experience": experience}, status=status)


@login_required
@require_POST
def void(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    experience = _changeable(request, pk)
    try:
        void_experience(experience=experience, by=request.user, reason=request.POST.get("reason", ""))
    except ChangeRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("my-log")
    messages.success(request, _("Voided. It leaves the customer's score and every report; the history keeps it."))
    return redirect("my-log")
