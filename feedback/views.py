"""Pages of the feedback app: the public survey link, recovery cases, answers, ladder, share of wallet.

Thin: parse, ask the access gate (`accounts.access`), call a service or a query, render.
Everything but the survey link needs a manager (of the case's department) or a CX admin,
except a case assigned to a staff member, which that person may open and work.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import access
from accounts.requests import AuthenticatedRequest
from cxm import paging
from dashboards.exports import csv_response
from dashboards.filters import read_filters
from touchpoints.models import Touchpoint

from . import queries, scales, services, survey_scores
from .forms import AssignForm, CaseFilterForm, CommentForm, ResolveForm, SurveyAnswerForm, TransferForm
from .models import SCALE_ENDS, Case, Response, SurveyKind, Theme

RESPONSE_RATE_DAYS = 90

TOKEN_PAGES = {
    "invalid": ("feedback/survey_invalid.html", 404),
    "expired": ("feedback/survey_expired.html", 410),
    "answered": ("feedback/survey_thanks.html", 200),
}


def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's personal link: no login, one answer, then the thank-you page for good.

    The page speaks the customer's language (their `language` field), whatever the browser says.
    """
    check = queries.check_token(token)
    language = check.invitation.customer.language if check.invitation else None
    with translation.override(language or translation.get_language()):
        if check.status != "open":
            template, status = TOKEN_PAGES[check.status]
            return render(request, template, {"invitation": check.invitation}, status=status)
        invitation = check.invitation
        assert invitation is not None  # an open link always has its invitation
        survey = invitation.survey
        form = SurveyAnswerForm(request.POST or None, survey=survey)
        if request.method == "POST" and form.is_valid():
            try:
                services.record_response(
                    invitation=invitation,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    follow_up_answer=form.cleaned_data.get("follow_up", ""),
                )
            except services.FeedbackError as error:
                form.add_error(None, str(error))
            else:
                return redirect("survey-answer", token=token)
        low, high = SCALE_ENDS[SurveyKind(survey.kind)]
        return render(
            request,
            "feedback/survey.html",
            {
                "invitation": invitation,
                "survey": survey,
                "moment": invitation.experience,
                "scale": scales.SCALES[survey.kind],
                "form": form,
                "low_label": low,
                "high_label": high,
                "opt_out_url": reverse("survey-opt-out", args=[token]),
            },
            status=400 if form.errors else 200,
        )


def survey_opt_out(request: HttpRequest, token: str) -> HttpResponse:
    """ "No more surveys": a confirmation page, then a POST that records it for every survey."""
    check = queries.check_token(token)
    if check.invitation is None:
        return render(request, "feedback/survey_invalid.html", status=404)
    invitation = check.invitation
    with translation.override(invitation.customer.language or translation.get_language()):
        done = request.method == "POST"
        if done:
            services.opt_out(invitation=invitation)
        return render(request, "feedback/survey_opt_out.html", {"invitation": invitation, "done": done})


def manager_required(view):
    """Logged in, and a manager or CX admin; staff get a 403 that says why."""

    @login_required
    @wraps(view)
    def wrapped(request: AuthenticatedRequest, *args, **kwargs):
        access.require_manager(access.reader_of(request))
        return view(request, *args, **kwargs)

    return wrapped


def _department_ids(request: AuthenticatedRequest) -> list[int] | None:
    """None for CX admins (every department), else the departments the access gate gives the reader."""
    ids = access.reader_of(request).department_ids
    return None if ids is None else sorted(ids)


def _case_or_404(request: AuthenticatedRequest, pk: int, action: access.Action = access.Action.VIEW) -> Case:
    """A case the user may see, else 404; seen but not theirs to work or manage, a 403 that says why."""
    reader = access.reader_of(request)
    cases = queries.cases_for(cases=access.cases(reader), user=request.user, status="all")
    case = access.get_or_404(cases, pk=pk)
    access.require_case_action(reader, case, action)
    return case


@login_required
def inbox(request: AuthenticatedRequest) -> HttpResponse:
    """Cases assigned to me and open cases of my departments, overdue first; news about them."""
    reader = access.reader_of(request)
    context = {"inbox": queries.inbox(cases=access.cases(reader), user=request.user)}
    response = render(request, "feedback/inbox.html", context)
    services.mark_notices_read(user=request.user)
    return response


