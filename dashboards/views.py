"""The company and department dashboards: parse the filter, ask the access gate, call the queries, render."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts import access
from accounts.requests import AuthenticatedRequest
from scoring.queries import PeriodReport, customers_at_risk, period_report
from touchpoints.models import Stage

from . import queries, tables
from .cache import Figures, cached_figures
from .exports import csv_response
from .filters import Filters, read_filters

AT_RISK_LIMIT = 20
# What the shared partials hold in place of a reader's CSRF token (render_figures).
CSRF_PLACEHOLDER = "cxm-csrf-token-of-the-reader"


def render_dashboard(request: AuthenticatedRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """The whole page, or only its content block (`_name.html`) when htmx asks after a filter change."""
    if request.headers.get("HX-Request") == "true":
        folder, name = template.rsplit("/", 1)
        template = f"{folder}/_{name}"
    context["query"] = query_of(request)
    return render(request, template, context, status=status)


def query_of(request: AuthenticatedRequest) -> str:
    """The page's filter as a query string, without `export`: the page's links keep the filter."""
    params = request.GET.copy()
    params.pop("export", None)
    return params.urlencode()


def render_figures(request: AuthenticatedRequest, cached: Figures, context: dict, fragments: dict[str, str]) -> None:
    """Put each figures partial of `fragments` (context name: template), rendered once per cached entry, in `context`.

    The partials are rendered without the request, so no context processor (user, menu) can put
    anything user-specific in HTML that every reader of the scope shares; their forms carry
    `CSRF_PLACEHOLDER`, replaced by this reader's token when the page is served.
    """
    query = query_of(request)
    context |= {"query": query, "computed_at": cached.computed_at}
    shared = {**context, "csrf_token": CSRF_PLACEHOLDER}
    token = get_token(request)
    for name, template in fragments.items():
        html = cached.fragment(f"{template}?{query}", partial(render_to_string, template, shared))
        context[name] = mark_safe(html.replace(CSRF_PLACEHOLDER, token))  # noqa: S308 - a token is [a-zA-Z0-9]


def unknown_export(name: str, choices) -> HttpResponse:
    """A CSV link that names no table of the page: say which ones there are."""
    message = _("There is no table %(name)s to export here; choose export=%(choices)s.") % {
        "name": repr(name),
        "choices": " | ".join(choices),
    }
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def export_filename(name: str, filters: Filters) -> str:
    """`cxm-<name>-<start>-<end>[-<segment>].csv`: the file says which filter it holds."""
    period = filters.period
    segment = slugify(filters.segment)
    return f"cxm-{name}-{period.start}-{period.end}{'-' + segment if segment else ''}.csv"


def export_table(name: str, filters: Filters, table: tuple[list[str], list[list]]) -> StreamingHttpResponse:
    return csv_response(export_filename(name, filters), *table)


def export_experiences(name: str, filters: Filters, **kwargs) -> StreamingHttpResponse:
    return csv_response(
        export_filename(f"{name}-experiences", filters),
        queries.EXPORT_FIELDS,
        queries.experiences_for_export(filters=filters, **kwargs),
    )


@login_required
def company(request: AuthenticatedRequest) -> HttpResponseBase:
    reader = access.reader_of(request)
    if not reader.sees_customers:
        return _staff_home(reader)
    form, filters = read_filters(request.GET)
    context: dict[str, Any] = {"form": form, "filters": filters}
    if filters is None:
        return render_dashboard(request, "dashboards/company.html", context, status=400)
    ids = reader.department_ids
    if request.GET.get("export") == "experiences":
        return export_experiences("company", filters, department_ids=ids)

    def figures() -> dict[str, Any]:
        return {
            "ranking": queries.department_ranking(filters=filters, department_ids=ids),
            "trend": queries.index_trend(filters=filters, department_ids=ids),
            "surveys": queries.survey_scores_by_department(filters=filters, department_ids=ids),
            "journeys": list(access.journeys(reader)),
        }

    stored = cached_figures("company", reader, filters, figures)
    cached = stored.values
    ranking, trend, surveys = cached["ranking"], cached["trend"], cached["surveys"]
    exports = {"departments": tables.departments_table(ranking), "trend": tables.trend_table(trend)}
    export = request.GET.get("export")
    if export in exports:
        return export_table(export, filters, exports[export])
    if export:
        return unknown_export(export, [*exports, "experiences"])
    context |= {
        "ranking": [(row, row.report.recovery_debt, row.report.reported_by_others_share) for row in ranking],
        "survey_figures": surveys.figures,
        "survey_by_department": surveys.by_department,
        # The trend's buckets partition the period: their sum is the period's total, with no extra scan.
        "total": sum((point.report for point in trend), PeriodReport()),
        "trend": trend,
        "trend_chart": tables.trend_chart(trend, _("Experience index")),
        "ranking_chart": {
            "kind": "bar",
            "label": _("Experience index"),
            "labels": [row.department.name for row in ranking],
            "values": [tables.rounded(row.report.index) for row in ranking],
        },
        "no_departments": reader.is_empty,
        "journeys": cached["journeys"],
    }
    if not reader.is_empty:
        render_figures(request, stored, context, {"figures_html": "dashboards/_company_figures.html"})
    return render_dashboard(request, "dashboards/company.html", context)


def _staff_home(reader: access.Reader) -> HttpResponse:
    """Staff have no company view: they land on their own department's summary."""
    department = access.departments(reader).first()
    if department is None:
        raise PermissionDenied(_("You belong to no department yet; ask an admin to add you to one."))
    return redirect("dashboards:department", code=department.code)


