"""Staff pages: log an experience in a few seconds, find the customer as you type."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .forms import ExperienceForm
from .queries import confirmation, search_customers
from .services import record_experiences

POLLS = 15  # the confirmation asks for the score every 2 s for at most 30 s, then suggests a refresh


@login_required
@require_http_methods(["GET", "POST"])
def log_experience(request: HttpRequest) -> HttpResponse:
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
        recorded = confirmation(request.GET.get("recorded"), user=request.user)
        initial = {"touchpoint": recorded.experience.touchpoint.code} if recorded else {}
        form = ExperienceForm(user=request.user, initial=initial)
    return render(request, "experiences/log.html", {"form": form, "recorded": recorded})


@login_required
@require_GET
def recorded_score(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's score after an entry; polled by the confirmation while it is being computed."""
    recorded = confirmation(pk, user=request.user)
    if recorded is None:
        raise Http404
    attempt = request.GET.get("attempt", "")
    attempt = int(attempt) if attempt.isdigit() else 0
    context = {"recorded": recorded, "next_attempt": attempt + 1 if attempt < POLLS else None}
    return render(request, "experiences/includes/score.html", context)


@login_required
@require_GET
def customer_search(request: HttpRequest) -> HttpResponse:
    """Suggestions for the customer field, as a <datalist> plus a one-line hint (htmx)."""
    text = request.GET.get("customer", "")
    customers = search_customers(text)
    return render(request, "experiences/includes/customer_options.html", {"customers": customers, "text": text.strip()})