@manager_required
def case_list(request: AuthenticatedRequest) -> HttpResponseBase:
    reader = access.reader_of(request)
    departments = access.departments(reader)
    form = CaseFilterForm(request.GET or None, departments=departments)
    filters = form.cleaned_data if form.is_valid() else {}
    now = timezone.now()
    cases = queries.cases_for(
        cases=access.cases(reader),
        user=request.user,
        department=getattr(filters.get("department"), "pk", None),
        status=filters.get("status") or "open",
        assignee=filters.get("assignee") or "",
        now=now,
    )
    page = Paginator(cases, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "feedback/case_list.html",
        {
            "form": form,
            "page": page,
            "rows": queries.case_rows(page.object_list, now=now),
            "stats": queries.department_case_stats(departments=departments, now=now),
            "query": _without_page(request),
        },
    )


def _without_page(request: AuthenticatedRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@login_required
def case_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk)
    return _render_case(request, case)


def _render_case(request: AuthenticatedRequest, case: Case, status: int = 200, **forms) -> HttpResponse:
    actions = access.case_actions(access.reader_of(request), case)
    context = {
        "case": case,
        "may_manage": access.Action.MANAGE in actions,
        "may_work": access.Action.WORK in actions,
        "row": queries.case_rows([case])[0],
        "comments": case.comments.select_related("author", "api_key"),
        "assign_form": forms.get("assign_form") or AssignForm(initial={"assignee": case.assignee_id}, case=case),
        "transfer_form": forms.get("transfer_form") or TransferForm(case=case),
        "history": case.events.select_related("actor", "api_key", "department", "from_department", "assignee"),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "resolve_form": forms.get("resolve_form") or ResolveForm(),
        "response": Response.objects.filter(experience_id=case.experience_id).first(),
    }
    return render(request, "feedback/case_detail.html", context, status=status)


@require_POST
@login_required
def case_assign(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk, access.Action.MANAGE)
    form = AssignForm(request.POST, case=case)
    if form.is_valid():
        try:
            services.assign_case(case=case, assignee=form.cleaned_data["assignee"], by=request.user)
        except services.FeedbackError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Case assigned."))
            return redirect("case-detail", pk=case.pk)
    return _render_case(request, case, status=400, assign_form=form)


@require_POST
@login_required
def case_transfer(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Move the case to the department that answers for it; a manager of the case's department decides."""
    case = _case_or_404(request, pk, access.Action.MANAGE)
    form = TransferForm(request.POST, case=case)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.transfer_case(case=case, department=data["department"], reason=data["reason"], by=request.user)
        except services.FeedbackError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Case transferred to %(name)s.") % {"name": data["department"].name})
            if access.cases(access.reader_of(request)).filter(pk=case.pk).exists():
                return redirect("case-detail", pk=case.pk)
            return redirect("inbox")
    return _render_case(request, case, status=400, transfer_form=form)


@require_POST
@manager_required
def case_open(request: AuthenticatedRequest) -> HttpResponse:
    """Open a case by hand, for an experience or for a customer's latest negative moment with my departments."""
    reader = access.reader_of(request)
    negatives = access.experiences(reader).filter(department__in=access.departments(reader), valence=-1)
    if request.POST.get("experience"):
        pk = request.POST["experience"]
        experience = access.get_or_404(negatives, pk=pk) if pk.isdigit() else None
    elif request.POST.get("customer"):
        customer = access.get_or_404(access.customers(reader), external_id=request.POST["customer"])
        experience = negatives.filter(customer=customer).order_by("-occurred_at", "-pk").first()
    else:
        experience = None
    if experience is None:
        return HttpResponseBadRequest(
            _(
                "Send experience=<id> of a negative experience, or customer=<id> of a customer with a negative "
                "experience at one of your departments' touchpoints."
            ),
            content_type="text/plain; charset=utf-8",
        )
    case, created = services.open_case_by_hand(experience=experience, by=request.user)
    messages.success(request, _("Case opened.") if created else _("This experience already has a case."))
    return redirect("case-detail", pk=case.pk)


@require_POST
@login_required
def case_comment(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk, access.Action.WORK)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _render_case(request, case, status=400, comment_form=form)
    services.comment_on_case(case=case, author=request.user, body=form.cleaned_data["body"])
    messages.success(request, _("Comment added."))
    return redirect("case-detail", pk=case.pk)


@require_POST
@login_required
def case_resolve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _case_or_404(request, pk, access.Action.WORK)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            services.resolve_case(case=case, by=request.user, resolution=form.cleaned_data["resolution"])
        except services.FeedbackError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Case resolved. It counts as recovered if the customer's next experience is positive.")
            )
            return redirect("case-detail", pk=case.pk)
    return _render_case(request, case, status=400, resolve_form=form)