@login_required
def department(request: AuthenticatedRequest, code: str) -> HttpResponseBase:
    reader = access.reader_of(request)
    dept = access.department_or_403(reader, code)
    form, filters = read_filters(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "filters": filters,
        "department": dept,
        "sees_customers": reader.sees_customers,
    }
    if filters is None:
        return render_dashboard(request, "dashboards/department.html", context, status=400)
    ids = [dept.pk]
    export = request.GET.get("export")
    if export == "experiences":
        if not reader.sees_customers:
            raise PermissionDenied(_("Staff summaries have no export of individual experiences."))
        return export_experiences(dept.code, filters, department_ids=ids)
    period = filters.period
    narrowing: dict[str, Any] = {"department_ids": ids, "stages": filters.stages, "segments": filters.segments}

    def figures() -> dict[str, Any]:
        rows = queries.touchpoint_rows(filters=filters, department_ids=ids)
        trend = queries.index_trend(filters=filters, department_ids=ids)
        report = sum((point.report for point in trend), PeriodReport())  # the trend's buckets partition the period
        return {
            "trend": trend,
            "report": report,
            "previous": period_report(start=period.previous.start, end=period.previous.end, **narrowing),
            "rows": rows,
            "at_risk": (
                customers_at_risk(limit=AT_RISK_LIMIT, department_ids=ids, segments=filters.segments)
                if reader.sees_customers
                else []
            ),
            "activity": queries.staff_activity(filters=filters, department_ids=ids) if reader.sees_customers else [],
            "owned": queries.owned_touchpoints(filters=filters, department=dept, rows=rows),
            "reported": queries.reported_by_others(filters=filters, department=dept, negatives=report.negatives),
            "remembrance": queries.remembrance_by_touchpoint(filters=filters, department_ids=ids, rows=rows),
        }

    stored = cached_figures(f"department:{dept.pk}", reader, filters, figures)
    cached = stored.values
    trend, previous, rows, at_risk = cached["trend"], cached["previous"], cached["rows"], cached["at_risk"]
    activity, owned, reported, remembrance = (
        cached["activity"],
        cached["owned"],
        cached["reported"],
        cached["remembrance"],
    )
    report = cached["report"]
    stages = filters.stages or queries.STAGE_ORDER
    worst = queries.worst_moments(rows)
    failed = queries.failed_outcomes(rows)
    exports = {
        "trend": tables.trend_table(trend),
        "heat-map": tables.heat_map_table(rows, stages),
        "moments": tables.touchpoints_table(worst),
        "calibration": tables.touchpoints_table(rows),
        "failed": tables.touchpoints_table(failed),
    }
    if reader.sees_customers:
        exports |= {"at-risk": tables.at_risk_table(at_risk), "activity": tables.staff_table(activity)}
    if export in exports:
        return export_table(f"{dept.code}-{export}", filters, exports[export])
    if export:
        return unknown_export(export, [*exports, "experiences"] if reader.sees_customers else list(exports))
    change = None if report.index is None or previous.index is None else report.index - previous.index
    context |= {
        "report": report,
        "previous": previous,
        "change": change,
        "trend": trend,
        "trend_chart": tables.trend_chart(trend, _("Experience index of %(name)s") % {"name": dept.name}),
        "stage_labels": [(s, Stage(s).label) for s in stages],
        "heat_map": [(row, [row.by_stage.get(s) for s in stages]) for row in rows],
        "rows": rows,
        "owned": owned,
        "reported": reported,
        "worst": worst,
        "failed": failed,
        "at_risk": at_risk,
        "activity": activity,
        "survey_figures": remembrance.figures,
        "remembrance": remembrance.rows,
        "themes": remembrance.themes,
    }
    fragments = {"figures_html": "dashboards/_department_figures.html"}
    if reader.sees_customers:
        fragments["at_risk_html"] = "dashboards/_department_at_risk.html"
        fragments["activity_html"] = "dashboards/_department_activity.html"
    render_figures(request, stored, context, fragments)
    return render_dashboard(request, "dashboards/department.html", context)