@manager_required
def response_list(request: AuthenticatedRequest) -> HttpResponse:
    flagged = request.GET.get("flagged") == "1"
    responses = queries.responses_for(responses=access.responses(access.reader_of(request)), flagged_only=flagged)
    page = paging.page_of(responses, request.GET.get("page"))
    today = timezone.localdate()
    since = today - timedelta(days=RESPONSE_RATE_DAYS - 1)
    department_ids = _department_ids(request)
    rates = {
        by: survey_scores.response_rates(by=by, start=since, end=today, department_ids=department_ids).values()
        for by in ("survey", "department")
    }
    return render(
        request,
        "feedback/response_list.html",
        {"page": page, "flagged": flagged, "rates": rates, "rate_days": RESPONSE_RATE_DAYS},
    )


@require_POST
@manager_required
def response_reviewed(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    response = access.get_or_404(access.responses(access.reader_of(request)), pk=pk)
    services.mark_response_reviewed(response=response)
    messages.success(request, _("Marked as reviewed."))
    return redirect(reverse("responses") + "?flagged=1")


@manager_required
def ladder(request: AuthenticatedRequest) -> HttpResponse:
    reader = access.reader_of(request)
    departments = access.departments(reader)
    department = departments.filter(pk=request.GET.get("department") or 0).first()
    segment = request.GET.get("segment", "")
    return render(
        request,
        "feedback/ladder.html",
        {
            "funnel": queries.ladder_funnel(customers=access.customers(reader), department=department, segment=segment),
            "suggestions": queries.pending_suggestions(suggestions=access.suggestions(reader)),
            "departments": departments,
            "department": department,
            "segments": queries.segments(),
            "segment": segment,
        },
    )


@require_POST
@manager_required
def ladder_decide(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    suggestion = access.get_or_404(access.suggestions(access.reader_of(request)), pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("accept", "dismiss"):
        return HttpResponseBadRequest(_("Send decision=accept or decision=dismiss."))
    accept = decision == "accept"
    try:
        services.decide_suggestion(suggestion=suggestion, accept=accept, by=request.user)
    except services.FeedbackError as error:
        messages.warning(request, str(error))
    else:
        messages.success(request, _("Level changed.") if accept else _("Suggestion dismissed."))
    return redirect("ladder")


@manager_required
def share_of_wallet(request: AuthenticatedRequest) -> HttpResponseBase:
    segment = request.GET.get("segment", "")
    sort = request.GET.get("sort", "-share")
    customers = access.customers(access.reader_of(request))
    rows = queries.wallet_rows(customers=customers, segment=segment, sort=sort)
    if request.GET.get("format") == "csv":
        return _wallet_csv(rows)
    return render(
        request,
        "feedback/share_of_wallet.html",
        {
            "rows": rows,
            "bands": queries.wallet_bands(customers=customers, segment=segment),
            "segments": queries.segments(),
            "segment": segment,
            "sort": sort,
        },
    )


def _wallet_csv(rows) -> StreamingHttpResponse:
    header = ["external_id", "name", "segment", "category_spend", "our_revenue", "share_pct", "experience_index"]
    return csv_response("share-of-wallet.csv", header, (_wallet_line(c) for c in rows))


def _wallet_line(c) -> list:
    score = getattr(c, "score", None)  # no score row yet: never rescored
    return [
        c.external_id,
        c.name,
        c.segment,
        c.category_spend,
        c.our_revenue,
        f"{c.share_of_wallet:.1f}" if c.share_of_wallet is not None else "",
        f"{score.index:.1f}" if score is not None and score.index is not None else "",
    ]


@manager_required
def theme_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The comments and notes behind a theme, in the departments the user manages, for the chosen period."""
    theme = Theme.objects.filter(pk=pk).first()
    if theme is None:
        raise Http404(_("No theme %(pk)s.") % {"pk": pk})
    form, filters = read_filters(request.GET)
    if filters is None:
        return render(request, "feedback/theme_detail.html", {"theme": theme, "form": form}, status=400)
    department_ids = _department_ids(request)
    touchpoint = None
    if request.GET.get("touchpoint"):
        touchpoint = Touchpoint.objects.filter(code=request.GET["touchpoint"]).first()
        if touchpoint is None:
            raise Http404(_("No touchpoint %(code)s.") % {"code": request.GET["touchpoint"]})
    mentions = survey_scores.theme_mentions(
        theme_id=theme.pk,
        start=filters.period.start,
        end=filters.period.end,
        department_ids=department_ids,
        touchpoint_ids=[touchpoint.pk] if touchpoint else None,
    )
    page = paging.page_of(mentions, request.GET.get("page"))
    return render(
        request,
        "feedback/theme_detail.html",
        {
            "theme": theme,
            "touchpoint": touchpoint,
            "form": form,
            "filters": filters,
            "page": page,
            "query": _without_page(request),
        },
    )
